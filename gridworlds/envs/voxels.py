"""The voxel-robot tasks as gymnasium environments: `gym.make("gridworlds/Walker-v0", body=...)`."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space
from gymnasium.vector.vector_env import AutoresetMode

from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels import bodies, tasks
from gridworlds.engines.voxels.tasks import TASKS, Measures, Task
from gridworlds.envs.checks import check_choice, check_positive_int, require_reset
from gridworlds.envs.rendering import ViewerRendering

DEFAULT_BODY = "walker"


def resolve_body(body: Any) -> np.ndarray:
    """A body from None (the example walker), an array or nested list, a body's text (with a
    newline) or the path of a body file; checked."""
    if body is None:
        return bodies.body_from_text(bodies.EXAMPLE_BODIES[DEFAULT_BODY])
    if isinstance(body, str) and "\n" in body:
        return bodies.body_from_text(body)
    if isinstance(body, str | os.PathLike):
        return bodies.read_body(body)
    return bodies.check_body(body)


@functools.lru_cache(maxsize=256)
def _layout(task: Task, shape: tuple[int, int], materials: bytes) -> dict[str, np.ndarray]:
    """The task's world with the body at the task's start cell. Cached: a vector env stacks copies of
    one body, and a design search lays out the same bodies every generation (`engine.stack` copies
    the arrays, so sharing them is safe)."""
    body = np.frombuffer(materials, np.int8).reshape(shape)
    return engine.layout([engine.Piece(body, *task.robot_at, engine.ROBOT), *task.world()])


class VoxelTask:
    """Worlds of one task stepped together, world i holding the checked body `bodies[i]`: the shared
    core of both envs (every world the same body) and of the shared voxel policy (a design per
    world). Episodes are truncated after `horizon` control steps (None: the task's own)."""

    def __init__(self, task: str, bodies: Sequence[np.ndarray], horizon: int | None = None):
        self.task: Task = TASKS[check_choice("task", task, tuple(TASKS))]
        self.bodies = list(bodies)
        self.horizon = horizon or self.task.horizon
        layouts = [_layout(self.task, body.shape, body.astype(np.int8).tobytes()) for body in self.bodies]
        self.worlds = engine.stack(layouts)
        self.box = tasks.box_piece(self.task, self.worlds)
        self.terrain = self.worlds.piece_kind[0] != engine.ROBOT
        if self.box >= 0:
            self.terrain[self.box] = False
        self.actuators = self.worlds.actuator_voxels.shape[1]  # the most of any world's body
        self.state = {name: np.zeros(len(self.bodies)) for name in self.task.state}
        self.lengths = np.zeros(len(self.bodies), np.int64)
        self.before = self.measure()  # what the rewards of the next step are measured from

    def __len__(self) -> int:
        return len(self.lengths)

    def reset(self, which: np.ndarray) -> None:
        engine.reset(self.worlds, which)
        for counter in self.state.values():
            counter[which] = 0
        self.lengths[which] = 0
        self.before = self.measure()

    def measure(self) -> Measures:
        return tasks.measure(self.worlds, self.box)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rewards, terminated, truncated and unstable [N] after one control step of every world
        (actions [N, actuators]; past a world's own actuators they are ignored)."""
        self.before, reward, terminated, unstable = tasks.advance(
            self.task, self.worlds, actions, self.before, self.box, self.state
        )
        self.lengths += 1
        truncated = (self.lengths >= self.horizon) & ~terminated
        return reward, terminated, truncated, unstable

    def observe(self) -> np.ndarray:
        """EvoGym's observation of every world; its "pos" block has one length only when every world
        holds the same body."""
        return np.concatenate([self.observation_block(block) for block in self.task.observation], axis=1)

    def observation_block(self, block: str) -> np.ndarray:
        """float64 [N, size]: one of the task's observation blocks (VoxelEnv's docstring) of every world."""
        w = self.worlds
        name, _, reach = block.partition(":")
        if name == "vel":
            return engine.centre_velocity(w, 0)
        if name == "ort":
            return engine.orientation(w, 0)[:, None]
        if name == "pos":
            return engine.relative_positions(w, 0)
        if name == "box":
            offset = engine.centre(w, self.box) - engine.centre(w, 0)
            return np.concatenate([offset, engine.centre_velocity(w, self.box)], axis=1)
        return engine.terrain_heights(w, 0, self.terrain, int(reach), below=name == "floor")

    def select(self, keep: np.ndarray) -> VoxelTask:
        """The worlds where the bool mask `keep` holds, as they are now (they share nothing with these)."""
        kept = copy.copy(self)
        kept.bodies = [body for body, k in zip(self.bodies, keep, strict=True) if k]
        kept.worlds = engine.Worlds(*(array[keep] for array in self.worlds))
        kept.state = {name: counter[keep] for name, counter in self.state.items()}
        kept.lengths = self.lengths[keep]
        kept.before = Measures(*(None if part is None else part[keep] for part in self.before))
        return kept


def _check_horizon(horizon: Any) -> int | None:
    return None if horizon is None else check_positive_int("horizon", horizon)


def _check_actions(actions: Any, shape: tuple[int, ...]) -> np.ndarray:
    actions = np.asarray(actions, dtype=np.float64)
    if actions.shape != shape:
        raise ValueError(f"action must have shape {shape} (one value per actuator), got {actions.shape}")
    if not np.isfinite(actions).all():
        raise ValueError("action values must be finite numbers")
    return actions


class VoxelEnv(ViewerRendering, gym.Env):
    """A soft voxel robot on one of EvoGym's tasks (`task`, e.g. "Walker-v0").

    Observation (float64, EvoGym's layout for the task): blocks in the task's order, from "vel"
    (the robot's centre velocity, 2), "ort" (orientation since the start, 1), "pos" (its points
    relative to its centre, all x then all y, 2 n for n points), "box" (the box's centre minus the
    robot's, and the box's velocity, 4), "floor:k" / "ceil:k" (terrain gaps in 2 k + 1 columns).
    Lengths in EvoGym's units: a voxel is 0.1.

    Action: Box(0.6, 1.6, (actuators,)), one target length ratio per actuator voxel in row-major
    order (values outside are clipped by the simulator). Unlike EvoGym's benchmark envs, the action
    is not shifted by +1 first: 1.0 is the rest length.

    Reward and episode end: the task's (Walker-v0: the forward move of the robot's centre each step,
    +1 and terminated past x = 9.9). Instability (the robot's surface folds through itself) gives -3
    and terminates; the step is undone. Truncation at the task's horizon (Walker-v0: 500 steps).

    Arguments: `task`; `body` (None for the example walker, an array, a body's text or a body file);
    `horizon` (control steps before truncation; None: the task's own); `render_mode` ("rgb_array" or
    "human").
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 30}

    def __init__(
        self,
        task: str = "Walker-v0",
        body: Any = None,
        horizon: int | None = None,
        render_mode: str | None = None,
    ):
        self.render_mode = check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.core = VoxelTask(task, [resolve_body(body)], _check_horizon(horizon))
        self.world_id = f"gridworlds/{self.core.task.name}"
        self.action_space = gym.spaces.Box(
            engine.ACTION_LOW, engine.ACTION_HIGH, (self.core.actuators,), np.float64
        )
        size = self.core.observe().shape[1]
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float64)
        self.last_action = np.ones(self.core.actuators)
        self.episode_return = 0.0
        self.episode_over = True  # until reset()

    @property
    def worlds(self) -> engine.Worlds:
        return self.core.worlds

    @property
    def body(self) -> np.ndarray:
        """The robot's body, checked."""
        return self.core.bodies[0]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.core.reset(np.ones(1, np.bool_))
        self.last_action[:] = 1.0
        self.episode_return = 0.0
        self.episode_over = False
        return self.core.observe()[0], {}

    def step(self, action):
        require_reset(self.episode_over)
        action = _check_actions(action, self.action_space.shape)
        reward, terminated, truncated, unstable = self.core.step(action[None])
        self.episode_over = bool(terminated[0] or truncated[0])
        self.last_action = np.clip(action, engine.ACTION_LOW, engine.ACTION_HIGH)
        self.episode_return += float(reward[0])
        w = self.core.worlds
        info = {
            "unstable": bool(unstable[0]),
            "distance": float(
                engine.centre(w, 0)[0, 0] - w.start_pos[0, : w.piece_points[0, 0, 1]].mean(axis=0)[0]
            ),
        }
        return self.core.observe()[0], float(reward[0]), bool(terminated[0]), bool(truncated[0]), info

    def render_state(self) -> dict[str, Any]:
        """What the viewer draws: every voxel's corners and material, which piece it belongs to, the
        actuators' last actions, and the episode so far."""
        w, n_voxels = self.core.worlds, int(self.core.worlds.counts[0, engine.COUNT_VOXELS])
        return {
            "pos": w.pos[0].copy(),
            "corners": w.corners[0, :n_voxels],
            "material": w.material[0, :n_voxels],
            "piece_kind": w.piece_kind[0][w.voxel_piece[0, :n_voxels]],
            "actuator_voxels": w.actuator_voxels[0, : self.core.actuators],
            "action": self.last_action.copy(),
            "robot_centre": engine.centre(w, 0)[0],
            "step": int(self.core.lengths[0]),
            "episode_return": self.episode_return,
            "task": self.core.task.name,
        }


class VoxelVectorEnv(gym.vector.VectorEnv):
    """`num_envs` copies of one task and body, all stepped in one simulator call; each behaves
    exactly as VoxelEnv. Autoreset: next-step (the step after an episode ends resets that copy and
    returns its first observation with reward 0). Arguments: those of VoxelEnv and `num_envs`."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        task: str = "Walker-v0",
        body: Any = None,
        horizon: int | None = None,
        render_mode: str | None = None,
    ):
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.render_mode = check_choice("render_mode", render_mode, (None,))
        self.core = VoxelTask(task, [resolve_body(body)] * self.num_envs, _check_horizon(horizon))
        self.single_action_space = gym.spaces.Box(
            engine.ACTION_LOW, engine.ACTION_HIGH, (self.core.actuators,), np.float64
        )
        size = self.core.observe().shape[1]
        self.single_observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), np.float64)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.needs_reset = np.zeros(self.num_envs, np.bool_)
        self.started = False

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        super().reset(seed=seed if not isinstance(seed, list) else seed[0])
        self.core.reset(np.ones(self.num_envs, np.bool_))
        self.needs_reset[:] = False
        self.started = True
        return self.core.observe(), {}

    def step(self, actions):
        require_reset(not self.started)
        actions = _check_actions(actions, self.action_space.shape)
        restart = self.needs_reset.copy()
        reward, terminated, truncated, unstable = self.core.step(actions)
        if restart.any():
            self.core.reset(restart)
            reward[restart], terminated[restart], truncated[restart], unstable[restart] = (
                0.0,
                False,
                False,
                False,
            )
        self.needs_reset = terminated | truncated
        return self.core.observe(), reward, terminated, truncated, {"unstable": unstable}


def episode_metrics(info: dict[str, Any]) -> dict[str, float]:
    """What an evaluation records of one episode, from its last info: how far the robot's centre
    went along x (metres) and whether it ended unstable."""
    return {"distance": info["distance"], "unstable": float(info["unstable"])}

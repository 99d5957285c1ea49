"""Hide-and-seek as a pettingzoo ParallelEnv: two teams on a grid with boxes, ramps, locks and sight."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from gridworlds.engines import hide_and_seek as engine
from gridworlds.envs.checks import check_choice, check_int_range, check_seed, engine_seed, require_reset
from gridworlds.envs.rendering import ViewerRendering

OBSERVATIONS = ("dict", "flat")
WORLD_ID = "gridworlds/HideAndSeek-v0"
QUADRANT_WORLD_ID = "gridworlds/HideAndSeekQuadrant-v0"
# The parts of a "dict" observation, in the order a "flat" one concatenates them.
PARTS = (
    "self",
    "agents",
    "agents_mask",
    "boxes",
    "boxes_mask",
    "ramps",
    "ramps_mask",
    "preparation",
    "local",
)


def agent_names(hiders: int, seekers: int) -> list[str]:
    return [f"hider_{i}" for i in range(hiders)] + [f"seeker_{i}" for i in range(seekers)]


def observation_parts(scenario: engine.Scenario, view_radius: int) -> dict[str, gym.spaces.Box]:
    """The space of each part of one agent's observation."""
    a, k = scenario.agents, 2 * view_radius + 1

    def features(*shape: int) -> gym.spaces.Box:
        return gym.spaces.Box(-1.0, 1.0, shape=shape, dtype=np.float32)

    def flags(*shape: int) -> gym.spaces.Box:
        return gym.spaces.Box(0, 1, shape=shape, dtype=np.int8)

    return {
        "self": features(engine.SELF_FEATURES),
        "agents": features(a - 1, engine.AGENT_FEATURES),
        "agents_mask": flags(a - 1),
        "boxes": features(scenario.boxes, engine.BOX_FEATURES),
        "boxes_mask": flags(scenario.boxes),
        "ramps": features(scenario.ramps, engine.RAMP_FEATURES),
        "ramps_mask": flags(scenario.ramps),
        "preparation": gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32),
        "local": flags(engine.LOCAL_CHANNELS, k, k),
    }


def _action_error(agent: str, action: Any) -> ValueError:
    return ValueError(
        f"action of {agent} must be 4 integers (move 0-4, turn 0-2, grab 0-1, lock 0-2), got {action!r}"
    )


class HideAndSeekEnv(ViewerRendering, ParallelEnv):
    """Hide-and-seek on a grid (Baker et al. 2020): hiders and seekers, boxes, ramps, locks, sight.

    The rules (movement, pushing and pulling, locks, ramps, the 135 degree vision cone, the
    preparation phase) are in `gridworlds.engines.hide_and_seek`'s docstring. Agents are
    `hider_0 ..` and `seeker_0 ..`; all act at once.

    Observation (the same space object for every agent), with `observation="dict"` a Dict of:
    - "self" (7,): own row / g, column / g, facing (row, column) as a unit vector, is a seeker, on a
      ramp, outside the play area (g = size + 2, the grid's side);
    - "agents" (A - 1, 8) and "agents_mask" (A - 1,): the other agents in name order: row, column,
      offset from me (row, column), facing (row, column), teammate, on a ramp;
    - "boxes" (boxes, 8) and "boxes_mask": centre row, column, offset, length / 4, vertical, locked
      by my team, locked by the other team;
    - "ramps" (ramps, 6) and "ramps_mask": row, column, offset, locked by my team, by the other;
    - "preparation" (1,): the fraction of the preparation phase elapsed (1 after it);
    - "local" (4, k, k) int8, k = 2 * view_radius + 1: walls (and the grid's edge), boxes, ramps and
      other agents around the agent, whether it sees them or not.
    An entity the agent does not see has zero features and mask 0. With `observation="flat"` the
    parts are concatenated in that order into one float32 vector. `state()` (`state_space`) gives the
    whole world for a centralised critic (`gridworlds.engines.hide_and_seek.global_state`).

    Actions: `MultiDiscrete([5, 3, 2, 3])`: move (stay, up, right, down, left), turn (none, left,
    right by 45 degrees), grab (hold the object in the facing cell while moving), lock (none, lock,
    unlock the object in the facing cell). During preparation the seekers' actions are no-ops.
    An action outside the space raises ValueError naming the agent.

    Rewards, after the preparation phase: +1 to each hider when no seeker sees any hider, else -1;
    the seekers get the opposite; -10 more to an agent outside the play area. 0 during preparation.

    Episode end: truncation after `horizon` steps for every agent (never a termination). The last
    step's infos hold, for every agent, "episode": {r (its return) and l (the episode's length), as
    stable-baselines3's Monitor writes them, so SB3 logs them; hider_reward, seeker_reward (each team's mean
    return), box_move_prep (largest box move during preparation), boxes_locked_prep, ramp_move
    (largest ramp move), ramps_locked_prep (locked at the end of preparation), doors_locked_prep (share
    of door cells a locked box fills then), door_locked_prep (1 if a locked box fills any door cell
    then, else 0), hider_seen_fraction (share of post-preparation steps with a hider seen)}.

    Arguments: `size` (arena side with its outer walls, 16), `hiders`, `seekers` (1-3, 2 each),
    `boxes` (4), `elongated` (how many of the boxes span `box_length` = 2 cells, 2), `ramps` (2),
    `horizon` (240), `prep_fraction` (0.4), `quadrant` (False: random rooms; True: one walled room in
    the top-left corner with 1 or 2 doors, hiders and boxes inside, seekers and ramps outside),
    `view_radius` (3), `observation` ("dict" or "flat"), `render_mode` ("ansi", "rgb_array",
    "human"). `gridworlds/HideAndSeekQuadrant-v0` is this env with quadrant=True, size=12, boxes=2,
    elongated=0, ramps=1 and horizon=80, as in the paper's quadrant game.
    """

    metadata = {
        "render_modes": ["ansi", "rgb_array", "human"],
        "name": "hide_and_seek_v0",
        "render_fps": 8,
        "is_parallelizable": True,
    }

    def __init__(
        self,
        size: int = 16,
        hiders: int = 2,
        seekers: int = 2,
        boxes: int = 4,
        elongated: int = 2,
        box_length: int = 2,
        ramps: int = 2,
        horizon: int = 240,
        prep_fraction: float = 0.4,
        quadrant: bool = False,
        view_radius: int = 3,
        observation: str = "dict",
        render_mode: str | None = None,
    ):
        self.scenario = engine.Scenario(
            size, hiders, seekers, boxes, elongated, box_length, ramps, horizon, prep_fraction, quadrant
        ).check()
        # A view wider than the arena sees only the edge beyond it, and its (2r + 1)^2 cells for every
        # agent soon exhaust memory (view_radius 8000: 3 GB).
        self.view_radius = check_int_range("view_radius", view_radius, 1, self.scenario.size)
        self.observation = check_choice("observation", observation, OBSERVATIONS)
        self.render_mode = check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.world_id = QUADRANT_WORLD_ID if quadrant else WORLD_ID
        self.possible_agents = agent_names(hiders, seekers)
        self.agents: list[str] = []
        self.parts = observation_parts(self.scenario, self.view_radius)
        if self.observation == "dict":
            self._observation_space: gym.Space = gym.spaces.Dict(self.parts, sort_keys=False)
        else:
            size_of = sum(int(np.prod(space.shape)) for space in self.parts.values())
            self._observation_space = gym.spaces.Box(-1.0, 1.0, shape=(size_of,), dtype=np.float32)
        self._action_space = gym.spaces.MultiDiscrete(engine.ACTION_NVEC)
        self.state_space = gym.spaces.Box(
            -1.0, 1.0, shape=(engine.state_size(self.scenario),), dtype=np.float32
        )
        self.observation_spaces = dict.fromkeys(self.possible_agents, self._observation_space)
        self.action_spaces = dict.fromkeys(self.possible_agents, self._action_space)
        self.arenas = engine.Arenas.allocate(self.scenario, 1)
        self._actions = np.zeros((1, self.scenario.agents, len(engine.ACTION_NVEC)), np.int64)
        self._rewards = np.zeros((1, self.scenario.agents), np.float64)
        self.np_random = np.random.default_rng()

    def observation_space(self, agent: str) -> gym.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gym.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        seed = check_seed(seed)
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
        self.arenas.rng[0] = engine_seed(seed, self.arenas.rng[0], self.np_random)
        engine.reset(self.arenas, self.scenario, np.ones(1, np.bool_))
        self.agents = list(self.possible_agents)
        observations = self._new_observations()
        engine.observe(self.arenas, self.scenario, observations)
        if self.render_mode == "human":
            self.render()
        return self._per_agent(observations), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]):
        require_reset(not self.agents)
        self._actions[0] = self._check_actions(actions)
        new = self._new_observations()
        try:
            truncated = bool(engine.step(self.arenas, self.scenario, self._actions, self._rewards, new)[0])
        except engine.BadAction as error:
            agent = self.agents[error.agent]
            raise _action_error(agent, actions[agent]) from None
        observations = self._per_agent(new)
        rewards = dict(zip(self.agents, self._rewards[0].tolist(), strict=True))
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, truncated)
        if truncated:
            stats = {
                name: float(value[0])
                for name, value in engine.episode_stats(self.arenas, self.scenario).items()
            }
            length = int(self.arenas.t[0])
            infos = {
                agent: {"episode": {"r": float(self.arenas.returns[0, i]), "l": length, **stats}}
                for i, agent in enumerate(self.agents)
            }
            self.agents = []
        else:
            infos = {agent: {} for agent in self.agents}
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def _check_actions(self, actions: dict[str, Any]) -> np.ndarray:
        """The agents' actions as an integer array [A, 4] in agent order (the engine checks ranges)."""
        try:
            batch = np.array([actions[agent] for agent in self.agents])
        except (KeyError, TypeError, ValueError):  # a missing agent, not a dict, ragged actions
            batch = None
        if (
            batch is None
            or batch.shape != (len(self.agents), 4)
            or batch.dtype.kind not in "iu"
            or len(actions) != len(self.agents)
        ):
            self._raise_for(actions)
        return batch

    def _raise_for(self, actions: Any) -> None:
        """Raise the ValueError that says what is wrong with `actions`."""
        if not isinstance(actions, dict) or set(actions) != set(self.agents):
            given = sorted(actions) if isinstance(actions, dict) else type(actions).__name__
            raise ValueError(f"actions must be a dict with one action per agent {self.agents}, got {given}")
        for agent in self.agents:
            try:
                action = np.asarray(actions[agent])
            except ValueError:
                action = None
            if action is None or action.shape != (4,) or action.dtype.kind not in "iu":
                raise _action_error(agent, actions[agent])
        raise ValueError(f"actions must be 4 integers per agent, got {actions!r}")

    def _new_observations(self) -> engine.Observations:
        # Fresh arrays every step, so that the views handed out are never overwritten.
        return engine.Observations.allocate(self.scenario, 1, self.view_radius)

    def _per_agent(self, observations: engine.Observations) -> dict[str, Any]:
        if self.observation == "flat":
            n = len(self.possible_agents)
            flat = np.concatenate([part[0].reshape(n, -1) for part in observations], axis=1, dtype=np.float32)
            return dict(zip(self.agents, flat, strict=True))
        rows = zip(*(part[0] for part in observations), strict=True)  # one tuple of parts per agent
        return {
            agent: dict(zip(PARTS, row, strict=True)) for agent, row in zip(self.agents, rows, strict=True)
        }

    def state(self) -> np.ndarray:
        out = np.zeros((1, self.state_space.shape[0]), np.float32)
        engine.global_state(self.arenas, self.scenario, out)
        return out[0]

    def render_state(self) -> dict[str, Any]:
        a = self.arenas
        s = self.scenario
        objects = [
            {
                "row": int(a.object_pos[0, o, 0]),
                "col": int(a.object_pos[0, o, 1]),
                "length": int(a.object_length[0, o]),
                "vertical": bool(a.object_vertical[0, o]),
                "ramp": o >= s.boxes,
                "lock": int(a.lock[0, o]),
            }
            for o in range(s.objects)
        ]
        agents = [
            {
                "name": name,
                "row": int(a.agent_pos[0, i, 0]),
                "col": int(a.agent_pos[0, i, 1]),
                "facing": int(a.facing[0, i]),
                "team": engine.HIDERS if i < s.hiders else engine.SEEKERS,
                "return": float(a.returns[0, i]),
            }
            for i, name in enumerate(self.possible_agents)
        ]
        return {
            "walls": a.walls[0].copy(),
            "doors": [tuple(map(int, cell)) for cell in a.doors[0, : a.door_count[0]]],
            "agents": agents,
            "objects": objects,
            "visible": engine.vision(a, s),
            "seen_cells": engine.seen_cells(a),
            "t": int(a.t[0]),
            "prep_steps": s.prep_steps,
            "horizon": s.horizon,
        }


def episode_metrics(info: dict[str, Any]) -> dict[str, float]:
    """What an evaluation records of one episode, from a seat's last info: each team's mean return and
    the episode statistics (nothing for an episode cut off before its end)."""
    episode = info.get("episode", {})
    return {name: float(episode[name]) for name in engine.EPISODE_STATS if name in episode}

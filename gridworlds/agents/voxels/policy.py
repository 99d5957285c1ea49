"""One closed-loop policy for every robot design, trained by PPO on many designs at once (HERD, Dong,
Zhang, Zhang 2024, after the modular policies of Huang et al. 2020).

A design's body has a different number of voxels and actuators from the next one's, so the policy
reads the robot as a set of voxel tokens and acts per voxel: one set of weights drives any body.

Observation, for N worlds (a design per world allowed), computed with numpy from the simulator's
arrays. Each world's body is laid on a grid of G = rows x columns cells (the most rows and columns
of any body in the batch, the body at the top left, row-major), and every cell has 11 features
(`voxel_observations`):

    0:5    material one-hot: EMPTY, RIGID, SOFT, H_ACT, V_ACT
    5:7    the cell's (x, y) in the body grid (x right, y up) minus the mean of the body's cells, m
    7:9    the mean of the voxel's 4 corner points minus the robot's centre of mass, m
    9:11   the mean velocity of those corners minus the robot's centre velocity, m/s

Empty cells are masked (their features past the one-hot are 0). Every feature is relative to the
body itself, so the same body anywhere in the grid gives the same tokens. The global vector per
world (`global_observations`) holds the task's observation blocks that do not grow with the body,
in the task's order: "vel" (2, m/s), "ort" (as its cosine and sine, 2: the angle itself jumps
from 2 pi to 0 as a robot rocks about upright), "box" (4) and "floor:k" / "ceil:k" (2 k + 1, m);
"pos" is the per-voxel features.

`VoxelPolicy`: an MLP embeds each voxel's features (lengths scaled to voxels), the embedded global
vector is added to every token, a small pre-norm transformer encoder lets the voxels attend to one
another (empty cells masked out), and then a per-voxel head gives each cell's Gaussian action mean,
squashed into [0.6, 1.6] (read only at the actuator cells, in the env's row-major actuator order),
with one learned, state-independent log std; the value head reads the mean of the voxels' tokens.

`SharedPPO`, the agent `shared-ppo` of every voxel world: CleanRL-style PPO (Huang et al. 2022) of
that one policy, its rollouts from a batch of worlds holding a set of designs (world i holds design
i mod D), stepped together in one `VoxelTask`; an episode that ends resets its world. It learns from
rewards divided by the running spread of the discounted return, as CleanRL's does, and an episode
cut by the time limit is bootstrapped from the value where it stopped (a time limit is not the
task's end). Every step of every world counts as an env step, in training and in evaluation alike
(`SharedPPO.env_steps`).

    ppo = make_agent("shared-ppo", "gridworlds/Walker-v0", seed=0)
    ppo.train(bodies, env_steps=50_000)     # -> metrics; `learn(env, budget)` trains on env's body
    ppo.evaluate(bodies)                    # -> the return of each body under the mean action
    ppo.save(path, body=bodies[0])          # `gridworlds view gridworlds/Walker-v0 --agent path`
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium.wrappers.utils import RunningMeanStd
from torch import nn

from gridworlds.agents import reporting
from gridworlds.agents.base import AgentBase, Callback, CheckpointReader, CheckpointWriter
from gridworlds.agents.ppo import PPOSettings, clipped_loss, gae, minibatches
from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import EMPTY, H_ACT, ROBOT_MATERIALS, V_ACT, BodyLike, check_body
from gridworlds.engines.voxels.tasks import TASKS, Task
from gridworlds.envs.checks import check_int_range, check_positive_int, check_seed
from gridworlds.envs.voxels import VoxelTask

VOXEL_FEATURES = len(ROBOT_MATERIALS) + 6
# The policy reads lengths in voxels: a deformation of a few hundredths of a metre is then a few
# tenths, on the scale of the one-hot and of the velocities (about 1 m/s).
VOXEL_FEATURE_SCALE = (1.0,) * len(ROBOT_MATERIALS) + (1 / engine.VOXEL,) * 4 + (1.0,) * 2
GLOBAL_BLOCK_SIZES = {"vel": 2, "ort": 2, "box": 4}  # and "floor:k" / "ceil:k": 2 k + 1
INITIAL_STD = 0.3  # of the actions, about the open-loop gaits' amplitude
REST_ACTION = 1.0  # the untrained policy's mean: every actuator at its rest length
# A rollout keeps `rollout` steps of every voxel's tokens in every world: the defaults (16 worlds,
# 64 steps, width 64) with three zeros too many would not fit in memory.
MAX_WORLDS, MAX_ROLLOUT, MAX_WIDTH = 4_096, 10_000, 4_096
MAX_LAYERS = 64


# --- observations ---


class BodyCells(NamedTuple):
    """Each world's robot laid on a grid of G cells, row-major; what the observation and the actions
    need to know of it."""

    material: np.ndarray  # int8 [N, G], EMPTY beyond the body
    voxel: np.ndarray  # int64 [N, G], the simulator's voxel of each cell (0, a harmless index, if empty)
    offset: np.ndarray  # float64 [N, G, 2], (x, y) of the cell minus the mean of the body's cells, m
    actuator_cells: np.ndarray  # int64 [N, A], the actuators' cells in the action's order

    @property
    def occupied(self) -> np.ndarray:
        return self.material != EMPTY

    @property
    def actuated(self) -> np.ndarray:
        return (self.material == H_ACT) | (self.material == V_ACT)

    def select(self, keep: np.ndarray) -> BodyCells:
        return BodyCells(*(array[keep] for array in self))


def body_cells(bodies: Sequence[np.ndarray], actuators: int) -> BodyCells:
    """The cells of checked bodies, each at the top left of a grid of their most rows and columns;
    `actuators` is the simulator's padded actuator count A."""
    rows, columns = max(b.shape[0] for b in bodies), max(b.shape[1] for b in bodies)
    padded = np.zeros((len(bodies), rows, columns), np.int8)
    for i, body in enumerate(bodies):
        padded[i, : body.shape[0], : body.shape[1]] = body
    material = padded.reshape(len(bodies), rows * columns)
    occupied = material != EMPTY
    # The simulator numbers a robot's voxels row-major from 0 (the robot is the first piece), and
    # padding at the bottom and right keeps that order.
    voxel = np.where(occupied, occupied.cumsum(axis=1) - 1, 0)
    row, column = np.divmod(np.arange(rows * columns), columns)
    place = engine.VOXEL * np.stack([column, -row], axis=1).astype(np.float64)  # [G, 2], y up
    mean = (place * occupied[..., None]).sum(axis=1) / occupied.sum(axis=1)[:, None]
    offset = (place - mean[:, None]) * occupied[..., None]
    actuated = (material == H_ACT) | (material == V_ACT)
    # Actuator cells first, each world's in row-major order; past a world's own actuators the cells
    # are padding, which the simulator ignores.
    actuator_cells = np.argsort(~actuated, axis=1, kind="stable")[:, :actuators]
    return BodyCells(material, voxel, offset, actuator_cells)


def voxel_observations(worlds: engine.Worlds, cells: BodyCells) -> np.ndarray:
    """float32 [N, G, VOXEL_FEATURES]: every cell's features (module docstring)."""
    n, g = cells.material.shape
    corners = np.take_along_axis(worlds.corners, cells.voxel[..., None], axis=1).reshape(n, g * 4)

    def corner_mean(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values, corners[..., None], axis=1).reshape(n, g, 4, 2).mean(axis=2)

    occupied = cells.occupied[..., None]
    position = (corner_mean(worlds.pos) - engine.centre(worlds, 0)[:, None]) * occupied
    velocity = (corner_mean(worlds.vel) - engine.centre_velocity(worlds, 0)[:, None]) * occupied
    one_hot = cells.material[..., None] == np.arange(len(ROBOT_MATERIALS))
    return np.concatenate([one_hot, cells.offset, position, velocity], axis=2).astype(np.float32)


def global_size(task: Task) -> int:
    """The length of the global vector of the task's worlds."""
    size = 0
    for block in task.observation:
        name, _, reach = block.partition(":")
        if name in ("floor", "ceil"):
            size += 2 * int(reach) + 1
        else:
            size += GLOBAL_BLOCK_SIZES.get(name, 0)  # "pos" is per voxel
    return size


def global_observations(core: VoxelTask) -> np.ndarray:
    """float32 [N, global_size(task)]: the task's observation blocks but "pos" (module docstring)."""
    parts = []
    for block in core.task.observation:
        if block == "pos":
            continue
        part = core.observation_block(block)
        if block == "ort":
            part = np.concatenate([np.cos(part), np.sin(part)], axis=1)
        parts.append(part)
    return np.concatenate(parts, axis=1).astype(np.float32)


def observe(core: VoxelTask, cells: BodyCells) -> tuple[np.ndarray, np.ndarray]:
    """(voxels [N, G, VOXEL_FEATURES], globals [N, K]), float32, of every world."""
    return voxel_observations(core.worlds, cells), global_observations(core)


def cell_step(core: VoxelTask, cells: BodyCells, cell_actions: np.ndarray):
    """`core.step` under per-cell actions [N, G], read at each world's actuator cells."""
    return core.step(np.take_along_axis(cell_actions.astype(np.float64), cells.actuator_cells, axis=1))


# --- the policy ---


class VoxelPolicy(nn.Module):
    """Per-voxel actor and critic over voxel tokens (module docstring). forward(voxels [B, G, F],
    globals [B, K], occupied bool [B, G]) -> (action mean [B, G], value [B])."""

    def __init__(self, global_size: int, width: int = 64, heads: int = 4, layers: int = 2):
        super().__init__()
        self.embed_voxel = nn.Sequential(nn.Linear(VOXEL_FEATURES, width), nn.ReLU(), nn.Linear(width, width))
        self.embed_global = nn.Linear(global_size, width)
        layer = nn.TransformerEncoderLayer(
            width, heads, dim_feedforward=2 * width, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(
            layer, layers, norm=nn.LayerNorm(width), enable_nested_tensor=False
        )
        self.action_head = nn.Linear(width, 1)
        self.value_head = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1))
        self.log_std = nn.Parameter(torch.tensor(math.log(INITIAL_STD)))
        self.register_buffer("feature_scale", torch.tensor(VOXEL_FEATURE_SCALE), persistent=False)
        # Small first actions, all near the rest length, as CleanRL starts its actor near zero.
        nn.init.normal_(self.action_head.weight, std=0.01)
        rest = (REST_ACTION - engine.ACTION_LOW) / (engine.ACTION_HIGH - engine.ACTION_LOW)
        nn.init.constant_(self.action_head.bias, math.log(rest / (1 - rest)))

    def forward(
        self, voxels: torch.Tensor, globals_: torch.Tensor, occupied: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.embed_voxel(voxels * self.feature_scale) + self.embed_global(globals_)[:, None]
        tokens = self.encoder(tokens, src_key_padding_mask=~occupied)
        squashed = torch.sigmoid(self.action_head(tokens).squeeze(-1))
        mean = engine.ACTION_LOW + (engine.ACTION_HIGH - engine.ACTION_LOW) * squashed
        weights = occupied.to(tokens.dtype)[..., None]
        pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1)
        return mean, self.value_head(pooled).squeeze(-1)


def log_prob_and_entropy(
    mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor, actuated: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The log-probability of cell actions [B, G] and the entropy, both [B], summed over each
    world's actuator cells (the only actions the robot takes)."""
    dist = torch.distributions.Normal(mean, log_std.exp())
    weights = actuated.to(mean.dtype)
    return (dist.log_prob(actions) * weights).sum(dim=1), (dist.entropy() * weights).sum(dim=1)


# --- PPO ---


@dataclass(frozen=True)
class SharedPPOConfig(PPOSettings):
    worlds: int = 16  # worlds stepped together (at least one per design): the designs take turns
    rollout: int = 64  # control steps of every world between updates
    width: int = 64  # the tokens' size
    heads: int = 4
    layers: int = 2
    horizon: int | None = None  # control steps per episode; None: the task's own
    tensorboard: str | None = None  # a directory for TensorBoard logs, or None

    def __post_init__(self) -> None:
        """A ValueError that starts with the name of the field out of its range."""
        super().__post_init__()
        check_int_range("worlds", self.worlds, 1, MAX_WORLDS)
        check_int_range("rollout", self.rollout, 1, MAX_ROLLOUT)
        check_int_range("width", self.width, 1, MAX_WIDTH)
        check_positive_int("heads", self.heads)  # and below, a divisor of width
        check_int_range("layers", self.layers, 1, MAX_LAYERS)
        if self.width % self.heads:
            raise ValueError(f"heads must divide width ({self.width}), got {self.heads}")
        if self.minibatches > self.worlds * self.rollout:
            raise ValueError(
                f"minibatches must be at most worlds x rollout ({self.worlds * self.rollout} samples), "
                f"got {self.minibatches}"
            )
        horizon = self.horizon
        if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1):
            raise ValueError(f"horizon must be a positive integer or None (the task's own), got {horizon!r}")
        if self.tensorboard is not None and not isinstance(self.tensorboard, str):
            raise ValueError(f"tensorboard must be a directory or None, got {self.tensorboard!r}")


@dataclass
class Episodes:
    """What a training call keeps of its worlds' episodes from one rollout to the next."""

    returns: np.ndarray  # float64 [N], of the episodes so far
    discounted: np.ndarray  # float64 [N], their discounted returns, for the reward scale
    finished: list[float]  # the returns of the episodes that ended


MODEL, STATE = "policy.safetensors", "training.json"
SPREAD = ("mean", "var", "count")  # what a checkpoint keeps of the return's RunningMeanStd
VOXEL_WORLDS = "gridworlds/"  # the voxel worlds' ids are gridworlds/<task>


def checked_bodies(bodies: Sequence[BodyLike]) -> list[np.ndarray]:
    designs = [check_body(body) for body in bodies]
    if not designs:
        raise ValueError("bodies must hold at least one body")
    return designs


class SharedPPO(AgentBase):
    """PPO of one `VoxelPolicy` over every design it is given (module docstring), for one voxel
    world. Parameters: every field of SharedPPOConfig. `learn(env, budget)` trains on the env's
    body for `budget` env steps and reports after every update, to TensorBoard too when given a
    `tensorboard` directory (`gridworlds run` gives each agent its own); `act` plays the policy's
    mean action in the world it is bound to (`bind`, which the viewer and `gridworlds eval` call),
    whatever its body."""

    name = "shared-ppo"
    Config = SharedPPOConfig

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        task = world_id.removeprefix(VOXEL_WORLDS)
        if not world_id.startswith(VOXEL_WORLDS) or task not in TASKS:
            raise ValueError(f"shared-ppo plays the voxel-robot worlds, not {world_id}")
        super().__init__(world_id, check_seed(seed), **settings)
        self.task = task
        with torch.random.fork_rng():  # seeds the initial weights without touching the global stream
            torch.manual_seed(self.seed or 0)
            c = self.config
            self.policy = VoxelPolicy(global_size(TASKS[task]), c.width, c.heads, c.layers)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.config.learning_rate, eps=1e-5)
        self.generator = torch.Generator().manual_seed(self.seed or 0)
        self.env_steps = 0  # every step of every world, in training and evaluation
        self.updates = 0
        # PPO learns from rewards divided by the spread of the discounted return, as CleanRL's does
        # (gymnasium's NormalizeReward): a voxel task's rewards are about 1e-3 a step, so small that
        # Adam's fixed step sizes would make the values jitter by more than the rewards they fit.
        self.return_spread = RunningMeanStd()
        self.body: np.ndarray | None = None  # the design a checkpoint shows; the last trained on
        self.bound: VoxelTask | None = None
        self.bound_cells: BodyCells | None = None

    def _core(self, bodies: Sequence[np.ndarray]) -> tuple[VoxelTask, BodyCells]:
        core = VoxelTask(self.task, bodies, self.config.horizon)
        return core, body_cells(core.bodies, core.actuators)

    def _act(self, voxels: np.ndarray, globals_: np.ndarray, occupied: np.ndarray):
        with torch.no_grad():
            return self.policy(
                torch.from_numpy(voxels), torch.from_numpy(globals_), torch.from_numpy(occupied)
            )

    def learn(self, env: Any, budget: int, callback: Callback | None = None) -> dict[str, float]:
        """Train on the body of `env` (a voxel world of this agent's task) for `budget` env steps."""
        env = getattr(env, "unwrapped", env)
        if getattr(env, "world_id", None) != self.world_id:
            raise ValueError(f"shared-ppo learns in {self.world_id}, not {getattr(env, 'world_id', env)!r}")
        return self.train([env.body], budget, callback)

    def train(
        self, bodies: Sequence[BodyLike], env_steps: int, callback: Callback | None = None
    ) -> dict[str, float]:
        """PPO updates on rollouts of `bodies` until `env_steps` more env steps are used (whole
        rollouts of max(worlds, designs) worlds), reporting after each. Returns the mean return of
        the episodes that ended (NaN if none did), their count, the last update's losses, the env
        steps used and env steps per second."""
        check_positive_int("env_steps", env_steps)
        designs = checked_bodies(bodies)
        self.body = designs[0]
        n = max(self.config.worlds, len(designs))
        core, cells = self._core([designs[i % len(designs)] for i in range(n)])
        start, started = self.env_steps, time.perf_counter()
        episodes = Episodes(np.zeros(n), np.zeros(n), [])
        metrics: dict[str, float] = {}
        with reporting(self.config.tensorboard, callback) as report:
            while self.env_steps - start < env_steps:
                batch = self._rollout(core, cells, episodes)
                used = self.env_steps - start
                metrics = {
                    "episode_return": float(np.mean(episodes.finished)) if episodes.finished else math.nan,
                    "episodes": len(episodes.finished),
                    **self._update(batch, cells),
                    "env_steps": used,
                    "env_steps_per_second": used / (time.perf_counter() - started),
                }
                if not report(self.env_steps, metrics):
                    break
        return metrics

    def _rollout(self, core: VoxelTask, cells: BodyCells, episodes: Episodes) -> dict:
        """`rollout` control steps of every world with sampled actions: what the update learns from."""
        c, n = self.config, len(core)
        occupied, actuated = cells.occupied, torch.from_numpy(cells.actuated)
        voxels, globals_ = observe(core, cells)
        batch = {
            "voxels": np.empty((c.rollout, *voxels.shape), np.float32),
            "globals": np.empty((c.rollout, *globals_.shape), np.float32),
            "actions": np.empty((c.rollout, *occupied.shape), np.float32),
            "logprobs": np.empty((c.rollout, n), np.float32),
            "values": np.empty((c.rollout, n), np.float64),
            "rewards": np.empty((c.rollout, n), np.float64),
            "ends": np.empty((c.rollout, n), np.bool_),
        }
        for t in range(c.rollout):
            batch["voxels"][t], batch["globals"][t] = voxels, globals_
            mean, value = self._act(voxels, globals_, occupied)
            noise = torch.randn(mean.shape, generator=self.generator)
            actions = mean + self.policy.log_std.detach().exp() * noise
            logprob, _ = log_prob_and_entropy(mean, self.policy.log_std.detach(), actions, actuated)
            reward, terminated, truncated, _ = cell_step(core, cells, actions.numpy())
            self.env_steps += n
            ended = terminated | truncated
            episodes.returns += reward
            episodes.finished.extend(episodes.returns[ended].tolist())
            episodes.discounted = episodes.discounted * c.gamma + reward
            self.return_spread.update(episodes.discounted)
            episodes.returns[ended], episodes.discounted[ended] = 0.0, 0.0
            learned_reward = reward / math.sqrt(self.return_spread.var + 1e-8)
            voxels, globals_ = observe(core, cells)
            if truncated.any():  # a time limit is not the task's end: bootstrap from where it got to
                _, last = self._act(voxels[truncated], globals_[truncated], occupied[truncated])
                learned_reward[truncated] += c.gamma * last.numpy()
            if ended.any():
                core.reset(ended)
                voxels, globals_ = observe(core, cells)
            batch["actions"][t], batch["logprobs"][t] = actions.numpy(), logprob.numpy()
            batch["values"][t], batch["rewards"][t], batch["ends"][t] = value.numpy(), learned_reward, ended
        _, last_value = self._act(voxels, globals_, occupied)
        batch["last_value"] = last_value.numpy().astype(np.float64)
        return batch

    def _update(self, batch: dict, cells: BodyCells) -> dict[str, float]:
        """PPO epochs over one rollout; returns the mean losses."""
        c = self.config
        advantages, returns = gae(
            batch["rewards"], batch["values"], c.gamma, c.gae_lambda, batch["ends"], batch["last_value"]
        )
        steps, n = batch["rewards"].shape
        samples = steps * n

        def flat(array: np.ndarray) -> torch.Tensor:  # [T, N, ...] -> [T N, ...]
            return torch.from_numpy(np.ascontiguousarray(array).reshape(samples, *array.shape[2:]))

        voxels, globals_, actions = flat(batch["voxels"]), flat(batch["globals"]), flat(batch["actions"])
        old_logprobs = flat(batch["logprobs"])
        advantages, returns = flat(advantages.astype(np.float32)), flat(returns.astype(np.float32))
        occupied = flat(np.broadcast_to(cells.occupied, (steps, *cells.occupied.shape)))
        actuated = flat(np.broadcast_to(cells.actuated, (steps, *cells.actuated.shape)))
        totals = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "clip_fraction": 0.0}
        for idx in minibatches(samples, c, self.generator):
            mean, value = self.policy(voxels[idx], globals_[idx], occupied[idx])
            new_logprob, entropy = log_prob_and_entropy(
                mean, self.policy.log_std, actions[idx], actuated[idx]
            )
            adv = advantages[idx]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            policy_loss = clipped_loss(new_logprob, old_logprobs[idx], adv, c.clip_range)
            value_loss = 0.5 * (value - returns[idx]).pow(2).mean()
            loss = policy_loss + c.value_coef * value_loss - c.ent_coef * entropy.mean()
            self.optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.policy.parameters(), c.max_grad_norm)
            self.optimizer.step()
            with torch.no_grad():
                clipped = ((new_logprob - old_logprobs[idx]).exp() - 1).abs() > c.clip_range
            totals["policy_loss"] += policy_loss.item()
            totals["value_loss"] += value_loss.item()
            totals["entropy"] += entropy.mean().item()
            totals["clip_fraction"] += clipped.float().mean().item()
        self.updates += 1
        return {name: total / (c.n_epochs * c.minibatches) for name, total in totals.items()}

    def evaluate(self, bodies: Sequence[BodyLike], episodes: int = 1) -> np.ndarray:
        """float64 [D]: each body's mean return over `episodes` episodes under the policy's mean
        action, all rolled out together; ended episodes leave the batch. (Every task here starts
        the same way and the simulator is deterministic, so one episode tells all; more matter only
        for a task that randomises its start.)"""
        check_positive_int("episodes", episodes)
        designs = checked_bodies(bodies)
        core, cells = self._core([body for body in designs for _ in range(episodes)])
        returns = np.zeros(len(core))
        running = np.arange(len(core))  # the worlds still in the batch, by their first index
        while len(running):
            mean, _ = self._act(*observe(core, cells), cells.occupied)
            reward, terminated, truncated, _ = cell_step(core, cells, mean.numpy())
            returns[running] += reward
            self.env_steps += len(running)
            going = ~(terminated | truncated)
            if not going.all():  # stop simulating ended episodes rather than masking them
                running, core, cells = running[going], core.select(going), cells.select(going)
        return returns.reshape(len(designs), episodes).mean(axis=1)

    def bind(self, env: Any, seat: Any = None) -> SharedPPO:
        """Play in `env` (a voxel world of this agent's task, any body): `act` reads its simulator."""
        env = getattr(env, "unwrapped", env)
        if getattr(env, "world_id", None) != self.world_id:
            raise ValueError(f"shared-ppo plays {self.world_id}, not {getattr(env, 'world_id', env)!r}")
        self.bound = env.core
        self.bound_cells = body_cells(env.core.bodies, env.core.actuators)
        return self

    def act(self, observation: Any, info: dict[str, Any]) -> np.ndarray:
        """The policy's mean action for the world it is bound to, as it is now (the observation
        vector does not hold the voxels' velocities, which the policy reads)."""
        if self.bound is None:
            raise RuntimeError("shared-ppo reads the voxels of its world: call bind(env) first")
        mean, _ = self._act(*observe(self.bound, self.bound_cells), self.bound_cells.occupied)
        return np.take_along_axis(mean.numpy().astype(np.float64), self.bound_cells.actuator_cells, axis=1)[0]

    def save(
        self, path: str | Path, progress: dict[str, Any] | None = None, body: BodyLike | None = None
    ) -> None:
        """The policy, the optimiser and the sampling generator (so training resumes exactly), the
        counters and the reward scale, written atomically into the directory `path`; `body` (by
        default the first body of the last training call) is the design the checkpoint shows when
        the viewer or `gridworlds eval` load it."""
        if body is not None:
            self.body = check_body(body)
        super().save(path, progress)

    def checkpoint_env(self) -> dict[str, Any]:
        return {} if self.body is None else {"body": self.body}

    def store(self, files: CheckpointWriter) -> None:
        files.tensors(
            MODEL,
            {
                "policy": self.policy.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(),
            },
        )
        state = {
            "env_steps": self.env_steps,
            "updates": self.updates,
            "return_spread": {name: float(getattr(self.return_spread, name)) for name in SPREAD},
        }
        files.json(STATE, state)

    def restore(self, checkpoint: CheckpointReader) -> None:
        if "body" in self.env_kwargs:
            self.body = check_body(self.env_kwargs["body"])
        saved = checkpoint.tensors(MODEL)
        self.policy.load_state_dict(saved["policy"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.generator.set_state(saved["generator"])
        state = checkpoint.json(STATE)
        self.env_steps, self.updates = state["env_steps"], state["updates"]
        for name in SPREAD:
            setattr(self.return_spread, name, state["return_spread"][name])

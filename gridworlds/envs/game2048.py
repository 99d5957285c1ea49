"""2048 as a gymnasium Env and a batched VectorEnv over the numba engine."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space
from gymnasium.vector.vector_env import AutoresetMode

from gridworlds.engines import game2048 as engine
from gridworlds.envs.checks import (
    check_choice,
    check_discrete_action,
    check_positive_int,
    check_seed,
    check_vector_actions,
    engine_seed,
    require_reset,
    reset_vector_rngs,
    vector_seeds,
)
from gridworlds.envs.rendering import ViewerRendering
from gridworlds.registry import load, world

WORLD_ID = "gridworlds/2048-v0"
OBSERVATIONS = ("exponents", "onehot")
ILLEGAL_ACTIONS = ("noop", "terminate")
TILE_MILESTONES = (512, 1024, 2048, 4096, 8192, 16384, 32768)
# Illegal moves in a row that truncate a game: an illegal move is a no-op, so a policy that repeats
# one (an untrained one often does) would otherwise never end its game.
MAX_ILLEGAL_RUN = 64

# Bit a of engine.legal_bits(board) set -> row of this table is the bool mask over actions.
_MASKS = np.array([[(bits >> a) & 1 for a in range(4)] for bits in range(16)], dtype=bool)


def _observation_space(observation: str) -> gym.spaces.Box:
    if observation == "exponents":
        return gym.spaces.Box(0, engine.MAX_EXPONENT, shape=(4, 4), dtype=np.int8)
    return gym.spaces.Box(0, 1, shape=(engine.MAX_EXPONENT + 1, 4, 4), dtype=np.int8)


class Game2048Env(ViewerRendering, gym.Env):
    """2048: slide the tiles of a 4x4 board; equal tiles that meet merge once and score their sum.

    Observation: `Box(0, 15, (4, 4), int8)`, the log2 of each tile (0 = empty), row 0 on top;
    with `observation="onehot"`, `Box(0, 1, (16, 4, 4), int8)` where plane k marks the cells of
    exponent k.

    Actions: `Discrete(4)`: 0 up, 1 right, 2 down, 3 left.

    Reward: the merge score of the move (2+2 merging gives 4). A move that changes nothing is
    illegal: by default it is a no-op (reward 0, no tile spawns, `info["illegal"] = True`); with
    `illegal_action="terminate"` it ends the episode with reward `illegal_reward`.

    Episode end: terminated when no move is legal; truncated after `max_illegal_run` illegal moves
    in a row (64; None: never), and by `max_episode_steps` (gym.make's TimeLimit). New tiles: a 2
    with probability 0.9, a 4 with 0.1, on a uniformly random empty cell; a new game starts with two.

    Info: `action_mask` (bool[4]), `score` (sum of rewards so far), `max_tile` (the largest tile's
    value), `illegal` (whether the last action changed nothing), `illegal_run` (illegal moves in a
    row, up to this one). `action_masks()` returns the mask for sb3-contrib's MaskablePPO.

    Arguments: `observation` ("exponents" or "onehot"), `illegal_action` ("noop" or "terminate"),
    `illegal_reward` (float, used with "terminate"), `max_illegal_run` (a positive int or None),
    `render_mode` ("ansi", "rgb_array", "human").
    """

    metadata = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 8}
    world_id = WORLD_ID

    def __init__(
        self,
        observation: str = "exponents",
        illegal_action: str = "noop",
        illegal_reward: float = -1.0,
        max_illegal_run: int | None = MAX_ILLEGAL_RUN,
        render_mode: str | None = None,
    ):
        self.observation = check_choice("observation", observation, OBSERVATIONS)
        self.illegal_action = check_choice("illegal_action", illegal_action, ILLEGAL_ACTIONS)
        self.illegal_reward = float(illegal_reward)
        self.max_illegal_run = _check_max_illegal_run(max_illegal_run)
        self.render_mode = check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.observation_space = _observation_space(self.observation)
        self.action_space = gym.spaces.Discrete(engine.NUM_ACTIONS)
        self.board = np.uint64(0)
        self.rng = np.uint64(0)
        self.score = 0
        self.legal = 0
        self.illegal_run = 0
        self.truncated = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed(seed))
        self.rng = engine_seed(seed, self.rng, self.np_random)
        self.board, self.rng = engine.new_game(self.rng)
        self.score = 0
        self.legal = engine.legal_bits(self.board)
        self.illegal_run = 0
        self.truncated = False
        if self.render_mode == "human":
            self.render()
        return self._observe(), self._info(False)

    def step(self, action):
        # No legal move: before the first reset, or the game is over; or the game was truncated.
        require_reset(self.legal == 0 or self.truncated)
        action = check_discrete_action(action, engine.NUM_ACTIONS)
        self.board, self.rng, reward, moved, self.legal = engine.step(self.board, self.rng, action)
        self.score += reward
        self.illegal_run = 0 if moved else self.illegal_run + 1
        if not moved and self.illegal_action == "terminate":
            reward, self.legal = self.illegal_reward, 0
        terminated = self.legal == 0
        self.truncated = (
            not terminated and self.max_illegal_run is not None and (self.illegal_run >= self.max_illegal_run)
        )
        if self.render_mode == "human":
            self.render()
        return self._observe(), float(reward), terminated, self.truncated, self._info(not moved)

    def action_masks(self) -> np.ndarray:
        return _MASKS[self.legal].copy()

    def _observe(self) -> np.ndarray:
        grid = np.empty((4, 4), dtype=np.int8)
        engine.board_to_grid(self.board, grid)
        if self.observation == "onehot":
            return (grid[None] == np.arange(engine.MAX_EXPONENT + 1, dtype=np.int8)[:, None, None]).astype(
                np.int8
            )
        return grid

    def _info(self, illegal: bool) -> dict[str, Any]:
        return {
            "action_mask": _MASKS[self.legal].copy(),
            "score": int(self.score),
            "max_tile": 1 << engine.max_exponent(self.board),
            "illegal": illegal,
            "illegal_run": self.illegal_run,
        }

    def render_state(self) -> dict[str, Any]:
        return {"board": int(self.board), "score": int(self.score), "game_over": self.legal == 0}


class Game2048VectorEnv(gym.vector.VectorEnv):
    """`num_envs` games of 2048 stepped in one numba call; each behaves exactly as Game2048Env.

    Autoreset: next-step (gymnasium's default). The step after a game ends resets that game and
    returns its first observation with reward 0 and terminated = truncated = False.

    Seeding: `reset(seed=s)` seeds game i with s + i, as SyncVectorEnv does, so it reproduces
    `num_envs` single envs reset with seeds s, s+1, ... move for move.

    Arguments: those of Game2048Env, plus `num_envs` and `max_episode_steps` (truncation).
    Info holds the arrays `action_mask` (num_envs, 4), `score`, `max_tile`, `illegal` and
    `illegal_run`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        observation: str = "exponents",
        illegal_action: str = "noop",
        illegal_reward: float = -1.0,
        max_illegal_run: int | None = MAX_ILLEGAL_RUN,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
    ):
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.observation = check_choice("observation", observation, OBSERVATIONS)
        self.illegal_action = check_choice("illegal_action", illegal_action, ILLEGAL_ACTIONS)
        self.illegal_reward = float(illegal_reward)
        self.max_illegal_run = _check_max_illegal_run(max_illegal_run)
        self.max_episode_steps = (
            None if max_episode_steps is None else check_positive_int("max_episode_steps", max_episode_steps)
        )
        self.render_mode = check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.single_observation_space = _observation_space(self.observation)
        self.single_action_space = gym.spaces.Discrete(engine.NUM_ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self.boards = np.zeros(n, dtype=np.uint64)
        self.rngs = np.zeros(n, dtype=np.uint64)
        self.scores = np.zeros(n, dtype=np.int64)
        self.legal = np.zeros(n, dtype=np.uint8)
        self.lengths = np.zeros(n, dtype=np.int64)
        self.illegal_runs = np.zeros(n, dtype=np.int64)
        self.needs_reset = np.zeros(n, dtype=bool)
        self._grids = np.zeros((n, 4, 4), dtype=np.int8)
        self._renderer = None
        self.started = False

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        seeds = vector_seeds(seed, self.num_envs)
        super().reset(seed=None if seeds is None else seeds[0])
        reset_vector_rngs(self.rngs, seed, self.np_random)
        engine.new_game_batch(self.boards, self.rngs, self.legal)
        self.scores[:] = 0
        self.lengths[:] = 0
        self.illegal_runs[:] = 0
        self.needs_reset[:] = False
        self.started = True
        return self._observe(), self._info(np.zeros(self.num_envs, dtype=bool))

    def step(self, actions):
        require_reset(not self.started)
        actions = check_vector_actions(actions, self.num_envs, engine.NUM_ACTIONS)
        restart = self.needs_reset
        rewards = np.empty(self.num_envs, dtype=np.int64)
        moved = np.empty(self.num_envs, dtype=bool)
        engine.step_batch(self.boards, self.rngs, actions, restart, rewards, moved, self.legal)
        self.scores = np.where(restart, 0, self.scores + rewards)
        self.lengths = np.where(restart, 0, self.lengths + 1)
        illegal = ~moved & ~restart
        self.illegal_runs = np.where(illegal, self.illegal_runs + 1, 0)
        rewards = rewards.astype(np.float64)
        if self.illegal_action == "terminate":
            rewards[illegal] = self.illegal_reward
            self.legal[illegal] = 0
        terminated = (self.legal == 0) & ~restart
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.max_illegal_run is not None:
            truncated = (self.illegal_runs >= self.max_illegal_run) & ~terminated & ~restart
        if self.max_episode_steps is not None:
            # As gymnasium's TimeLimit does: a game that ends on its last allowed step is both.
            truncated |= (self.lengths >= self.max_episode_steps) & ~restart
        self.needs_reset = terminated | truncated
        return self._observe(), rewards, terminated, truncated, self._info(illegal)

    def _observe(self) -> np.ndarray:
        engine.boards_to_grids(self.boards, self._grids)
        if self.observation == "onehot":
            planes = np.arange(engine.MAX_EXPONENT + 1, dtype=np.int8)[None, :, None, None]
            return (self._grids[:, None] == planes).astype(np.int8)
        return self._grids.copy()

    def _info(self, illegal: np.ndarray) -> dict[str, Any]:
        return {
            "action_mask": _MASKS[self.legal],
            "score": self.scores,
            "max_tile": 1 << self._grids.reshape(self.num_envs, 16).max(axis=1).astype(np.int64),
            "illegal": illegal,
            "illegal_run": self.illegal_runs.copy(),
        }

    def render(self):
        if self.render_mode is None:
            return None
        if self._renderer is None:
            self._renderer = load(world(WORLD_ID).viewer)(self.render_mode, 0)
        frames = [
            self._renderer.render({"board": int(b), "score": int(s), "game_over": g == 0})
            for b, s, g in zip(self.boards, self.scores, self.legal, strict=True)
        ]
        return "\n\n".join(frames) if self.render_mode == "ansi" else np.stack(frames)

    def close_extras(self, **kwargs):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def _check_max_illegal_run(value: Any) -> int | None:
    return None if value is None else check_positive_int("max_illegal_run", value)


def episode_metrics(info: dict[str, Any]) -> dict[str, float]:
    """What an evaluation records of one finished game, from its last info."""
    metrics = {"score": float(info["score"]), "max_tile": float(info["max_tile"])}
    for tile in TILE_MILESTONES:
        metrics[f"reached_{tile}"] = float(info["max_tile"] >= tile)
    return metrics

"""Touching loops as gymnasium envs: an agent edits cells, or the CA rule runs as the dynamics."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from gridworlds.engines import touching_loops as engine
from gridworlds.envs.checks import (
    check_choice,
    check_discrete_action,
    check_positive_int,
    check_probability,
    check_seed,
    engine_seed,
    require_reset,
)
from gridworlds.envs.rendering import ViewerRendering

ACTIONS = ("flip", "set")


class _LoopsField(ViewerRendering):
    """What both envs share: the field, its tile set, seeding, observations and the render hook."""

    metadata = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 8}

    def _setup(self, n: int, tiles: str, density: float, render_mode: str | None) -> None:
        self.n = engine.check_n(n)
        if not isinstance(tiles, str):
            raise ValueError(f"tiles must be 'touching', 'non-touching' or a tile-set text, got {tiles!r}")
        self.tiles = tiles if tiles in engine.TILE_SETS else "custom"
        self.templates = engine.tile_set_templates(tiles)
        self.density = check_probability("density", density)
        self.render_mode = check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.observation_space = gym.spaces.Box(0, 1, shape=(2, self.n, self.n), dtype=np.int8)
        self.rows = np.zeros(self.n + 4, dtype=np.uint64)
        self.rng = np.uint64(0)
        self.field = np.zeros((self.n, self.n), dtype=np.int8)
        self.valid = np.zeros((self.n, self.n), dtype=np.bool_)
        self.valid_count = 0
        self.steps = 0
        self.sweeps = 0
        self.last_cell: tuple[int, int] | None = None
        self.started = False  # until reset() draws the first field

    def _new_field(self, seed: int | None) -> None:
        self.rng = engine_seed(seed, self.rng, self.np_random)
        self.rng = engine.random_field(self.rows, self.n, self.density, self.rng)
        self.steps = self.sweeps = 0
        self.last_cell = None
        self.started = True
        self._refresh()

    def _refresh(self) -> None:
        engine.rows_to_field(self.rows, self.field)
        self.valid_count = int(engine.valid_cells(self.rows, self.n, *self.templates, self.valid))

    @property
    def stable(self) -> bool:
        return self.valid_count == self.n * self.n

    def _observe(self) -> np.ndarray:
        return np.stack([self.field, self.valid.astype(np.int8)])

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "valid_cells": self.valid_count,
            "valid_share": self.valid_count / (self.n * self.n),
            "stable": self.stable,
            "density": float(self.field.mean()),
            "sweeps": self.sweeps,
        }
        if self.stable:
            stats = engine.pattern_stats(self.field, self.tiles != "non-touching")
            info.update(loops=stats["loops"], contacts=stats["contacts"])
        return info

    def render_state(self) -> dict[str, Any]:
        return {
            "field": self.field.copy(),
            "valid": self.valid.copy(),
            "step": self.steps,
            "sweeps": self.sweeps,
            "stable": self.stable,
            "tiles": self.tiles,
            "last_cell": self.last_cell,
        }


class TouchingLoopsEnv(_LoopsField, gym.Env):
    """Edit an n x n field of 0/1 cells (fixed 0 border) until it holds a valid loop pattern.

    A cell is valid when the tile rule accepts it: a 1-cell sits on a closed path (a straight or a
    corner tile around it matches), a 0-cell is covered by such a tile. A field whose cells are all
    valid is a loop pattern, where touching loops may meet diagonally (tiles="non-touching" forbids it).

    Observation: `Box(0, 1, (2, n, n), int8)`: plane 0 the field, plane 1 which cells are valid.
    Actions: with action="flip", `Discrete(n * n)`: flip cell r * n + c; with action="set",
    `Discrete(2 * n * n)`: v * n * n + r * n + c sets cell (r, c) to v (setting a cell to its own
    value changes nothing). Every action is legal.
    Reward: the change in the number of valid cells, plus `stable_bonus` when the whole field
    becomes valid. Episode end: terminated when every cell is valid; truncated by
    `max_episode_steps` (1000 by default, gym.make's TimeLimit).
    Info: `valid_cells`, `valid_share`, `stable`, `density`, `action_mask` (all True), and `loops`,
    `contacts` once stable.

    Arguments: `n` (3..60), `tiles` ("touching", "non-touching", or a tile-set text as
    engines.touching_loops.parse_tiles reads it), `density` (share of 1-cells in the random start
    field), `action`, `stable_bonus`, `render_mode`.

    The CA rule plays here too, as the agent `ca-rule`: one edit per step, so learned policies and
    the rule compare on equal terms.
    """

    world_id = "gridworlds/TouchingLoops-v0"

    def __init__(
        self,
        n: int = 6,
        tiles: str = "touching",
        density: float = 0.5,
        action: str = "flip",
        stable_bonus: float = 10.0,
        render_mode: str | None = None,
    ):
        self._setup(n, tiles, density, render_mode)
        self.action = check_choice("action", action, ACTIONS)
        self.stable_bonus = float(stable_bonus)
        cells = self.n * self.n
        self.action_space = gym.spaces.Discrete(cells if self.action == "flip" else 2 * cells)
        self._all_legal = np.ones(self.action_space.n, dtype=bool)

    def action_masks(self) -> np.ndarray:
        return self._all_legal.copy()

    def _info(self) -> dict[str, Any]:
        # Every edit is legal; the mask is there because every gymnasium world of the suite has one.
        return {**super()._info(), "action_mask": self.action_masks()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed(seed))
        self._new_field(seed)
        if self.render_mode == "human":
            self.render()
        return self._observe(), self._info()

    def step(self, action):
        require_reset(not self.started or self.stable)
        action = check_discrete_action(action, self.action_space.n)
        cells = self.n * self.n
        cell, value = action % cells, action // cells
        r, c = divmod(cell, self.n)
        if self.action == "flip":
            value = 1 - self.field[r, c]
        before = self.valid_count
        field = self.field.copy()
        field[r, c] = value
        engine.field_to_rows(field, self.rows)
        self._refresh()
        self.steps += 1
        self.last_cell = (r, c)
        reward = float(self.valid_count - before) + (self.stable_bonus if self.stable else 0.0)
        if self.render_mode == "human":
            self.render()
        return self._observe(), reward, self.stable, False, self._info()


class TouchingLoopsCAEnv(_LoopsField, gym.Env):
    """The touching-loops CA rule as the dynamics; the agent sets its noise probability.

    Each step runs `sweeps_per_step` sweeps of the asynchronous rule (a sweep visits every cell once
    in a random order) with the noise probability the action gives, stopping early once the
    pattern is stable. For watching the rule work, and for agents that tune its parameters.

    Observation: `Box(0, 1, (2, n, n), int8)`: the field and its valid cells.
    Actions: `Box(0, 1, (1,), float32)`: the noise probability for this step's sweeps.
    Reward: -1 per sweep run, so the return is minus the sweeps to a stable pattern.
    Episode end: terminated when stable; truncated by `max_episode_steps` (100,000 sweeps by
    default, gym.make's TimeLimit).
    Info: `valid_cells`, `valid_share`, `stable`, `density`, `sweeps` (so far), `invalid_visits`
    (of the last sweep), and `loops`, `contacts` once stable.

    Arguments: `n`, `tiles`, `density` as in TouchingLoops-v0, `sweeps_per_step`, `render_mode`.
    """

    world_id = "gridworlds/TouchingLoopsCA-v0"

    def __init__(
        self,
        n: int = 8,
        tiles: str = "touching",
        density: float = 0.5,
        sweeps_per_step: int = 1,
        render_mode: str | None = None,
    ):
        self._setup(n, tiles, density, render_mode)
        self.sweeps_per_step = check_positive_int("sweeps_per_step", sweeps_per_step)
        self.action_space = gym.spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self._order = np.empty(self.n * self.n, dtype=np.int64)
        self.invalid_visits = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed(seed))
        self._new_field(seed)
        self.invalid_visits = self.n * self.n - self.valid_count
        if self.render_mode == "human":
            self.render()
        return self._observe(), self._info()

    def step(self, action):
        require_reset(not self.started or self.stable)
        noise = np.asarray(action, dtype=np.float64)
        if noise.shape != (1,) or not 0.0 <= noise[0] <= 1.0:
            raise ValueError(f"action must be a noise probability from 0 to 1 of shape (1,), got {action!r}")
        ran = 0
        for _ in range(self.sweeps_per_step):
            self.rng, self.invalid_visits = engine.sweep(
                self.rows, self.n, float(noise[0]), self.rng, self._order, *self.templates
            )
            ran += 1
            if self.invalid_visits == 0:
                break
        self.sweeps += ran
        self.steps += 1
        self._refresh()
        if self.render_mode == "human":
            self.render()
        return self._observe(), -float(ran), self.stable, False, self._info()

    def _info(self) -> dict[str, Any]:
        return {**super()._info(), "invalid_visits": self.invalid_visits}


def episode_metrics(info: dict[str, Any]) -> dict[str, float]:
    """What an evaluation records of one touching-loops episode, from its last info."""
    metrics = {
        "stable": float(info["stable"]),
        "valid_share": info["valid_share"],
        "density": info["density"],
        "sweeps": float(info["sweeps"]),
    }
    if info["stable"]:
        metrics.update(loops=float(info["loops"]), contacts=float(info["contacts"]))
    return metrics

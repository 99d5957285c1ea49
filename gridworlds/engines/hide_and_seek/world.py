"""The parameters and state of hide-and-seek arenas: the action and facing codes, a `Scenario` (the
world's arguments) and the `Rules` its kernels need of it, and `Arenas`, the state of N arenas as
arrays. The rules themselves are in the package's docstring."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gridworlds.engines.hide_and_seek.stats import NUM_STATS

ACTION_NVEC = (5, 3, 2, 3)
NVEC = np.array(ACTION_NVEC, dtype=np.int64)
STAY, UP, RIGHT, DOWN, LEFT = range(5)
NO_TURN, TURN_LEFT, TURN_RIGHT = range(3)
NO_LOCK, LOCK, UNLOCK = range(3)
MOVE_ROW = np.array([0, -1, 0, 1, 0], dtype=np.int64)
MOVE_COL = np.array([0, 0, 1, 0, -1], dtype=np.int64)
FACING_ROW = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)
FACING_COL = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
HIDERS, SEEKERS = 0, 1
MAX_DOOR_CELLS = 8


class Rules(NamedTuple):
    """What the kernels need of a Scenario."""

    hiders: int
    boxes: int
    elongated: int
    box_length: int
    horizon: int
    prep_steps: int
    quadrant: bool


@dataclass(frozen=True)
class Scenario:
    """The arguments of a hide-and-seek world; `check()` raises a ValueError naming a bad one."""

    size: int = 16
    hiders: int = 2
    seekers: int = 2
    boxes: int = 4
    elongated: int = 2
    box_length: int = 2
    ramps: int = 2
    horizon: int = 240
    prep_fraction: float = 0.4
    quadrant: bool = False

    @property
    def grid(self) -> int:
        return self.size + 2

    @property
    def agents(self) -> int:
        return self.hiders + self.seekers

    @property
    def objects(self) -> int:
        return self.boxes + self.ramps

    @property
    def prep_steps(self) -> int:
        return round(self.prep_fraction * self.horizon)

    def rules(self) -> Rules:
        """What the kernels need of a Scenario."""
        return Rules(
            self.hiders,
            self.boxes,
            self.elongated,
            self.box_length,
            self.horizon,
            self.prep_steps,
            self.quadrant,
        )

    @functools.cached_property
    def plain_rules(self) -> tuple:
        """`rules()` as a plain tuple, made once, for the entry points (see below)."""
        return tuple(self.rules())

    def check(self) -> Scenario:
        def whole(name: str, low: int, high: int | None = None) -> None:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | np.integer)
                or value < low
                or (high is not None and value > high)
            ):
                bound = f"from {low} to {high}" if high is not None else f"at least {low}"
                raise ValueError(f"{name} must be an integer {bound}, got {value!r}")

        whole("size", 8, 64)
        whole("hiders", 1, 3)
        whole("seekers", 1, 3)
        whole("boxes", 0, 16)
        whole("elongated", 0, self.boxes)
        whole("box_length", 2, min(4, (self.size - 2) // 2))  # a room is at least that wide
        whole("ramps", 0, 8)
        whole("horizon", 1)
        if (
            isinstance(self.prep_fraction, bool)
            or not isinstance(self.prep_fraction, int | float)
            or not (0.0 <= self.prep_fraction < 1.0)
        ):
            raise ValueError(f"prep_fraction must be a number in [0, 1), got {self.prep_fraction!r}")
        if self.prep_steps >= self.horizon:
            raise ValueError(
                f"prep_fraction {self.prep_fraction} of horizon {self.horizon} leaves no step after the "
                f"preparation phase; make prep_fraction smaller or horizon longer"
            )
        if not isinstance(self.quadrant, bool):
            raise ValueError(f"quadrant must be True or False, got {self.quadrant!r}")
        inner = self.size - 2
        room = (self.size // 2 - 1) ** 2 if self.quadrant else inner * inner
        inside = self.hiders + self.boxes + self.elongated * (self.box_length - 1)
        if 2 * inside > room:
            where = "the quadrant room" if self.quadrant else "the arena"
            raise ValueError(
                f"size {self.size} is too small: {where} has {room} cells for {inside} cells of hiders and "
                f"boxes; make size larger or boxes / elongated / hiders fewer"
            )
        if (
            2 * (self.seekers + self.ramps + (0 if self.quadrant else self.hiders + self.boxes))
            > inner * inner - room // 2
        ):
            raise ValueError(
                f"size {self.size} is too small for {self.seekers} seekers and {self.ramps} ramps"
            )
        return self


class Arenas(NamedTuple):
    """The state of N arenas, struct-of-arrays (g = grid side, A agents, O objects). The kernels take
    it whole (numba passes a named tuple of arrays like a struct) and change its arrays in place."""

    walls: np.ndarray  # uint8 [N, g, g], 1 = wall
    object_at: np.ndarray  # int16 [N, g, g], the object in a cell or -1
    agent_at: np.ndarray  # int8 [N, g, g], the agent in a cell or -1
    agent_pos: np.ndarray  # int64 [N, A, 2] (row, column)
    facing: np.ndarray  # int64 [N, A], 0..7
    object_pos: np.ndarray  # int64 [N, O, 2], a box's anchor (its top-left cell)
    object_start: np.ndarray  # int64 [N, O, 2], where each object began the episode
    object_length: np.ndarray  # int64 [N, O], cells a box spans (ramps: 1)
    object_vertical: np.ndarray  # bool [N, O]
    lock: np.ndarray  # int8 [N, O], 0 unlocked, 1 + the team that locked it
    doors: np.ndarray  # int64 [N, MAX_DOOR_CELLS, 2], the door cells (a gap in a room wall)
    door_count: np.ndarray  # int64 [N]
    t: np.ndarray  # int64 [N], steps taken this episode
    rng: np.ndarray  # uint64 [N]
    returns: np.ndarray  # float64 [N, A], rewards summed over the episode
    stats: np.ndarray  # float64 [N, NUM_STATS]

    @classmethod
    def allocate(cls, scenario: Scenario, n: int) -> Arenas:
        g, a, o = scenario.grid, scenario.agents, scenario.objects
        return cls(  # type: ignore[call-arg]
            walls=np.zeros((n, g, g), np.uint8),
            object_at=np.full((n, g, g), -1, np.int16),
            agent_at=np.full((n, g, g), -1, np.int8),
            agent_pos=np.zeros((n, a, 2), np.int64),
            facing=np.zeros((n, a), np.int64),
            object_pos=np.zeros((n, o, 2), np.int64),
            object_start=np.zeros((n, o, 2), np.int64),
            object_length=np.ones((n, o), np.int64),
            object_vertical=np.zeros((n, o), np.bool_),
            lock=np.zeros((n, o), np.int8),
            doors=np.zeros((n, MAX_DOOR_CELLS, 2), np.int64),
            door_count=np.zeros(n, np.int64),
            t=np.zeros(n, np.int64),
            rng=np.zeros(n, np.uint64),
            returns=np.zeros((n, a), np.float64),
            stats=np.zeros((n, NUM_STATS), np.float64),
        )

    def copy(self) -> Arenas:
        return Arenas(*(array.copy() for array in self))

    def select(self, index: int | slice) -> Arenas:
        """Arenas `index` as a batch of their own (copies)."""
        index = slice(index, index + 1) if isinstance(index, int | np.integer) else index
        return Arenas(*(array[index].copy() for array in self))

"""Hide-and-seek on a grid (Baker et al. 2020, "Emergent Tool Use From Multi-Agent Autocurricula"),
batched over many arenas.

The grid. An arena of side `size` (its outer walls included) sits in a grid of side g = size + 2: a
ring of free cells outside the outer walls is the only place outside the play area, reachable by
climbing the outer wall from a ramp, with no way back (there are no ramps outside). Cells are (row,
column), row 0 at the top. A cell holds at most one of a wall, an object (a box or a ramp) or an
agent, except that an agent may stand on a ramp.

Agents: hiders 0..H-1, then seekers H..A-1. Each has a cell and a facing, one of 8 directions
(0 up, 1 up-right, 2 right, ... 7 up-left, clockwise). Objects: boxes 0..B-1 (a box spans `length`
cells from its anchor, rightwards or, if `vertical`, downwards), then ramps B..O-1 (one cell each).
`lock` is 0 for an unlocked object, else 1 + the team that locked it (1 hiders, 2 seekers).

Actions, per agent, four integers (`ACTION_NVEC` = (5, 3, 2, 3)):
- move: 0 stay, 1 up, 2 right, 3 down, 4 left;
- turn: 0 none, 1 left (anticlockwise 45 degrees), 2 right (clockwise 45 degrees);
- grab: 0 or 1, hold the object in the facing cell while moving;
- lock: 0 none, 1 lock, 2 unlock the object in the facing cell.
Within a step the agents act one after another in a random order drawn each step; each agent turns
first, then locks or unlocks (an unlocked object takes its team's lock; only the team that locked
an object unlocks it), then moves:
- holding (grab = 1 and an object in the facing cell): the agent and the object move together by
  the move (push, pull or drag sideways) if the object is unlocked, no agent stands on it, and
  every cell they enter is free of walls, agents and other objects (a ramp cell is free for the
  agent); otherwise neither moves;
- standing on a ramp, moving towards a wall or box cell with a free cell behind it (no wall, box or
  agent): the agent climbs over into that cell (the grid form of climbing a ramp);
- moving into a box: the box is pushed one cell if it is unlocked and its new cells are free, and
  the agent follows; otherwise nothing moves;
- moving into an empty cell or onto a ramp without an agent: the agent moves. Ramps move only
  when held. Anything else (a wall, an agent, the grid's edge) leaves the agent where it is.
During the preparation phase (the first `prep_steps` steps) the seekers' actions are no-ops.

Vision: agent a sees a cell if the angle between its facing and the line from its cell's centre to
that cell's centre is at most 67.5 degrees (a 135 degree cone, no range limit) and no cell strictly
between the two is a wall, an object or an agent. Between means every cell the straight segment
touches; where it passes exactly through a grid corner, both cells beside the corner count, so a
diagonal gap between two blocking cells is closed. An entity is visible if any of its cells is
(its own other cells do not block); every agent sees itself.

Rewards, each step after preparation: +1 to every hider if no seeker sees any hider, else -1;
seekers get the opposite. An agent outside the play area also gets -10. During preparation every
reward is 0. After `horizon` steps the episode is truncated.

Statistics per arena (`STAT_*` columns of `stats`): the largest distance a box has been from its
start during preparation, the boxes and ramps locked at the end of preparation, the share of door
cells then filled by a locked box (a fort), the largest distance a ramp has been from its start,
and the post-preparation steps with a hider seen.

Randomness comes from one SplitMix64 state per arena (`rng`), so a batch of N arenas runs exactly
like N single arenas seeded the same way.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba
import numpy as np

from gridworlds.engines.rng import next_below, seed_state

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
OUTSIDE_PENALTY = -10.0
CONE_COS = math.cos(math.radians(67.5))
MAX_DOOR_CELLS = 8
PLACEMENT_TRIES = 1000  # random draws for a free cell before a layout counts as too full
WRONG_OBSERVATIONS = -2  # what the step kernel returns for observation arrays of the wrong shape
LAYOUT_TRIES = 100  # layouts drawn for one reset before the scenario counts as too crowded

STAT_BOX_MOVE_PREP, STAT_BOXES_LOCKED_PREP, STAT_RAMP_MOVE, STAT_RAMPS_LOCKED_PREP, STAT_SEEN_STEPS = range(5)
STAT_DOORS_LOCKED_PREP = 5
NUM_STATS = 6

# Observation feature widths; `observe` and `global_state` list what each column holds.
SELF_FEATURES = 7
AGENT_FEATURES = 8
BOX_FEATURES = 8
RAMP_FEATURES = 6
OBJECT_STATE_FEATURES = 8
LOCAL_CHANNELS = 4


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


class Observations(NamedTuple):
    """What each agent of N arenas observes (A agents, B boxes, R ramps, k = 2 * view_radius + 1).
    Positions are divided by the grid side g; offsets are from the observing agent; an entity the
    agent does not see has all-zero features and a 0 in its mask."""

    own: np.ndarray  # float32 [N, A, SELF_FEATURES]
    agents: np.ndarray  # float32 [N, A, A - 1, AGENT_FEATURES], the other agents in index order
    agents_mask: np.ndarray  # int8 [N, A, A - 1]
    boxes: np.ndarray  # float32 [N, A, B, BOX_FEATURES]
    boxes_mask: np.ndarray  # int8 [N, A, B]
    ramps: np.ndarray  # float32 [N, A, R, RAMP_FEATURES]
    ramps_mask: np.ndarray  # int8 [N, A, R]
    preparation: np.ndarray  # float32 [N, A, 1], the fraction of the preparation phase elapsed
    local: np.ndarray  # int8 [N, A, LOCAL_CHANNELS, k, k], centred on the agent

    @classmethod
    def allocate(cls, scenario: Scenario, n: int, view_radius: int) -> Observations:
        """Arrays for n arenas, their contents undefined until `observe` or `step` fills them all."""
        a, k = scenario.agents, 2 * view_radius + 1
        return cls(  # type: ignore[call-arg]
            own=np.empty((n, a, SELF_FEATURES), np.float32),
            agents=np.empty((n, a, a - 1, AGENT_FEATURES), np.float32),
            agents_mask=np.empty((n, a, a - 1), np.int8),
            boxes=np.empty((n, a, scenario.boxes, BOX_FEATURES), np.float32),
            boxes_mask=np.empty((n, a, scenario.boxes), np.int8),
            ramps=np.empty((n, a, scenario.ramps, RAMP_FEATURES), np.float32),
            ramps_mask=np.empty((n, a, scenario.ramps), np.int8),
            preparation=np.empty((n, a, 1), np.float32),
            local=np.empty((n, a, LOCAL_CHANNELS, k, k), np.int8),
        )


def state_size(scenario: Scenario) -> int:
    """Length of `global_state`'s rows."""
    return scenario.agents * SELF_FEATURES + scenario.objects * OBJECT_STATE_FEATURES + 4 + scenario.grid**2


def new_arenas(scenario: Scenario, seeds: list[int]) -> Arenas:
    """len(seeds) arenas, arena i reset from seed i."""
    arenas = Arenas.allocate(scenario, len(seeds))
    arenas.rng[:] = [seed_state(int(s)) for s in seeds]
    reset(arenas, scenario, np.ones(len(seeds), np.bool_))
    return arenas


def _lines(arenas: Arenas) -> tuple[np.ndarray, np.ndarray]:
    return tuple(sight_lines(arenas.walls.shape[1]))


def _check_array(name: str, array: Any, shape: tuple[int, ...], dtype: type) -> None:
    """The kernels index arrays without bounds checks: a wrong shape would read or write past them."""
    if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != dtype:
        got = f"{array.dtype} array of shape {array.shape}" if isinstance(array, np.ndarray) else repr(array)
        raise ValueError(f"{name} must be a {np.dtype(dtype)} array of shape {shape}, got {got}")


def _check_observations(out: Observations, arenas: Arenas, scenario: Scenario) -> None:
    """Raise the ValueError that names the first array of `out` that is not as `allocate` makes it."""
    expected = Observations.allocate(scenario, len(arenas.t), out.local.shape[-1] // 2)
    for name, array, model in zip(Observations._fields, out, expected, strict=True):
        _check_array(f"observations.{name}", array, model.shape, model.dtype.type)
    raise ValueError("observations.local must be [N, A, LOCAL_CHANNELS, k, k]")


def reset(arenas: Arenas, scenario: Scenario, which: np.ndarray) -> None:
    """Start a new episode in every arena where `which` is True, from its own generator. A layout
    whose rooms leave no place for every object is drawn again; a scenario so crowded that
    LAYOUT_TRIES layouts all fail raises ValueError (that arena is left half built)."""
    _check_array("which", which, (len(arenas.t),), np.bool_)
    failed = _reset_entry(tuple(arenas), scenario.plain_rules, which)
    if failed >= 0:
        raise ValueError(
            f"arena {failed}: no room for every object in {LAYOUT_TRIES} random layouts of {scenario}; "
            f"make size larger or boxes, elongated or box_length smaller"
        )


def stage_forts(arenas: Arenas, scenario: Scenario, which: np.ndarray) -> None:
    """A start-state curriculum for learners of the quadrant game: in every arena where `which` is
    True, box d (of length 1) moves to a random depth 0..m-2 cells into the room in front of door d
    (0: in the doorway), unless an agent or an object holds that cell; its start moves with it; and
    hider d, if there is one, steps to the cell behind the box (one farther in) and faces the door,
    unless that cell is a wall or taken: one push from a closed door, the state random play almost
    never reaches. Depths come from each arena's own generator. Call it right after `reset`."""
    if not scenario.quadrant:
        raise ValueError(
            "stage_forts stages boxes before the quadrant room's doors: scenario.quadrant must be True"
        )
    _check_array("which", which, (len(arenas.t),), np.bool_)
    _stage_forts_entry(tuple(arenas), scenario.plain_rules, which)


def step(
    arenas: Arenas,
    scenario: Scenario,
    actions: np.ndarray,
    rewards: np.ndarray,
    observations: Observations | None = None,
) -> np.ndarray:
    """Apply `actions` (int64 [N, A, 4]), write each agent's reward into `rewards` (float64 [N, A])
    and, if given, the new observations into `observations` (in the same numba call, which matters
    for one arena); return which arenas reached the horizon (bool [N]). An action outside
    ACTION_NVEC raises `BadAction` before anything moves; arrays of the wrong shape or type raise
    ValueError."""
    n = len(arenas.t)
    _check_array("actions", actions, (n, scenario.agents, len(ACTION_NVEC)), np.int64)
    _check_array("rewards", rewards, (n, scenario.agents), np.float64)
    truncated = np.zeros(n, np.bool_)
    if observations is None:
        bad = _step_entry(tuple(arenas), scenario.plain_rules, _lines(arenas), actions, rewards, truncated)
    else:
        bad = _step_and_observe_entry(
            tuple(arenas),
            scenario.plain_rules,
            _lines(arenas),
            actions,
            rewards,
            truncated,
            tuple(observations),
        )
    if bad == WRONG_OBSERVATIONS:
        _check_observations(observations, arenas, scenario)
    if bad >= 0:
        arena, agent = divmod(bad, scenario.agents)
        raise BadAction(arena, agent, actions[arena, agent])
    return truncated


class BadAction(ValueError):
    """An action outside ACTION_NVEC; `arena` and `agent` say whose."""

    def __init__(self, arena: int, agent: int, action: np.ndarray):
        super().__init__(
            f"action of agent {agent} in arena {arena} must be 4 integers (move 0-4, turn 0-2, grab 0-1, "
            f"lock 0-2), got {action.tolist()}"
        )
        self.arena, self.agent = arena, agent


def observe(arenas: Arenas, scenario: Scenario, out: Observations) -> None:
    """Fill `out` with every agent's observation of its arena."""
    if not _observe_entry(tuple(arenas), scenario.plain_rules, _lines(arenas), tuple(out)):
        _check_observations(out, arenas, scenario)


def vision(arenas: Arenas, scenario: Scenario, index: int = 0) -> np.ndarray:
    """bool [A, A + O]: whether each agent of arena `index` sees each agent, then each object."""
    visible = np.zeros((scenario.agents, scenario.agents + scenario.objects), np.bool_)
    _vision_entry(tuple(arenas), index, _lines(arenas), visible)
    return visible


EPISODE_STATS = (
    "hider_reward",
    "seeker_reward",
    "box_move_prep",
    "boxes_locked_prep",
    "ramp_move",
    "ramps_locked_prep",
    "doors_locked_prep",
    "door_locked_prep",
    "hider_seen_fraction",
)


def episode_stats(arenas: Arenas, scenario: Scenario) -> dict[str, np.ndarray]:
    """Each arena's episode so far, float64 [N] per name of EPISODE_STATS: each team's mean return,
    the largest box move during preparation, the boxes locked at its end, the largest ramp move, the
    ramps locked at the end of preparation, the share of door cells a locked box fills then, whether
    a locked box fills any door cell then (1 or 0: its mean is the share of episodes with a locked
    door), and the share of post-preparation steps with a hider seen."""
    returns, stats = arenas.returns, arenas.stats
    return {
        "hider_reward": returns[:, : scenario.hiders].mean(axis=1),
        "seeker_reward": returns[:, scenario.hiders :].mean(axis=1),
        "box_move_prep": stats[:, STAT_BOX_MOVE_PREP].copy(),
        "boxes_locked_prep": stats[:, STAT_BOXES_LOCKED_PREP].copy(),
        "ramp_move": stats[:, STAT_RAMP_MOVE].copy(),
        "ramps_locked_prep": stats[:, STAT_RAMPS_LOCKED_PREP].copy(),
        "doors_locked_prep": stats[:, STAT_DOORS_LOCKED_PREP].copy(),
        "door_locked_prep": (stats[:, STAT_DOORS_LOCKED_PREP] > 0).astype(np.float64),
        "hider_seen_fraction": stats[:, STAT_SEEN_STEPS] / max(scenario.horizon - scenario.prep_steps, 1),
    }


def seen_cells(arenas: Arenas, index: int = 0) -> np.ndarray:
    """bool [A, g, g]: the cells each agent of arena `index` sees (what a viewer shades)."""
    g = arenas.walls.shape[1]
    out = np.zeros((arenas.agent_pos.shape[1], g, g), np.bool_)
    _seen_cells_entry(tuple(arenas), index, _lines(arenas), out)
    return out


def global_state(arenas: Arenas, scenario: Scenario, out: np.ndarray) -> None:
    """Fill `out` (float32 [N, state_size]) with the whole world, for a centralised critic: each
    agent's own features (as in its observation), each object's centre row and column, length / 4,
    vertical, is a ramp, locked by hiders, locked by seekers, in a door; the fraction of preparation
    elapsed, of the episode elapsed; the share of door cells a box fills, a locked box fills; then
    the walls, row by row."""
    _check_array("out", out, (len(arenas.t), state_size(scenario)), np.float32)
    _global_state_entry(tuple(arenas), scenario.plain_rules, out)


# ---------------------------------------------------------------------------------------------
# Cells and objects (w is an Arenas, b an arena)


@numba.njit(cache=True, inline="always")
def in_grid(w, r, c):
    g = w.walls.shape[1]
    return 0 <= r < g and 0 <= c < g


@numba.njit(cache=True)
def _object_fits(w, b, o, r, c, mover):
    """Whether object o anchored at (r, c) is on free cells: no wall, other object or agent but `mover`."""
    for k in range(w.object_length[b, o]):
        rr = r + k if w.object_vertical[b, o] else r
        cc = c if w.object_vertical[b, o] else c + k
        if not in_grid(w, rr, cc) or w.walls[b, rr, cc]:
            return False
        there = w.object_at[b, rr, cc]
        if there >= 0 and there != o:
            return False
        agent = w.agent_at[b, rr, cc]
        if agent >= 0 and agent != mover:
            return False
    return True


@numba.njit(cache=True)
def _mark_object(w, b, o, value):
    """Write `value` (o, or -1 to lift it) into every cell of object o."""
    r, c = w.object_pos[b, o, 0], w.object_pos[b, o, 1]
    for k in range(w.object_length[b, o]):
        if w.object_vertical[b, o]:
            w.object_at[b, r + k, c] = value
        else:
            w.object_at[b, r, c + k] = value


@numba.njit(cache=True)
def _try_move_object(w, b, o, dr, dc, mover):
    """Move object o by (dr, dc) if it is unlocked, nobody stands on it and its new cells are free."""
    r, c = w.object_pos[b, o, 0], w.object_pos[b, o, 1]
    if w.lock[b, o] != 0 or w.agent_at[b, r, c] >= 0:  # an agent can only stand on a ramp
        return False
    if not _object_fits(w, b, o, r + dr, c + dc, mover):
        return False
    _mark_object(w, b, o, -1)
    w.object_pos[b, o, 0] = r + dr
    w.object_pos[b, o, 1] = c + dc
    _mark_object(w, b, o, o)
    return True


@numba.njit(cache=True, inline="always")
def _move_agent(w, b, a, r, c):
    w.agent_at[b, w.agent_pos[b, a, 0], w.agent_pos[b, a, 1]] = -1
    w.agent_at[b, r, c] = a
    w.agent_pos[b, a, 0] = r
    w.agent_pos[b, a, 1] = c


@numba.njit(cache=True, inline="always")
def walkable(w, b, r, c, boxes, held):
    """An agent may enter (r, c): in the grid, no wall, no agent, no box but the one it holds."""
    if not in_grid(w, r, c) or w.walls[b, r, c] or w.agent_at[b, r, c] >= 0:
        return False
    o = w.object_at[b, r, c]
    return o < 0 or o == held or o >= boxes


@numba.njit(cache=True)
def _act(w, b, a, team, boxes, move, turn, grab, lock):
    if turn == TURN_LEFT:
        w.facing[b, a] = (w.facing[b, a] + 7) % 8
    elif turn == TURN_RIGHT:
        w.facing[b, a] = (w.facing[b, a] + 1) % 8
    r, c = w.agent_pos[b, a, 0], w.agent_pos[b, a, 1]
    fr, fc = r + FACING_ROW[w.facing[b, a]], c + FACING_COL[w.facing[b, a]]
    target = w.object_at[b, fr, fc] if in_grid(w, fr, fc) else -1
    if target >= 0:
        if lock == LOCK and w.lock[b, target] == 0:
            w.lock[b, target] = team + 1
        elif lock == UNLOCK and w.lock[b, target] == team + 1:
            w.lock[b, target] = 0
    if move == STAY:
        return
    dr, dc = MOVE_ROW[move], MOVE_COL[move]
    nr, nc = r + dr, c + dc
    if grab and target >= 0:
        if walkable(w, b, nr, nc, boxes, target) and _try_move_object(w, b, target, dr, dc, a):
            _move_agent(w, b, a, nr, nc)
        return
    if not in_grid(w, nr, nc) or w.agent_at[b, nr, nc] >= 0:
        return
    ahead = w.object_at[b, nr, nc]
    if w.walls[b, nr, nc] or 0 <= ahead < boxes:
        if w.object_at[b, r, c] >= boxes and walkable(w, b, nr + dr, nc + dc, boxes, -1):
            _move_agent(w, b, a, nr + dr, nc + dc)  # climbs over from the ramp it stands on
        elif ahead >= 0 and _try_move_object(w, b, ahead, dr, dc, a):
            _move_agent(w, b, a, nr, nc)
        return
    _move_agent(w, b, a, nr, nc)


# ---------------------------------------------------------------------------------------------
# Vision

# The vision kernels take the three cell grids as arrays: reading an array out of the Arenas tuple
# inside a loop costs a reference count each time, more than the walk itself. They look the cells
# between two cells up in `sight_lines`, made once per grid size: a walk decided cell by cell
# mispredicts a branch at almost every step and takes three times as long.


class SightLines(NamedTuple):
    """The cells between two cells of a g x g grid, for every offset (dr, dc) from the viewer."""

    start: np.ndarray  # int64 [(2g - 1)^2 + 1]: offset (dr, dc) -> its first row of `cells`
    cells: np.ndarray  # int64 [n, 2]: (row, column) offsets from the viewer


@functools.cache
def sight_lines(g: int) -> SightLines:
    """The sight lines of a g x g grid (made on first use, then shared)."""
    return SightLines(*_build_sight_lines(g))


@numba.njit(cache=True)
def _walk(dr, dc, out):
    """Write into `out` the offsets of the cells strictly between (0, 0) and (dr, dc) that block a
    line of sight: every cell the segment between their centres touches, and both cells beside a
    grid corner it passes through, but neither end. Returns how many."""
    nx, ny = abs(dc), abs(dr)
    sx = 1 if dc > 0 else -1
    sy = 1 if dr > 0 else -1
    x, y, ix, iy, n = 0, 0, 0, 0, 0
    while ix < nx or iy < ny:
        # Which grid line the segment crosses next, compared exactly in integers.
        decision = (1 + 2 * ix) * ny - (1 + 2 * iy) * nx
        if decision == 0:
            out[n, 0], out[n, 1] = y, x + sx
            out[n + 1, 0], out[n + 1, 1] = y + sy, x
            n += 2
            x += sx
            y += sy
            ix += 1
            iy += 1
        elif decision < 0:
            x += sx
            ix += 1
        else:
            y += sy
            iy += 1
        if x != dc or y != dr:
            out[n, 0], out[n, 1] = y, x
            n += 1
    return n


@numba.njit(cache=True)
def _build_sight_lines(g):
    span = 2 * g - 1
    start = np.zeros(span * span + 1, np.int64)
    cells = np.zeros((span * span * 2 * g, 2), np.int64)
    n = 0
    for dr in range(-(g - 1), g):
        for dc in range(-(g - 1), g):
            start[(dr + g - 1) * span + dc + g - 1] = n
            n += _walk(dr, dc, cells[n:])
    start[span * span] = n
    return start, cells[:n].copy()


@numba.njit(cache=True)
def line_clear(walls, object_at, agent_at, b, r0, c0, r1, c1, target_object, start, cells):
    """No wall, object or agent in the cells between (r0, c0) and (r1, c1) (see `_walk`); cells of
    `target_object` (-1: none) do not block. `start`, `cells`: the grid's `sight_lines`."""
    g = walls.shape[1]
    line = (r1 - r0 + g - 1) * (2 * g - 1) + c1 - c0 + g - 1
    for k in range(start[line], start[line + 1]):
        r, c = r0 + cells[k, 0], c0 + cells[k, 1]
        o = object_at[b, r, c]
        if walls[b, r, c] != 0 or (o >= 0 and o != target_object) or agent_at[b, r, c] >= 0:
            return False
    return True


@numba.njit(cache=True, inline="always")
def in_cone(facing, dr, dc):
    """Whether offset (dr, dc) lies within 67.5 degrees of direction `facing` (no whole-number offset
    lies exactly on that edge, so the test never ties)."""
    fr, fc = FACING_ROW[facing], FACING_COL[facing]
    dot = fr * dr + fc * dc
    if dot <= 0:
        return False
    norm = math.sqrt(float(fr * fr + fc * fc)) * math.sqrt(float(dr * dr + dc * dc))
    return dot >= CONE_COS * norm


@numba.njit(cache=True, inline="always")
def _sees(walls, object_at, agent_at, b, r0, c0, facing, r, c, target_object, start, cells):
    if r == r0 and c == c0:
        return True
    return in_cone(facing, r - r0, c - c0) and line_clear(
        walls, object_at, agent_at, b, r0, c0, r, c, target_object, start, cells
    )


@numba.njit(cache=True)
def sees_cell(w, b, a, r, c, target_object, start, cells):
    """Whether agent a sees cell (r, c) (cells of `target_object` do not block the view)."""
    r0, c0 = w.agent_pos[b, a, 0], w.agent_pos[b, a, 1]
    return _sees(
        w.walls, w.object_at, w.agent_at, b, r0, c0, w.facing[b, a], r, c, target_object, start, cells
    )


@numba.njit(cache=True)
def entity_vision(w, b, start, cells, visible):
    """visible[a, e]: whether agent a sees entity e (agents, then objects) in arena b."""
    walls, object_at, agent_at = w.walls, w.object_at, w.agent_at
    agent_pos, object_pos, length, vertical, facing = (
        w.agent_pos,
        w.object_pos,
        w.object_length,
        w.object_vertical,
        w.facing,
    )
    n_agents = agent_pos.shape[1]
    for a in range(n_agents):
        r0, c0 = agent_pos[b, a, 0], agent_pos[b, a, 1]
        visible[a, a] = True
        for e in range(a + 1, n_agents):
            # Sight between two agents is symmetric but for the cones: one look-up serves both.
            r, c = agent_pos[b, e, 0], agent_pos[b, e, 1]
            a_sees = in_cone(facing[b, a], r - r0, c - c0)
            e_sees = in_cone(facing[b, e], r0 - r, c0 - c)
            if (a_sees or e_sees) and not line_clear(
                walls, object_at, agent_at, b, r0, c0, r, c, -1, start, cells
            ):
                a_sees = e_sees = False
            visible[a, e] = a_sees
            visible[e, a] = e_sees
        for o in range(object_pos.shape[1]):
            seen = False
            for k in range(length[b, o]):
                r = object_pos[b, o, 0] + (k if vertical[b, o] else 0)
                c = object_pos[b, o, 1] + (0 if vertical[b, o] else k)
                if _sees(walls, object_at, agent_at, b, r0, c0, facing[b, a], r, c, o, start, cells):
                    seen = True
                    break
            visible[a, n_agents + o] = seen


# ---------------------------------------------------------------------------------------------
# Episodes


@numba.njit(cache=True)
def _carve_door(w, b, r, c):
    w.walls[b, r, c] = 0
    n = w.door_count[b]
    if n < w.doors.shape[1]:
        w.doors[b, n, 0] = r
        w.doors[b, n, 1] = c
        w.door_count[b] = n + 1


@numba.njit(cache=True)
def is_door(w, b, r, c):
    for i in range(w.door_count[b]):  # noqa: SIM110 (numba compiles no generator expressions)
        if w.doors[b, i, 0] == r and w.doors[b, i, 1] == c:
            return True
    return False


@numba.njit(cache=True)
def _wall_with_door(w, b, rng, fixed, first, last, vertical, width):
    """A wall at row (or column, if vertical) `fixed` over cells first..last, with a door `width`
    cells wide. Returns (rng, the door's first cell)."""
    for k in range(first, last + 1):
        if vertical:
            w.walls[b, k, fixed] = 1
        else:
            w.walls[b, fixed, k] = 1
    rng, start = next_below(rng, last - first + 2 - width)
    for k in range(first + start, first + start + width):
        if vertical:
            _carve_door(w, b, k, fixed)
        else:
            _carve_door(w, b, fixed, k)
    return rng, first + start


@numba.njit(cache=True)
def _build_walls(w, b, rng, quadrant):
    """Outer walls, then the quadrant room (top-left, 1 or 2 one-cell doors) or random rooms."""
    g = w.walls.shape[1]
    w.walls[b] = 0
    w.door_count[b] = 0
    for k in range(1, g - 1):
        w.walls[b, 1, k] = w.walls[b, g - 2, k] = w.walls[b, k, 1] = w.walls[b, k, g - 2] = 1
    lo, hi = 2, g - 3  # the play area inside the outer walls
    if quadrant:
        m = g // 2
        rng, which = next_below(rng, 3)  # a door in the bottom wall, the right wall, or both
        for k in range(1, m + 1):
            w.walls[b, m, k] = w.walls[b, k, m] = 1
        if which != 1:
            rng, at = next_below(rng, m - 2)
            _carve_door(w, b, m, lo + at)
        if which != 0:
            rng, at = next_below(rng, m - 2)
            _carve_door(w, b, lo + at, m)
        return rng
    # Random rooms: a vertical wall with a door, then on each side, half the time, a horizontal one
    # with a door (never in line with the first door, which it would close).
    rng, split = next_below(rng, hi - lo - 3)
    split += lo + 2
    rng, width = next_below(rng, 2)
    rng, door = _wall_with_door(w, b, rng, split, lo, hi, True, width + 1)
    for first, last in ((lo, split - 1), (split + 1, hi)):
        rng, wanted = next_below(rng, 2)
        if not wanted or last - first < 2:
            continue
        for _ in range(16):
            rng, row = next_below(rng, hi - lo - 3)
            row += lo + 2
            if not door <= row <= door + width:
                rng, side_width = next_below(rng, 2)
                rng, _ = _wall_with_door(w, b, rng, row, first, last, False, side_width + 1)
                break
    return rng


@numba.njit(cache=True)
def in_room(w, r, c):
    """Whether (r, c) is inside the quadrant scenario's room."""
    m = w.walls.shape[1] // 2
    return r < m and c < m


@numba.njit(cache=True)
def _random_free_cell(w, b, rng, length, vertical, region):
    """A random anchor whose `length` cells are free and not doors, in region 0 anywhere in the play
    area, 1 inside the quadrant room, 2 outside it. Returns (rng, row, column), with row -1 if
    PLACEMENT_TRIES draws found none (a layout with no room left for it)."""
    g = w.walls.shape[1]
    for _ in range(PLACEMENT_TRIES):
        rng, r = next_below(rng, g - 4)
        rng, c = next_below(rng, g - 4)
        r += 2
        c += 2
        ok = True
        for k in range(length):
            rr = r + k if vertical else r
            cc = c if vertical else c + k
            if (
                rr > g - 3
                or cc > g - 3
                or w.walls[b, rr, cc]
                or w.object_at[b, rr, cc] >= 0
                or w.agent_at[b, rr, cc] >= 0
                or is_door(w, b, rr, cc)
                or (region == 1 and not in_room(w, rr, cc))
                or (region == 2 and in_room(w, rr, cc))
            ):
                ok = False
                break
        if ok:
            return rng, r, c
    return rng, -1, -1


@numba.njit(cache=True)
def _place_everything(w, rules, b, rng):
    """Objects, then agents, on random free cells of a built layout. Returns (rng, all placed)."""
    w.object_at[b] = -1
    w.agent_at[b] = -1
    for o in range(w.object_pos.shape[1]):
        length = rules.box_length if o < rules.elongated else 1
        vertical = False
        if length > 1:
            rng, flip = next_below(rng, 2)
            vertical = flip == 1
        w.object_length[b, o] = length
        w.object_vertical[b, o] = vertical
        region = (1 if o < rules.boxes else 2) if rules.quadrant else 0  # boxes in the room, ramps out
        rng, r, c = _random_free_cell(w, b, rng, length, vertical, region)
        if r < 0:
            return rng, False
        w.object_pos[b, o, 0] = w.object_start[b, o, 0] = r
        w.object_pos[b, o, 1] = w.object_start[b, o, 1] = c
        w.lock[b, o] = 0
        _mark_object(w, b, o, o)
    for a in range(w.agent_pos.shape[1]):
        region = (1 if a < rules.hiders else 2) if rules.quadrant else 0  # hiders in the room, seekers out
        rng, r, c = _random_free_cell(w, b, rng, 1, False, region)  # never on a ramp
        if r < 0:
            return rng, False
        w.agent_at[b, r, c] = a
        w.agent_pos[b, a, 0] = r
        w.agent_pos[b, a, 1] = c
        rng, direction = next_below(rng, 8)
        w.facing[b, a] = direction
    return rng, True


@numba.njit(cache=True)
def _reset_one(w, rules, b):
    """A new episode in arena b: a new layout until everything fits in one (at most LAYOUT_TRIES)."""
    rng = w.rng[b]
    placed = False
    for _ in range(LAYOUT_TRIES):
        rng = _build_walls(w, b, rng, rules.quadrant)
        rng, placed = _place_everything(w, rules, b, rng)
        if placed:
            break
    w.rng[b] = rng
    w.t[b] = 0
    w.returns[b] = 0.0
    w.stats[b] = 0.0
    return placed


@numba.njit(cache=True)
def _reset(w, rules, which):
    """Reset the arenas where `which` is True; the first one whose objects found no room, or -1."""
    failed = -1
    for b in range(w.walls.shape[0]):
        if which[b] and not _reset_one(w, rules, b) and failed < 0:
            failed = b
    return failed


@numba.njit(cache=True, inline="always")
def displacement(w, b, o):
    """How far object o is from where it began the episode."""
    dr = w.object_pos[b, o, 0] - w.object_start[b, o, 0]
    dc = w.object_pos[b, o, 1] - w.object_start[b, o, 1]
    return math.sqrt(float(dr * dr + dc * dc))


@numba.njit(cache=True)
def outside(w, b, a):
    """Whether agent a is outside the play area (on the ring beyond the outer walls)."""
    g = w.walls.shape[1]
    r, c = w.agent_pos[b, a, 0], w.agent_pos[b, a, 1]
    return r == 0 or c == 0 or r == g - 1 or c == g - 1


@numba.njit(cache=True)
def _doors_filled(w, b, boxes, locked):
    """The share of arena b's door cells that a box (if `locked`, a locked box) fills (0 without doors)."""
    if w.door_count[b] == 0:
        return 0.0
    filled = 0
    for i in range(w.door_count[b]):
        o = w.object_at[b, w.doors[b, i, 0], w.doors[b, i, 1]]
        filled += 0 <= o < boxes and (w.lock[b, o] != 0 or not locked)
    return filled / w.door_count[b]


@numba.njit(cache=True)
def _in_door(w, b, o):
    """Whether a cell of object o is a door cell."""
    r, c = w.object_pos[b, o, 0], w.object_pos[b, o, 1]
    for k in range(w.object_length[b, o]):
        if is_door(w, b, r + k if w.object_vertical[b, o] else r, c if w.object_vertical[b, o] else c + k):
            return True
    return False


@numba.njit(cache=True)
def _hider_seen(w, b, hiders, start, cells):
    """Whether some seeker sees some hider."""
    walls, object_at, agent_at, agent_pos = w.walls, w.object_at, w.agent_at, w.agent_pos
    for s in range(hiders, agent_pos.shape[1]):
        r0, c0, facing = agent_pos[b, s, 0], agent_pos[b, s, 1], w.facing[b, s]
        for h in range(hiders):
            if _sees(
                walls,
                object_at,
                agent_at,
                b,
                r0,
                c0,
                facing,
                agent_pos[b, h, 0],
                agent_pos[b, h, 1],
                -1,
                start,
                cells,
            ):
                return True
    return False


@numba.njit(cache=True)
def _step(w, rules, lines, actions, rewards, truncated):
    n_agents = w.agent_pos.shape[1]
    order = np.empty(n_agents, np.int64)
    for b in range(w.walls.shape[0]):
        preparing = w.t[b] < rules.prep_steps
        for i in range(n_agents):
            order[i] = i
        rng = w.rng[b]
        for i in range(n_agents - 1, 0, -1):
            rng, j = next_below(rng, i + 1)
            order[i], order[j] = order[j], order[i]
        w.rng[b] = rng
        for i in range(n_agents):
            a = order[i]
            team = HIDERS if a < rules.hiders else SEEKERS
            if team == SEEKERS and preparing:
                continue
            _act(
                w,
                b,
                a,
                team,
                rules.boxes,
                actions[b, a, 0],
                actions[b, a, 1],
                actions[b, a, 2],
                actions[b, a, 3],
            )
        w.t[b] += 1
        for o in range(w.object_pos.shape[1]):
            if o >= rules.boxes:
                w.stats[b, STAT_RAMP_MOVE] = max(w.stats[b, STAT_RAMP_MOVE], displacement(w, b, o))
            elif preparing:
                w.stats[b, STAT_BOX_MOVE_PREP] = max(w.stats[b, STAT_BOX_MOVE_PREP], displacement(w, b, o))
        if w.t[b] == rules.prep_steps:
            for o in range(w.object_pos.shape[1]):
                if w.lock[b, o] != 0:
                    w.stats[b, STAT_RAMPS_LOCKED_PREP if o >= rules.boxes else STAT_BOXES_LOCKED_PREP] += 1
            w.stats[b, STAT_DOORS_LOCKED_PREP] = _doors_filled(w, b, rules.boxes, True)
        seen = _hider_seen(w, b, rules.hiders, lines.start, lines.cells)
        for a in range(n_agents):
            reward = 0.0
            if not preparing:
                reward = -1.0 if seen else 1.0
                if a >= rules.hiders:
                    reward = -reward
                if outside(w, b, a):
                    reward += OUTSIDE_PENALTY
            rewards[b, a] = reward
            w.returns[b, a] += reward
        if not preparing and seen:
            w.stats[b, STAT_SEEN_STEPS] += 1
        truncated[b] = w.t[b] >= rules.horizon


# ---------------------------------------------------------------------------------------------
# Observations


@numba.njit(cache=True, inline="always")
def _preparation(w, rules, b):
    if rules.prep_steps == 0:
        return 1.0
    return min(w.t[b] / rules.prep_steps, 1.0)


@numba.njit(cache=True)
def _own_features(w, rules, b, a, out):
    """An agent's own features: row, column, facing row, facing column, is a seeker, on a ramp, outside."""
    g = w.walls.shape[1]
    r, c, f = w.agent_pos[b, a, 0], w.agent_pos[b, a, 1], w.facing[b, a]
    norm = math.sqrt(float(FACING_ROW[f] ** 2 + FACING_COL[f] ** 2))
    out[0] = r / g
    out[1] = c / g
    out[2] = FACING_ROW[f] / norm
    out[3] = FACING_COL[f] / norm
    out[4] = a >= rules.hiders
    out[5] = w.object_at[b, r, c] >= rules.boxes
    out[6] = outside(w, b, a)


@numba.njit(cache=True, inline="always")
def _object_centre(w, b, o):
    half = (w.object_length[b, o] - 1) / 2
    if w.object_vertical[b, o]:
        return w.object_pos[b, o, 0] + half, float(w.object_pos[b, o, 1])
    return float(w.object_pos[b, o, 0]), w.object_pos[b, o, 1] + half


@numba.njit(cache=True)
def _observe(w, rules, lines, out):
    walls, object_at, agent_at, agent_pos, facing = w.walls, w.object_at, w.agent_at, w.agent_pos, w.facing
    object_length, object_vertical, lock = w.object_length, w.object_vertical, w.lock
    n_agents, n_objects = agent_pos.shape[1], w.object_pos.shape[1]
    g = walls.shape[1]
    radius = out.local.shape[3] // 2
    own, agents, agents_mask, local = out.own, out.agents, out.agents_mask, out.local
    boxes, boxes_mask, ramps, ramps_mask = out.boxes, out.boxes_mask, out.ramps, out.ramps_mask
    visible = np.zeros((n_agents, n_agents + n_objects), np.bool_)
    for b in range(walls.shape[0]):
        entity_vision(w, b, lines.start, lines.cells, visible)
        preparation = _preparation(w, rules, b)
        for a in range(n_agents):
            team = a >= rules.hiders
            r0, c0 = agent_pos[b, a, 0], agent_pos[b, a, 1]
            _own_features(w, rules, b, a, own[b, a])
            out.preparation[b, a, 0] = preparation
            slot = 0
            for e in range(n_agents):
                if e == a:
                    continue
                agents_mask[b, a, slot] = visible[a, e]
                if visible[a, e]:
                    r, c, f = agent_pos[b, e, 0], agent_pos[b, e, 1], facing[b, e]
                    norm = math.sqrt(float(FACING_ROW[f] ** 2 + FACING_COL[f] ** 2))
                    agents[b, a, slot, 0] = r / g
                    agents[b, a, slot, 1] = c / g
                    agents[b, a, slot, 2] = (r - r0) / g
                    agents[b, a, slot, 3] = (c - c0) / g
                    agents[b, a, slot, 4] = FACING_ROW[f] / norm
                    agents[b, a, slot, 5] = FACING_COL[f] / norm
                    agents[b, a, slot, 6] = (e >= rules.hiders) == team
                    agents[b, a, slot, 7] = object_at[b, r, c] >= rules.boxes
                else:
                    for k in range(AGENT_FEATURES):
                        agents[b, a, slot, k] = 0.0
                slot += 1
            for o in range(n_objects):
                seen = visible[a, n_agents + o]
                mine = lock[b, o] == team + 1
                theirs = lock[b, o] != 0 and not mine
                r, c = _object_centre(w, b, o)
                if o < rules.boxes:
                    boxes_mask[b, a, o] = seen
                    for k in range(BOX_FEATURES):
                        boxes[b, a, o, k] = 0.0
                    if seen:
                        boxes[b, a, o, 0] = r / g
                        boxes[b, a, o, 1] = c / g
                        boxes[b, a, o, 2] = (r - r0) / g
                        boxes[b, a, o, 3] = (c - c0) / g
                        boxes[b, a, o, 4] = object_length[b, o] / 4
                        boxes[b, a, o, 5] = object_vertical[b, o]
                        boxes[b, a, o, 6] = mine
                        boxes[b, a, o, 7] = theirs
                else:
                    q = o - rules.boxes
                    ramps_mask[b, a, q] = seen
                    for k in range(RAMP_FEATURES):
                        ramps[b, a, q, k] = 0.0
                    if seen:
                        ramps[b, a, q, 0] = r / g
                        ramps[b, a, q, 1] = c / g
                        ramps[b, a, q, 2] = (r - r0) / g
                        ramps[b, a, q, 3] = (c - c0) / g
                        ramps[b, a, q, 4] = mine
                        ramps[b, a, q, 5] = theirs
            for i in range(2 * radius + 1):
                r = r0 + i - radius
                for j in range(2 * radius + 1):
                    c = c0 + j - radius
                    if r < 0 or c < 0 or r >= g or c >= g:
                        local[b, a, 0, i, j] = 1
                        local[b, a, 1, i, j] = local[b, a, 2, i, j] = local[b, a, 3, i, j] = 0
                        continue
                    o = object_at[b, r, c]
                    local[b, a, 0, i, j] = walls[b, r, c]
                    local[b, a, 1, i, j] = 0 <= o < rules.boxes
                    local[b, a, 2, i, j] = o >= rules.boxes
                    local[b, a, 3, i, j] = agent_at[b, r, c] >= 0 and (r != r0 or c != c0)


@numba.njit(cache=True)
def _global_state(w, rules, out):
    n_agents, n_objects = w.agent_pos.shape[1], w.object_pos.shape[1]
    g = w.walls.shape[1]
    for b in range(w.walls.shape[0]):
        row = out[b]
        for a in range(n_agents):
            _own_features(w, rules, b, a, row[a * SELF_FEATURES : (a + 1) * SELF_FEATURES])
        k = n_agents * SELF_FEATURES
        for o in range(n_objects):
            r, c = _object_centre(w, b, o)
            row[k] = r / g
            row[k + 1] = c / g
            row[k + 2] = w.object_length[b, o] / 4
            row[k + 3] = w.object_vertical[b, o]
            row[k + 4] = o >= rules.boxes
            row[k + 5] = w.lock[b, o] == 1 + HIDERS
            row[k + 6] = w.lock[b, o] == 1 + SEEKERS
            row[k + 7] = _in_door(w, b, o)
            k += OBJECT_STATE_FEATURES
        row[k] = _preparation(w, rules, b)
        row[k + 1] = min(w.t[b] / rules.horizon, 1.0)
        row[k + 2] = _doors_filled(w, b, rules.boxes, False)
        row[k + 3] = _doors_filled(w, b, rules.boxes, True)
        k += 4
        for r in range(g):
            for c in range(g):
                row[k] = w.walls[b, r, c]
                k += 1


# ---------------------------------------------------------------------------------------------
# Entry points. They take plain tuples and rebuild the named ones inside: numba types a plain tuple
# of arrays in C but a NamedTuple in Python, which costs a few microseconds a call, as much as a
# step of one arena.


@numba.njit(cache=True)
def _reset_entry(arrays, rules, which):
    return _reset(Arenas(*arrays), Rules(*rules), which)


@numba.njit(cache=True)
def _stage_forts_entry(arrays, rules, which):
    w, rules = Arenas(*arrays), Rules(*rules)
    boxes = rules.boxes
    m = w.walls.shape[1] // 2  # the room's bottom wall row and right wall column
    for b in range(w.walls.shape[0]):
        if not which[b]:
            continue
        rng = w.rng[b]
        for d in range(min(w.door_count[b], boxes)):
            rng, depth = next_below(rng, m - 1)
            if w.object_length[b, d] != 1:
                continue
            inward_row = 1 if w.doors[b, d, 0] == m else 0  # the door is in the bottom wall
            inward_col = 1 - inward_row
            r, c = w.doors[b, d, 0] - inward_row * depth, w.doors[b, d, 1] - inward_col * depth
            if not _object_fits(w, b, d, r, c, -1):
                continue
            _mark_object(w, b, d, -1)
            w.object_pos[b, d, 0] = w.object_start[b, d, 0] = r
            w.object_pos[b, d, 1] = w.object_start[b, d, 1] = c
            _mark_object(w, b, d, d)
            r, c = r - inward_row, c - inward_col
            free = not w.walls[b, r, c] and w.object_at[b, r, c] < 0 and w.agent_at[b, r, c] in (-1, d)
            if d < rules.hiders and free:
                _move_agent(w, b, d, r, c)
                w.facing[b, d] = 4 if inward_row else 2  # down or right, at the box
        w.rng[b] = rng


@numba.njit(cache=True)
def _first_bad_action(actions):
    """The index (arena * A + agent) of the first action outside ACTION_NVEC, or -1."""
    for b in range(actions.shape[0]):
        for a in range(actions.shape[1]):
            for k in range(4):
                if not 0 <= actions[b, a, k] < NVEC[k]:
                    return b * actions.shape[1] + a
    return -1


@numba.njit(cache=True)
def _step_entry(arrays, rules, lines, actions, rewards, truncated):
    bad = _first_bad_action(actions)
    if bad < 0:
        _step(Arenas(*arrays), Rules(*rules), SightLines(*lines), actions, rewards, truncated)
    return bad


@numba.njit(cache=True)
def _observations_fit(w, rules, out):
    """Whether every array of `out` has the shape Observations.allocate gives (checked here, where
    reading shapes costs nothing, because the kernels write without bounds checks)."""
    n, a = w.agent_pos.shape[0], w.agent_pos.shape[1]
    boxes, ramps = rules.boxes, w.object_pos.shape[1] - rules.boxes
    k = out.local.shape[3]
    return (
        out.own.shape == (n, a, SELF_FEATURES)
        and out.agents.shape == (n, a, a - 1, AGENT_FEATURES)
        and out.agents_mask.shape == (n, a, a - 1)
        and out.boxes.shape == (n, a, boxes, BOX_FEATURES)
        and out.boxes_mask.shape == (n, a, boxes)
        and out.ramps.shape == (n, a, ramps, RAMP_FEATURES)
        and out.ramps_mask.shape == (n, a, ramps)
        and out.preparation.shape == (n, a, 1)
        and out.local.shape == (n, a, LOCAL_CHANNELS, k, k)
        and k % 2 == 1
    )


@numba.njit(cache=True)
def _step_and_observe_entry(arrays, rules, lines, actions, rewards, truncated, out):
    w, r, observations = Arenas(*arrays), Rules(*rules), Observations(*out)
    if not _observations_fit(w, r, observations):
        return WRONG_OBSERVATIONS
    bad = _first_bad_action(actions)
    if bad < 0:
        sight = SightLines(*lines)
        _step(w, r, sight, actions, rewards, truncated)
        _observe(w, r, sight, observations)
    return bad


@numba.njit(cache=True)
def _observe_entry(arrays, rules, lines, out):
    w, r, observations = Arenas(*arrays), Rules(*rules), Observations(*out)
    if not _observations_fit(w, r, observations):
        return False
    _observe(w, r, SightLines(*lines), observations)
    return True


@numba.njit(cache=True)
def _vision_entry(arrays, b, lines, visible):
    entity_vision(Arenas(*arrays), b, lines[0], lines[1], visible)


@numba.njit(cache=True)
def _seen_cells_entry(arrays, b, lines, out):
    w = Arenas(*arrays)
    for a in range(out.shape[0]):
        for r in range(out.shape[1]):
            for c in range(out.shape[2]):
                out[a, r, c] = sees_cell(w, b, a, r, c, w.object_at[b, r, c], lines[0], lines[1])


@numba.njit(cache=True)
def _global_state_entry(arrays, rules, out):
    _global_state(Arenas(*arrays), Rules(*rules), out)

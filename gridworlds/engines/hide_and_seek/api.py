"""The entry points: Python functions that check their arguments and call one numba kernel each.

The kernels index arrays without bounds checks, so every array a caller passes is checked here
(`_check_array`), or, where reading shapes in Python would cost as much as a step of one arena,
inside the kernel (`_observations_fit`)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from gridworlds.engines.hide_and_seek.dynamics import _step
from gridworlds.engines.hide_and_seek.layout import LAYOUT_TRIES, _reset
from gridworlds.engines.hide_and_seek.moves import _mark_object, _move_agent, _object_fits
from gridworlds.engines.hide_and_seek.observations import (
    AGENT_FEATURES,
    BOX_FEATURES,
    LOCAL_CHANNELS,
    RAMP_FEATURES,
    SELF_FEATURES,
    Observations,
    _global_state,
    _observe,
    state_size,
)
from gridworlds.engines.hide_and_seek.sight import SightLines, entity_vision, sees_cell, sight_lines
from gridworlds.engines.hide_and_seek.world import ACTION_NVEC, NVEC, Arenas, Rules, Scenario
from gridworlds.engines.rng import next_below, seed_state

WRONG_OBSERVATIONS = -2  # what the step kernel returns for observation arrays of the wrong shape


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

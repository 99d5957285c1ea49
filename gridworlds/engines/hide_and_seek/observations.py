"""Observations: what each agent sees of its arena (`Observations`, filled by `_observe`) and the
whole world for a centralised critic (`_global_state`, rows of `state_size`). The entry points
`observe` and `global_state` list what each column holds."""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from gridworlds.engines.hide_and_seek.dynamics import outside
from gridworlds.engines.hide_and_seek.layout import _in_door
from gridworlds.engines.hide_and_seek.sight import entity_vision
from gridworlds.engines.hide_and_seek.stats import _doors_filled
from gridworlds.engines.hide_and_seek.world import FACING_COL, FACING_ROW, HIDERS, SEEKERS, Scenario

# Observation feature widths; `observe` and `global_state` list what each column holds.
SELF_FEATURES = 7
AGENT_FEATURES = 8
BOX_FEATURES = 8
RAMP_FEATURES = 6
OBJECT_STATE_FEATURES = 8
LOCAL_CHANNELS = 4


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

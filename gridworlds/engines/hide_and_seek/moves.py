"""Moving agents and objects: the cells an object or an agent may take, and one agent's action
(turn, lock or unlock, then move: walk, push, pull or drag a held object, or climb from a ramp)."""

from __future__ import annotations

import numba

from gridworlds.engines.hide_and_seek.world import (
    FACING_COL,
    FACING_ROW,
    LOCK,
    MOVE_COL,
    MOVE_ROW,
    STAY,
    TURN_LEFT,
    TURN_RIGHT,
    UNLOCK,
)

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

"""Vision: the 135 degree cone and the line of sight between two cells (see the package's
docstring), and which entities each agent sees."""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numba
import numpy as np

from gridworlds.engines.hide_and_seek.world import FACING_COL, FACING_ROW

CONE_COS = math.cos(math.radians(67.5))

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

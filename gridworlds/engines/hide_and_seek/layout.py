"""Layouts: the walls and doors of an arena's rooms (the quadrant room or random rooms), the objects
and agents placed on random free cells, and the reset kernel that draws a layout until everything
fits."""

from __future__ import annotations

import numba

from gridworlds.engines.hide_and_seek.moves import _mark_object
from gridworlds.engines.rng import next_below

PLACEMENT_TRIES = 1000  # random draws for a free cell before a layout counts as too full
LAYOUT_TRIES = 100  # layouts drawn for one reset before the scenario counts as too crowded


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
def _in_door(w, b, o):
    """Whether a cell of object o is a door cell."""
    r, c = w.object_pos[b, o, 0], w.object_pos[b, o, 1]
    for k in range(w.object_length[b, o]):
        if is_door(w, b, r + k if w.object_vertical[b, o] else r, c if w.object_vertical[b, o] else c + k):
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

"""Planning for the scripted hide-and-seek policies (`scripted`): numba kernels for turning towards
a direction, shortest walks, the box moves that bring a box into a door, the side of a door's wall,
and the cells a hider may rest on. The policies that use them are in `policies`."""

from __future__ import annotations

import math

import numba

from gridworlds.engines.hide_and_seek import (
    FACING_COL,
    FACING_ROW,
    MOVE_COL,
    MOVE_ROW,
    NO_TURN,
    TURN_LEFT,
    TURN_RIGHT,
    is_door,
)

AWAY_FROM_DOORS = 3  # an idle hider keeps at least this many cells (Chebyshev) from every door
THROUGH_AGENT = 3  # what a fort hider's walk counts for a cell where a hider that makes way stands

# Kernels. Each reads the arrays it needs out of the Arenas tuple once, into locals, before its loops
# (reading an array out of the tuple inside a loop costs a reference count each time; see the
# engine's vision kernels). Cells are numbered r * g + c; a distance of -1 means unreached. Scratch
# arrays are allocated once per call of `_scripted_actions`.


@numba.njit(cache=True, inline="always")
def _turn_towards(facing, want):
    """(turn action, facing after it): one 45 degree step towards `want`, the shorter way round."""
    diff = (want - facing) % 8
    if diff == 0:
        return NO_TURN, facing
    if diff <= 4:
        return TURN_RIGHT, (facing + 1) % 8
    return TURN_LEFT, (facing + 7) % 8


@numba.njit(cache=True, inline="always")
def _turns_between(facing, want):
    diff = (want - facing) % 8
    return min(diff, 8 - diff)


@numba.njit(cache=True, inline="always")
def _octant(dr, dc):
    """The facing (0 up, clockwise) nearest to the direction of offset (dr, dc) != (0, 0)."""
    return int(math.floor(math.atan2(dc, -dr) / (math.pi / 4) + 0.5)) % 8


@numba.njit(cache=True, inline="always")
def _direction(dr, dc):
    """The facing of a unit step (dr, dc) in {-1, 0, 1}^2 other than (0, 0)."""
    for f in range(8):
        if FACING_ROW[f] == dr and FACING_COL[f] == dc:
            return f
    return 0


@numba.njit(cache=True)
def _walk(w, b, boxes, r0, c0, passable, closed, door_mask, reserved, dist, first, queue):
    """Shortest walks from (r0, c0) over cells with no wall, no box and no agent but `passable` ones
    (bool [A]), whose cells cost THROUGH_AGENT steps instead of 1; ramps are open, and so are doors
    and reserved cells unless `closed`. Fills dist[cell] (cost, -1: unreached) and first[cell] (the
    move, 1..4, that starts the walk there). `queue` holds 4 buckets of g * g cells and their sizes
    (Dial's algorithm: costs are 1 to 3)."""
    walls, object_at, agent_at = w.walls, w.object_at, w.agent_at
    g = walls.shape[1]
    cells = g * g
    for i in range(cells):
        dist[i] = -1
    for i in range(4):
        queue[4 * cells + i] = 0
    start = r0 * g + c0
    dist[start] = 0
    first[start] = 0
    queue[0] = start
    queue[4 * cells] = 1
    pending = 1
    d = 0
    while pending > 0:
        bucket = d % 4
        i = 0
        while i < queue[4 * cells + bucket]:  # every cell entered here costs d + 1 or more
            cell = queue[bucket * cells + i]
            i += 1
            pending -= 1
            if dist[cell] != d:
                continue  # reached more cheaply since
            r, c = cell // g, cell % g
            for m in range(1, 5):
                nr, nc = r + MOVE_ROW[m], c + MOVE_COL[m]
                if nr < 0 or nc < 0 or nr >= g or nc >= g or walls[b, nr, nc]:
                    continue
                nxt = nr * g + nc
                a = agent_at[b, nr, nc]
                o = object_at[b, nr, nc]
                if (
                    (a >= 0 and not passable[a])
                    or (0 <= o < boxes)
                    or (closed and (door_mask[nxt] or reserved[nxt]))
                ):
                    continue
                cost = d + (THROUGH_AGENT if a >= 0 else 1)
                if 0 <= dist[nxt] <= cost:
                    continue
                dist[nxt] = cost
                first[nxt] = m if cell == start else first[cell]
                slot = cost % 4
                queue[slot * cells + queue[4 * cells + slot]] = nxt
                queue[4 * cells + slot] += 1
                pending += 1
        queue[4 * cells + bucket] = 0
        d += 1


@numba.njit(cache=True, inline="always")
def _open_for(walls, object_at, agent_at, door_mask, b, g, r, c, box, hider, passable):
    """Whether unit box `box`, or the hider moving it, may be at (r, c): in the grid, no wall, no door,
    no object but that box, no agent but the hider or `passable` ones (bool [A])."""
    if r < 0 or c < 0 or r >= g or c >= g or walls[b, r, c] or door_mask[r * g + c]:
        return False
    o = object_at[b, r, c]
    a = agent_at[b, r, c]
    return (o < 0 or o == box) and (a < 0 or a == hider or passable[a])


@numba.njit(cache=True, inline="always")
def _can_pull(walls, object_at, agent_at, door_mask, b, g, xr, xc, mr, mc, box, hider, passable):
    """Whether the hider may pull `box` onto (xr, xc) by walking from there by (mr, mc): both cells are
    open to it, and the cell it ends on has another open cell beside it (no pulling into a dead end,
    where the box would shut it in)."""
    if not (
        _open_for(walls, object_at, agent_at, door_mask, b, g, xr, xc, box, hider, passable)
        and _open_for(walls, object_at, agent_at, door_mask, b, g, xr + mr, xc + mc, box, hider, passable)
    ):
        return False
    for m in range(1, 5):
        r, c = xr + mr + MOVE_ROW[m], xc + mc + MOVE_COL[m]
        if (r != xr or c != xc) and _open_for(
            walls, object_at, agent_at, door_mask, b, g, r, c, box, hider, passable
        ):
            return True
    return False


@numba.njit(cache=True)
def _box_paths(w, b, box, hider, passable, dr, dc, nr, nc, door_mask, dist, queue):
    """How many box moves bring unit box `box` into door (dr, dc), moved by `hider`: dist[cell] for the
    box at cell (-1: never). The box enters the door only from the cell beside it on the hider's side,
    (dr + nr, dc + nc), pushed across the wall from the cell behind that; elsewhere a box moves by d
    if its new cell is open and either the cell behind it (push) or the two cells ahead of it (pull:
    the hider walks backwards holding it) are open to the hider, which never stands on a ramp (from
    there it would climb instead of pushing) or in a door. Agents block unless `passable` (bool [A]).
    The search stops once it reaches the box: cells farther than the box's own are left at -1."""
    walls, object_at, agent_at = w.walls, w.object_at, w.agent_at
    g = walls.shape[1]
    br, bc = w.object_pos[b, box, 0], w.object_pos[b, box, 1]
    for i in range(g * g):
        dist[i] = -1
    dist[dr * g + dc] = 0
    sr, sc = dr + nr, dc + nc
    if not (
        _open_for(walls, object_at, agent_at, door_mask, b, g, sr, sc, box, hider, passable)
        and _open_for(walls, object_at, agent_at, door_mask, b, g, sr + nr, sc + nc, box, hider, passable)
    ):
        return
    dist[sr * g + sc] = 1
    if sr == br and sc == bc:
        return
    queue[0] = sr * g + sc
    head, tail = 0, 1
    while head < tail:
        cell = queue[head]
        head += 1
        xr, xc = cell // g, cell % g
        for m in range(1, 5):
            mr, mc = MOVE_ROW[m], MOVE_COL[m]
            yr, yc = xr - mr, xc - mc  # the box at (yr, yc) moving by (mr, mc) lands on this cell
            if yr < 0 or yc < 0 or yr >= g or yc >= g or dist[yr * g + yc] >= 0:
                continue
            if not _open_for(walls, object_at, agent_at, door_mask, b, g, yr, yc, box, hider, passable):
                continue
            push = _open_for(
                walls, object_at, agent_at, door_mask, b, g, yr - mr, yc - mc, box, hider, passable
            )
            if push or _can_pull(
                walls, object_at, agent_at, door_mask, b, g, xr, xc, mr, mc, box, hider, passable
            ):
                dist[yr * g + yc] = dist[cell] + 1
                queue[tail] = yr * g + yc
                tail += 1
                if yr == br and yc == bc:
                    return


@numba.njit(cache=True)
def _inward(w, b, door_mask, dr, dc, hr, hc):
    """(ok, nr, nc): the unit step from door cell (dr, dc) into the side of its wall where the hider
    at (hr, hc) is. A wall runs along the axis where the door has more wall or door cells beside it;
    a box crosses it along the other. ok if the two cells that way (where the box lines up with the
    door, where its pusher stands) are in the grid and not walls."""
    walls = w.walls
    g = walls.shape[1]
    along_row = 0
    along_col = 0
    for k in (-1, 1):
        if 0 <= dc + k < g and (walls[b, dr, dc + k] or door_mask[dr * g + dc + k]):
            along_row += 1
        if 0 <= dr + k < g and (walls[b, dr + k, dc] or door_mask[(dr + k) * g + dc]):
            along_col += 1
    if along_row >= along_col:
        nr, nc = (-1 if hr < dr else 1), 0
    else:
        nr, nc = 0, (-1 if hc < dc else 1)
    for k in (1, 2):
        r, c = dr + k * nr, dc + k * nc
        if r < 0 or c < 0 or r >= g or c >= g or walls[b, r, c]:
            return False, nr, nc
    return True, nr, nc


@numba.njit(cache=True, inline="always")
def _near_door(doors, n_doors, b, r, c):
    """Whether (r, c) is nearer than AWAY_FROM_DOORS (Chebyshev) to some door cell."""
    for j in range(n_doors):
        if max(abs(r - doors[b, j, 0]), abs(c - doors[b, j, 1])) < AWAY_FROM_DOORS:
            return True
    return False


@numba.njit(cache=True, inline="always")
def _empty(walls, object_at, agent_at, door_mask, b, g, r, c):
    """In the grid, no wall, object, agent or door."""
    if r < 0 or c < 0 or r >= g or c >= g or walls[b, r, c] or door_mask[r * g + c]:
        return False
    return object_at[b, r, c] < 0 and agent_at[b, r, c] < 0


@numba.njit(cache=True, inline="always")
def _resting_place(walls, object_at, agent_at, doors, n_doors, door_mask, b, g, r, c):
    """Whether an idle hider may rest at (r, c): at least AWAY_FROM_DOORS from every door, and not in a
    corner or a corridor (3 open cells beside it), where it would shut itself in or block the way."""
    if _near_door(doors, n_doors, b, r, c):
        return False
    exits = 0
    for m in range(1, 5):
        rr, cc = r + MOVE_ROW[m], c + MOVE_COL[m]
        if _empty(walls, object_at, agent_at, door_mask, b, g, rr, cc) or (
            0 <= rr < g and 0 <= cc < g and agent_at[b, rr, cc] >= 0
        ):
            exits += 1
    return exits >= 3


@numba.njit(cache=True)
def _region_size(w, b, r0, c0, seen, queue):
    """How many cells are reachable from (r0, c0) through cells without walls, not through doors:
    the size of its room. `seen` and `queue` are scratch of g * g cells."""
    walls = w.walls
    g = walls.shape[1]
    for i in range(g * g):
        seen[i] = 0
    for i in range(w.door_count[b]):
        seen[w.doors[b, i, 0] * g + w.doors[b, i, 1]] = 1
    seen[r0 * g + c0] = 1
    queue[0] = r0 * g + c0
    head, tail = 0, 1
    while head < tail:
        cell = queue[head]
        head += 1
        r, c = cell // g, cell % g
        for m in range(1, 5):
            nr, nc = r + MOVE_ROW[m], c + MOVE_COL[m]
            if 0 <= nr < g and 0 <= nc < g and not walls[b, nr, nc] and not seen[nr * g + nc]:
                seen[nr * g + nc] = 1
                queue[tail] = nr * g + nc
                tail += 1
    return tail


@numba.njit(cache=True)
def _room_side(w, b, r, c, region):
    """The cell beside door cell (r, c), across its wall, on the side of the smaller room."""
    walls = w.walls
    # A door in a horizontal wall has wall (or another door cell) left and right: it is crossed
    # vertically; one in a vertical wall, horizontally.
    across_rows = walls[b, r, c - 1] or is_door(w, b, r, c - 1)
    dr, dc = (1, 0) if across_rows else (0, 1)
    first = _region_size(w, b, r + dr, c + dc, region[0], region[1])
    second = _region_size(w, b, r - dr, c - dc, region[0], region[1])
    return (r + dr, c + dc) if first <= second else (r - dr, c - dc)

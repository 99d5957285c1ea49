"""Scripted hide-and-seek teams: baselines that need no training, for measuring what learned teams do.

Each team plays one policy (the `SCRIPTED_*` constants, by name in `SCRIPTED_POLICIES`):

- random: every action component uniform (either team);
- still: all zeros (either team);
- fort (hiders): hider k of H takes the doors k, k + H, k + 2H ... (door cells in the order of
  `arenas.doors`) in turn, each until a locked box fills it, so that a hider keeps its door while
  another finishes. For its door it takes the box already in it, else the unlocked unit box with the
  fewest box moves to the door (one in no door, not taken by a hider before it), and brings that box
  in from the hider's side of the wall: pushed or pulled (walking backwards, holding it) to the cell
  beside the door, so that it lines up with the door across the wall, then pushed in across the
  wall. For each move the hider walks by the shortest path to the cell behind the box (push) or in
  front of it (pull), turning on the way. With the box in the door it stands beside it on its side
  (straight or diagonally), turns to face it and locks it (an agent turns before it locks, so both
  happen in one step). Fort hiders never walk through doors, never pull a box so that it shuts them
  in a dead end, and leave elongated boxes alone. A hider with no door left (or no box for one)
  walks to the nearest cell at least AWAY_FROM_DOORS cells from every door, not in a corner or a
  corridor (3 open cells beside it), and stays still there.
  The hiders keep out of each other's way by priority: hiders with a door left first, then the idle
  ones, each group in index order. A hider plans through the cells of the hiders after it (a walk
  counts THROUGH_AGENT steps for such a cell) unless one stands in a dead end, and reserves the cells
  its action and its next box move use; the hiders after it avoid reserved cells and step off one
  they stand on;
- chase (seekers): the seekers chase what they see. While some seeker sees a hider, each seeker walks
  the shortest open path (cells with no wall, no box and no other agent; ramps and doors are open;
  it never climbs) towards the nearest seen hider, turning one 45 degree step per step towards that
  hider's octant as seen from where its move takes it, so that it keeps looking at it. While no
  hider is seen they search the doors: seeker s walks to door cell (t // SEARCH_STEPS + s) of the
  door list, facing the way it walks, and turns round in the doorway once there. With no door to
  reach (a box fills it) it turns clockwise and steps to a random open cell beside it (or stays).
  During preparation it computes its moves as usual; the engine ignores them.

These baselines read the whole world (fort hiders know where boxes and doors are; seekers share what
any of them sees and know where the doors are), not an agent's observation. `ScriptedAgent` therefore
plays through `bind(env, seat)` on a hide-and-seek env's engine state instead of its observations.

Randomness (random actions, scanning, the rare random step of a blocked hider) comes from a
SplitMix64 state per arena that the caller owns, never from the arenas' own generator, so a policy
never changes the world's random stream.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numba
import numpy as np

from gridworlds.agents.simple import UntrainedAgent
from gridworlds.engines import hide_and_seek as engine
from gridworlds.engines.hide_and_seek import (
    FACING_COL,
    FACING_ROW,
    LOCK,
    MOVE_COL,
    MOVE_ROW,
    NO_TURN,
    TURN_LEFT,
    TURN_RIGHT,
    Arenas,
    Scenario,
    is_door,
)
from gridworlds.engines.rng import next_below, seed_state
from gridworlds.envs.checks import check_choice, check_positive_int, check_seed

SCRIPTED_RANDOM, SCRIPTED_STILL, SCRIPTED_FORT, SCRIPTED_CHASE = range(4)
SCRIPTED_POLICIES = {
    "random": SCRIPTED_RANDOM,
    "still": SCRIPTED_STILL,
    "fort": SCRIPTED_FORT,
    "chase": SCRIPTED_CHASE,
}
HIDER_POLICIES = ("random", "still", "fort")
SEEKER_POLICIES = ("random", "still", "chase")

MOVE_FACING = np.array([0, 0, 2, 4, 6], dtype=np.int64)  # the facing of each move's direction (stay: up)
AWAY_FROM_DOORS = 3  # an idle hider keeps at least this many cells (Chebyshev) from every door
SEARCH_STEPS = 16  # how long a chasing seeker that sees no hider searches one door before the next
THROUGH_AGENT = 3  # what a fort hider's walk counts for a cell where a hider that makes way stands
_FAR = 1 << 40


def _policy(team: str, policy: Any, choices: tuple[str, ...]) -> int:
    """A policy given by name or by its SCRIPTED_* number, checked against the team's choices."""
    if isinstance(policy, int | np.integer) and not isinstance(policy, bool):
        names = {number: name for name, number in SCRIPTED_POLICIES.items()}
        policy = names.get(int(policy), policy)
    check_choice(team, policy, choices)
    return SCRIPTED_POLICIES[policy]


def scripted_actions(
    arenas: Arenas,
    scenario: Scenario,
    hider_policy: str | int,
    seeker_policy: str | int,
    rng: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Write into `out` (int64 [N, A, 4], allocated if None) and return every agent's action: hiders
    by `hider_policy` (random, still, fort), seekers by `seeker_policy` (random, still, chase), names or
    SCRIPTED_* numbers. `rng` (uint64 [N], one SplitMix64 state per arena, e.g. from `seed_state`)
    is the policies' generator; it is advanced in place."""
    hiders = _policy("hider_policy", hider_policy, HIDER_POLICIES)
    seekers = _policy("seeker_policy", seeker_policy, SEEKER_POLICIES)
    n, a = arenas.agent_pos.shape[:2]
    if a != scenario.agents:
        raise ValueError(f"the arenas hold {a} agents but the scenario has {scenario.agents}")
    if not (isinstance(rng, np.ndarray) and rng.dtype == np.uint64 and rng.shape == (n,)):
        raise ValueError(f"rng must be a uint64 array of shape ({n},), got {getattr(rng, 'shape', rng)!r}")
    if out is None:
        out = np.zeros((n, a, len(engine.ACTION_NVEC)), np.int64)
    elif not (
        isinstance(out, np.ndarray) and out.dtype == np.int64 and out.shape == (n, a, len(engine.ACTION_NVEC))
    ):
        raise ValueError(
            f"out must be an int64 array of shape {(n, a, len(engine.ACTION_NVEC))}, "
            f"got {getattr(out, 'dtype', None)} {getattr(out, 'shape', None)}"
        )
    _scripted_actions(arenas, scenario.rules(), engine.sight_lines(scenario.grid), hiders, seekers, rng, out)
    return out


# ---------------------------------------------------------------------------------------------
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


@numba.njit(cache=True)
def _fort_plan(
    w, b, hiders, boxes, door_mask, order, door_of, inward, box_of, box_dist, passable, anyone, trial, queue
):
    """The hiders' priorities (order: those with a door left to fill, then the idle ones, each in
    index order) and, for each hider k, its door (door_of, -1: none), the unit step into its side of
    that door's wall (inward), its box (box_of, -1: none), that box's moves to the door (box_dist[k])
    and the agents it plans through (passable[k]): the hiders after it that can make way for it (see
    `_settle`), which are those not in a dead end."""
    walls, object_at, agent_at, agent_pos = w.walls, w.object_at, w.agent_at, w.agent_pos
    object_pos, object_length, lock, doors = w.object_pos, w.object_length, w.lock, w.doors
    g = walls.shape[1]
    n_doors = w.door_count[b]
    n = 0
    for idle in (False, True):
        for h in range(hiders):
            done = True
            j = h
            while j < n_doors and done:
                o = object_at[b, doors[b, j, 0], doors[b, j, 1]]
                done = 0 <= o < boxes and lock[b, o] != 0
                j += hiders
            if done == idle:
                order[n] = h
                n += 1
    for a in range(anyone.shape[0]):
        anyone[a] = a < hiders
    for i in range(hiders):
        k = order[i]
        passable[k, :] = False
        for later in range(i + 1, hiders):
            a = order[later]
            exits = 0
            for m in range(1, 5):
                r, c = agent_pos[b, a, 0] + MOVE_ROW[m], agent_pos[b, a, 1] + MOVE_COL[m]
                if (
                    _empty(walls, object_at, agent_at, door_mask, b, g, r, c)
                    or 0 <= agent_at[b, r, c] < hiders
                ):
                    exits += 1
            passable[k, a] = exits >= 2
    for i in range(hiders):
        k = order[i]
        door_of[k] = -1
        box_of[k] = -1
        hr, hc = agent_pos[b, k, 0], agent_pos[b, k, 1]
        j = k
        while j < n_doors:
            dr, dc = doors[b, j, 0], doors[b, j, 1]
            j += hiders
            o = object_at[b, dr, dc]
            if 0 <= o < boxes and lock[b, o] != 0:
                continue  # filled and locked
            ok, nr, nc = _inward(w, b, door_mask, dr, dc, hr, hc)
            if not ok:
                continue
            if 0 <= o < boxes:
                box = o  # in the door already: it only needs a lock
            else:
                box = -1
                best = _FAR
                # If no box gets past the other agents, plan as if every hider made way.
                same = True  # whether every hider makes way already
                for a in range(hiders):
                    same = same and (a == k or passable[k, a])
                for attempt in range(boxes if same else 2 * boxes):
                    candidate = attempt % boxes
                    if attempt == boxes and box >= 0:
                        break
                    if object_length[b, candidate] != 1 or lock[b, candidate] != 0:
                        continue
                    br, bc = object_pos[b, candidate, 0], object_pos[b, candidate, 1]
                    taken = door_mask[br * g + bc]
                    for before in range(i):
                        taken = taken or box_of[order[before]] == candidate
                    if taken:
                        continue
                    through = passable[k] if attempt < boxes else anyone
                    _box_paths(w, b, candidate, k, through, dr, dc, nr, nc, door_mask, trial, queue)
                    if 0 <= trial[br * g + bc] < best:
                        best = trial[br * g + bc]
                        box = candidate
                        box_dist[k, :] = trial
                if box < 0:
                    continue  # no box reaches this door: try the hider's next one
            door_of[k] = j - hiders
            inward[k, 0] = nr
            inward[k, 1] = nc
            box_of[k] = box
            break


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
def _idle(w, b, boxes, k, passable, door_mask, reserved, dist, first, queue, out):
    """Hider k walks to the nearest resting place (see `_resting_place`) and stays still there."""
    walls, object_at, agent_at, doors, n_doors = w.walls, w.object_at, w.agent_at, w.doors, w.door_count[b]
    g = walls.shape[1]
    hr, hc = w.agent_pos[b, k, 0], w.agent_pos[b, k, 1]
    out[0] = out[1] = out[2] = out[3] = 0
    if _resting_place(walls, object_at, agent_at, doors, n_doors, door_mask, b, g, hr, hc):
        return
    _walk(w, b, boxes, hr, hc, passable, True, door_mask, reserved, dist, first, queue)
    best = _FAR
    for cell in range(g * g):
        if 0 <= dist[cell] < best and _resting_place(
            walls, object_at, agent_at, doors, n_doors, door_mask, b, g, cell // g, cell % g
        ):
            best = dist[cell]
            out[0] = first[cell]


@numba.njit(cache=True)
def _fort_act(
    w,
    b,
    boxes,
    k,
    door,
    nr,
    nc,
    box,
    box_dist,
    passable,
    door_mask,
    reserved,
    dist,
    first,
    queue,
    keys,
    state,
    out,
):
    """Hider k's fort action into out[0:4], and into keys the cells its plan needs next (where it
    must stand, where its box goes; -1: none); returns the advanced generator state."""
    walls, object_at, agent_at = w.walls, w.object_at, w.agent_at
    g = walls.shape[1]
    hr, hc, f = w.agent_pos[b, k, 0], w.agent_pos[b, k, 1], w.facing[b, k]
    keys[0] = keys[1] = -1
    if door < 0 or box < 0:
        _idle(w, b, boxes, k, passable, door_mask, reserved, dist, first, queue, out)
        return state
    out[0] = out[1] = out[2] = out[3] = 0
    dr, dc = w.doors[b, door, 0], w.doors[b, door, 1]
    br, bc = w.object_pos[b, box, 0], w.object_pos[b, box, 1]
    _walk(w, b, boxes, hr, hc, passable, True, door_mask, reserved, dist, first, queue)
    best = _FAR
    target = -1
    want = 0
    if br == dr and bc == dc:
        # The box fills the door: stand beside it on this side (straight or diagonally), face it, lock.
        for side in (0, 1, -1):
            lr, lc = dr + nr + side * nc, dc + nc + side * nr
            if lr < 0 or lc < 0 or lr >= g or lc >= g or dist[lr * g + lc] < 0:
                continue
            face = _direction(dr - lr, dc - lc)
            walked = dist[lr * g + lc]
            cost = walked + max(0, _turns_between(f, face) - walked - 1)
            if cost < best:
                best, target, want = cost, lr * g + lc, face
        if target >= 0:
            keys[0] = target
            out[1], after = _turn_towards(f, want)
            if target != hr * g + hc:
                out[0] = first[target]
            elif after == want:
                out[3] = LOCK
            return state
    else:
        # Move the box one cell nearer the door: push it from behind, or pull it walking backwards.
        # Costs count half steps so that a push wins a tie.
        here = box_dist[br * g + bc]
        pull = False
        move = 0
        for m in range(1, 5):
            mr, mc = MOVE_ROW[m], MOVE_COL[m]
            xr, xc = br + mr, bc + mc
            if (
                xr < 0
                or xc < 0
                or xr >= g
                or xc >= g
                or box_dist[xr * g + xc] != here - 1
                or reserved[xr * g + xc]
            ):
                continue
            tr, tc = br - mr, bc - mc  # push from behind, never from a ramp (it would climb)
            if 0 <= tr < g and 0 <= tc < g and dist[tr * g + tc] >= 0 and object_at[b, tr, tc] < 0:
                cost = 2 * (dist[tr * g + tc] + 1)
                if cost < best:
                    best, target, want, pull, move = cost, tr * g + tc, MOVE_FACING[m], False, m
            if xr == dr and xc == dc:
                continue  # only a push enters the door
            face = (MOVE_FACING[m] + 4) % 8  # pull from the cell the box goes to, facing it
            walked = dist[xr * g + xc]
            if (
                walked >= 0
                and object_at[b, xr, xc] < 0
                and _can_pull(walls, object_at, agent_at, door_mask, b, g, xr, xc, mr, mc, box, k, passable)
                and not reserved[(xr + mr) * g + xc + mc]
            ):
                cost = 2 * (walked + max(0, _turns_between(f, face) - walked - 1) + 1) + 1
                if cost < best:
                    best, target, want, pull, move = cost, xr * g + xc, face, True, m
        if target >= 0:
            keys[0] = target
            keys[1] = (br + MOVE_ROW[move]) * g + bc + MOVE_COL[move]
            out[1], after = _turn_towards(f, want)
            if target != hr * g + hc:
                out[0] = first[target]
            elif not pull:
                out[0] = move
            elif after == want:
                out[0] = move
                out[2] = 1
            return state
    # Nothing to do this step (other agents in the way): a random step to an empty cell (or none).
    out[0] = 0
    options = 0
    for m in range(1, 5):
        if _empty(walls, object_at, agent_at, door_mask, b, g, hr + MOVE_ROW[m], hc + MOVE_COL[m]):
            options += 1
    if options > 0:
        state, pick = next_below(state, options)
        for m in range(1, 5):
            if _empty(walls, object_at, agent_at, door_mask, b, g, hr + MOVE_ROW[m], hc + MOVE_COL[m]):
                if pick == 0:
                    out[0] = m
                pick -= 1
    return state


@numba.njit(cache=True)
def _settle(w, b, k, door_mask, reserved, keys, state, out):
    """Make way, then reserve. Hider k, standing on a cell that a hider before it reserved, steps off to
    a random empty cell unless its own action takes it off; then the cells its action uses (where it
    stands, where it goes, where a box it pushes goes) and the `keys` cells of its plan are reserved
    against the hiders after it. Returns the advanced generator state."""
    walls, object_at, agent_at = w.walls, w.object_at, w.agent_at
    g = walls.shape[1]
    hr, hc = w.agent_pos[b, k, 0], w.agent_pos[b, k, 1]
    here = hr * g + hc
    m = out[0]
    if reserved[here] and (m == 0 or reserved[(hr + MOVE_ROW[m]) * g + hc + MOVE_COL[m]]):
        options = 0
        for move in range(1, 5):
            r, c = hr + MOVE_ROW[move], hc + MOVE_COL[move]
            if _empty(walls, object_at, agent_at, door_mask, b, g, r, c) and not reserved[r * g + c]:
                options += 1
        if options > 0:
            state, pick = next_below(state, options)
            for move in range(1, 5):
                r, c = hr + MOVE_ROW[move], hc + MOVE_COL[move]
                if _empty(walls, object_at, agent_at, door_mask, b, g, r, c) and not reserved[r * g + c]:
                    if pick == 0:
                        out[0], out[2], out[3] = move, 0, 0
                    pick -= 1
        m = out[0]
    reserved[here] = True
    nr, nc = hr + MOVE_ROW[m], hc + MOVE_COL[m]
    if m != 0 and 0 <= nr < g and 0 <= nc < g:
        reserved[nr * g + nc] = True
        br, bc = nr + MOVE_ROW[m], nc + MOVE_COL[m]
        if object_at[b, nr, nc] >= 0 and out[2] == 0 and 0 <= br < g and 0 <= bc < g:
            reserved[br * g + bc] = True  # where a pushed box goes
    for key in keys:
        if key >= 0:
            reserved[key] = True
    return state


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


@numba.njit(cache=True)
def _chase_act(
    w, b, boxes, hiders, s, seen, nobody, door_mask, reserved, dist, first, queue, region, state, out
):
    """Seeker s's chase action into out[0:4] (`seen[h]`: some seeker sees hider h); returns the
    advanced generator state."""
    agent_pos = w.agent_pos
    g = w.walls.shape[1]
    sr, sc = agent_pos[b, s, 0], agent_pos[b, s, 1]
    out[0] = out[1] = out[2] = out[3] = 0
    _walk(w, b, boxes, sr, sc, nobody, False, door_mask, reserved, dist, first, queue)
    best = _FAR
    target_r = target_c = -1
    move = 0
    for h in range(hiders):
        if not seen[h]:
            continue
        hr, hc = agent_pos[b, h, 0], agent_pos[b, h, 1]
        for m in range(1, 5):
            r, c = hr + MOVE_ROW[m], hc + MOVE_COL[m]
            if 0 <= r < g and 0 <= c < g and 0 <= dist[r * g + c] < best:
                best = dist[r * g + c]
                target_r, target_c = hr, hc
                move = first[r * g + c]
    if target_r < 0 and w.door_count[b] > 0:
        # Search: each seeker takes the doors in turn, SEARCH_STEPS steps a door, walks through it to
        # the cell beyond on the side of the smaller room, and looks round there.
        door = (w.t[b] // SEARCH_STEPS + s) % w.door_count[b]
        lr, lc = _room_side(w, b, w.doors[b, door, 0], w.doors[b, door, 1], region)
        if lr == sr and lc == sc:
            out[1] = TURN_RIGHT
            return state
        if dist[lr * g + lc] > 0:
            move = first[lr * g + lc]
            target_r, target_c = lr, lc
    if target_r < 0:
        # Nothing seen, no door to reach: turn to scan, and stay or step to an open cell beside it at
        # random (never towards a wall or a box, which from a ramp would climb over).
        out[1] = TURN_RIGHT
        options = 1
        for m in range(1, 5):
            r, c = sr + MOVE_ROW[m], sc + MOVE_COL[m]
            if 0 <= r < g and 0 <= c < g and dist[r * g + c] == 1:
                options += 1
        state, pick = next_below(state, options)
        for m in range(1, 5):
            r, c = sr + MOVE_ROW[m], sc + MOVE_COL[m]
            if 0 <= r < g and 0 <= c < g and dist[r * g + c] == 1:
                pick -= 1
                if pick == 0:
                    out[0] = m
        return state
    out[0] = move
    dr = target_r - (sr + MOVE_ROW[move])
    dc = target_c - (sc + MOVE_COL[move])
    if dr == 0 and dc == 0:  # the step lands on the target: look the way it walks
        dr, dc = MOVE_ROW[move], MOVE_COL[move]
    out[1], _ = _turn_towards(w.facing[b, s], _octant(dr, dc))
    return state


@numba.njit(cache=True)
def _scripted_actions(w, rules, lines, hider_policy, seeker_policy, rng, out):
    doors, door_count = w.doors, w.door_count
    n_arenas, g, n_agents = w.walls.shape[0], w.walls.shape[1], w.agent_pos.shape[1]
    hiders, boxes = rules.hiders, rules.boxes
    cells = g * g
    # Scratch, allocated once per call.
    dist = np.empty(cells, np.int64)
    first = np.empty(cells, np.int64)
    queue = np.empty(4 * cells + 4, np.int64)
    trial = np.empty(cells, np.int64)
    door_mask = np.zeros(cells, np.bool_)
    reserved = np.zeros(cells, np.bool_)
    box_dist = np.empty((hiders, cells), np.int64)
    passable = np.zeros((hiders, n_agents), np.bool_)
    anyone = np.zeros(n_agents, np.bool_)
    nobody = np.zeros(n_agents, np.bool_)
    door_of = np.empty(hiders, np.int64)
    inward = np.empty((hiders, 2), np.int64)
    box_of = np.empty(hiders, np.int64)
    order = np.arange(n_agents)
    keys = np.empty(2, np.int64)
    visible = np.zeros((n_agents, n_agents + w.object_pos.shape[1]), np.bool_)
    region = np.empty((2, cells), np.int64)
    seen = np.zeros(hiders, np.bool_)
    for b in range(n_arenas):
        if seeker_policy == SCRIPTED_CHASE:
            engine.entity_vision(w, b, lines[0], lines[1], visible)
            for h in range(hiders):
                seen[h] = False
                for k in range(hiders, n_agents):
                    seen[h] = seen[h] or visible[k, h]
        door_mask[:] = False
        reserved[:] = False
        for j in range(door_count[b]):
            door_mask[doors[b, j, 0] * g + doors[b, j, 1]] = True
        if hider_policy == SCRIPTED_FORT:
            _fort_plan(
                w,
                b,
                hiders,
                boxes,
                door_mask,
                order,
                door_of,
                inward,
                box_of,
                box_dist,
                passable,
                anyone,
                trial,
                queue,
            )
        state = rng[b]
        for i in range(n_agents):  # hiders first; fort hiders by their priorities
            a = order[i] if i < hiders and hider_policy == SCRIPTED_FORT else i
            policy = hider_policy if a < hiders else seeker_policy
            action = out[b, a]
            if policy == SCRIPTED_RANDOM:
                state, action[0] = next_below(state, 5)
                state, action[1] = next_below(state, 3)
                state, action[2] = next_below(state, 2)
                state, action[3] = next_below(state, 3)
            elif policy == SCRIPTED_FORT:
                state = _fort_act(
                    w,
                    b,
                    boxes,
                    a,
                    door_of[a],
                    inward[a, 0],
                    inward[a, 1],
                    box_of[a],
                    box_dist[a],
                    passable[a],
                    door_mask,
                    reserved,
                    dist,
                    first,
                    queue,
                    keys,
                    state,
                    action,
                )
                state = _settle(w, b, a, door_mask, reserved, keys, state, action)
            elif policy == SCRIPTED_CHASE:
                state = _chase_act(
                    w, b, boxes, hiders, a, seen, nobody, door_mask, reserved, dist, first, queue, region,
                    state, action,
                )  # fmt: skip
            else:  # still
                action[:] = 0
        rng[b] = state


# ---------------------------------------------------------------------------------------------
# Whole episodes


def play_scripted(
    scenario: Scenario, hiders: str, seekers: str, episodes: int, seed: int, batch: int = 256
) -> dict[str, float]:
    """Play `episodes` whole episodes of `scenario` (batches of `batch` arenas), hiders by policy
    `hiders`, seekers by `seekers`, and return the engine's `episode_stats` averaged over the
    episodes (hider_reward, seeker_reward, box_move_prep, boxes_locked_prep, ramp_move,
    ramps_locked_prep, doors_locked_prep, door_locked_prep, hider_seen_fraction), and episodes.
    Episode e's world and policy generator come from `seed` and e alone, so the numbers do not
    depend on `batch`."""
    scenario.check()
    hider_policy = _policy("hiders", hiders, HIDER_POLICIES)
    seeker_policy = _policy("seekers", seekers, SEEKER_POLICIES)
    episodes = check_positive_int("episodes", episodes)
    batch = check_positive_int("batch", batch)
    seed = check_seed(seed)
    if seed is None:
        raise ValueError("seed must be a non-negative integer, got None")
    draws = np.random.default_rng(seed).integers(0, 2**63, size=(episodes, 2))
    stats: dict[str, list[np.ndarray]] = {name: [] for name in engine.EPISODE_STATS}
    rules, lines = scenario.rules(), engine.sight_lines(scenario.grid)
    for start in range(0, episodes, batch):
        chunk = draws[start : start + batch]
        arenas = engine.new_arenas(scenario, [int(s) for s in chunk[:, 0]])
        rng = np.array([seed_state(int(s)) for s in chunk[:, 1]], np.uint64)
        actions = np.zeros((len(chunk), scenario.agents, len(engine.ACTION_NVEC)), np.int64)
        rewards = np.zeros((len(chunk), scenario.agents), np.float64)
        for _ in range(scenario.horizon):
            _scripted_actions(arenas, rules, lines, hider_policy, seeker_policy, rng, actions)
            engine.step(arenas, scenario, actions, rewards)
        for name, values in engine.episode_stats(arenas, scenario).items():
            stats[name].append(values)
    return {name: float(np.concatenate(values).mean()) for name, values in stats.items()} | {
        "episodes": float(episodes)
    }


# ---------------------------------------------------------------------------------------------
# The agent

_SEAT = re.compile(r"(hider|seeker)_(\d+)")


class ScriptedAgent(UntrainedAgent):
    """Plays one seat of a hide-and-seek env with the scripted policies: `hiders` (random, still,
    fort) when the seat is a hider's, `seekers` (random, still, chase) when it is a seeker's. The
    policies read the whole world, so the agent first needs `bind(env, seat)`: the env (whose engine
    state is `env.arenas`, one arena, and `env.scenario`) and the agent name it plays, e.g. hider_0."""

    name = "scripted"

    def __init__(self, world_id: str, seed: int | None = None, hiders: str = "fort", seekers: str = "chase"):
        super().__init__(world_id, seed)
        self.hiders = check_choice("hiders", hiders, HIDER_POLICIES)
        self.seekers = check_choice("seekers", seekers, SEEKER_POLICIES)
        self.policy_rng = np.array([seed_state(int(self.rng.integers(0, 2**63)))], np.uint64)
        self.env: Any = None
        self.seat: str | None = None
        self._actions: np.ndarray | None = None

    def params(self) -> dict[str, Any]:
        return {**super().params(), "hiders": self.hiders, "seekers": self.seekers}

    def bind(self, env: Any, seat: str) -> ScriptedAgent:
        """Play `seat` (hider_<i> or seeker_<i>) of `env` from now on; returns the agent."""
        world = env if hasattr(env, "arenas") else getattr(env, "unwrapped", env)
        if not (hasattr(world, "arenas") and hasattr(world, "scenario")):
            raise ValueError(
                f"bind needs a hide-and-seek env with arenas and scenario, got {type(env).__name__}"
            )
        match = _SEAT.fullmatch(seat) if isinstance(seat, str) else None
        team_size = None
        if match:
            team_size = world.scenario.hiders if match[1] == "hider" else world.scenario.seekers
        if match is None or int(match[2]) >= team_size:
            scenario = world.scenario
            raise ValueError(
                f"seat must be one of hider_0..hider_{scenario.hiders - 1}, "
                f"seeker_0..seeker_{scenario.seekers - 1}, got {seat!r}"
            )
        self.env, self.seat = world, seat
        return self

    def _index(self) -> int:
        team, number = _SEAT.fullmatch(self.seat).groups()  # type: ignore[arg-type, union-attr]
        return int(number) + (self.env.scenario.hiders if team == "seeker" else 0)

    def act(self, observation: Any, info: dict[str, Any]) -> np.ndarray:
        if self.env is None:
            raise RuntimeError(
                "ScriptedAgent reads the whole world: call bind(env, seat) before act, "
                "e.g. agent.bind(env, 'hider_0')"
            )
        arenas, scenario = self.env.arenas, self.env.scenario
        if arenas.agent_pos.shape[0] != 1:
            raise ValueError(f"ScriptedAgent plays an env of one arena, got {arenas.agent_pos.shape[0]}")
        shape = (1, scenario.agents, len(engine.ACTION_NVEC))
        if self._actions is None or self._actions.shape != shape:
            self._actions = np.zeros(shape, np.int64)
        scripted_actions(arenas, scenario, self.hiders, self.seekers, self.policy_rng, self._actions)
        return self._actions[0, self._index()].copy()

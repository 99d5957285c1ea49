"""The scripted hide-and-seek policies as numba kernels (described in `scripted`'s docstring): the fort
hiders' plan and actions, the chasing seekers' actions, and `_scripted_actions`, which plays every
agent of N arenas for one step. The path and box-move planning they use is in `planning`."""

from __future__ import annotations

import numba
import numpy as np

from gridworlds.agents.hide_and_seek.planning import (
    _box_paths,
    _can_pull,
    _direction,
    _empty,
    _inward,
    _octant,
    _resting_place,
    _room_side,
    _turn_towards,
    _turns_between,
    _walk,
)
from gridworlds.engines import hide_and_seek as engine
from gridworlds.engines.hide_and_seek import LOCK, MOVE_COL, MOVE_ROW, TURN_RIGHT
from gridworlds.engines.rng import next_below

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
SEARCH_STEPS = 16  # how long a chasing seeker that sees no hider searches one door before the next
_FAR = 1 << 40

# Kernels: see `planning` for how they read the arenas and number cells.


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

"""Contact between voxels: the penalty forces that push a corner of one piece's surface voxel out of
another surface voxel (of another piece, or of the same robot or free object), damped and with
viscous friction along the edge, and EvoGym's test of a robot folding through itself.
(The ground plane is a force of its own, in `physics`.)"""

from __future__ import annotations

import math

import numba
import numpy as np

from gridworlds.engines.voxels.world import BL, BOTTOM, BR, LEFT, RIGHT, ROBOT, TERRAIN, TL, TOP, TR, VOXEL

CONTACT_STIFFNESS = 2.1e6
CONTACT_OFFSET = 0.005  # a corner just inside is pushed out with CONTACT_STIFFNESS * this at least
CONTACT_DAMPING = 140.0
CONTACT_FRICTION = 1200.0
FRICTION_SCALE = 0.2
GRID_SLACK = 1e-9  # of a cell, for rounding at cell edges: the exact tests decide, slack costs only look-ups


@numba.njit(cache=True, inline="always")
def _box(pos, corners, v, boxes):
    boxes[v, 0], boxes[v, 1] = np.inf, np.inf
    boxes[v, 2], boxes[v, 3] = -np.inf, -np.inf
    for k in range(4):
        q = corners[v, k]
        boxes[v, 0] = min(boxes[v, 0], pos[q, 0])
        boxes[v, 1] = min(boxes[v, 1], pos[q, 1])
        boxes[v, 2] = max(boxes[v, 2], pos[q, 0])
        boxes[v, 3] = max(boxes[v, 3], pos[q, 1])


@numba.njit(cache=True, inline="always")
def _overlap(boxes, a, b):
    return (
        boxes[a, 0] <= boxes[b, 2]
        and boxes[b, 0] <= boxes[a, 2]
        and boxes[a, 1] <= boxes[b, 3]
        and boxes[b, 1] <= boxes[a, 3]
    )


@numba.njit(cache=True)
def _contacts(
    pos,
    vel,
    corners,
    surface,
    dynamic,
    voxel_piece,
    piece_kind,
    world,
    static_grid,
    n_voxels,
    out,
    boxes,
    listed,
):
    """The contact forces of this substep into `out`: every pair of surface voxels of different
    pieces (or of one robot or free object, neighbours included: only shared corners are never
    pushed) whose bounding boxes touch pushes the corners each has inside the other out. Voxels that
    cannot move are found through `static_grid` instead of pairs."""
    out[:] = 0.0
    m = 0
    for v in range(n_voxels):
        if dynamic[v]:
            _box(pos, corners, v, boxes)
            if math.isfinite(boxes[v, 0] + boxes[v, 1] + boxes[v, 2] + boxes[v, 3]):
                listed[m] = v
                m += 1
    gw, gh = static_grid.shape
    for i in range(m):
        a = listed[i]
        piece_a = voxel_piece[a]
        for j in range(i + 1, m):
            b = listed[j]
            if not _overlap(boxes, a, b):
                continue
            scale = 1.0
            if voxel_piece[b] == piece_a:
                if piece_kind[world, piece_a] == TERRAIN:
                    continue
                scale = 2.0  # EvoGym visits both orders of a pair within one piece
            if _corner_in_box(pos, corners, boxes, a, b):
                _voxel_contact(pos, vel, corners, surface, boxes, a, b, scale, out)
            if _corner_in_box(pos, corners, boxes, b, a):
                _voxel_contact(pos, vel, corners, surface, boxes, b, a, scale, out)
        # The cells of fixed voxels whose boxes may touch a's (touching counts, as in EvoGym), with
        # GRID_SLACK for the ulps by which points (`building`) and the division miss the grid.
        x0 = max(int(math.ceil(boxes[a, 0] / VOXEL - GRID_SLACK)) - 1, 0)
        x1 = min(int(math.floor(boxes[a, 2] / VOXEL + GRID_SLACK)), gw - 1)
        y0 = max(int(math.ceil(boxes[a, 1] / VOXEL - GRID_SLACK)) - 1, 0)
        y1 = min(int(math.floor(boxes[a, 3] / VOXEL + GRID_SLACK)), gh - 1)
        for gx in range(x0, x1 + 1):
            for gy in range(y0, y1 + 1):
                b = static_grid[gx, gy]
                if b >= 0 and voxel_piece[b] != piece_a:
                    _box(pos, corners, b, boxes)
                    if _corner_in_box(pos, corners, boxes, a, b):
                        _voxel_contact(pos, vel, corners, surface, boxes, a, b, 1.0, out)
                    if _corner_in_box(pos, corners, boxes, b, a):
                        _voxel_contact(pos, vel, corners, surface, boxes, b, a, 1.0, out)


@numba.njit(cache=True, inline="always")
def _neighbours(cell, a, b):
    """Whether voxels a and b of one piece started in touching cells (sides or corners)."""
    return abs(cell[a, 0] - cell[b, 0]) <= 1 and abs(cell[a, 1] - cell[b, 1]) <= 1


@numba.njit(cache=True, inline="always")
def _corner_in_box(pos, corners, boxes, main, ref):
    """Whether a corner of `main` that is not one of `ref`'s lies in ref's bounding box: the cheap
    test that spares most pairs the exact one."""
    for k in range(4):
        q = corners[main, k]
        if q == corners[ref, 0] or q == corners[ref, 1] or q == corners[ref, 2] or q == corners[ref, 3]:
            continue
        if boxes[ref, 0] <= pos[q, 0] <= boxes[ref, 2] and boxes[ref, 1] <= pos[q, 1] <= boxes[ref, 3]:
            return True
    return False


SIDE_CORNERS = np.array([[TL, TR], [TR, BR], [BR, BL], [BL, TL]], np.int64)  # a -> b, outward on the left
CORNER_SIDES = np.array([[TOP, LEFT], [TOP, RIGHT], [BOTTOM, LEFT], [BOTTOM, RIGHT]], np.int64)


@numba.njit(cache=True)
def _voxel_contact(pos, vel, corners, surface, boxes, main, ref, scale, out):
    """Push each corner of voxel `main` that lies inside voxel `ref` (and is not one of its corners)
    out through the nearest of ref's surface edges that main's edges at that corner cross; the
    forces are multiplied by `scale`. `boxes` holds ref's bounding box."""
    for k in range(4):
        q = corners[main, k]
        if q == corners[ref, 0] or q == corners[ref, 1] or q == corners[ref, 2] or q == corners[ref, 3]:
            continue
        px, py = pos[q, 0], pos[q, 1]
        if px < boxes[ref, 0] or px > boxes[ref, 2] or py < boxes[ref, 1] or py > boxes[ref, 3]:
            continue
        if not _inside(pos, corners, ref, px, py):
            continue
        best, best_distance = -1, np.inf
        for side in range(4):
            if not surface[ref, side]:
                continue
            ea, eb = corners[ref, SIDE_CORNERS[side, 0]], corners[ref, SIDE_CORNERS[side, 1]]
            crossed = False
            for t in range(2):
                own = CORNER_SIDES[k, t]
                ma, mb = corners[main, SIDE_CORNERS[own, 0]], corners[main, SIDE_CORNERS[own, 1]]
                if _segments_cross(pos, ma, mb, ea, eb):
                    crossed = True
            if not crossed:
                continue
            ex, ey = pos[eb, 0] - pos[ea, 0], pos[eb, 1] - pos[ea, 1]
            length = math.sqrt(ex * ex + ey * ey)
            distance = 1000.0
            if length >= 1e-6:
                distance = abs(ex * (pos[q, 1] - pos[ea, 1]) - ey * (pos[q, 0] - pos[ea, 0])) / length
            if distance < best_distance:
                best, best_distance = side, distance
        if best < 0:
            continue
        ea, eb = corners[ref, SIDE_CORNERS[best, 0]], corners[ref, SIDE_CORNERS[best, 1]]
        ex, ey = pos[eb, 0] - pos[ea, 0], pos[eb, 1] - pos[ea, 1]
        length = math.sqrt(ex * ex + ey * ey)
        if length < 1e-12:
            continue
        nx, ny = -ey / length, ex / length  # outward: the sides run with the voxel on their right
        push = scale * CONTACT_STIFFNESS * (CONTACT_OFFSET + best_distance)
        damp_q = -scale * CONTACT_DAMPING * (nx * vel[q, 0] + ny * vel[q, 1])
        damp_a = scale * CONTACT_DAMPING * (nx * vel[ea, 0] + ny * vel[ea, 1])
        damp_b = scale * CONTACT_DAMPING * (nx * vel[eb, 0] + ny * vel[eb, 1])
        out[q, 0] += (push + damp_q) * nx
        out[q, 1] += (push + damp_q) * ny
        out[ea, 0] -= 0.5 * (push + damp_a) * nx
        out[ea, 1] -= 0.5 * (push + damp_a) * ny
        out[eb, 0] -= 0.5 * (push + damp_b) * nx
        out[eb, 1] -= 0.5 * (push + damp_b) * ny
        tx, ty = -ny, nx
        slide = tx * vel[q, 0] + ty * vel[q, 1]
        if slide < 0.0:
            tx, ty, slide = -tx, -ty, -slide
        limit = FRICTION_SCALE * push / scale
        friction = -scale * CONTACT_FRICTION * limit * math.tanh(slide / limit)
        out[q, 0] += friction * tx
        out[q, 1] += friction * ty
        out[ea, 0] -= 0.5 * friction * tx
        out[ea, 1] -= 0.5 * friction * ty
        out[eb, 0] -= 0.5 * friction * tx
        out[eb, 1] -= 0.5 * friction * ty


@numba.njit(cache=True, inline="always")
def _cross(ax, ay, bx, by, px, py):
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


@numba.njit(cache=True)
def _inside(pos, corners, v, px, py):
    """Whether (px, py) is in voxel v's quad (triangles TL-TR-BR and TL-BR-BL, edges included)."""
    tl, tr, bl, br = corners[v, TL], corners[v, TR], corners[v, BL], corners[v, BR]
    return _in_triangle(pos, tl, tr, br, px, py) or _in_triangle(pos, tl, br, bl, px, py)


@numba.njit(cache=True, inline="always")
def _in_triangle(pos, a, b, c, px, py):
    d1 = _cross(pos[a, 0], pos[a, 1], pos[b, 0], pos[b, 1], px, py)
    d2 = _cross(pos[b, 0], pos[b, 1], pos[c, 0], pos[c, 1], px, py)
    d3 = _cross(pos[c, 0], pos[c, 1], pos[a, 0], pos[a, 1], px, py)
    negative = d1 < 0.0 or d2 < 0.0 or d3 < 0.0
    positive = d1 > 0.0 or d2 > 0.0 or d3 > 0.0
    return not (negative and positive)


@numba.njit(cache=True, inline="always")
def _segments_cross(pos, a1, b1, a2, b2):
    """Whether segments a1-b1 and a2-b2 meet (ends included; near-parallel ones never do)."""
    d1x, d1y = pos[b1, 0] - pos[a1, 0], pos[b1, 1] - pos[a1, 1]
    d2x, d2y = pos[b2, 0] - pos[a2, 0], pos[b2, 1] - pos[a2, 1]
    det = -d1x * d2y + d2x * d1y
    if abs(det) < 1e-4:  # EvoGym's threshold, in its units
        return False
    rx, ry = pos[a2, 0] - pos[a1, 0], pos[a2, 1] - pos[a1, 1]
    t = (-d2y * rx + d2x * ry) / det
    u = (-d1y * rx + d1x * ry) / det
    return 0.0 <= t <= 1.0 and 0.0 <= u <= 1.0


@numba.njit(cache=True)
def _robot_unstable(pos, corners, surface, voxel_piece, piece_kind, world, cell, n_voxels, boxes, listed):
    """EvoGym's instability test: more overlapping ordered pairs of the robot's surface voxels that
    are not neighbours than the robot has surface voxels."""
    m = 0
    for v in range(n_voxels):
        if piece_kind[world, voxel_piece[v]] == ROBOT and (
            surface[v, 0] or surface[v, 1] or surface[v, 2] or surface[v, 3]
        ):
            _box(pos, corners, v, boxes)
            if not math.isfinite(boxes[v, 0] + boxes[v, 1] + boxes[v, 2] + boxes[v, 3]):
                return True  # a blown-up robot is as unstable as it gets
            listed[m] = v
            m += 1
    overlapping = 0
    for i in range(m):
        for j in range(i + 1, m):
            a, b = listed[i], listed[j]
            if _neighbours(cell, a, b):
                continue
            if _overlap(boxes, a, b):
                overlapping += 2
    return overlapping > m

"""The voxel-robot world: an EvoGym-style 2-D soft-body simulator (Bhatia et al. 2021), batched over
many worlds.

A world is a set of pieces: one robot, terrain and free objects (boxes to carry or push), each a grid
of voxels (materials in `voxels.bodies`: rigid, soft, horizontal and vertical actuators, fixed). A
voxel is a square of side `VOXEL` (0.1; EvoGym's unit, which its tasks call metres) with a point mass
of 1 at each corner; 4-adjacent voxels of one piece share corners and edges. Each voxel has its 4 edge
springs and 2 diagonal springs. Coordinates: x to the right, y up, the ground plane at y = 0; a
piece placed at world cell (x, y) has its grid's bottom-left voxel on [0.1 x, 0.1 x + 0.1] x
[0.1 y, 0.1 y + 0.1].

The physics follows EvoGym's C++ simulator step for step (constants and order from its source):
a control step is `SUBSTEPS` substeps of `DT`, each of which
1. computes contact forces between voxels of different pieces and within a robot or free object
   (a corner inside another piece's surface voxel is pushed out through the nearest crossed surface
   edge with a penalty force, damped, with viscous friction along the edge), held for the substep;
2. relaxes every spring's rest length: it becomes the current length plus `RELAXATION` of the way to
   its goal length (an actuated edge's goal is its initial length times the mean action of the
   actuators driving it; a horizontal actuator drives its top and bottom edges, a vertical one its
   left and right edges), so springs act as stiff dampers with a weak pull towards their goal;
3. integrates springs, drag, gravity, the contact forces and the ground plane (y < 0 pushes back)
   with one RK4 step; fixed points never move;
4. pulls every spring longer than 1.25 or shorter than 0.75 of its initial length 80% of the way back
   to that bound, then every edge of a rigid voxel outside [0.97, 1.03] half way back;
5. measures the velocity the contact forces use, (position - last position) / DT;
6. checks the robot for instability: more overlapping pairs of non-neighbouring surface voxels than
   it has surface voxels. An unstable step is undone and reported.

Departures from EvoGym, all on purpose: fixed points stay still in RK4's intermediate stages too
(EvoGym lets them drift within a step and zeroes only the final increment); pieces that are terrain
have no contact within themselves (only a soft bridge deck could have any), and within a piece
voxels that started as neighbours (sides or corners) are not tested against each other (their
corners cannot reach inside each other without folding the piece, which the instability test
catches); springs between two fixed points are left out (they can do nothing). RK4 it must be: the
explicit midpoint method passes the soft-body checks at half the cost, but a rigid block's springs
(omega dt about 2.1) are beyond its stability limit of 2.

Arrays are padded over a leading world axis (`Worlds`), so worlds of different robots step together
in one call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from gridworlds.engines.voxels.bodies import EMPTY, FIXED, H_ACT, RIGID, SOFT, V_ACT, check_body

VOXEL = 0.1
DT = 1e-4
SUBSTEPS = 30
GRAVITY = 110.0
DRAG = 0.1
RELAXATION = 0.006
STRETCH_BOUNDS = (0.75, 1.25)
STRETCH_PULL = 0.8
RIGID_BOUNDS = (0.97, 1.03)
RIGID_PULL = 0.5
GROUND_STIFFNESS = 1.4e7
GROUND_FRICTION = 2.0  # Coulomb-like coefficient, smoothed by tanh(GROUND_SMOOTHING * N * v)
GROUND_SMOOTHING = 0.2
CONTACT_STIFFNESS = 2.1e6
CONTACT_OFFSET = 0.005  # a corner just inside is pushed out with CONTACT_STIFFNESS * this at least
CONTACT_DAMPING = 140.0
CONTACT_FRICTION = 1200.0
FRICTION_SCALE = 0.2
ACTION_LOW, ACTION_HIGH = 0.6, 1.6
UNSTABLE_PENALTY = -3.0
PARALLEL_WORLDS = 8  # `step` spreads batches of at least this many worlds over threads

# Spring constants (edge, diagonal) per material; a shared edge takes the constant of the last
# non-rigid voxel touching it in row-major order, as EvoGym's builder leaves it.
EDGE_CONSTANT = {RIGID: 3e8 / 3.5, FIXED: 3e8 / 3.5, SOFT: 3e8 / 6, H_ACT: 3e8 / 5, V_ACT: 3e8 / 5}
DIAGONAL_CONSTANT = {RIGID: 1.5e8 / 3.5, FIXED: 1.5e8 / 3.5, SOFT: 1.25e7, H_ACT: 3e7, V_ACT: 3e7}

ROBOT, TERRAIN, OBJECT = 0, 1, 2  # piece kinds
TOP, RIGHT, BOTTOM, LEFT = range(4)  # voxel sides, and the order of a voxel's edges
TL, TR, BL, BR = range(4)  # voxel corners, in EvoGym's creation order


@dataclass(frozen=True)
class Piece:
    """A grid of materials (row 0 at the top) placed with its bottom-left cell at world cell (x, y).
    `kind` is ROBOT (at most one, validated as a body), TERRAIN or OBJECT (a free box)."""

    grid: np.ndarray
    x: int
    y: int
    kind: int = TERRAIN


class Worlds(NamedTuple):
    """N worlds, padded to the most points P, springs S, voxels V, actuators A and pieces O of any."""

    pos: np.ndarray  # float64 [N, P, 2]
    vel: np.ndarray  # float64 [N, P, 2], the integrator's velocities
    last_pos: np.ndarray  # float64 [N, P, 2], positions after the previous substep
    true_vel: np.ndarray  # float64 [N, P, 2], (pos - last_pos) / DT: what contact damping reads
    start_pos: np.ndarray  # float64 [N, P, 2], positions at reset (orientation is measured from them)
    fixed: np.ndarray  # bool [N, P]
    spring_ends: np.ndarray  # int64 [N, S, 2]
    stiffness: np.ndarray  # float64 [N, S]
    initial_length: np.ndarray  # float64 [N, S]
    rest_length: np.ndarray  # float64 [N, S], relaxed every substep
    goal_length: np.ndarray  # float64 [N, S]
    spring_actuators: np.ndarray  # int64 [N, S, 2], the actuators driving a spring (-1: none)
    corners: np.ndarray  # int64 [N, V, 4], TL TR BL BR point indices
    edges: np.ndarray  # int64 [N, V, 4], top right bottom left spring indices
    material: np.ndarray  # int8 [N, V]
    voxel_piece: np.ndarray  # int64 [N, V]
    cell: np.ndarray  # int64 [N, V, 2], (x, y) of the voxel's world cell at the start
    surface: np.ndarray  # bool [N, V, 4], a side with no neighbour of the same piece
    dynamic: np.ndarray  # bool [N, V], a surface voxel with a corner that is not fixed
    static_grid: np.ndarray  # int64 [N, GW, GH], the all-fixed voxel in each world cell, or -1
    actuator_voxels: np.ndarray  # int64 [N, A]
    piece_kind: np.ndarray  # int64 [N, O]
    piece_points: np.ndarray  # int64 [N, O, 2], the first point and one past the last
    active: np.ndarray  # int64 [N, P]: the points that move, then the fixed ones that springs hold
    counts: np.ndarray  # int64 [N, 6]: points, springs, voxels, actuators, moving and active points


COUNT_POINTS, COUNT_SPRINGS, COUNT_VOXELS, COUNT_ACTUATORS, COUNT_MOVING, COUNT_ACTIVE = range(6)


def _piece_grid(piece: Piece) -> np.ndarray:
    if piece.kind == ROBOT:
        return check_body(piece.grid)
    grid = np.asarray(piece.grid)
    if grid.ndim != 2 or grid.size == 0 or not np.issubdtype(grid.dtype, np.integer):
        raise ValueError(f"a piece's grid must be a non-empty 2-D integer array, got {piece.grid!r}")
    if ((grid < EMPTY) | (grid > FIXED)).any():
        raise ValueError(f"materials are 0-5, got {sorted(set(grid[(grid < 0) | (grid > 5)].tolist()))}")
    if piece.kind == OBJECT and (grid == FIXED).any():
        raise ValueError("a free object cannot hold FIXED voxels")
    return grid.astype(np.int8)


class _Builder:
    """Points, springs and voxels of one world, numbered as EvoGym numbers them."""

    def __init__(self):
        self.points: list[tuple[float, float]] = []
        self.fixed: list[bool] = []
        self.springs: list[list] = []  # [a, b, stiffness, initial length]
        self.voxels: list[dict] = []
        self.pieces: list[tuple[int, int, int]] = []  # kind, first point, end point

    def add(self, piece: Piece, grid: np.ndarray) -> None:
        h, w = grid.shape
        first_point = len(self.points)
        index = -np.ones((h, w), np.int64)  # voxel index of each cell of this piece
        for r in range(h):
            for c in range(w):
                if grid[r, c] != EMPTY:
                    index[r, c] = len(self.voxels)
                    self.voxels.append(
                        {"material": int(grid[r, c]), "cell": (piece.x + c, piece.y + h - 1 - r)}
                    )

        def neighbour(r, c):
            return index[r, c] if 0 <= r < h and 0 <= c < w and index[r, c] >= 0 else -1

        # Corners: a voxel takes a corner from a 4-neighbour that already made it, else makes it.
        for r in range(h):
            for c in range(w):
                v = index[r, c]
                if v < 0:
                    continue
                up, left = neighbour(r - 1, c), neighbour(r, c - 1)
                up_right, right = neighbour(r - 1, c + 1), neighbour(r, c + 1)
                corner = [-1] * 4
                if up >= 0:
                    corner[TL], corner[TR] = self.voxels[up]["corners"][BL], self.voxels[up]["corners"][BR]
                elif right >= 0 and up_right >= 0:  # joined to the upper right through the right one
                    corner[TR] = self.voxels[up_right]["corners"][BL]
                if left >= 0:
                    corner[TL], corner[BL] = (
                        self.voxels[left]["corners"][TR],
                        self.voxels[left]["corners"][BR],
                    )
                x0, y0 = VOXEL * (piece.x + c), VOXEL * (piece.y + h - 1 - r)
                places = {
                    TL: (x0, y0 + VOXEL),
                    TR: (x0 + VOXEL, y0 + VOXEL),
                    BL: (x0, y0),
                    BR: (x0 + VOXEL, y0),
                }
                for k in (TL, TR, BL, BR):
                    if corner[k] < 0:
                        corner[k] = len(self.points)
                        self.points.append(places[k])
                        self.fixed.append(False)
                self.voxels[v]["corners"] = corner
        # A point is fixed when any voxel holding it is.
        for r in range(h):
            for c in range(w):
                if index[r, c] >= 0 and grid[r, c] == FIXED:
                    for p in self.voxels[index[r, c]]["corners"]:
                        self.fixed[p] = True
        # Main edges (top unless shared, bottom, left unless shared, right), then the diagonals.
        for r in range(h):
            for c in range(w):
                v = index[r, c]
                if v < 0:
                    continue
                voxel, corner = self.voxels[v], self.voxels[v]["corners"]
                up, left = neighbour(r - 1, c), neighbour(r, c - 1)
                edges = [-1] * 4
                edges[TOP] = (
                    self.voxels[up]["edges"][BOTTOM] if up >= 0 else self._spring(corner[TL], corner[TR])
                )
                edges[BOTTOM] = self._spring(corner[BL], corner[BR])
                edges[LEFT] = (
                    self.voxels[left]["edges"][RIGHT] if left >= 0 else self._spring(corner[TL], corner[BL])
                )
                edges[RIGHT] = self._spring(corner[TR], corner[BR])
                voxel["edges"] = edges
                voxel["surface"] = [
                    up < 0,
                    neighbour(r, c + 1) < 0,
                    neighbour(r + 1, c) < 0,
                    left < 0,
                ]
                voxel["piece"] = len(self.pieces)
        for r in range(h):
            for c in range(w):
                v = index[r, c]
                if v < 0:
                    continue
                m, corner = int(grid[r, c]), self.voxels[v]["corners"]
                if m != RIGID and m != FIXED:
                    for e in self.voxels[v]["edges"]:
                        self.springs[e][2] = EDGE_CONSTANT[m]
                for a, b in ((corner[TR], corner[BL]), (corner[TL], corner[BR])):
                    self.springs.append([a, b, DIAGONAL_CONSTANT[m], VOXEL * math.sqrt(2)])
        self.pieces.append((piece.kind, first_point, len(self.points)))

    def _spring(self, a: int, b: int) -> int:
        self.springs.append([a, b, EDGE_CONSTANT[RIGID], VOXEL])
        return len(self.springs) - 1


def build(pieces: list[Piece]) -> Worlds:
    """One world of `pieces` (the robot, if any, first: its actuators are the action's order)."""
    return stack([layout(pieces)])


def layout(pieces: list[Piece]) -> dict[str, np.ndarray]:
    kinds = [p.kind for p in pieces]
    if kinds.count(ROBOT) > 1 or (ROBOT in kinds and kinds[0] != ROBOT):
        raise ValueError("a world holds at most one robot, and it comes first among the pieces")
    builder = _Builder()
    grids = [_piece_grid(p) for p in pieces]
    for piece, grid in zip(pieces, grids, strict=True):
        if piece.x < 0 or piece.y < 0:
            raise ValueError(f"pieces are placed at non-negative world cells, got ({piece.x}, {piece.y})")
        builder.add(piece, grid)
    cells = [v["cell"] for v in builder.voxels]
    if len(set(cells)) < len(cells):
        raise ValueError("pieces overlap: two voxels are placed in the same world cell")
    fixed = np.array(builder.fixed, np.bool_)
    springs = [s for s in builder.springs if not (fixed[s[0]] and fixed[s[1]])]
    renumber = {}
    for old, s in enumerate(builder.springs):
        if not (fixed[s[0]] and fixed[s[1]]):
            renumber[old] = len(renumber)
    voxels = builder.voxels
    corners = np.array([v["corners"] for v in voxels], np.int64).reshape(-1, 4)
    edges = np.array([[renumber.get(e, -1) for e in v["edges"]] for v in voxels], np.int64).reshape(-1, 4)
    material = np.array([v["material"] for v in voxels], np.int8)
    surface = np.array([v["surface"] for v in voxels], np.bool_).reshape(-1, 4)
    all_fixed = fixed[corners].all(axis=1)
    robot_cells = [(v, idx) for idx, v in enumerate(voxels) if pieces[v["piece"]].kind == ROBOT]
    actuators = [idx for v, idx in robot_cells if v["material"] in (H_ACT, V_ACT)]
    # EvoGym numbers actuators by grid index, row-major from the top: the voxel scan order already.
    spring_actuators = -np.ones((len(springs), 2), np.int64)
    for a, idx in enumerate(actuators):
        driven = (TOP, BOTTOM) if voxels[idx]["material"] == H_ACT else (LEFT, RIGHT)
        for side in driven:
            e = edges[idx, side]
            slot = 0 if spring_actuators[e, 0] < 0 else 1
            spring_actuators[e, slot] = a
    width = max(c[0] for c in cells) + 2 if cells else 1
    height = max(c[1] for c in cells) + 2 if cells else 1
    static_grid = -np.ones((width, height), np.int64)
    for idx, (x, y) in enumerate(cells):
        if all_fixed[idx]:
            static_grid[x, y] = idx
    springs_array = np.array(springs, np.float64).reshape(-1, 4)
    held = np.zeros(len(fixed), np.bool_)
    held[springs_array[:, :2].astype(np.int64).ravel()] = True
    moving = np.flatnonzero(~fixed)
    return {
        "active": np.concatenate([moving, np.flatnonzero(fixed & held)]),
        "moving": np.array([len(moving)]),
        "pos": np.array(builder.points, np.float64).reshape(-1, 2),
        "fixed": fixed,
        "spring_ends": springs_array[:, :2].astype(np.int64),
        "stiffness": springs_array[:, 2],
        "initial_length": springs_array[:, 3],
        "spring_actuators": spring_actuators,
        "corners": corners,
        "edges": edges,
        "material": material,
        "voxel_piece": np.array([v["piece"] for v in voxels], np.int64),
        "cell": np.array(cells, np.int64).reshape(-1, 2),
        "surface": surface,
        "dynamic": surface.any(axis=1) & ~all_fixed,
        "static_grid": static_grid,
        "actuator_voxels": np.array(actuators, np.int64),
        "piece_kind": np.array([k for k, _, _ in builder.pieces], np.int64),
        "piece_points": np.array([(a, b) for _, a, b in builder.pieces], np.int64).reshape(-1, 2),
    }


def stack(layouts: list[dict[str, np.ndarray]]) -> Worlds:
    """Worlds from per-world layouts, padded: extra points are fixed, extra springs have no
    stiffness, extra voxels are not dynamic and extra actuators point at no voxel."""
    n = len(layouts)
    size = {name: max(lay[name].shape[0] for lay in layouts) for name in ("pos", "spring_ends", "corners")}
    p, s, v = size["pos"], size["spring_ends"], size["corners"]
    a = max(len(lay["actuator_voxels"]) for lay in layouts)
    o = max(len(lay["piece_kind"]) for lay in layouts)
    gw = max(lay["static_grid"].shape[0] for lay in layouts)
    gh = max(lay["static_grid"].shape[1] for lay in layouts)
    w = Worlds(
        pos=np.zeros((n, p, 2)),
        vel=np.zeros((n, p, 2)),
        last_pos=np.zeros((n, p, 2)),
        true_vel=np.zeros((n, p, 2)),
        start_pos=np.zeros((n, p, 2)),
        fixed=np.ones((n, p), np.bool_),
        spring_ends=np.zeros((n, s, 2), np.int64),
        stiffness=np.zeros((n, s)),
        initial_length=np.full((n, s), VOXEL),
        rest_length=np.full((n, s), VOXEL),
        goal_length=np.full((n, s), VOXEL),
        spring_actuators=-np.ones((n, s, 2), np.int64),
        corners=np.zeros((n, v, 4), np.int64),
        edges=np.zeros((n, v, 4), np.int64),
        material=np.zeros((n, v), np.int8),
        voxel_piece=-np.ones((n, v), np.int64),
        cell=np.zeros((n, v, 2), np.int64),
        surface=np.zeros((n, v, 4), np.bool_),
        dynamic=np.zeros((n, v), np.bool_),
        static_grid=-np.ones((n, gw, gh), np.int64),
        actuator_voxels=-np.ones((n, a), np.int64),
        piece_kind=-np.ones((n, o), np.int64),
        piece_points=np.zeros((n, o, 2), np.int64),
        active=np.zeros((n, p), np.int64),
        counts=np.zeros((n, 6), np.int64),
    )
    for i, lay in enumerate(layouts):
        np_, ns, nv, na = (
            len(lay["pos"]),
            len(lay["spring_ends"]),
            len(lay["corners"]),
            len(lay["actuator_voxels"]),
        )
        for name in (
            "pos", "fixed", "spring_ends", "stiffness", "initial_length", "spring_actuators", "corners",
            "edges", "material", "voxel_piece", "cell", "surface", "dynamic", "actuator_voxels",
            "piece_kind", "piece_points", "active",
        ):  # fmt: skip
            getattr(w, name)[i, : len(lay[name])] = lay[name]
        w.static_grid[i, : lay["static_grid"].shape[0], : lay["static_grid"].shape[1]] = lay["static_grid"]
        w.counts[i] = (np_, ns, nv, na, lay["moving"][0], len(lay["active"]))
    w.start_pos[:] = w.pos
    reset(w, np.ones(n, np.bool_))
    return w


def reset(w: Worlds, which: np.ndarray) -> None:
    """Put the chosen worlds back at their start: still, springs at rest, no actuation."""
    w.pos[which] = w.start_pos[which]
    w.last_pos[which] = w.start_pos[which]
    w.vel[which] = 0.0
    w.true_vel[which] = 0.0
    w.rest_length[which] = w.initial_length[which]
    w.goal_length[which] = w.initial_length[which]


def step(w: Worlds, actions: np.ndarray, parallel: bool | None = None) -> np.ndarray:
    """One control step (SUBSTEPS substeps) of every world under `actions` (float [N, A]: one per
    actuator, clipped to [0.6, 1.6]; padding beyond a world's actuators is ignored). Returns bool [N]:
    the worlds whose robot went unstable, whose step was undone.

    `parallel` spreads the worlds over numba's threads, with the same results; None (the default)
    does so from PARALLEL_WORLDS worlds on (measured: 64 robots step 2x faster on this project's two
    hyperthreads; a single world is faster without the threads' start-up)."""
    n, a = w.actuator_voxels.shape
    actions = np.asarray(actions, dtype=np.float64)
    if actions.shape != (n, a):
        raise ValueError(f"actions must have shape ({n}, {a}) (worlds, actuators), got {actions.shape}")
    if not np.isfinite(actions).all():
        raise ValueError("actions must be finite numbers")
    unstable = np.zeros(n, np.bool_)
    if parallel is None:
        parallel = n >= PARALLEL_WORLDS
    (_step_parallel if parallel else _step)(tuple(w), actions, unstable)
    return unstable


@numba.njit(cache=True)
def _step(arrays, actions, unstable):
    w = Worlds(*arrays)
    for i in range(w.pos.shape[0]):
        _step_world(w, actions, unstable, i)


@numba.njit(cache=True, parallel=True)
def _step_parallel(arrays, actions, unstable):
    w = Worlds(*arrays)
    for i in numba.prange(w.pos.shape[0]):
        _step_world(w, actions, unstable, i)


@numba.njit(cache=True)
def _step_world(w, actions, unstable, i):
    """One control step of world i (see `step`)."""
    pos, vel, last_pos, true_vel = w.pos[i], w.vel[i], w.last_pos[i], w.true_vel[i]
    fixed, ends, stiffness, initial = w.fixed[i], w.spring_ends[i], w.stiffness[i], w.initial_length[i]
    rest, goal, spring_actuators = w.rest_length[i], w.goal_length[i], w.spring_actuators[i]
    corners, edges, material, voxel_piece = w.corners[i], w.edges[i], w.material[i], w.voxel_piece[i]
    cell, surface, dynamic, static_grid = w.cell[i], w.surface[i], w.dynamic[i], w.static_grid[i]
    piece_kind, points = w.piece_kind, w.active[i]
    n_points, n_springs = w.counts[i, COUNT_POINTS], w.counts[i, COUNT_SPRINGS]
    n_voxels, n_moving, n_active = (
        w.counts[i, COUNT_VOXELS],
        w.counts[i, COUNT_MOVING],
        w.counts[i, COUNT_ACTIVE],
    )
    p = pos.shape[0]
    contact = np.zeros((p, 2))
    stages = np.zeros((4, p, 2))  # the RK4 stages' accelerations
    stage_pos, stage_vel, correction = np.zeros((p, 2)), np.zeros((p, 2)), np.zeros((p, 2))
    boxes = np.zeros((corners.shape[0], 4))  # voxel bounding boxes: x min, y min, x max, y max
    listed = np.zeros(corners.shape[0], np.int64)
    for s in range(n_springs):
        a0, a1 = spring_actuators[s, 0], spring_actuators[s, 1]
        if a0 >= 0:
            act = min(max(actions[i, a0], ACTION_LOW), ACTION_HIGH)
            if a1 >= 0:
                act = 0.5 * (act + min(max(actions[i, a1], ACTION_LOW), ACTION_HIGH))
            goal[s] = initial[s] * act
    saved_pos, saved_vel = pos[:n_points].copy(), vel[:n_points].copy()
    saved_last, saved_true = last_pos[:n_points].copy(), true_vel[:n_points].copy()
    saved_rest = rest[:n_springs].copy()
    for _ in range(SUBSTEPS):
        _contacts(
            pos, true_vel, corners, surface, dynamic, voxel_piece, piece_kind, i, cell, static_grid,
            n_voxels, contact, boxes, listed,
        )  # fmt: skip
        _relax(pos, ends, rest, goal, n_springs)
        _rk4(
            pos, vel, ends, stiffness, rest, contact, points, n_moving, n_active, n_springs, stages,
            stage_pos, stage_vel,
        )  # fmt: skip
        _project(
            pos, fixed, ends, initial, edges, material, points, n_moving, n_active, n_springs, n_voxels,
            correction,
        )  # fmt: skip
        for j in range(n_moving):
            q = points[j]
            for d in range(2):
                true_vel[q, d] = (pos[q, d] - last_pos[q, d]) / DT
                last_pos[q, d] = pos[q, d]
        if _robot_unstable(pos, corners, surface, voxel_piece, piece_kind, i, cell, n_voxels, boxes, listed):
            pos[:n_points] = saved_pos
            vel[:n_points] = saved_vel
            last_pos[:n_points] = saved_last
            true_vel[:n_points] = saved_true
            rest[:n_springs] = saved_rest
            unstable[i] = True
            return


@numba.njit(cache=True, inline="always")
def _relax(pos, ends, rest, goal, n_springs):
    for s in range(n_springs):
        a, b = ends[s, 0], ends[s, 1]
        d = math.sqrt((pos[a, 0] - pos[b, 0]) ** 2 + (pos[a, 1] - pos[b, 1]) ** 2)
        rest[s] = d + RELAXATION * (goal[s] - d)


@numba.njit(cache=True)
def _accelerations(x, v, ends, stiffness, rest, contact, points, n_moving, n_active, n_springs, out):
    """Forces over mass (1) at positions x and velocities v of the moving points: drag, gravity, the
    held contact forces, the ground plane and the springs (fixed points' entries are scratch)."""
    for j in range(n_moving, n_active):
        q = points[j]
        out[q, 0], out[q, 1] = 0.0, 0.0
    for j in range(n_moving):
        q = points[j]
        fx = -DRAG * v[q, 0] + contact[q, 0]
        fy = -DRAG * v[q, 1] - GRAVITY + contact[q, 1]
        if x[q, 1] < 0.0:
            normal = GROUND_STIFFNESS * -x[q, 1]
            fy += normal
            fx -= GROUND_FRICTION * normal * math.tanh(GROUND_SMOOTHING * normal * v[q, 0])
        out[q, 0], out[q, 1] = fx, fy
    for s in range(n_springs):
        a, b = ends[s, 0], ends[s, 1]
        qx, qy = x[a, 0] - x[b, 0], x[a, 1] - x[b, 1]
        d = math.sqrt(qx * qx + qy * qy)
        f = stiffness[s] * (d - rest[s]) / d
        out[a, 0] -= f * qx
        out[a, 1] -= f * qy
        out[b, 0] += f * qx
        out[b, 1] += f * qy


@numba.njit(cache=True)
def _rk4(pos, vel, ends, stiffness, rest, contact, points, n_moving, n_active, n_springs, stages, x, v):
    """One classical RK4 step of DT; stage k evaluates the state advanced by (0, DT/2, DT/2, DT)
    along the previous stage's slope (x holds positions, v the previous stage's velocities)."""
    for k in range(4):
        h = 0.0 if k == 0 else (DT if k == 3 else 0.5 * DT)
        for j in range(n_active if k == 0 else n_moving):
            q = points[j]
            if k == 0:
                x[q, 0], x[q, 1], v[q, 0], v[q, 1] = pos[q, 0], pos[q, 1], vel[q, 0], vel[q, 1]
            else:
                # the previous stage's velocity is v (its position slope), its acceleration stages[k-1]
                nvx = vel[q, 0] + h * stages[k - 1, q, 0]
                nvy = vel[q, 1] + h * stages[k - 1, q, 1]
                x[q, 0] = pos[q, 0] + h * v[q, 0]
                x[q, 1] = pos[q, 1] + h * v[q, 1]
                v[q, 0], v[q, 1] = nvx, nvy
        _accelerations(x, v, ends, stiffness, rest, contact, points, n_moving, n_active, n_springs, stages[k])
    # the position slopes are the stage velocities, rebuilt from the stage accelerations
    for j in range(n_moving):
        q = points[j]
        for d in range(2):
            v1 = vel[q, d]
            v2 = vel[q, d] + 0.5 * DT * stages[0, q, d]
            v3 = vel[q, d] + 0.5 * DT * stages[1, q, d]
            v4 = vel[q, d] + DT * stages[2, q, d]
            pos[q, d] += DT / 6.0 * (v1 + 2.0 * v2 + 2.0 * v3 + v4)
            vel[q, d] += (
                DT / 6.0 * (stages[0, q, d] + 2.0 * stages[1, q, d] + 2.0 * stages[2, q, d] + stages[3, q, d])
            )


@numba.njit(cache=True)
def _project(
    pos, fixed, ends, initial, edges, material, points, n_moving, n_active, n_springs, n_voxels, correction
):
    """Springs outside [0.75, 1.25] of their initial length go 80% of the way back to the bound (all
    from the same positions), then rigid voxels' edges outside [0.97, 1.03] half way, one by one.
    (The two passes are written out: a shared per-spring helper made the whole step 35% slower.)"""
    for j in range(n_active):
        q = points[j]
        correction[q, 0], correction[q, 1] = 0.0, 0.0
    for s in range(n_springs):
        a, b = ends[s, 0], ends[s, 1]
        qx, qy = pos[a, 0] - pos[b, 0], pos[a, 1] - pos[b, 1]
        d = math.sqrt(qx * qx + qy * qy)
        bound = _bound(d, initial[s], STRETCH_BOUNDS[0], STRETCH_BOUNDS[1])
        if bound == 0.0:
            continue
        c = STRETCH_PULL * (d - bound) / (2.0 * d)
        if not fixed[a]:
            correction[a, 0] -= c * qx
            correction[a, 1] -= c * qy
        if not fixed[b]:
            correction[b, 0] += c * qx
            correction[b, 1] += c * qy
    for j in range(n_moving):
        q = points[j]
        pos[q, 0] += correction[q, 0]
        pos[q, 1] += correction[q, 1]
    for v in range(n_voxels):
        if material[v] != RIGID:
            continue
        for side in range(4):
            s = edges[v, side]
            a, b = ends[s, 0], ends[s, 1]
            qx, qy = pos[a, 0] - pos[b, 0], pos[a, 1] - pos[b, 1]
            d = math.sqrt(qx * qx + qy * qy)
            bound = _bound(d, initial[s], RIGID_BOUNDS[0], RIGID_BOUNDS[1])
            if bound == 0.0:
                continue
            c = RIGID_PULL * (d - bound) / (2.0 * d)
            if not fixed[a]:
                pos[a, 0] -= c * qx
                pos[a, 1] -= c * qy
            if not fixed[b]:
                pos[b, 0] += c * qx
                pos[b, 1] += c * qy


@numba.njit(cache=True, inline="always")
def _bound(d, length, low, high):
    """The violated bound's length, or 0 when d is within [low, high] x length."""
    if d > high * length:
        return high * length
    if d < low * length:
        return low * length
    return 0.0


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
    cell,
    static_grid,
    n_voxels,
    out,
    boxes,
    listed,
):
    """The contact forces of this substep into `out`: every pair of surface voxels of different
    pieces (or of one robot or free object) whose bounding boxes touch pushes the corners each has
    inside the other out. Voxels that cannot move are found through `static_grid` instead of pairs."""
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
                if piece_kind[world, piece_a] == TERRAIN or _neighbours(cell, a, b):
                    continue
                scale = 2.0  # EvoGym visits both orders of a pair within one piece
            if _corner_in_box(pos, corners, boxes, a, b):
                _voxel_contact(pos, vel, corners, surface, boxes, a, b, scale, out)
            if _corner_in_box(pos, corners, boxes, b, a):
                _voxel_contact(pos, vel, corners, surface, boxes, b, a, scale, out)
        x0 = max(int(math.ceil(boxes[a, 0] / VOXEL)) - 1, 0)
        x1 = min(int(math.floor(boxes[a, 2] / VOXEL)), gw - 1)
        y0 = max(int(math.ceil(boxes[a, 1] / VOXEL)) - 1, 0)
        y1 = min(int(math.floor(boxes[a, 3] / VOXEL)), gh - 1)
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


def piece_points(w: Worlds, piece: int) -> tuple[int, int]:
    """The point range [first, end) of `piece`, which must hold the same number of points in every
    world (as a vector env's copies of one task do)."""
    first, end = w.piece_points[:, piece, 0], w.piece_points[:, piece, 1]
    if (first != first[0]).any() or (end != end[0]).any():
        raise ValueError(f"piece {piece} does not hold the same points in every world")
    return int(first[0]), int(end[0])


def relative_positions(w: Worlds, piece: int) -> np.ndarray:
    """float64 [N, 2 n]: the piece's points minus its centre, all x then all y (EvoGym's order)."""
    first, end = piece_points(w, piece)
    rel = w.pos[:, first:end] - w.pos[:, first:end].mean(axis=1, keepdims=True)
    return np.concatenate([rel[:, :, 0], rel[:, :, 1]], axis=1)


def terrain_heights(w: Worlds, piece: int, terrain: np.ndarray, reach: int, below: bool) -> np.ndarray:
    """float64 [N, 2 reach + 1]: for each voxel column within `reach` of the piece's centre, the gap
    from the centre down to the highest terrain point under it (or up to the lowest above it, if not
    `below`), clipped to 5 voxels; `terrain` is a bool mask of the pieces that count (EvoGym's
    floor / ceiling observations). All worlds at once."""
    centres = centre(w, piece)[:, None, :] / VOXEL  # [N, 1, 2]
    point = np.arange(w.pos.shape[1])
    counted = np.zeros(w.pos.shape[:2], np.bool_)
    for k in np.flatnonzero(terrain):
        first, end = w.piece_points[:, k, 0:1], w.piece_points[:, k, 1:2]
        counted |= (point >= first) & (point < end)
    x, y = w.pos[..., 0] / VOXEL, w.pos[..., 1] / VOXEL
    side = (y < centres[..., 1]) if below else (y > centres[..., 1])
    offsets = np.arange(-reach, reach + 1)[None, :, None]  # [1, 2 reach + 1, 1]
    column = (counted & side)[:, None, :] & (np.abs(x[:, None, :] - (centres[..., 0:1] + offsets)) < 0.5)
    if below:
        edge = np.where(column, y[:, None, :], -np.inf).max(axis=2)
        gap = centres[..., 1] - np.where(np.isfinite(edge), edge, centres[..., 1] - 5)
    else:
        edge = np.where(column, y[:, None, :], np.inf).min(axis=2)
        gap = np.where(np.isfinite(edge), edge, centres[..., 1] + 5) - centres[..., 1]
    return np.clip(gap, 0, 5) * VOXEL


def piece_points_each(w: Worlds, piece: int) -> tuple[np.ndarray, np.ndarray]:
    """(index int64 [N, L], mask bool [N, L]): the points of `piece` in each world, padded to the
    most points L it holds in any world; padding repeats the world's first point of the piece and is
    False in `mask`. Unlike `piece_points`, the piece may hold a different range in every world."""
    first, end = w.piece_points[:, piece, 0], w.piece_points[:, piece, 1]
    count = end - first
    offsets = np.arange(count.max())
    mask = offsets < count[:, None]
    return np.where(mask, first[:, None] + offsets, first[:, None]), mask


def _gather(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values [N, P, 2] at index [N, L] -> [N, L, 2]."""
    return np.take_along_axis(values, index[..., None], axis=1)


def _masked_mean(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean over axis 1 of points [N, L, 2] where mask [N, L] holds -> [N, 2]."""
    return (points * mask[..., None]).sum(axis=1) / mask.sum(axis=1)[:, None]


def centre(w: Worlds, piece: int) -> np.ndarray:
    """float64 [N, 2], the mean point of `piece` (every point has mass 1, so its centre of mass), with
    the piece's own points in each world (worlds may hold different robots)."""
    index, mask = piece_points_each(w, piece)
    return _masked_mean(_gather(w.pos, index), mask)


def centre_velocity(w: Worlds, piece: int) -> np.ndarray:
    """float64 [N, 2], the mean velocity of `piece`'s points, with its own points in each world."""
    index, mask = piece_points_each(w, piece)
    return _masked_mean(_gather(w.vel, index), mask)


def orientation(w: Worlds, piece: int) -> np.ndarray:
    """float64 [N], the piece's rotation since the start in [0, 2 pi), counter-clockwise positive:
    EvoGym's mean of the points' angles about the centre, weighted by their start radius; with the
    piece's own points in each world (padding points get no weight)."""
    index, mask = piece_points_each(w, piece)
    now, start = _gather(w.pos, index), _gather(w.start_pos, index)
    now = now - _masked_mean(now, mask)[:, None]
    start = start - _masked_mean(start, mask)[:, None]
    now_len = np.linalg.norm(now, axis=2)
    start_len = np.linalg.norm(start, axis=2) * mask  # padding weighs nothing
    scale = now_len * start_len
    degenerate = scale < 1e-7
    dot = np.where(degenerate, 0.99999, (now * start).sum(axis=2) / np.where(degenerate, 1.0, scale))
    dot = np.clip(dot, -0.99999, 0.99999)
    theta = (np.arccos(dot) * start_len).sum(axis=1) / start_len.sum(axis=1)
    unit_now = now / np.where(now_len < 1e-12, 1.0, now_len)[..., None]
    unit_start = start / np.where(start_len < 1e-12, 1.0, start_len)[..., None]
    cross = unit_now[..., 0] * unit_start[..., 1] - unit_now[..., 1] * unit_start[..., 0]
    cross = (cross * mask).sum(axis=1)
    return np.where(cross > 0, 2 * math.pi - theta, theta)

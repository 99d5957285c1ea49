"""Building worlds: pieces (a robot body, terrain, free objects) turned into the points, springs and
voxels of one world, numbered as EvoGym's builder numbers them (`layout`), and layouts padded into
a batch of `Worlds` (`stack`), which `reset` puts back at their start."""

from __future__ import annotations

import math

import numpy as np

from gridworlds.engines.voxels.bodies import EMPTY, FIXED, H_ACT, RIGID, SOFT, V_ACT, check_body
from gridworlds.engines.voxels.world import (
    BL,
    BOTTOM,
    BR,
    LEFT,
    OBJECT,
    RIGHT,
    ROBOT,
    TL,
    TOP,
    TR,
    VOXEL,
    Piece,
    Worlds,
)

# Spring constants (edge, diagonal) per material; a shared edge takes the constant of the last
# non-rigid voxel touching it in row-major order, as EvoGym's builder leaves it.
EDGE_CONSTANT = {RIGID: 3e8 / 3.5, FIXED: 3e8 / 3.5, SOFT: 3e8 / 6, H_ACT: 3e8 / 5, V_ACT: 3e8 / 5}
DIAGONAL_CONSTANT = {RIGID: 1.5e8 / 3.5, FIXED: 1.5e8 / 3.5, SOFT: 1.25e7, H_ACT: 3e7, V_ACT: 3e7}


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
        # Their coordinates are computed as EvoGym computes them, rounding included: across from the
        # piece's left edge and down from its top edge. They can land an ulp off the grid (a 5-tall
        # robot's bottom at 0.09999999999999998, inside the ground's top at 0.1), and at the start,
        # where every contact is an exact tie, that ulp decides which contacts exist.
        piece_left, piece_top = VOXEL * piece.x, VOXEL * piece.y + h * VOXEL
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
                left, right = piece_left + c * VOXEL, piece_left + (c + 1) * VOXEL
                top, bottom = piece_top - r * VOXEL, piece_top - (r + 1) * VOXEL
                places = {TL: (left, top), TR: (right, top), BL: (left, bottom), BR: (right, bottom)}
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

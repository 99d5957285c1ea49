"""What a voxel world is made of: the voxel's size, the kinds of piece, a voxel's sides and corners,
the pieces a world is built from (`Piece`) and the arrays of a batch of built worlds (`Worlds`),
which the other modules of `voxels` build (`building`), step (`physics`, `contacts`) and read
(`measures`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

VOXEL = 0.1

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

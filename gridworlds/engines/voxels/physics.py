"""Stepping worlds: one control step is `SUBSTEPS` substeps of `DT`, each of them contact forces
(`contacts`), spring relaxation towards the actuated goal lengths, one RK4 step of springs, drag,
gravity, contact forces and the ground plane, the stretch limits, the velocities contacts read and
the robot's instability test (the package's docstring gives the model step by step)."""

from __future__ import annotations

import math

import numba
import numpy as np

from gridworlds.engines.voxels.bodies import RIGID
from gridworlds.engines.voxels.contacts import _contacts, _robot_unstable
from gridworlds.engines.voxels.world import (
    COUNT_ACTIVE,
    COUNT_MOVING,
    COUNT_POINTS,
    COUNT_SPRINGS,
    COUNT_VOXELS,
    Worlds,
)

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
ACTION_LOW, ACTION_HIGH = 0.6, 1.6
UNSTABLE_PENALTY = -3.0
PARALLEL_WORLDS = 8  # `step` spreads batches of at least this many worlds over threads


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
            pos, true_vel, corners, surface, dynamic, voxel_piece, piece_kind, i, static_grid, n_voxels,
            contact, boxes, listed,
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
    """Forces over mass (1) at positions x and velocities v of the active points: drag, gravity, the
    held contact forces, the ground plane and the springs."""
    for j in range(n_active):
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
    along the previous stage's slope (x holds positions, v the previous stage's velocities). As in
    EvoGym, fixed points that hold springs to moving ones move in the stages too, pulled by their
    springs, and only their final increment is dropped: within a step a bridge's pillar tops give a
    little to the deck hanging from them."""
    for k in range(4):
        h = 0.0 if k == 0 else (DT if k == 3 else 0.5 * DT)
        for j in range(n_active):
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

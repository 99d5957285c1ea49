"""Measuring worlds: what tasks, observations and viewers read of a piece in every world at once,
its points, centre of mass, centre velocity, orientation and the terrain around it."""

from __future__ import annotations

import numpy as np

from gridworlds.engines.voxels.world import VOXEL, Worlds

# EvoGym's C++ turns a clockwise angle a into 2 pi - a with pi written as 3.1415926; orientations
# near a full turn (Flipper-v0's flips) are compared against thresholds, so the same constant is used.
EVOGYM_PI = 3.1415926


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
    # EvoGym's arithmetic step for step: at the start every cosine is 1 up to rounding, and which of
    # them round past 1 (and are then read as 0.99999) decides the reading, so the order matters.
    now_len = np.sqrt((now * now).sum(axis=2))
    start_len = np.sqrt((start * start).sum(axis=2)) * mask  # padding weighs nothing
    unit_now = now / np.where(now_len > 0, now_len, 1.0)[..., None]
    unit_start = start / np.where(start_len > 0, start_len, 1.0)[..., None]
    dot = (unit_now * unit_start).sum(axis=2)
    dot = np.where(now_len * start_len < 1e-7, 0.99999, dot)
    dot = np.where(dot > 1.0, 0.99999, np.where(dot < -1.0, -0.99999, dot))
    theta = (np.arccos(dot) * start_len).sum(axis=1) / start_len.sum(axis=1)
    cross = unit_now[..., 0] * unit_start[..., 1] - unit_now[..., 1] * unit_start[..., 0]
    cross = (cross * mask).sum(axis=1)
    return np.where(cross > 0, 2 * EVOGYM_PI - theta, theta)

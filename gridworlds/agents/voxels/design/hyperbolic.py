"""The Poincare disk of curvature -c, and Sarkar's embedding of a tree in it, for HERD's design
search (Dong, Zhang, Zhang, "Leveraging Hyperbolic Embeddings for Coarse-to-Fine Robot Design",
ICLR 2024).

The disk of curvature -c (c > 0) is the open disk of Euclidean radius 1/sqrt(c) with the metric
lambda_x^2 |dx|^2, where the conformal factor is

    lambda_x = 2 / (1 - c |x|^2).

Points are arrays [..., 2]; every function broadcasts over the leading axes. The formulas are the
gyrovector ones of Ungar, as used by hyperbolic neural networks (Ganea et al. 2018):

    Mobius addition   x (+) y = ((1 + 2c<x, y> + c|y|^2) x + (1 - c|x|^2) y)
                                / (1 + 2c<x, y> + c^2 |x|^2 |y|^2)
    distance          d(x, y) = (2 / sqrt(c)) artanh(sqrt(c) |(-x) (+) y|)
    exponential map   exp_x(v) = x (+) tanh(sqrt(c) lambda_x |v| / 2) v / (sqrt(c) |v|)
    logarithmic map   log_x(y) = (2 / (sqrt(c) lambda_x)) artanh(sqrt(c) |u|) u / |u|,  u = (-x) (+) y

Convention: tangent vectors are written in the ambient Euclidean coordinates, and their Riemannian
length at x is lambda_x times their Euclidean length, so

    d(x, y) = lambda_x |log_x(y)|    and, at the origin (lambda_0 = 2),  d(0, exp_0(v)) = 2 |v|.

This is the convention of HERD's code (and of HGCN, which it borrows from), so a CEM over tangent
vectors at the origin keeps HERD's step sizes.

The map y -> x (+) y is an isometry of the disk that takes 0 to x, and (-x) (+) (x (+) y) = y undoes
it; Sarkar's construction uses that pair to move any node to the origin, place its children there,
and move them back.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

# HERD's values (docs/voxels.md): curvature -1.2, and tree edges of hyperbolic length 1.2 (Sarkar's tau).
DEFAULT_CURVATURE = 1.2
DEFAULT_SCALE = 1.2
# `project` keeps points within (1 - BOUNDARY_MARGIN) / sqrt(c) of the centre: a point on the
# boundary circle is infinitely far from everything, and artanh(1) is inf.
BOUNDARY_MARGIN = 1e-5
# Norms below this count as zero when dividing by them (the direction of a zero vector is moot).
_TINY = 1e-15


def _positive(value, what: str) -> float:
    """`value` as a float, or a ValueError unless it is a finite number > 0."""
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0):
        raise ValueError(f"{what} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_curvature(c: float) -> float:
    return _positive(c, "curvature c (the disk has curvature -c)")


def _points(x, name: str) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] != 2:
        raise ValueError(f"{name} must be an array of 2-D points [..., 2], got shape {array.shape}")
    return array


def _dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sum(x * y, axis=-1, keepdims=True)


def _norm(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x, axis=-1, keepdims=True)


def conformal_factor(x, c: float = DEFAULT_CURVATURE) -> np.ndarray:
    """lambda_x = 2 / (1 - c |x|^2), [...]: how much longer a tangent vector at x is in the
    hyperbolic metric than in the Euclidean one."""
    c = _check_curvature(c)
    x = _points(x, "x")
    return 2.0 / (1.0 - c * np.sum(x * x, axis=-1))


def project(x, c: float = DEFAULT_CURVATURE, margin: float = BOUNDARY_MARGIN) -> np.ndarray:
    """The points pulled radially inside the disk: norms above (1 - margin) / sqrt(c) shrink to it,
    the rest are unchanged."""
    c = _check_curvature(c)
    x = _points(x, "x")
    if not 0 < margin < 1:
        raise ValueError(f"margin must be in (0, 1), got {margin!r}")
    largest = (1.0 - margin) / math.sqrt(c)
    norm = np.maximum(_norm(x), _TINY)
    return np.where(norm > largest, x * (largest / norm), x)


def mobius_add(x, y, c: float = DEFAULT_CURVATURE) -> np.ndarray:
    """x (+) y, [..., 2]: Mobius addition, the disk's analogue of x + y. Not commutative; 0 is the
    identity on both sides, and (-x) (+) (x (+) y) = y."""
    c = _check_curvature(c)
    x, y = _points(x, "x"), _points(y, "y")
    xy, xx, yy = _dot(x, y), _dot(x, x), _dot(y, y)
    numerator = (1.0 + 2.0 * c * xy + c * yy) * x + (1.0 - c * xx) * y
    return numerator / (1.0 + 2.0 * c * xy + c * c * xx * yy)


def distance(x, y, c: float = DEFAULT_CURVATURE) -> np.ndarray:
    """The hyperbolic distance d(x, y), [...].

    Computed as (2 / sqrt(c)) asinh(sqrt(c) |x - y| / sqrt((1 - c|x|^2)(1 - c|y|^2))), which equals
    the artanh form in the module docstring (both come from cosh(sqrt(c) d) = 1 + 2 s^2 with s the
    asinh's argument) but is exactly symmetric, exactly 0 on the diagonal, and accurate for nearby
    points."""
    c = _check_curvature(c)
    x, y = _points(x, "x"), _points(y, "y")
    difference = np.sum((x - y) ** 2, axis=-1)
    shrink = (1.0 - c * np.sum(x * x, axis=-1)) * (1.0 - c * np.sum(y * y, axis=-1))
    return (2.0 / math.sqrt(c)) * np.arcsinh(np.sqrt(c * difference / shrink))


def exp_map(v, base=None, c: float = DEFAULT_CURVATURE) -> np.ndarray:
    """exp_base(v), [..., 2]: where the geodesic from `base` (default: the origin) with initial
    velocity v is after unit time, i.e. the point at distance lambda_base |v| along v's direction.
    The result goes through `project`, so very long vectors land just inside the boundary rather
    than on it."""
    c = _check_curvature(c)
    v = _points(v, "v")
    sqrt_c = math.sqrt(c)
    norm = np.maximum(_norm(v), _TINY)
    if base is None:
        return project(np.tanh(sqrt_c * norm) * v / (sqrt_c * norm), c)
    base = _points(base, "base")
    lam = 2.0 / (1.0 - c * _dot(base, base))
    step = np.tanh(sqrt_c * lam * norm / 2.0) * v / (sqrt_c * norm)
    return project(mobius_add(base, step, c), c)


def log_map(y, base=None, c: float = DEFAULT_CURVATURE) -> np.ndarray:
    """log_base(y), [..., 2]: the tangent vector at `base` (default: the origin) that `exp_map`
    takes to y; its Euclidean length times lambda_base is d(base, y)."""
    c = _check_curvature(c)
    y = _points(y, "y")
    sqrt_c = math.sqrt(c)
    if base is None:
        u, lam = y, 2.0
    else:
        base = _points(base, "base")
        u, lam = mobius_add(-base, y, c), 2.0 / (1.0 - c * _dot(base, base))
    norm = np.maximum(_norm(u), _TINY)
    # Clipping keeps artanh finite for points that rounding has put on the boundary.
    return (2.0 / (sqrt_c * lam)) * np.arctanh(np.minimum(sqrt_c * norm, 1.0 - _TINY)) * u / norm


def transport_from_origin(v, x, c: float = DEFAULT_CURVATURE) -> np.ndarray:
    """v, a tangent vector at the origin, parallel-transported along the geodesic to x, [..., 2]:
    (lambda_0 / lambda_x) v = (1 - c |x|^2) v. Its Riemannian length stays 2 |v|, so
    exp_map(transport_from_origin(v, x), base=x) is 2 |v| from x, as exp_map(v) is from the origin:
    a Gaussian at the origin carried this way is the wrapped normal about x (Nagano et al. 2019)."""
    c = _check_curvature(c)
    v, x = _points(v, "v"), _points(x, "x")
    return (1.0 - c * _dot(x, x)) * v


def edge_radius(scale: float = DEFAULT_SCALE, c: float = DEFAULT_CURVATURE) -> float:
    """The Euclidean radius of the circle of hyperbolic radius `scale` about the origin:
    tanh(sqrt(c) scale / 2) / sqrt(c) (from d(0, y) = (2 / sqrt(c)) artanh(sqrt(c) |y|))."""
    c = _check_curvature(c)
    scale = _positive(scale, "scale")
    return math.tanh(math.sqrt(c) * scale / 2.0) / math.sqrt(c)


def _check_parents(parents) -> np.ndarray:
    array = np.asarray(parents)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"parents must be a non-empty 1-D array, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise ValueError(f"parents must hold integers, got dtype {array.dtype}")
    array = array.astype(np.int64)
    if array[0] != -1:
        raise ValueError(
            f"parents[0] must be -1: node 0 is the root (a parent comes before its children), got {array[0]}"
        )
    nodes = np.arange(len(array))
    bad = np.flatnonzero((array[1:] < 0) | (array[1:] >= nodes[1:])) + 1
    if len(bad):
        node = int(bad[0])
        raise ValueError(
            f"parents does not describe a tree with parents before children: node {node} has parent "
            f"{int(array[node])}; every node but the root (0) needs a parent in 0..{node - 1}"
        )
    return array


def tree_depths(parents) -> np.ndarray:
    """Each node's number of edges from the root, int64 [n], for a parent array as in
    `sarkar_embedding`."""
    parents = _check_parents(parents)
    depths = np.full(len(parents), -1, dtype=np.int64)
    depths[0] = 0
    # One sweep per generation: a node's depth is known once its parent's is.
    while True:
        waiting = np.flatnonzero(depths < 0)
        if len(waiting) == 0:
            return depths
        ready = waiting[depths[parents[waiting]] >= 0]
        depths[ready] = depths[parents[ready]] + 1


def sarkar_embedding(parents, scale: float = DEFAULT_SCALE, c: float = DEFAULT_CURVATURE) -> np.ndarray:
    """The nodes of a rooted tree as points in the disk, float64 [n, 2], by Sarkar's construction
    ("Low distortion Delaunay embedding of trees in hyperbolic plane", 2011).

    `parents[i]` is node i's parent; nodes are numbered so that a parent comes before its children,
    which makes node 0 the root (parents[0] = -1). Every edge gets hyperbolic length `scale`:

    - the root sits at the origin, and its k children at distance `scale` in the directions
      2 pi j / k, j = 0 .. k - 1;
    - for any other node v with k children, the isometry y -> (-v) (+) y moves v to the origin and
      its parent to some direction theta; the children go on the circle of radius `scale` about
      the origin (Euclidean radius `edge_radius(scale, c)`) in the directions
      theta + 2 pi j / (k + 1), j = 1 .. k, which share the full turn evenly with the edge back to
      the parent; y -> v (+) y moves them back around v.

    Mobius maps are conformal, so at every node the edges meet at equal angles 2 pi / degree. By
    the hyperbolic law of cosines two edges of length s meeting at angle a have their far ends
    d apart with sinh(sqrt(c) d / 2) = sinh(sqrt(c) s) sin(a / 2); Sarkar shows that a long enough
    `scale` keeps the whole tree free of crossings with low distortion, while HERD uses 1.2.

    Children are placed in the order of their numbers, counter-clockwise. Positions depend only on
    the ancestors and on the numbers of children along the way, so adding nodes at the end of the
    array (a new level) never moves the nodes already there.
    """
    parents = _check_parents(parents)
    scale = _positive(scale, "scale (the hyperbolic length of every edge)")
    c = _check_curvature(c)
    n = len(parents)
    points = np.zeros((n, 2))
    if n == 1:
        return points
    depths = tree_depths(parents)

    # Each non-root node's rank among its siblings (in node order) and its parent's child count.
    children_of = parents[1:]
    child_counts = np.bincount(children_of, minlength=n)
    by_parent = np.argsort(children_of, kind="stable") + 1
    first_child_slot = np.cumsum(child_counts) - child_counts
    rank = np.zeros(n, dtype=np.int64)
    rank[by_parent] = np.arange(n - 1) - first_child_slot[parents[by_parent]]

    radius = edge_radius(scale, c)
    for depth in range(1, int(depths.max()) + 1):
        nodes = np.flatnonzero(depths == depth)
        parent = parents[nodes]
        count = child_counts[parent]
        if depth == 1:
            angle = 2.0 * np.pi * rank[nodes] / count
        else:
            centre = points[parent]
            grandparent_seen_from_parent = mobius_add(-centre, points[parents[parent]], c)
            back = np.arctan2(grandparent_seen_from_parent[:, 1], grandparent_seen_from_parent[:, 0])
            angle = back + 2.0 * np.pi * (rank[nodes] + 1) / (count + 1)
        around_origin = radius * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
        points[nodes] = around_origin if depth == 1 else mobius_add(points[parent], around_origin, c)
    return points

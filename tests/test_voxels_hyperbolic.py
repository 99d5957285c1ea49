"""The Poincare disk of curvature -c and Sarkar's tree embedding (agents/voxels/design/hyperbolic.py)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridworlds.agents.voxels.design import hyperbolic as hy

curvatures = st.floats(0.1, 5.0)


def disk_point(c: float, fraction: float, angle: float) -> np.ndarray:
    """The point at `fraction` of the disk's Euclidean radius 1 / sqrt(c), in direction `angle`."""
    return fraction / math.sqrt(c) * np.array([math.cos(angle), math.sin(angle)])


fractions = st.floats(0.0, 0.9)
angles = st.floats(0.0, 2 * math.pi)


# --- Mobius addition, distance ---


@given(curvatures, fractions, angles)
def test_mobius_addition_with_zero_is_the_identity(c, fraction, angle):
    x = disk_point(c, fraction, angle)
    np.testing.assert_allclose(hy.mobius_add(x, np.zeros(2), c), x, atol=1e-15)
    np.testing.assert_allclose(hy.mobius_add(np.zeros(2), x, c), x, atol=1e-15)


@given(curvatures, fractions, angles, fractions, angles)
def test_mobius_translation_is_undone_and_keeps_distances(c, f1, a1, f2, a2):
    x, y = disk_point(c, f1, a1), disk_point(c, f2, a2)
    np.testing.assert_allclose(hy.mobius_add(-x, hy.mobius_add(x, y, c), c), y, atol=1e-9 / math.sqrt(c))
    # y -> x (+) y is an isometry taking 0 to x.
    moved = hy.distance(x, hy.mobius_add(x, y, c), c)
    np.testing.assert_allclose(moved, hy.distance(np.zeros(2), y, c), rtol=1e-9, atol=1e-12)


def test_distance_from_the_origin_along_an_axis():
    c, r = 1.2, 0.5
    expected = 2 / math.sqrt(c) * math.atanh(math.sqrt(c) * r)
    assert hy.distance(np.zeros(2), np.array([0.0, r]), c) == pytest.approx(expected, rel=1e-12)
    # c = 1: the classical disk, d(0, r) = ln((1 + r) / (1 - r)).
    assert hy.distance([0.0, 0.0], [r, 0.0], 1.0) == pytest.approx(math.log(3.0), rel=1e-12)


@given(curvatures, fractions, angles, fractions, angles)
def test_distance_is_symmetric_zero_on_the_diagonal_and_the_artanh_form(c, f1, a1, f2, a2):
    x, y = disk_point(c, f1, a1), disk_point(c, f2, a2)
    assert hy.distance(x, y, c) == hy.distance(y, x, c)
    assert hy.distance(x, x, c) == 0.0
    artanh_form = 2 / math.sqrt(c) * np.arctanh(math.sqrt(c) * np.linalg.norm(hy.mobius_add(-x, y, c)))
    assert hy.distance(x, y, c) == pytest.approx(artanh_form, rel=1e-8, abs=1e-12)


@given(curvatures, st.lists(st.tuples(fractions, angles), min_size=3, max_size=3))
def test_triangle_inequality(c, triple):
    x, y, z = (disk_point(c, f, a) for f, a in triple)
    assert hy.distance(x, z, c) <= hy.distance(x, y, c) + hy.distance(y, z, c) + 1e-9


def test_functions_vectorise_over_leading_axes():
    rng = np.random.default_rng(0)
    x = hy.project(rng.uniform(-0.6, 0.6, size=(3, 4, 2)))
    y = hy.project(rng.uniform(-0.6, 0.6, size=(4, 2)))
    assert hy.mobius_add(x, y).shape == (3, 4, 2)
    assert hy.distance(x, y).shape == (3, 4)
    assert hy.log_map(y, x).shape == (3, 4, 2)
    assert hy.exp_map(y, x).shape == (3, 4, 2)
    np.testing.assert_allclose(hy.distance(x, y)[2, 1], hy.distance(x[2, 1], y[1]), rtol=1e-15)


# --- exponential and logarithmic maps ---


@given(curvatures, fractions, angles, st.floats(0.0, 3.0), angles)
def test_log_undoes_exp_at_any_base(c, fraction, angle, length, direction):
    base = disk_point(c, fraction, angle)
    # A tangent vector whose hyperbolic length is length / sqrt(c), so the point stays well inside.
    unit = np.array([math.cos(direction), math.sin(direction)])
    v = length / math.sqrt(c) / hy.conformal_factor(base, c) * unit
    np.testing.assert_allclose(hy.log_map(hy.exp_map(v, base, c), base, c), v, atol=1e-9 / math.sqrt(c))
    np.testing.assert_allclose(hy.log_map(hy.exp_map(v, None, c), None, c), v, atol=1e-9 / math.sqrt(c))


@given(curvatures, fractions, angles, fractions, angles)
def test_exp_undoes_log_and_distance_is_the_length_of_log(c, f1, a1, f2, a2):
    x, y = disk_point(c, f1, a1), disk_point(c, f2, a2)
    np.testing.assert_allclose(hy.exp_map(hy.log_map(y, x, c), x, c), y, atol=1e-9 / math.sqrt(c))
    # Convention: the Riemannian length of a tangent vector at x is lambda_x times its Euclidean one.
    length = hy.conformal_factor(x, c) * np.linalg.norm(hy.log_map(y, x, c))
    assert hy.distance(x, y, c) == pytest.approx(length, rel=1e-8, abs=1e-12)


@given(curvatures, st.floats(0.0, 3.0), angles)
def test_exp_at_the_origin_goes_twice_the_euclidean_length(c, length, direction):
    v = length / math.sqrt(c) * np.array([math.cos(direction), math.sin(direction)])
    twice = pytest.approx(2 * np.linalg.norm(v), rel=1e-9, abs=1e-12)
    assert hy.distance(np.zeros(2), hy.exp_map(v, c=c), c) == twice
    np.testing.assert_allclose(hy.exp_map(v, np.zeros(2), c), hy.exp_map(v, None, c), atol=1e-15)


@given(curvatures, fractions, angles, st.floats(0.0, 3.0), angles)
def test_a_transported_step_goes_as_far_as_at_the_origin(c, fraction, angle, length, direction):
    base = disk_point(c, fraction, angle)
    v = length / math.sqrt(c) * np.array([math.cos(direction), math.sin(direction)])
    moved = hy.exp_map(hy.transport_from_origin(v, base, c), base, c)
    assert hy.distance(base, moved, c) == pytest.approx(2 * np.linalg.norm(v), rel=1e-6, abs=1e-9)


@given(curvatures, st.floats(0.01, 0.9), angles)
def test_transport_carries_the_geodesics_velocity_along_it(c, fraction, angle):
    # The geodesic from 0 to x leaves 0 with velocity log_0(x) and arrives at x with velocity
    # -log_x(0): parallel transport along it must take the one to the other.
    x = disk_point(c, fraction, angle)
    arriving = -hy.log_map(np.zeros(2), x, c)
    # atol: a coordinate of a denormal size (an angle of 1e-313) keeps only a few significant digits.
    transported = hy.transport_from_origin(hy.log_map(x, None, c), x, c)
    np.testing.assert_allclose(transported, arriving, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(hy.transport_from_origin(arriving, np.zeros(2), c), arriving)


def test_exp_of_zero_is_the_base_and_huge_vectors_stay_inside():
    base = np.array([0.2, -0.3])
    np.testing.assert_allclose(hy.exp_map(np.zeros(2), base), base, atol=1e-15)
    far = hy.exp_map(np.array([1e6, -3e6]), base)
    assert np.linalg.norm(far) < 1 / math.sqrt(hy.DEFAULT_CURVATURE)
    assert np.isfinite(hy.distance(base, far))


# --- project ---


@given(curvatures, st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=2))
def test_project_keeps_points_strictly_inside(c, xy):
    x = np.array(xy)
    inside = hy.project(x, c)
    assert np.linalg.norm(inside) < 1 / math.sqrt(c)
    assert np.isfinite(hy.distance(np.zeros(2), inside, c))
    if np.linalg.norm(x) <= (1 - hy.BOUNDARY_MARGIN) / math.sqrt(c):
        np.testing.assert_array_equal(inside, x)
    else:  # pulled in along its own direction
        assert inside[0] * x[1] - inside[1] * x[0] == pytest.approx(0.0, abs=1e-6 * np.linalg.norm(x))
        assert np.dot(inside, x) > 0


@pytest.mark.parametrize("c", [0, -1.0, math.nan, math.inf, "1"])
def test_bad_curvature_is_refused(c):
    with pytest.raises(ValueError, match="curvature"):
        hy.distance([0.0, 0.0], [0.1, 0.0], c)
    with pytest.raises(ValueError, match="curvature"):
        hy.sarkar_embedding(np.array([-1, 0]), 1.2, c)


def test_points_must_be_two_dimensional():
    with pytest.raises(ValueError, match=r"\[\.\.\., 2\]"):
        hy.mobius_add(np.zeros(3), np.zeros(3))


# --- Sarkar's construction ---


@st.composite
def trees(draw, max_nodes=40, max_depth=5):
    """Parent arrays of random rooted trees, parents before children, at most max_depth deep."""
    n = draw(st.integers(1, max_nodes))
    parents, depths = [-1], [0]
    for node in range(1, n):
        shallow = [i for i in range(node) if depths[i] < max_depth]
        parent = draw(st.sampled_from(shallow))
        parents.append(parent)
        depths.append(depths[parent] + 1)
    return np.array(parents)


def edge_ends_distance(s: float, angle: float, c: float) -> float:
    """How far apart the far ends of two edges of length s meeting at `angle` are (the hyperbolic law
    of cosines for curvature -c: sinh(sqrt(c) d / 2) = sinh(sqrt(c) s) sin(angle / 2))."""
    k = math.sqrt(c)
    return 2 / k * math.asinh(math.sinh(k * s) * math.sin(angle / 2))


@settings(max_examples=60)
@given(trees(), st.floats(0.3, 1.5), st.floats(0.3, 2.0))
def test_sarkar_edges_have_length_scale_and_siblings_share_the_turn(parents, scale, c):
    points = hy.sarkar_embedding(parents, scale, c)
    n = len(parents)
    assert points.shape == (n, 2)
    np.testing.assert_array_equal(points[0], [0.0, 0.0])
    assert (np.linalg.norm(points, axis=1) < 1 / math.sqrt(c)).all()
    np.testing.assert_allclose(hy.distance(points[1:], points[parents[1:]], c), scale, atol=1e-6)
    for node in range(n):
        children = np.flatnonzero(parents == node)
        if len(children) == 0:
            continue
        # Edges at a node meet at equal angles: 2 pi / k at the root, 2 pi / (k + 1) elsewhere (the edge
        # back to the parent takes one share). Neighbouring children, and the first and last children
        # with the grandparent, are as far apart as the law of cosines says.
        turn = 2 * math.pi / (len(children) + (node != 0))
        between = edge_ends_distance(scale, turn, c)
        if len(children) >= 2:
            gaps = hy.distance(points[children[:-1]], points[children[1:]], c)
            np.testing.assert_allclose(gaps, between, atol=1e-6)
            assert (gaps > 0).all()
        if node != 0:
            grandparent = points[parents[node]]
            ends = hy.distance(points[children[[0, -1]]], grandparent, c)
            np.testing.assert_allclose(ends, between, atol=1e-6)


def test_sarkar_star_by_hand():
    points = hy.sarkar_embedding(np.array([-1, 0, 0, 0]), 1.2, 1.2)
    r = math.tanh(math.sqrt(1.2) * 0.6) / math.sqrt(1.2)
    expected = [[0, 0]] + [[r * math.cos(a), r * math.sin(a)] for a in (0, 2 * math.pi / 3, 4 * math.pi / 3)]
    np.testing.assert_allclose(points, expected, atol=1e-15)
    assert hy.edge_radius(1.2, 1.2) == pytest.approx(r, rel=1e-15)


def test_sarkar_path_turns_straight_back_out():
    # One child shares the turn with the edge back: it goes on straight, so a path is a geodesic
    # (a diameter of the disk here) and distances add up along it.
    points = hy.sarkar_embedding(np.array([-1, 0, 1, 2]), 1.0, 1.0)
    np.testing.assert_allclose(points[:, 1], 0.0, atol=1e-15)
    assert hy.distance(points[0], points[3], 1.0) == pytest.approx(3.0, rel=1e-12)


def test_sarkar_single_node_and_new_leaves_keep_old_nodes_in_place():
    np.testing.assert_array_equal(hy.sarkar_embedding(np.array([-1])), [[0.0, 0.0]])
    parents = np.array([-1, 0, 0, 1, 1, 2])
    grown = np.concatenate([parents, [3, 3, 5, 4]])
    np.testing.assert_array_equal(hy.sarkar_embedding(grown)[: len(parents)], hy.sarkar_embedding(parents))


def test_tree_depths():
    np.testing.assert_array_equal(hy.tree_depths(np.array([-1, 0, 0, 1, 3, 2])), [0, 1, 1, 2, 3, 2])


@pytest.mark.parametrize(
    ("parents", "message"),
    [
        (np.array([], dtype=int), "non-empty"),
        (np.array([[-1, 0]]), "1-D"),
        (np.array([-1.0, 0.0]), "integers"),
        (np.array([0, 0]), r"parents\[0\] must be -1"),
        (np.array([-1, 1]), "node 1 has parent 1"),
        (np.array([-1, 0, 3, 1]), "node 2 has parent 3"),
        (np.array([-1, 0, -1]), "node 2 has parent -1"),
    ],
)
def test_sarkar_refuses_what_is_not_a_tree(parents, message):
    with pytest.raises(ValueError, match=message):
        hy.sarkar_embedding(parents)


@pytest.mark.parametrize("scale", [0, -1.2, math.nan, math.inf])
def test_sarkar_refuses_bad_scales(scale):
    with pytest.raises(ValueError, match="scale"):
        hy.sarkar_embedding(np.array([-1, 0]), scale)

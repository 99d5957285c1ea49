"""HERD's design space: nested clusters, the tree of coarse robots, its embedding and look-up
(gridworlds.agents.voxels.design.tree)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridworlds.agents.voxels.design import tree as dt
from gridworlds.agents.voxels.design.hyperbolic import distance, exp_map, log_map
from gridworlds.engines.voxels import bodies as vb
from gridworlds.engines.voxels.bodies import EMPTY, H_ACT, RIGID, SOFT, V_ACT

small_shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))
seeds = st.integers(0, 2**32 - 1)


def majority(body: np.ndarray, labels: np.ndarray) -> list[int]:
    """Each cluster's majority material, ties to the material earlier in (H, V, R, S, E): written
    out plainly, as docs/voxels.md states it."""
    preference = [H_ACT, V_ACT, RIGID, SOFT, EMPTY]
    result = []
    for cluster in range(labels.max() + 1):
        materials, counts = np.unique(body[labels == cluster], return_counts=True)
        tied = [m for m, n in zip(materials, counts, strict=True) if n == counts.max()]
        result.append(min(tied, key=preference.index))
    return result


def is_valid(body) -> bool:
    try:
        vb.check_body(body)
    except ValueError:
        return False
    return True


# --- nested clusters ---


@settings(max_examples=40)
@given(small_shapes, seeds)
def test_clusters_nest_and_every_split_halves_a_cluster(shape, seed):
    levels = dt.nested_clusters(shape, seed=seed)
    assert all(labels.shape == shape for labels in levels)
    assert (levels[0] == 0).all()
    # The last level gives every voxel a cluster of its own, and no level before it does.
    assert sorted(levels[-1].ravel()) == list(range(shape[0] * shape[1]))
    assert all(labels.max() + 1 < shape[0] * shape[1] for labels in levels[:-1])
    for above, here in itertools.pairwise(levels):
        k_above, k_here = above.max() + 1, here.max() + 1
        assert set(np.unique(here)) == set(range(k_here))
        # Each cluster lies inside exactly one cluster of the level above ...
        for cluster in range(k_here):
            assert len(np.unique(above[here == cluster])) == 1
        # ... and each cluster of 2 or more voxels splits in two non-empty parts, a single voxel stays.
        for cluster in range(k_above):
            parts = np.unique(here[above == cluster])
            assert len(parts) == (1 if (above == cluster).sum() == 1 else 2)
        sizes = np.bincount(above.ravel())
        assert k_here == k_above + (sizes >= 2).sum()


@settings(max_examples=40)
@given(small_shapes, seeds)
def test_each_split_is_a_two_means_fixed_point(shape, seed):
    # Every voxel is at least as near the mean of its own part as the mean of the other part.
    levels = dt.nested_clusters(shape, seed=seed)
    positions = np.indices(shape).transpose(1, 2, 0).astype(float)
    for above, here in itertools.pairwise(levels):
        for cluster in range(above.max() + 1):
            parts = np.unique(here[above == cluster])
            if len(parts) < 2:
                continue
            means = [positions[here == part].mean(0) for part in parts]
            for part, mean in zip(parts, means, strict=True):
                other = means[1] if mean is means[0] else means[0]
                own = ((positions[here == part] - mean) ** 2).sum(-1)
                across = ((positions[here == part] - other) ** 2).sum(-1)
                assert (own <= across + 1e-9).all()


def test_five_by_five_levels_double():
    levels = dt.nested_clusters((5, 5), seed=0)
    assert [labels.max() + 1 for labels in levels] == [1, 2, 4, 8, 16, 25]
    assert len(dt.nested_clusters((5, 5), depth=2)) == 3
    assert len(dt.nested_clusters((5, 5), depth=0)) == 1
    assert len(dt.nested_clusters((5, 5), depth=50)) == 6


@given(small_shapes, seeds)
@settings(max_examples=20)
def test_clusters_are_the_same_for_the_same_seed(shape, seed):
    first, second = dt.nested_clusters(shape, seed=seed), dt.nested_clusters(shape, seed=seed)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_labels_follow_parents_then_first_voxel():
    for above, here in itertools.pairwise(dt.nested_clusters((5, 5), seed=3)):
        parents = [above[here == cluster][0] for cluster in range(here.max() + 1)]
        assert parents == sorted(parents)
        firsts = [np.flatnonzero((here == cluster).ravel())[0] for cluster in range(here.max() + 1)]
        for cluster in range(here.max()):
            if parents[cluster] == parents[cluster + 1]:
                assert firsts[cluster] < firsts[cluster + 1]


@pytest.mark.parametrize(("shape", "depth"), [((0, 3), None), ((2,), None), ((2, 2), -1), ((2, 2), 1.5)])
def test_nested_clusters_refuses_bad_arguments(shape, depth):
    with pytest.raises(ValueError):
        dt.nested_clusters(shape, depth=depth)


# --- bodies ---


@settings(max_examples=200)
@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_valid_bodies_agrees_with_check_body(rows, columns, data):
    body = st.lists(st.integers(0, 4), min_size=rows * columns, max_size=rows * columns)
    bodies = np.array(data.draw(st.lists(body, min_size=1, max_size=8))).reshape(-1, rows, columns)
    np.testing.assert_array_equal(dt.valid_bodies(bodies), [is_valid(body) for body in bodies])
    assert dt.valid_bodies(bodies[0]).shape == ()


def test_valid_bodies_needs_four_connection_and_an_actuator():
    assert dt.valid_bodies(np.array([[H_ACT, EMPTY], [EMPTY, SOFT]])) == np.False_  # corners only
    assert dt.valid_bodies(np.array([[RIGID, SOFT], [EMPTY, SOFT]])) == np.False_  # no actuator
    assert dt.valid_bodies(np.zeros((2, 2), dtype=int)) == np.False_
    assert dt.valid_bodies(np.array([[V_ACT, EMPTY], [SOFT, SOFT]])) == np.True_


@settings(max_examples=100)
@given(st.data())
def test_majority_materials_follows_the_tie_order(data):
    labels = dt.nested_clusters((3, 4), seed=data.draw(seeds))[data.draw(st.integers(0, 3))]
    body = np.array(data.draw(st.lists(st.integers(0, 4), min_size=12, max_size=12))).reshape(3, 4)
    assert list(dt.majority_materials(body, labels)) == majority(body, labels)


def test_majority_ties_go_to_actuators_then_voxels():
    labels = np.zeros((1, 2), dtype=int)
    ties = {(EMPTY, SOFT): SOFT, (RIGID, SOFT): RIGID, (SOFT, V_ACT): V_ACT, (V_ACT, H_ACT): H_ACT}
    for pair, winner in ties.items():
        assert dt.majority_materials(np.array([pair]), labels)[0] == winner
    assert dt.majority_materials(np.array([[EMPTY, EMPTY, H_ACT]]), np.zeros((1, 3), dtype=int))[0] == EMPTY


# --- the tree ---


@pytest.fixture(scope="module")
def tree5():
    """The 5x5 tree: levels 0-2 in full, level 3 sampled."""
    return dt.DesignTree((5, 5), depth=3, seed=0)


def check_tree(tree: dt.DesignTree):
    """Every robot node is a valid body made of its level's clusters, agrees with its parent on each
    parent cluster's majority material, and is told apart from its siblings."""
    assert tree.parent(dt.ROOT) == -1 and tree.level(dt.ROOT) == -1
    assert (tree.bodies[dt.ROOT] == EMPTY).all()
    for node in range(1, len(tree)):
        body, level, parent = tree.body(node), tree.level(node), tree.parent(node)
        assert is_valid(body)
        clusters = tree.clusters[level]
        np.testing.assert_array_equal(body, tree.assignment(node)[clusters])
        assert tree.level(parent) == level - 1
        if level > 0:
            assert majority(body, tree.clusters[level - 1]) == list(tree.assignment(parent))
        assert node in tree.children(parent)
    for node in range(len(tree)):
        children = tree.children(node)
        assert all(tree.parent(child) == node for child in children)
        assignments = {tree.assignment(child).tobytes() for child in children}
        assert len(assignments) == len(children)
    assert sum(len(tree.nodes_at(level)) for level in range(-1, tree.depth + 1)) == len(tree)


def test_a_two_voxel_strip_by_hand():
    tree = dt.DesignTree((1, 2), depth=1)
    # Level 0: the whole strip H or V. Level 1: the pairs with an actuator (25 - 9 without one); both
    # halves are the same size, so the parent is the pair's actuator (H if both), always a node.
    assert [len(tree.nodes_at(level)) for level in (0, 1)] == [2, 16]
    assert [tree.body(node).tolist() for node in tree.nodes_at(0)] == [[[H_ACT, H_ACT]], [[V_ACT, V_ACT]]]
    with_h, with_v = (tree.children(node) for node in tree.nodes_at(0))
    assert len(with_h) == 9  # (H, any) and (any, H): 5 + 5 - 1
    assert len(with_v) == 7  # (V, non-H) and (non-H, V): 4 + 4 - 1
    check_tree(tree)
    assert not tree.grow() and tree.depth == 1


def brute_force_level(tree: dt.DesignTree, level: int) -> set[bytes]:
    """Every body of the level's clusters that is valid, with valid coarsenings all the way up."""
    bodies = set()
    clusters = tree.clusters[level]
    for materials in itertools.product(range(5), repeat=clusters.max() + 1):
        body = np.array(materials)[clusters]
        chain = [body]
        for above in range(level - 1, -1, -1):
            chain.append(np.array(majority(chain[-1], tree.clusters[above]))[tree.clusters[above]])
        if all(is_valid(b) for b in chain):
            bodies.add(body.astype(np.int8).tobytes())
    return bodies


@pytest.mark.parametrize("seed", [0, 1])
def test_two_by_two_tree_holds_every_reachable_coarse_robot(seed):
    tree = dt.DesignTree((2, 2), depth=2, seed=seed)
    assert tree.complete == [True, True, True]
    counts = [len(tree.nodes_at(level)) for level in range(3)]
    # Level 1 halves the square into two dominoes, each touching the other, so it is the strip again.
    assert counts[:2] == [2, 16]
    for level in range(3):
        bodies = {tree.body(node).tobytes() for node in tree.nodes_at(level)}
        assert len(bodies) == counts[level]
        assert bodies == brute_force_level(tree, level)
    check_tree(tree)


def test_three_by_three_levels_by_hand():
    tree = dt.DesignTree((3, 3), depth=2, seed=0)
    sizes = np.bincount(tree.clusters[1].ravel())
    assert sizes[0] != sizes[1]  # 9 voxels cannot halve evenly
    # Level 1: the larger half carries the parent's actuator, the smaller half anything: 2 x 5.
    assert len(tree.nodes_at(1)) == 10
    for level in range(3):
        bodies = {tree.body(node).tobytes() for node in tree.nodes_at(level)}
        assert bodies == brute_force_level(tree, level)
    check_tree(tree)


def test_five_by_five_tree(tree5):
    assert tree5.complete == [True, True, True, False]
    counts = [len(tree5.nodes_at(level)) for level in range(4)]
    assert counts[:2] == [2, 10]  # the first split is uneven (25 voxels): 2 actuators x 5
    # A sampled level gives each node at most children_per_node children.
    assert all(len(tree5.children(node)) <= dt.CHILDREN_PER_NODE for node in tree5.nodes_at(2))
    assert counts[3] > counts[2]
    check_tree(tree5)
    # Nodes are numbered level by level, and parents never decrease.
    assert (np.diff(tree5.levels) >= 0).all()
    assert (np.diff(tree5.parents[1:]) >= 0).all()


def test_sampled_levels_are_fixed_by_the_seed_and_grow_on_demand():
    built = dt.DesignTree((3, 3), depth=3, seed=5)
    grown = dt.DesignTree((3, 3), depth=1, seed=5)
    assert grown.grow() and grown.grow()
    assert built.complete == [True, True, True, False]
    np.testing.assert_array_equal(built.parents, grown.parents)
    np.testing.assert_array_equal(built.bodies, grown.bodies)
    check_tree(built)


def test_a_sampled_child_is_its_parent_again_or_refines_one_parent_cluster(tree5):
    """Sampled levels stay near their parents: the first child of a node is the node's body one
    level deeper, and every other child changes the voxels of exactly one parent cluster."""
    above = tree5.clusters[2]
    for parent in tree5.nodes_at(2):
        children = tree5.children(parent)
        np.testing.assert_array_equal(tree5.body(children[0]), tree5.body(parent))
        for child in children[1:]:
            differs = tree5.body(child) != tree5.body(parent)
            assert len(np.unique(above[differs])) == 1


def test_full_level_limit_makes_levels_sampled():
    tree = dt.DesignTree((2, 2), depth=2, full_level_limit=25, children_per_node=3)
    assert tree.complete == [True, True, False]
    full = dt.DesignTree((2, 2), depth=2)
    assert len(tree.nodes_at(1)) == len(full.nodes_at(1))
    # Every sampled child is one of the full level's nodes, and each parent has at most 3.
    full_bodies = {full.body(node).tobytes() for node in full.nodes_at(2)}
    assert {tree.body(node).tobytes() for node in tree.nodes_at(2)} <= full_bodies
    assert all(1 <= len(tree.children(node)) <= 3 for node in tree.nodes_at(1))
    check_tree(tree)


def ancestors(tree: dt.DesignTree, node: int) -> list[int]:
    """The node and its ancestors up to the root, by walking `parent`."""
    chain = [node]
    while chain[-1] != dt.ROOT:
        chain.append(tree.parent(chain[-1]))
    return chain


@settings(max_examples=30)
@given(st.integers(0, 10**9))
def test_a_subtree_is_every_node_the_node_is_an_ancestor_of(tree5, pick):
    node = pick % len(tree5)
    expected = [other for other in range(len(tree5)) if node in ancestors(tree5, other)]
    np.testing.assert_array_equal(tree5.subtree(node), expected)


def test_subtree_by_hand(tree5):
    np.testing.assert_array_equal(tree5.subtree(dt.ROOT), np.arange(len(tree5)))
    leaf = int(tree5.nodes_at(3)[5])
    np.testing.assert_array_equal(tree5.subtree(leaf), [leaf])
    node = int(tree5.nodes_at(2)[3])
    children = tree5.children(node)
    np.testing.assert_array_equal(tree5.subtree(node), [node, *children])


def test_tree_queries_refuse_bad_nodes_and_the_root_has_no_body(tree5):
    with pytest.raises(ValueError, match="root"):
        tree5.body(dt.ROOT)
    with pytest.raises(ValueError, match="root"):
        tree5.assignment(dt.ROOT)
    for bad in (-1, len(tree5), 1.5):
        with pytest.raises(ValueError, match="node"):
            tree5.level(bad)
    with pytest.raises(ValueError, match="level"):
        tree5.nodes_at(tree5.depth + 1)
    np.testing.assert_array_equal(tree5.children(dt.ROOT), tree5.nodes_at(0))
    assert len(tree5.children(tree5.nodes_at(3)[0])) == 0
    with pytest.raises(ValueError):
        tree5.parents[1] = 0  # read-only


@pytest.mark.parametrize(
    "kwargs",
    [{"depth": 6}, {"depth": -1}, {"full_level_limit": 0}, {"children_per_node": 0}, {"shape": (0, 5)}],
)
def test_design_tree_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        dt.DesignTree(**kwargs)


# --- embedding and look-up ---


def test_embedding_puts_every_edge_at_scale_and_keeps_old_nodes_when_grown():
    tree = dt.DesignTree((3, 3), depth=2, seed=0)
    before = dt.embed(tree)
    assert before.shape == (len(tree), 2)
    np.testing.assert_array_equal(before[dt.ROOT], [0.0, 0.0])
    np.testing.assert_allclose(distance(before[1:], before[tree.parents[1:]], 1.2), 1.2, atol=1e-6)
    assert tree.grow()
    after = dt.embed(tree, scale=1.2, c=1.2)
    np.testing.assert_array_equal(after[: len(before)], before)
    assert (np.linalg.norm(after, axis=1) < 1 / np.sqrt(1.2)).all()


def test_nearest_finds_each_node_at_its_own_point(tree5):
    points = dt.embed(tree5)
    robots = np.arange(1, len(tree5))
    np.testing.assert_array_equal(dt.nearest(tree5, points, points[robots], tree5.depth), robots)
    node = int(tree5.nodes_at(2)[7])
    assert dt.nearest(tree5, points, points[node], 2) == node
    assert isinstance(dt.nearest(tree5, points, points[node], 2), int)
    # Through the tangent space at the origin, as the CEM does.
    assert dt.nearest(tree5, points, exp_map(log_map(points[node])), 3) == node


@settings(max_examples=50)
@given(st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 3))
def test_nearest_is_the_closest_node_within_the_depth_limit(tree5, x, y, max_level):
    points = dt.embed(tree5)
    z = exp_map(np.array([x, y]))
    found = dt.nearest(tree5, points, z, max_level)
    assert 0 <= tree5.level(found) <= max_level
    allowed = np.flatnonzero((tree5.levels >= 0) & (tree5.levels <= max_level))
    assert distance(z, points[found]) == distance(z, points[allowed]).min()


@settings(max_examples=50)
@given(st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 10**9))
def test_nearest_within_a_subtree_is_the_closest_node_of_that_subtree(tree5, x, y, pick):
    points = dt.embed(tree5)
    z = exp_map(np.array([x, y]))
    within = int(tree5.nodes_at(1)[pick % len(tree5.nodes_at(1))])
    found = dt.nearest(tree5, points, z, 3, within=within)
    assert within in ancestors(tree5, found)
    members = tree5.subtree(within)
    assert distance(z, points[found]) == distance(z, points[members]).min()
    # Of its subtree, `within` alone is as shallow as level 1.
    assert dt.nearest(tree5, points, z, 1, skip=[within], within=within) == -1


def test_nearest_never_returns_the_root(tree5):
    points = dt.embed(tree5)
    found = dt.nearest(tree5, points, np.zeros((3, 2)), 0)
    assert found.shape == (3,)
    assert (found != dt.ROOT).all() and (tree5.levels[found] == 0).all()


def test_nearest_refuses_bad_arguments(tree5):
    points = dt.embed(tree5)
    with pytest.raises(ValueError, match="embedding"):
        dt.nearest(tree5, points[:-1], np.zeros(2), 1)
    with pytest.raises(ValueError, match="max_level"):
        dt.nearest(tree5, points, np.zeros(2), -1)
    with pytest.raises(ValueError, match="z"):
        dt.nearest(tree5, points, np.zeros(3), 1)

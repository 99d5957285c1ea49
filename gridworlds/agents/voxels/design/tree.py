"""HERD's coarse-to-fine design space for voxel robots (Dong, Zhang, Zhang, "Leveraging Hyperbolic
Embeddings for Coarse-to-Fine Robot Design", ICLR 2024): nested clusters of the body grid, the tree
of coarse robots they define, its embedding in the Poincare disk, and the look-up from a point of
the disk to the robot nearest to it.

Clusters. The voxel positions (row, column) of an h x w grid are split top-down: level 0 is one
cluster, and each level splits every cluster of the level above in two with 2-means (a cluster of a
single voxel is carried down unchanged), so levels have 1, 2, 4, 8, ... clusters until every voxel
is a cluster of its own. Within a level, clusters are numbered by their parent cluster and then by
their first voxel in row-major order.

Coarse robots. A coarse robot of level L gives all the voxels of each level-L cluster one material,
so it is an assignment [k_L] of materials to clusters; it is a node of the tree when its body is a
valid robot (4-connected, with an actuator: `voxels.bodies.check_body`).

Parents. Coarsening a body to level L - 1 gives each level-(L - 1) cluster the majority material of
its voxels; ties (a cluster split into two halves of equal size with different materials) go to the
material earlier in TIE_ORDER: actuators first, then solid voxels, then EMPTY, because a coarse
robot that keeps its actuators and voxels is the one most likely to stay valid. A level-L robot's
parent is its coarsening; a level-0 robot's parent is the root, node 0, which stands for the whole
design space and is not a robot (level -1; level 0 alone holds two robots, all H_ACT and all V_ACT).
Two consequences of the rule, both deliberate:

- a valid robot whose coarsening is not valid (its only actuator was outvoted, or its coarsening
  falls apart) has no parent and is not in the tree: refining from the root never reaches it, as in
  HERD, whose tree grows by refining;
- a refinement that gives both halves of every cluster the parent's material is a node too: the
  parent's body again, one level deeper.

Deep levels. Level L has 5^(k_L) assignments: 5, 25, 625, 390625, ... on the 5 x 5 grid. A level
whose count is at most `full_level_limit` (default 5^4, so levels 0-2 on a 5 x 5 grid) is enumerated
completely: every valid assignment whose coarsening is a node of the level above. Deeper levels are
sampled: each node gets up to `children_per_node` (default 8, HERD's) distinct valid refinements,
the first its own body again, each other one its body with one of its clusters (drawn uniformly)
re-drawn uniformly among the materials for that cluster's parts whose majority is the node's
material there, with at most TRIES_PER_CHILD draws per child wanted. A deep level so holds local
refinements of the level above: a child differs from its parent in the part of one cluster (2-3
voxels on the 5 x 5 grid), and the parent's body again carries it on to finer ones. Re-drawing
every cluster at once (this module's sampler before commit aa83ee5) made a level-3 child differ
from its parent in about half its voxels, as many as a new random design, so the search at a
sampled level searched nothing near its elites (README, robot design). A sampled
level is random but fixed by the seed and the level, whatever the order levels are built in. Levels
are built on demand: the constructor builds levels 0 .. `depth` (default 2: 1, 2 and 4 clusters,
HERD's levels) and `grow()` adds the next one, so a search that deepens its limit (coarse to fine)
pays only for the levels it reaches. Nodes are numbered level by level and, within a level, by
parent, so growing only appends nodes, and Sarkar's embedding (`embed`) of the grown tree keeps
every earlier node where it was.
"""

from __future__ import annotations

import math

import numpy as np

from gridworlds.agents.voxels.design.hyperbolic import DEFAULT_CURVATURE, DEFAULT_SCALE, sarkar_embedding
from gridworlds.engines.voxels.bodies import ACTUATORS, EMPTY, H_ACT, RIGID, ROBOT_MATERIALS, SOFT, V_ACT

ROOT = 0
N_MATERIALS = len(ROBOT_MATERIALS)
# Majority ties go to the earlier material (see the module docstring).
TIE_ORDER = (H_ACT, V_ACT, RIGID, SOFT, EMPTY)
FULL_LEVEL_LIMIT = N_MATERIALS**4
CHILDREN_PER_NODE = 8  # HERD's numberOfChildren
TRIES_PER_CHILD = 10  # HERD's TRIAL_NUM
# 2-means restarts per split; the split with the least squared error wins (the first, on ties).
KMEANS_RESTARTS = 4
_LLOYD_STEPS = 100


def _check_shape(shape) -> tuple[int, int]:
    try:
        rows, columns = (int(n) for n in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (rows, columns), got {shape!r}") from None
    if rows < 1 or columns < 1:
        raise ValueError(f"shape must be two positive integers, got {shape!r}")
    return rows, columns


# --- nested clusters ---


def _split_cost(points: np.ndarray, second: np.ndarray) -> float:
    """The 2-means objective: squared distances of the points to their part's mean."""
    return float(sum(((part - part.mean(0)) ** 2).sum() for part in (points[~second], points[second])))


def _lloyd(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Lloyd's iterations for 2 centres from distinct starting points; True marks the second part.
    A step that would empty a part is not taken (it can happen when the two means coincide)."""
    second = None
    for _ in range(_LLOYD_STEPS):
        squared = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        nearer_second = squared[:, 1] < squared[:, 0]  # equidistant points go to the first centre
        if nearer_second.all() or not nearer_second.any():
            break
        if second is not None and np.array_equal(nearer_second, second):
            break
        second = nearer_second
        centres = np.stack([points[~second].mean(0), points[second].mean(0)])
    # The first step cannot empty a part: each starting point is at distance 0 from its own centre.
    assert second is not None
    return second


def _two_means(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A split of 2 or more distinct points in two non-empty parts by 2-means (k-means++ starts,
    KMEANS_RESTARTS of them); True marks the part that does not hold points[0]."""
    best, best_cost = None, math.inf
    for _ in range(KMEANS_RESTARTS):
        first = int(rng.integers(len(points)))
        squared = ((points - points[first]) ** 2).sum(-1)
        second = int(rng.choice(len(points), p=squared / squared.sum()))  # k-means++: far is likelier
        split = _lloyd(points, points[[first, second]])
        cost = _split_cost(points, split)
        if cost < best_cost - 1e-9:
            best, best_cost = split, cost
    return ~best if best[0] else best


def nested_clusters(shape=(5, 5), depth: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """Nested 2-means partitions of the voxel positions (row, column) of a grid of `shape`: one int64
    label array of `shape` per level, level 0 (one cluster) to `depth` (default: the first level
    where every voxel is its own cluster, or earlier if `depth` says so).

    Level L + 1 splits every cluster of level L that has two or more voxels in two non-empty parts
    and keeps single voxels as they are. Labels run 0 .. k - 1 in the order of the parent clusters,
    the two parts of a cluster in the order of their first voxels (row-major). The same seed gives
    the same partitions (the 2-means starts are the only randomness; a square grid has many equally
    good splits, and the seed picks among them)."""
    rows, columns = _check_shape(shape)
    if depth is not None and (int(depth) != depth or depth < 0):
        raise ValueError(f"depth must be None or an integer >= 0, got {depth!r}")
    rng = np.random.default_rng(seed)
    positions = np.indices((rows, columns)).reshape(2, -1).T.astype(np.float64)
    labels = np.zeros(rows * columns, dtype=np.int64)
    levels = [labels.reshape(rows, columns)]
    while labels.max() + 1 < rows * columns and (depth is None or len(levels) <= depth):
        refined = np.empty_like(labels)
        next_label = 0
        for cluster in range(labels.max() + 1):
            members = np.flatnonzero(labels == cluster)  # row-major order
            if len(members) == 1:
                refined[members] = next_label
                next_label += 1
                continue
            second = _two_means(positions[members], rng)
            refined[members[~second]] = next_label
            refined[members[second]] = next_label + 1
            next_label += 2
        labels = refined
        levels.append(labels.reshape(rows, columns))
    return levels


# --- bodies ---


def valid_bodies(bodies) -> np.ndarray:
    """Whether each body [..., h, w] is a valid robot (4-connected, with an actuator), bool [...].
    The same test as `voxels.bodies.check_body` for bodies of robot materials, done for a whole batch
    at once: a flood fill from each body's first voxel, grown one step in all four directions at a
    time, must reach every voxel."""
    bodies = np.asarray(bodies)
    batch_shape, (rows, columns) = bodies.shape[:-2], bodies.shape[-2:]
    filled = (bodies != EMPTY).reshape(-1, rows, columns)
    flat = filled.reshape(len(filled), -1)
    reached = np.zeros_like(flat)
    reached[np.arange(len(flat)), flat.argmax(1)] = flat.any(1)
    reached = reached.reshape(filled.shape)
    while True:
        grown = reached.copy()
        grown[:, 1:, :] |= reached[:, :-1, :]
        grown[:, :-1, :] |= reached[:, 1:, :]
        grown[:, :, 1:] |= reached[:, :, :-1]
        grown[:, :, :-1] |= reached[:, :, 1:]
        grown &= filled
        if np.array_equal(grown, reached):
            break
        reached = grown
    connected = flat.any(1) & (reached == filled).all((1, 2))
    actuated = np.isin(bodies, ACTUATORS).reshape(len(flat), -1).any(1)
    return (connected & actuated).reshape(batch_shape)


_TIE_BONUS = np.zeros(N_MATERIALS, dtype=np.int64)
_TIE_BONUS[list(TIE_ORDER)] = np.arange(N_MATERIALS)[::-1]


def majority_materials(bodies, labels) -> np.ndarray:
    """Each cluster's majority material, int8 [..., k], for bodies [..., h, w] and cluster labels
    [h, w] (0 .. k - 1); ties go to the material earlier in TIE_ORDER."""
    bodies = np.asarray(bodies)
    labels = np.asarray(labels).ravel()
    cells = bodies.reshape(bodies.shape[:-2] + (-1,))
    membership = labels[:, None] == np.arange(labels.max() + 1)  # [cells, k]
    counts = np.stack([(cells == m).astype(np.int64) @ membership for m in range(N_MATERIALS)], -1)
    # A count beats any tie bonus: bonuses are below N_MATERIALS.
    return np.argmax(counts * N_MATERIALS + _TIE_BONUS, axis=-1).astype(np.int8)


def _all_assignments(k: int) -> np.ndarray:
    """Every assignment of materials to k clusters, int8 [5^k, k], in lexicographic order."""
    return np.indices((N_MATERIALS,) * k).reshape(k, -1).T.astype(np.int8)


def _refinement_table(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one cluster made of parts of the given sizes: (table [5, most, parts], count [5]), where
    table[m, :count[m]] are the materials for the parts whose majority is m."""
    combos = _all_assignments(len(sizes))
    counts = np.stack([((combos == m) * sizes).sum(1) for m in range(N_MATERIALS)], -1)
    majority = np.argmax(counts * N_MATERIALS + _TIE_BONUS, axis=-1)
    count = np.bincount(majority, minlength=N_MATERIALS)
    table = np.zeros((N_MATERIALS, count.max(), len(sizes)), dtype=np.int8)
    for m in range(N_MATERIALS):
        table[m, : count[m]] = combos[majority == m]
    return table, count


# --- the tree ---


class DesignTree:
    """The tree of coarse robots of an h x w grid (see the module docstring for the rules).

    Node 0 is the root (level -1, not a robot); nodes 1 .. are robots, numbered level by level and,
    within a level, by parent (so `parents` is non-decreasing, and every node's children are
    consecutive). `parents`, `levels`, `bodies` are read-only arrays over all nodes; the root's row
    of `bodies` is all EMPTY.
    """

    def __init__(
        self,
        shape=(5, 5),
        depth: int = 2,
        *,
        seed: int = 0,
        full_level_limit: int = FULL_LEVEL_LIMIT,
        children_per_node: int = CHILDREN_PER_NODE,
    ):
        self.shape = _check_shape(shape)
        self.clusters = nested_clusters(self.shape, seed=seed)
        deepest = len(self.clusters) - 1
        if int(depth) != depth or not 0 <= depth <= deepest:
            raise ValueError(
                f"depth must be an integer in 0..{deepest} (a {self.shape[0]}x{self.shape[1]} grid "
                f"has cluster levels 0..{deepest}), got {depth!r}"
            )
        if int(full_level_limit) != full_level_limit or full_level_limit < 1:
            raise ValueError(f"full_level_limit must be an integer >= 1, got {full_level_limit!r}")
        if int(children_per_node) != children_per_node or children_per_node < 1:
            raise ValueError(f"children_per_node must be an integer >= 1, got {children_per_node!r}")
        self.seed = seed
        self.full_level_limit = int(full_level_limit)
        self.children_per_node = int(children_per_node)
        self.complete: list[bool] = []  # per level: enumerated in full (True) or sampled
        self._assignments: list[np.ndarray] = []  # per level, [n_L, k_L] int8
        self._level_start: list[int] = []  # per level, the first node's number
        self._parents = np.array([-1], dtype=np.int64)
        self._levels = np.array([-1], dtype=np.int64)
        self._bodies = np.zeros((1, *self.shape), dtype=np.int8)
        for _ in range(depth + 1):
            self.grow()

    # --- queries ---

    def __len__(self) -> int:
        return len(self._parents)

    @property
    def depth(self) -> int:
        """The deepest level built so far."""
        return len(self._assignments) - 1

    @property
    def max_depth(self) -> int:
        """The deepest level the clusters allow: every voxel its own cluster."""
        return len(self.clusters) - 1

    @property
    def parents(self) -> np.ndarray:
        return _read_only(self._parents)

    @property
    def levels(self) -> np.ndarray:
        return _read_only(self._levels)

    @property
    def bodies(self) -> np.ndarray:
        return _read_only(self._bodies)

    def _check_node(self, node) -> int:
        if int(node) != node or not 0 <= node < len(self):
            raise ValueError(f"node must be an integer in 0..{len(self) - 1}, got {node!r}")
        return int(node)

    def body(self, node: int) -> np.ndarray:
        """The robot of a node, int8 [h, w] (a copy)."""
        node = self._check_node(node)
        if node == ROOT:
            raise ValueError("node 0 is the root, the whole design space, not a robot")
        return self._bodies[node].copy()

    def level(self, node: int) -> int:
        return int(self._levels[self._check_node(node)])

    def parent(self, node: int) -> int:
        """The node's parent; -1 for the root."""
        return int(self._parents[self._check_node(node)])

    def children(self, node: int) -> np.ndarray:
        """The node's children, int64 [count] (empty for the deepest level built)."""
        node = self._check_node(node)
        first, end = np.searchsorted(self._parents[1:], [node, node + 1]) + 1
        return np.arange(first, end, dtype=np.int64)

    def subtree(self, node: int) -> np.ndarray:
        """The node and all its descendants in the levels built, int64, in node order. Each level's
        part of a subtree is one run of consecutive nodes (nodes are numbered by parent), so it is
        found level by level from the run above."""
        first = self._check_node(node)
        runs, end = [], first + 1
        while first < end:
            runs.append(np.arange(first, end, dtype=np.int64))
            first, end = np.searchsorted(self._parents, [first, end])
        return np.concatenate(runs)

    def assignment(self, node: int) -> np.ndarray:
        """The material of each cluster of the node's level, int8 [k_L] (a copy)."""
        level = self.level(node)
        if level < 0:
            raise ValueError("node 0 is the root, the whole design space, not a robot")
        return self._assignments[level][node - self._level_start[level]].copy()

    def nodes_at(self, level: int) -> np.ndarray:
        """The nodes of a built level, int64 [n_L], consecutive."""
        if int(level) != level or not -1 <= level <= self.depth:
            raise ValueError(
                f"level must be an integer in -1..{self.depth} (the levels built), got {level!r}"
            )
        if level == -1:
            return np.array([ROOT], dtype=np.int64)
        start = self._level_start[level]
        return np.arange(start, start + len(self._assignments[level]), dtype=np.int64)

    # --- building ---

    def grow(self) -> bool:
        """Build the next level; False (and no change) when the deepest level is already built."""
        level = self.depth + 1
        if level > self.max_depth:
            return False
        clusters = int(self.clusters[level].max()) + 1
        complete = level == 0 or N_MATERIALS**clusters <= self.full_level_limit
        assignments, parents = self._enumerate(level) if complete else self._sample(level)
        self._level_start.append(len(self._parents))
        self._assignments.append(assignments)
        self.complete.append(complete)
        self._parents = np.concatenate([self._parents, parents])
        self._levels = np.concatenate([self._levels, np.full(len(parents), level, dtype=np.int64)])
        self._bodies = np.concatenate([self._bodies, assignments[:, self.clusters[level]]])
        return True

    def _enumerate(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        """Every valid assignment of the level whose coarsening is a node one level up, grouped by
        parent (lexicographic within a parent): (assignments, parents)."""
        assignments = _all_assignments(int(self.clusters[level].max()) + 1)
        assignments = assignments[valid_bodies(assignments[:, self.clusters[level]])]
        if level == 0:
            return assignments, np.full(len(assignments), ROOT, dtype=np.int64)
        coarse = majority_materials(assignments[:, self.clusters[level]], self.clusters[level - 1])
        node_of = {
            row.tobytes(): node
            for node, row in zip(self.nodes_at(level - 1), self._assignments[level - 1], strict=True)
        }
        parents = np.array([node_of.get(row.tobytes(), -1) for row in coarse], dtype=np.int64)
        has_parent = parents >= 0
        order = np.argsort(parents[has_parent], kind="stable")
        return assignments[has_parent][order], parents[has_parent][order]

    def _sample(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to children_per_node distinct valid refinements of every node one level up, drawn as
        the module docstring says: (assignments, parents)."""
        above, here = self.clusters[level - 1].ravel(), self.clusters[level].ravel()
        sizes = np.bincount(here)
        parts = [np.unique(here[above == cluster]) for cluster in range(above.max() + 1)]
        tables = [_refinement_table(sizes[p]) for p in parts]
        coarse = self._assignments[level - 1]
        rng = np.random.default_rng([self.seed, level])

        same = np.empty((len(coarse), len(sizes)), dtype=np.int8)  # each parent's body again
        for cluster, part in enumerate(parts):
            same[:, part] = coarse[:, cluster, None]
        found = [[row] for row in same]
        seen = [{row.tobytes()} for row in same]
        wanted = np.full(len(coarse), self.children_per_node - 1)
        for _ in range(TRIES_PER_CHILD * self.children_per_node):
            drawing = np.flatnonzero(wanted > 0)
            if len(drawing) == 0:
                break
            draws = same[drawing]
            changed = rng.integers(0, len(parts), len(drawing))
            for cluster, (table, count) in enumerate(tables):
                rows = np.flatnonzero(changed == cluster)
                material = coarse[drawing[rows], cluster]
                draws[rows[:, None], parts[cluster]] = table[material, rng.integers(0, count[material])]
            valid = valid_bodies(draws[:, self.clusters[level]])
            for index, draw in zip(drawing[valid], draws[valid], strict=True):
                key = draw.tobytes()
                if key not in seen[index]:
                    seen[index].add(key)
                    found[index].append(draw)
                    wanted[index] -= 1

        first = self._level_start[level - 1]
        parents = np.array([first + i for i, drawn in enumerate(found) for _ in drawn], dtype=np.int64)
        return np.array([draw for drawn in found for draw in drawn], dtype=np.int8), parents


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


# --- the embedding ---


def embed(tree: DesignTree, scale: float = DEFAULT_SCALE, c: float = DEFAULT_CURVATURE) -> np.ndarray:
    """Every node of the tree as a point of the disk of curvature -c, float64 [len(tree), 2]: Sarkar's
    construction with edges of hyperbolic length `scale` (the root at the origin)."""
    return sarkar_embedding(tree.parents, scale, c)


def robot_nodes(tree: DesignTree, max_level: int, skip=(), within: int = ROOT) -> np.ndarray:
    """The robot nodes of levels 0 .. max_level in the subtree of node `within` (by default the
    root's: all of them), in order, less those in `skip` (node numbers)."""
    keep = np.zeros(len(tree), dtype=bool)
    keep[tree.subtree(within)] = True
    keep &= (tree.levels >= 0) & (tree.levels <= max_level)
    keep[np.fromiter(skip, dtype=np.int64, count=len(skip))] = False
    return np.flatnonzero(keep)


def nearest(
    tree: DesignTree, points, z, max_level: int, c: float = DEFAULT_CURVATURE, skip=(), within: int = ROOT
):
    """The robot node of level 0 .. max_level whose point is nearest to z in hyperbolic distance:
    an int for one point z [2], an int64 array [...] for points z [..., 2]. `points` are the tree's
    embedding (`embed`); the root is never returned; ties go to the lower node number. Nodes in
    `skip` (node numbers) are passed over, and only the subtree of node `within` is searched (by
    default the root's, the whole tree); -1 when no node is left."""
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (len(tree), 2):
        raise ValueError(f"points must be the tree's embedding, shape ({len(tree)}, 2), got {points.shape}")
    if int(max_level) != max_level or max_level < 0:
        raise ValueError(
            f"max_level must be an integer >= 0 (level 0 is the coarsest robots), got {max_level!r}"
        )
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 0 or z.shape[-1] != 2:
        raise ValueError(f"z must be a point [2] or points [..., 2], got shape {z.shape}")
    candidates = robot_nodes(tree, max_level, skip, within)
    if len(candidates) == 0:
        found = np.full(z.shape[:-1], -1, dtype=np.int64)
    else:
        # For a fixed z, d(z, y) grows with |z - y|^2 / (1 - c |y|^2) (the `distance` formula without
        # its z factor and monotone outer functions): the same argmin for a fraction of the work.
        near = points[candidates]
        key = ((z[..., None, :] - near) ** 2).sum(-1) / (1.0 - c * (near**2).sum(-1))
        found = candidates[np.argmin(key, axis=-1)]
    return int(found) if z.ndim == 1 else found

"""Robot design optimisers for the voxel-robot world, behind one ask / tell interface.

An optimiser proposes bodies (`ask(n)`), is told the fitness each earned (`tell(bodies, fitness)`:
the return of the design actually rolled out with its controller), and proposes better ones. Every
body it proposes is valid (4-connected, with an actuator; `voxels.bodies.check_body`).

- `RandomDesigns`: EvoGym's random sampler, every time.
- `GeneticDesigns`: EvoGym's GA: the best of the survivors and the newly evaluated designs (a share of
  the population that decays linearly from 60% to 0 over the planned generations, at least one) are
  kept with their fitness, and new designs are survivors mutated voxel by voxel (probability 0.1
  each, to a material drawn from EvoGym's probabilities), never a design seen before; no crossover.
- `CEMDesigns`: the cross-entropy method over per-voxel material probabilities: sample bodies, move
  each voxel's probabilities towards the elites' materials, keep a floor so no material dies out.
- `HERDDesigns`: HERD's coarse-to-fine CEM in a hyperbolic embedding of a tree of coarse designs,
  and its two ablations (no hyperbolic embedding; no coarse-to-fine).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from gridworlds.agents.voxels.design.hyperbolic import exp_map, log_map, transport_from_origin
from gridworlds.agents.voxels.design.tree import ROOT, DesignTree, embed, nearest, robot_nodes
from gridworlds.engines.voxels.bodies import (
    DEFAULT_PROBABILITIES,
    ROBOT_MATERIALS,
    check_body,
    has_actuator,
    is_connected,
    random_body,
)

MAX_TRIES = 10_000  # draws for one valid, unseen body before an optimiser gives up


class DesignOptimiser(Protocol):
    def ask(self, n: int) -> list[np.ndarray]: ...

    def tell(self, bodies: list[np.ndarray], fitness: np.ndarray) -> None: ...


def _key(body: np.ndarray) -> bytes:
    return np.ascontiguousarray(body, dtype=np.int8).tobytes()


def _valid(body: np.ndarray) -> bool:
    return is_connected(body) and has_actuator(body)


class RandomDesigns:
    """Random valid bodies of `shape` (EvoGym's sampler); learns nothing."""

    def __init__(self, shape: tuple[int, int] = (5, 5), seed: int = 0):
        self.shape, self.rng = shape, np.random.default_rng(seed)

    def ask(self, n: int) -> list[np.ndarray]:
        return [random_body(self.rng, self.shape) for _ in range(n)]

    def tell(self, bodies: list[np.ndarray], fitness: np.ndarray) -> None:
        pass


class GeneticDesigns:
    """EvoGym's genetic algorithm (see the module docstring). `generations` is the planned number of
    tell() calls, over which the survivor fraction decays from `survivors_start` to 0 (at least one
    survivor is always kept)."""

    def __init__(
        self,
        population: int,
        generations: int,
        shape: tuple[int, int] = (5, 5),
        mutation: float = 0.1,
        survivors_start: float = 0.6,
        seed: int = 0,
    ):
        if population < 2 or generations < 1:
            raise ValueError(f"population must be >= 2 and generations >= 1, got {population}, {generations}")
        self.population, self.generations, self.shape = population, generations, shape
        self.mutation, self.survivors_start = mutation, survivors_start
        self.rng = np.random.default_rng(seed)
        self.probabilities = np.array(DEFAULT_PROBABILITIES) / sum(DEFAULT_PROBABILITIES)
        self.seen: set[bytes] = set()
        self.survivors: list[tuple[np.ndarray, float]] = []  # (body, fitness), best first
        self.parents: list[np.ndarray] = []
        self.generation = 0

    def survivor_share(self) -> float:
        return self.survivors_start * max(0.0, 1.0 - self.generation / self.generations)

    def mutate(self, body: np.ndarray) -> np.ndarray:
        """A valid body unseen so far, each voxel of `body` redrawn with probability `mutation`."""
        for _ in range(MAX_TRIES):
            child = body.copy()
            redraw = self.rng.random(body.shape) < self.mutation
            child[redraw] = self.rng.choice(
                len(ROBOT_MATERIALS), size=int(redraw.sum()), p=self.probabilities
            )
            if _valid(child) and _key(child) not in self.seen:
                return child
        raise RuntimeError(f"no valid unseen mutation of this body in {MAX_TRIES} tries")

    def ask(self, n: int) -> list[np.ndarray]:
        bodies = []
        while len(bodies) < n:
            if self.parents:
                body = self.mutate(self.parents[int(self.rng.integers(len(self.parents)))])
            else:
                body = random_body(self.rng, self.shape)
                if _key(body) in self.seen:
                    continue
            self.seen.add(_key(body))
            bodies.append(body)
        return bodies

    def tell(self, bodies: list[np.ndarray], fitness: np.ndarray) -> None:
        """Rank the survivors so far with the new bodies and keep the best share as parents."""
        pool = self.survivors + list(zip(bodies, np.asarray(fitness, dtype=np.float64).tolist(), strict=True))
        pool.sort(key=lambda scored: -scored[1])  # stable: earlier designs win ties
        keep = max(1, int(round(self.survivor_share() * self.population)))
        self.survivors = pool[:keep]
        self.parents = [body for body, _ in self.survivors]
        self.generation += 1


class CEMDesigns:
    """The cross-entropy method over each voxel's material probabilities (see the module docstring):
    after each tell(), probabilities move `learning_rate` of the way towards the elites' material
    frequencies, then are floored at `floor` and renormalised."""

    def __init__(
        self,
        shape: tuple[int, int] = (5, 5),
        elite_share: float = 0.25,
        learning_rate: float = 0.5,
        floor: float = 0.02,
        seed: int = 0,
    ):
        if (
            not 0 < elite_share <= 1
            or not 0 < learning_rate <= 1
            or not 0 <= floor < 1 / len(ROBOT_MATERIALS)
        ):
            raise ValueError("elite_share and learning_rate must be in (0, 1], floor in [0, 0.2)")
        self.shape, self.elite_share, self.learning_rate, self.floor = (
            shape,
            elite_share,
            learning_rate,
            floor,
        )
        self.rng = np.random.default_rng(seed)
        start = np.array(DEFAULT_PROBABILITIES) / sum(DEFAULT_PROBABILITIES)
        self.probabilities = np.tile(start, (*shape, 1))

    def sample(self) -> np.ndarray:
        """One valid body drawn voxel by voxel from the current probabilities."""
        cumulative = self.probabilities.cumsum(axis=-1)
        for _ in range(MAX_TRIES):
            draws = self.rng.random(self.shape)[..., None]
            body = (draws > cumulative).sum(axis=-1).astype(np.int8)
            if _valid(body):
                return body
        raise RuntimeError(f"no valid body from the current probabilities in {MAX_TRIES} tries")

    def ask(self, n: int) -> list[np.ndarray]:
        return [self.sample() for _ in range(n)]

    def tell(self, bodies: list[np.ndarray], fitness: np.ndarray) -> None:
        order = np.argsort(-np.asarray(fitness, dtype=np.float64), kind="stable")
        elites = np.stack(
            [check_body(bodies[i]) for i in order[: max(1, round(self.elite_share * len(bodies)))]]
        )
        frequencies = (elites[..., None] == np.arange(len(ROBOT_MATERIALS))).mean(axis=0)
        p = (1 - self.learning_rate) * self.probabilities + self.learning_rate * frequencies
        p = np.maximum(p, self.floor)
        self.probabilities = p / p.sum(axis=-1, keepdims=True)


class HERDDesigns:
    """HERD (Dong, Zhang, Zhang 2024): a refined CEM over a 2-D tangent vector z at the origin of
    the Poincare disk in which the coarse-to-fine tree of designs is embedded (`design.tree`,
    Sarkar's construction). A z is mapped into the disk (`exp_map`) and read as the nearest embedded
    robot no deeper than the current depth limit; a robot's own z is its point's `log_map`.

    Each round first asks the `elites` best so far again when `reevaluate_elites`, then new robots:
    for each, an elite drawn uniformly, a z drawn about it (`around`: the wrapped normal about the
    elite's point, with a sigma that decays linearly from `sigma_start` to `sigma_end` over
    `generations`), and the nearest robot to that z not evaluated before among the elite's own
    subtree (its refinements within the depth limit), then its parent's, grandparent's ... up to the
    whole tree, the depth limit going one level deeper when every robot within it has been. The
    subtree comes first because the disk is too small for a deep tree: with edges of 1.2 and 8
    children a node, the tree multiplies like e^(1.73 r) with distance from the root, the disk's
    area like e^(1.10 r), so below level 2 the robots nearest to a point by an elite are in other
    subtrees (in one run the ten nearest to a level-3 node were 0.01-0.05 away and 7-24 of 25
    voxels different, while its own children sat at 1.2), and the whole-tree look-up asked
    strangers (README, robot design). The CEM mean is the elites' mean z. Coarse to
    fine: the limit goes one level deeper (the tree grows a level when needed) once the mean has
    mapped to the same robot for `patience` generations and that robot is at the limit, or once
    the best fitness so far has not risen for `patience` generations (the level is spent near the
    elites). HERD's own test is the first alone with patience 1: with it the limit went deeper at
    nearly every early generation, HERD searched only the finest level (each voxel its own
    cluster) from its fifth generation and stopped improving there (Walker-v0 best 1.22 over seeds
    0-2, against 1.92 with patience 3); with patience 3 alone the mean wandered among level-2
    robots and HERD stayed there for most of its budget, without improving after the first third
    (README, robot design).

    The elites' fitness: with `reevaluate_elites` (HERD's way, for a controller that keeps learning:
    its shared policy, or a gait search that goes on from the design's best gait so far) their new
    fitness replaces the old. Without it (a controller search from scratch, whose second rollout
    would be a fresh draw of the same search) the elites keep their fitness, as the GA keeps its
    survivors.

    Ablations: `hyperbolic=False` searches the same tree flattened into the tangent plane (each node
    at its `log_map`, nearest by Euclidean distance, Gaussian steps added to z); `coarse_to_fine=False`
    builds the whole tree, down to every voxel its own cluster, and searches all of it from the start;
    `subtree_first=False` reads every z as HERD does, the nearest unevaluated robot in the whole tree
    within the depth limit: its steps about a deep elite land on strangers, which explore more (on
    Flipper-v0 its best designs came from them) and refine less (README, robot design).
    """

    def __init__(
        self,
        generations: int,
        shape: tuple[int, int] = (5, 5),
        elites: int = 5,
        sigma_start: float = 0.2,
        sigma_end: float = 0.01,
        hyperbolic: bool = True,
        coarse_to_fine: bool = True,
        subtree_first: bool = True,
        reevaluate_elites: bool = True,
        patience: int = 3,
        seed: int = 0,
    ):
        if generations < 1 or elites < 1 or patience < 1:
            raise ValueError(
                f"generations, elites and patience must be >= 1, got {generations}, {elites}, {patience}"
            )
        self.generations, self.elites, self.sigmas = generations, elites, (sigma_start, sigma_end)
        self.hyperbolic, self.coarse_to_fine, self.subtree_first = hyperbolic, coarse_to_fine, subtree_first
        self.reevaluate_elites, self.patience = reevaluate_elites, patience
        self.rng = np.random.default_rng(seed)
        self.tree = DesignTree(shape, depth=2, seed=seed)
        while not coarse_to_fine and self.tree.grow():
            pass
        self._embed()
        self.depth_limit = 0 if coarse_to_fine else self.tree.depth
        self.best: list[tuple[int, float]] = []  # (robot node, fitness) of the elites, best first
        self.mean = np.zeros(2)
        self.mean_robot, self.settled = -1, 0  # the mean's robot, and for how many generations
        self.top, self.stale = -np.inf, 0  # the best fitness so far, and generations since it rose
        self.asked: list[int] = []  # the robot nodes of the last ask
        self.asked_clusters: list[np.ndarray] = []  # each asked robot's clusters: its level's labels
        self.evaluated: set[int] = set()  # the nodes asked so far,
        self.seen: set[bytes] = set()  # and their bodies
        self.generation = 0

    def _embed(self) -> None:
        self.points = embed(self.tree)
        self.flat = log_map(self.points)

    def _deepen(self) -> bool:
        """One level finer (growing the tree when the limit is at its deepest level); False when the
        tree can grow no further."""
        if self.depth_limit == self.tree.depth:
            if not self.tree.grow():
                return False
            self._embed()  # new nodes are appended: the old ones keep their points
        self.depth_limit += 1
        return True

    def sigma(self) -> float:
        start, end = self.sigmas
        return start + (end - start) * min(1.0, self.generation / max(1, self.generations - 1))

    def node(self, z: np.ndarray, skip=(), within: int = ROOT) -> int:
        """The robot node nearest to z within the depth limit and the subtree of `within`, passing
        over the nodes in `skip` (-1 when none is left)."""
        if self.hyperbolic:
            return nearest(self.tree, self.points, exp_map(z), self.depth_limit, skip=skip, within=within)
        candidates = robot_nodes(self.tree, self.depth_limit, skip, within)
        if len(candidates) == 0:
            return -1
        return int(candidates[np.argmin(np.linalg.norm(self.flat[candidates] - z, axis=1))])

    def around(self, z: np.ndarray, sigma: float) -> np.ndarray:
        """A tangent vector drawn about z. Hyperbolic: from the wrapped normal about z's point (a
        Gaussian step of standard deviation sigma in the origin's tangent plane, parallel-transported
        to the point and taken there by its exponential map), so a step moves as far in the disk
        (2 sigma sqrt(pi / 2) on average) at every depth of the tree. The same step added to z in
        the origin's tangent plane moves further the deeper z's robot: with sigma 0.2, on average
        about 1.1 at level 2, 1.5 at level 3 and 2.0 at level 4 of the default tree, against edges
        of 1.2. Flat (the ablation): z plus the Gaussian step."""
        step = sigma * self.rng.standard_normal(2)
        if not self.hyperbolic:
            return z + step
        point = exp_map(z)
        return log_map(exp_map(transport_from_origin(step, point), base=point))

    def _new_node(self, z: np.ndarray, home: int) -> int:
        """The nearest robot to z whose body has not been evaluated, in the subtree of `home` or,
        when that is spent, of its nearest ancestor with one left, deepening the limit while every
        robot within it has been evaluated; a repeat only when the whole tree has been."""
        scope = home
        while True:
            node = self.node(z, skip=self.evaluated, within=scope)
            if node >= 0 and _key(self.tree.body(node)) in self.seen:
                self.evaluated.add(node)  # a robot's body again, one level deeper
            elif node >= 0:
                return node
            elif scope != ROOT:
                scope = self.tree.parent(scope)
            elif self._deepen():
                scope = home
            else:
                return self.node(z)

    def ask(self, n: int) -> list[np.ndarray]:
        elites = [node for node, _ in self.best]
        nodes = elites[:n] if self.reevaluate_elites else []
        sigma = self.sigma()
        while len(nodes) < n:
            home = elites[int(self.rng.integers(len(elites)))] if elites else ROOT
            centre = self.flat[home] if elites else self.mean
            nodes.append(self._new_node(self.around(centre, sigma), home if self.subtree_first else ROOT))
            self.evaluated.add(nodes[-1])
            self.seen.add(_key(self.tree.body(nodes[-1])))
        self.asked = nodes
        self.asked_clusters = [self.tree.clusters[self.tree.level(node)] for node in nodes]
        return [self.tree.body(node) for node in nodes]

    def tell(self, bodies: list[np.ndarray], fitness: np.ndarray) -> None:
        scored = list(zip(self.asked, np.asarray(fitness, dtype=np.float64).tolist(), strict=True))
        if not self.reevaluate_elites:
            scored = self.best + scored  # kept elites first: they win ties
        self.best = sorted(scored, key=lambda s: -s[1])[: self.elites]
        self.mean = self.flat[[node for node, _ in self.best]].mean(axis=0)
        robot = self.node(self.mean)
        self.settled = self.settled + 1 if robot == self.mean_robot else 1
        self.mean_robot = robot
        at_limit = self.tree.level(robot) == self.depth_limit
        self.stale = 0 if self.best[0][1] > self.top else self.stale + 1
        self.top = max(self.top, self.best[0][1])
        if self.coarse_to_fine and (
            at_limit and self.settled >= self.patience or self.stale >= self.patience
        ):
            self._deepen()
            self.settled = self.stale = 0
        self.generation += 1

"""Design optimisers: valid proposals, EvoGym's GA rules, CEM on toy fitness, determinism."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridworlds.agents.voxels.design.hyperbolic import distance, exp_map
from gridworlds.agents.voxels.design.optimisers import CEMDesigns, GeneticDesigns, HERDDesigns, RandomDesigns
from gridworlds.engines.voxels.bodies import H_ACT, check_body, random_body


def actuators_h(body):
    return float((body == H_ACT).sum())


def run(optimiser, fitness, generations, population):
    best = []
    for _ in range(generations):
        bodies = optimiser.ask(population)
        scores = np.array([fitness(b) for b in bodies])
        optimiser.tell(bodies, scores)
        best.append(scores.max())
    return best


@pytest.mark.parametrize(
    "make",
    [
        RandomDesigns,
        lambda seed: GeneticDesigns(8, 5, seed=seed),
        CEMDesigns,
        lambda seed: HERDDesigns(5, seed=seed),
    ],
)
def test_every_proposal_is_a_valid_body_and_a_seed_repeats_them(make):
    runs = []
    for _ in range(2):
        optimiser = make(seed=3)
        bodies = [b for _ in range(3) for b in _ask_tell(optimiser, 8)]
        for body in bodies:
            check_body(body)
        runs.append(np.stack(bodies))
    assert np.array_equal(runs[0], runs[1])


def _ask_tell(optimiser, n):
    bodies = optimiser.ask(n)
    optimiser.tell(bodies, np.array([actuators_h(b) for b in bodies]))
    return bodies


@settings(max_examples=25)
@given(st.integers(0, 10_000))
def test_ga_mutations_stay_valid_and_new(seed):
    ga = GeneticDesigns(4, 3, seed=seed)
    parent = random_body(np.random.default_rng(seed))
    ga.seen.add(parent.tobytes())
    child = ga.mutate(parent)
    check_body(child)
    assert not np.array_equal(child, parent)


def test_ga_keeps_the_best_survivors_with_a_decaying_share_and_never_repeats_a_design():
    ga = GeneticDesigns(10, 4, seed=0)
    shares = []
    seen = set()
    for _ in range(4):
        shares.append(ga.survivor_share())
        bodies = ga.ask(10)
        keys = {b.tobytes() for b in bodies}
        assert len(keys) == 10 and not keys & seen
        seen |= keys
        keep = max(1, round(ga.survivor_share() * 10))
        ga.tell(bodies, np.arange(10.0) + 10 * ga.generation)  # later generations score higher
        assert [p.tobytes() for p in ga.parents] == [b.tobytes() for b in bodies[::-1][:keep]]
    assert shares == pytest.approx([0.6, 0.45, 0.3, 0.15])
    bodies = ga.ask(10)
    ga.tell(bodies, np.zeros(10))
    assert len(ga.parents) == 1  # the share reached 0: the best design so far alone is kept
    assert ga.survivors[0][1] == 39.0


@pytest.mark.parametrize("make", [lambda: GeneticDesigns(16, 15, seed=1), lambda: CEMDesigns(seed=1)])
def test_ga_and_cem_beat_random_on_a_toy_fitness(make):
    # fitness: the number of horizontal actuators (25 at most). Measured over seeds 0-3: GA 15-17,
    # CEM 19-21, random at most 10 after 15 generations of 16.
    learned = run(make(), actuators_h, 15, 16)
    random = run(RandomDesigns(seed=1), actuators_h, 15, 16)
    assert learned[-1] >= 14 > 11 >= max(random)


def test_cem_probabilities_concentrate_on_the_elites_material():
    cem = CEMDesigns(seed=2)
    run(cem, actuators_h, 20, 16)
    assert (cem.probabilities[..., H_ACT] > 0.8).mean() >= 0.7  # measured: 0.8 (seed 2)
    assert cem.probabilities.min() >= cem.floor / (1 + cem.floor * 5)  # never below the floor (renormalised)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="population must be >= 2"):
        GeneticDesigns(1, 3)
    with pytest.raises(ValueError, match="elite_share"):
        CEMDesigns(elite_share=0)


def test_herd_reevaluates_its_elites_and_goes_deeper_once_its_mean_settles_at_the_limit():
    herd = HERDDesigns(10, seed=4)  # patience 3
    assert herd.depth_limit == 0
    bodies = herd.ask(10)
    # Level 0 holds two robots (all H_ACT, all V_ACT); once both are asked, one level finer.
    assert [herd.tree.level(node) for node in herd.asked] == [0, 0] + [1] * 8
    herd.tell(bodies, np.array([actuators_h(b) for b in bodies]))
    assert herd.tree.level(herd.node(herd.mean)) == 0 and herd.depth_limit == 1
    herd.best = [(herd.tree.nodes_at(1)[0], 1.0)] * 5  # elites whose mean is at the limit
    herd.asked = [node for node, _ in herd.best]
    for limit in (1, 1, 2):  # the third generation in a row on that robot: one level finer
        herd.tell(bodies[:5], np.ones(5))
        assert herd.depth_limit == limit
    elites = [node for node, _ in herd.best]
    again = herd.ask(10)
    assert herd.asked[: len(elites)] == elites  # the elites come back first, to be evaluated again
    for k, node in enumerate(elites):
        assert np.array_equal(again[k], herd.tree.body(node))
    assert herd.sigma() == pytest.approx(0.2 - 4 * 0.19 / 9)
    before = {b.tobytes() for b in bodies}
    assert not before & {b.tobytes() for b in again[len(elites) :]}  # the rest are new robots


def test_herd_goes_deeper_once_its_best_has_not_risen_for_patience_generations():
    herd = HERDDesigns(10, reevaluate_elites=False, seed=0)  # patience 3
    herd.depth_limit = 2
    coarse = herd.tree.nodes_at(0)[0]
    herd.best, herd.top = [(coarse, 5.0)] * 5, 5.0  # the mean on a robot above the limit
    for limit in (2, 2, 3):  # nothing new beats 5: one level finer on the third generation
        herd.tell(herd.ask(10), np.zeros(10))
        assert herd.node(herd.mean) == coarse and herd.depth_limit == limit
    herd.tell(herd.ask(10), np.full(10, 6.0))
    assert (herd.top, herd.stale) == (6.0, 0)


def test_herd_steps_go_as_far_in_the_disk_at_every_depth():
    herd = HERDDesigns(10, seed=0)
    herd.depth_limit = herd.tree.depth
    herd._deepen()  # grows level 3: 8 clusters
    rng = np.random.default_rng(0)
    for level in (0, 3):
        zs = herd.flat[rng.choice(herd.tree.nodes_at(level), 300)]
        for hyperbolic in (True, False):
            herd.hyperbolic = hyperbolic
            steps = distance(exp_map(zs), exp_map(np.array([herd.around(z, 0.2) for z in zs])))
            if hyperbolic:  # the wrapped normal: 2 |step|, 2 sigma sqrt(pi / 2) on average (Rayleigh)
                assert steps.mean() == pytest.approx(0.4 * np.sqrt(np.pi / 2), rel=0.1)
            elif level == 3:  # the same step in the origin's tangent plane: more than a tree edge
                assert steps.mean() > 1.2


def herd_with_a_level_2_elite(**options) -> tuple[HERDDesigns, int]:
    """HERD at depth limit 3 whose five elites are one evaluated level-2 robot with eight children."""
    herd = HERDDesigns(10, reevaluate_elites=False, seed=0, **options)
    while herd.depth_limit < 3:
        herd._deepen()
    elite = next(int(n) for n in herd.tree.nodes_at(2) if len(herd.tree.children(n)) == 8)
    herd.best = [(elite, 1.0)] * 5
    herd.evaluated.add(elite)
    herd.seen.add(herd.tree.body(elite).tobytes())
    return herd, elite


@pytest.mark.parametrize("hyperbolic", [True, False])
def test_herd_asks_its_elites_refinements_before_robots_elsewhere(hyperbolic):
    herd, elite = herd_with_a_level_2_elite(hyperbolic=hyperbolic)
    # Its first child is its body again, so seven refinements are left; in the disk, other subtrees'
    # level-3 robots lie much nearer to the elite's point than its own children do.
    herd.ask(7)
    assert sorted(herd.asked) == list(herd.tree.children(elite)[1:])
    herd.ask(3)  # the elite's subtree is spent: its siblings' come next
    family = set(herd.tree.subtree(herd.tree.parent(elite)).tolist())
    assert set(herd.asked) <= family - set(herd.tree.subtree(elite).tolist())
    assert herd.depth_limit == 3


@pytest.mark.parametrize("hyperbolic", [True, False])
def test_herds_own_look_up_reads_steps_about_an_elite_as_robots_of_other_subtrees(hyperbolic):
    herd, elite = herd_with_a_level_2_elite(hyperbolic=hyperbolic, subtree_first=False)
    herd.ask(7)  # the same seven steps as above, read in the whole tree
    assert not set(herd.asked) & set(herd.tree.subtree(elite).tolist())
    assert all((herd.tree.body(node) != herd.tree.body(elite)).sum() >= 10 for node in herd.asked)


def test_herd_grows_its_tree_as_the_limit_passes_the_levels_built():
    herd = HERDDesigns(10, patience=1, seed=0)  # HERD's own test: deeper at once
    herd.depth_limit = herd.tree.depth
    deepest = herd.tree.nodes_at(herd.tree.depth)
    herd.asked = [int(deepest[0])] * 5  # a mean on a robot of the deepest level
    herd.hyperbolic = False
    herd.tell([herd.tree.body(int(deepest[0]))] * 5, np.zeros(5))
    assert herd.tree.depth == 3 and herd.depth_limit == 3
    assert len(herd.points) == len(herd.tree)


def test_herd_finds_a_good_coarse_robot_and_its_ablations_run():
    for options in ({}, {"hyperbolic": False}):
        herd = HERDDesigns(8, seed=1, **options)
        assert max(run(herd, actuators_h, 8, 10)) == 25  # all horizontal actuators is a level-0 robot
    one_depth = HERDDesigns(8, shape=(3, 3), coarse_to_fine=False, seed=1)
    assert one_depth.depth_limit == one_depth.tree.depth == one_depth.tree.max_depth == 4  # 9 clusters
    run(one_depth, actuators_h, 2, 10)
    assert max(one_depth.tree.level(node) for node in one_depth.asked) >= 3
    with pytest.raises(ValueError, match="generations, elites and patience"):
        HERDDesigns(0)
    with pytest.raises(ValueError, match="generations, elites and patience"):
        HERDDesigns(8, patience=0)


def test_herd_without_reevaluation_keeps_its_elites_and_never_asks_a_body_twice():
    herd = HERDDesigns(10, reevaluate_elites=False, seed=2)
    asked = []
    for _ in range(12):  # 120 robots: more than level 0 holds, so the limit must deepen
        bodies = herd.ask(10)
        fitness = np.array([actuators_h(b) for b in bodies])
        kept = list(herd.best)
        herd.tell(bodies, fitness)
        scored = kept + list(zip(herd.asked, fitness.tolist(), strict=True))
        assert [f for _, f in herd.best] == sorted((f for _, f in scored), reverse=True)[:5]
        asked += bodies
    assert len({b.tobytes() for b in asked}) == len(asked)
    assert herd.depth_limit >= 1

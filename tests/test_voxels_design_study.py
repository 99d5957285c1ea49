"""The voxels-design experiment at a smoke budget: every optimiser runs, files appear, resume keeps runs;
the shared PPO controller runs too; the comparison of the optimisers, on hand-made runs."""

import csv
import io
import json

import numpy as np
import pytest
from scipy.stats import bootstrap, mannwhitneyu

from gridworlds.agents import load_agent
from gridworlds.agents.voxels.controllers import GaitSearch, controller_size, inherit_gait, optimise_gaits
from gridworlds.agents.voxels.design.tree import DesignTree
from gridworlds.engines.voxels.bodies import EXAMPLE_BODIES, body_from_text, random_body, read_body
from gridworlds.runner.run import run_experiment
from gridworlds.studies import voxels as voxels_study
from gridworlds.studies import voxels_statistics
from gridworlds.studies.voxels import ScoredGaits

SMOKE = """
name = "voxels-design-smoke"
[study]
function = "gridworlds.studies.voxels:design_search"
tasks = ["Walker-v0"]
optimisers = ["random", "ga", "cem", "herd", "herd-flat", "herd-one-depth", "herd-tree"]
seeds = [0]
budget = 4000
population = 4
gait = { population = 4, generations = 2, horizon = 40 }
final_gait = { population = 3, elites = 2, generations = 2, horizon = 60 }
"""


def test_a_smoke_budget_runs_every_optimiser_and_resumes(tmp_path):
    path = tmp_path / "smoke.toml"
    path.write_text(SMOKE)
    summary = run_experiment(path, runs_dir=tmp_path / "runs")
    out = tmp_path / "runs" / "voxels-design-smoke"
    names = voxels_study.OPTIMISERS
    assert set(summary["best"]) == {f"Walker-v0-{name}-0" for name in names}
    for name in summary["best"]:
        result = json.loads((out / f"{name}.json").read_text())
        assert result["rows"][-1]["env_steps"] >= 4000  # the budget is spent, whole generations
        body = read_body(out / f"{name}.txt")  # a valid body file
        # The final gait search: 3 x 2 rollouts of at most 60 steps of the best design, from the
        # best gait its search found, whose best gait earned the final return.
        assert 0 < result["final_env_steps"] <= 3 * 2 * 60
        search = GaitSearch(population=3, elites=2, generations=2, horizon=60, seed=0)
        final_gait, final, _ = optimise_gaits("Walker-v0", [body], search, initial=[result["gait"]])
        assert final[0] == result["final"] and final_gait[0].tolist() == result["final_gait"]
    final = list(csv.DictReader(io.StringIO((out / "final.csv").read_text())))
    assert [row["optimiser"] for row in final] == list(names)
    assert {f"Walker-v0-{row['optimiser']}-0": float(row["final"]) for row in final} == summary["final"]
    assert (out / "progress.csv").exists() and (out / "best.png").exists()
    comparison = list(csv.DictReader(io.StringIO((out / "comparison.csv").read_text())))
    assert len(comparison) == 7 * 6  # every ordered pair, each with its one seed a side
    assert "the comparison needs at least 6 seeds" in (out / "report.md").read_text()
    again = run_experiment(path, runs_dir=tmp_path / "runs", resume=True)
    assert again["best"] == summary["best"]


def test_each_design_inherits_the_gait_of_the_nearest_scored_design():
    scored = ScoredGaits()
    walker, muscle = body_from_text(EXAMPLE_BODIES["walker"]), body_from_text("HHHHH\n" * 5)
    walker_gait = np.arange(controller_size(12), dtype=np.float64)
    scored.add([walker, muscle], [walker_gait, np.full(controller_size(25), -1.0)], [1.0, 0.5])
    np.testing.assert_array_equal(scored.gait_of(walker), walker_gait)  # its own
    legless = walker.copy()
    legless[4] = 0  # the walker without its bottom row: nearer the walker than the muscle
    np.testing.assert_array_equal(scored.gait_of(legless), inherit_gait(walker, walker_gait, legless))
    np.testing.assert_array_equal(scored.gait_of(muscle), np.full(controller_size(25), -1.0))
    # Scored again with a better gait (as HERD's elites are), and again with a worse one: the best wins.
    better_gait = walker_gait + 1
    scored.add([walker, walker], [better_gait, walker_gait - 1], [2.0, 1.5])
    np.testing.assert_array_equal(scored.gait_of(walker), better_gait)


@pytest.mark.parametrize(("optimiser", "cluster_gaits"), [("herd", True), ("herd", False), ("ga", True)])
def test_herds_robots_are_driven_cluster_by_cluster(monkeypatch, optimiser, cluster_gaits):
    searches = []

    def recording(task, bodies, config, initial=None, groups=None):
        searches.append((bodies, groups))
        return optimise_gaits(task, bodies, config, initial=initial, groups=groups)

    monkeypatch.setattr(voxels_study, "optimise_gaits", recording)
    search = {"population": 2, "elites": 1, "generations": 1, "horizon": 30}
    params = {"population": 4, "budget": 1000, "controller": "gait", "inherit_gaits": True}
    params |= {"cluster_gaits": cluster_gaits, "gait": search, "gait_horizons": {}, "final_gait": search}
    voxels_study.design_run("Walker-v0", optimiser, 0, params)
    *design_searches, final_search = searches
    assert final_search[1] is None  # the final search: every actuator its own pair
    levels = DesignTree((5, 5), seed=0).clusters
    for bodies, groups in design_searches:
        if optimiser == "ga" or not cluster_gaits:
            assert groups is None
            continue
        for body, labels in zip(bodies, groups, strict=True):
            # a level of the tree's clusters, with one material in each cluster: a coarse robot's
            assert any(np.array_equal(labels, level) for level in levels)
            for cluster in np.unique(labels):
                assert len(np.unique(body[labels == cluster])) == 1
    if optimiser == "herd" and cluster_gaits:
        assert np.array_equal(design_searches[0][1][0], levels[0])  # the first robot: one cluster


def test_without_inheritance_every_gait_search_starts_from_zeros(tmp_path):
    path = tmp_path / "smoke.toml"
    path.write_text(SMOKE)
    settings = ['study.optimisers=["ga"]', "study.inherit_gaits=false"]
    summary = run_experiment(path, overrides=settings, runs_dir=tmp_path / "runs")
    result = json.loads((tmp_path / "runs" / "voxels-design-smoke" / "Walker-v0-ga-0.json").read_text())
    body = read_body(tmp_path / "runs" / "voxels-design-smoke" / "Walker-v0-ga-0.txt")
    search = GaitSearch(population=3, elites=2, generations=2, horizon=60, seed=0)
    final = optimise_gaits("Walker-v0", [body], search)[1][0]
    assert final == result["final"] == summary["final"]["Walker-v0-ga-0"]
    with pytest.raises(ValueError, match="study.inherit_gaits must be true or false"):
        run_experiment(path, overrides=["study.inherit_gaits=1"], runs_dir=tmp_path / "runs")


GAIT_HORIZONS = """
name = "voxels-design-horizons"
[study]
function = "gridworlds.studies.voxels:design_search"
tasks = ["Walker-v0", "UpStepper-v0"]
optimisers = ["random"]
seeds = [0]
budget = 1
population = 2
gait = { population = 2, elites = 1, generations = 1, horizon = 40 }
final_gait = { population = 2, elites = 1, generations = 1, horizon = 10 }
gait_horizons = { "UpStepper-v0" = 80 }
"""


def test_a_task_of_gait_horizons_is_scored_on_its_own_horizon(tmp_path):
    path = tmp_path / "horizons.toml"
    path.write_text(GAIT_HORIZONS)
    summary = run_experiment(path, runs_dir=tmp_path / "runs")
    assert {task: gait["horizon"] for task, gait in summary["gait"].items()} == {
        "Walker-v0": 40,
        "UpStepper-v0": 80,
    }
    steps = {row["task"]: row["env_steps"] for row in summary["rows"]}
    assert steps["Walker-v0"] == 2 * 2 * 40  # one generation: 2 designs x 2 gaits x 40 steps
    assert 2 * 2 * 40 < steps["UpStepper-v0"] <= 2 * 2 * 80  # a flipped robot's episode ends early
    path.write_text(GAIT_HORIZONS.replace('"UpStepper-v0" = 80', '"UpStepper-v9" = 80'))
    with pytest.raises(ValueError, match=r"study.gait_horizons must be a table of positive integers keyed"):
        run_experiment(path, runs_dir=tmp_path / "runs")


def test_gait_horizons_may_name_a_task_the_run_leaves_out(tmp_path):
    path = tmp_path / "horizons.toml"
    path.write_text(GAIT_HORIZONS)
    summary = run_experiment(path, runs_dir=tmp_path / "runs", overrides=['study.tasks=["Walker-v0"]'])
    assert {task: gait["horizon"] for task, gait in summary["gait"].items()} == {"Walker-v0": 40}


SHARED_PPO = """
name = "voxels-design-ppo-smoke"
[study]
function = "gridworlds.studies.voxels:design_search"
tasks = ["Walker-v0"]
optimisers = ["herd"]
seeds = [0]
budget = 300
population = 3
controller = "shared-ppo"
[study.ppo]
worlds = 3
rollout = 8
n_epochs = 1
minibatches = 2
width = 16
heads = 2
layers = 1
horizon = 20
steps_per_generation = 48
"""


def test_a_shared_policy_scores_the_designs_and_is_saved(tmp_path):
    pytest.importorskip("torch")
    from gridworlds.agents.voxels.policy import SharedPPO

    path = tmp_path / "ppo.toml"
    path.write_text(SHARED_PPO)
    summary = run_experiment(path, runs_dir=tmp_path / "runs")
    out = tmp_path / "runs" / "voxels-design-ppo-smoke"
    result = json.loads((out / "Walker-v0-herd-0.json").read_text())
    # A generation: 48 training steps, then 3 designs x 20 steps of evaluation.
    assert [row["env_steps"] for row in result["rows"]] == [108, 216, 324]
    assert summary["controller"] == "shared-ppo" and summary["ppo"]["steps_per_generation"] == 48
    read_body(out / "Walker-v0-herd-0.txt")
    policy = load_agent(out / "Walker-v0-herd-0.policy")  # it shows the run's best design
    assert isinstance(policy, SharedPPO) and policy.env_steps == 324 and policy.seed == 0
    np.testing.assert_array_equal(policy.body, read_body(out / "Walker-v0-herd-0.txt"))


GAIT_NOISE = """
name = "voxels-gait-noise-smoke"
[study]
function = "gridworlds.studies.voxels:gait_noise"
tasks = ["Walker-v0", "Flipper-v0"]
designs = 3
design_seed = 5
seeds = [0, 1]
gait = { population = 2, elites = 1, generations = 1, horizon = 10 }
gait_horizons = { "Flipper-v0" = 12 }
"""


def test_ranks_share_the_mean_rank_among_ties():
    np.testing.assert_array_equal(voxels_study.ranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])), [3, 0, 3, 1, 3])
    swapped = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])  # d^2 = 1, 1, 0: 1 - 6 * 2 / (3 * 8)
    assert voxels_study.rank_agreement(swapped) == pytest.approx(0.5)


def test_gait_noise_scores_each_random_design_under_each_seed_and_resumes(tmp_path, monkeypatch):
    path = tmp_path / "noise.toml"
    path.write_text(GAIT_NOISE)
    summary = run_experiment(path, runs_dir=tmp_path / "runs")
    out = tmp_path / "runs" / "voxels-gait-noise-smoke"
    rows = list(csv.DictReader(io.StringIO((out / "scores.csv").read_text())))
    assert len(rows) == 2 * 3 * 2
    rng = np.random.default_rng(5)
    bodies = [random_body(rng) for _ in range(3)]
    for task, horizon in (("Walker-v0", 10), ("Flipper-v0", 12)):
        search = dict(population=2, elites=1, generations=1, horizon=horizon)
        expected = np.array([optimise_gaits(task, bodies, GaitSearch(**search, seed=s))[1] for s in (0, 1)]).T
        scores = np.array(
            [
                [float(r["score"]) for r in rows if r["task"] == task and r["design"] == str(d)]
                for d in range(3)
            ]
        )
        np.testing.assert_array_equal(scores, expected)
        row = next(row for row in summary["rows"] if row["task"] == task)
        assert row["within"] == pytest.approx(np.sqrt(((scores[:, 0] - scores[:, 1]) ** 2 / 2).mean()))
        assert row["between"] == pytest.approx(np.std(scores.mean(axis=1), ddof=1))
        by_rank = scores.argsort(axis=0).argsort(axis=0)  # no ties among these returns
        assert row["rank_agreement"] == pytest.approx(np.corrcoef(by_rank.T)[0, 1])
        best = scores[np.argmax(scores.mean(axis=1))]
        assert (row["best_low"], row["best_high"]) == (best.min(), best.max())

    def no_rollouts(*args, **kwargs):
        raise AssertionError("resume scored a task again")

    monkeypatch.setattr(voxels_study, "optimise_gaits", no_rollouts)
    assert run_experiment(path, runs_dir=tmp_path / "runs", resume=True) == summary


@pytest.mark.parametrize(
    ("experiment", "setting", "message"),
    [
        (SHARED_PPO, "study.controller=ppo", r"study.controller must be one of \['gait', 'shared-ppo'\]"),
        (SHARED_PPO, "study.ppo.learning_rate=-1.0", "study.ppo.learning_rate must be a positive number"),
        (SHARED_PPO, "study.ppo.gamma=2.0", "study.ppo.gamma must be a number from 0 to 1"),
        (SHARED_PPO, "study.ppo.steps_per_generation=0", "study.ppo.steps_per_generation must be a positive"),
        (SHARED_PPO, "study.ppo.seed=3", r"unknown field study.ppo.seed; the fields of study.ppo are"),
        (
            SHARED_PPO,
            "study.ppo.entropy=0.1",
            r"study.ppo.entropy was renamed ent_coef: did you mean study.ppo.ent_coef\?",
        ),
        (
            SHARED_PPO,
            "study.ppo.clip=0.1",
            r"study.ppo.clip was renamed clip_range: did you mean study.ppo.clip_range\?",
        ),
        (SHARED_PPO, "study.final_gait.elites=20", "study.final_gait: need a population of at least 2 and 1"),
        (GAIT_NOISE, "study.designs=1", "study.designs must be an integer of at least 2"),
        (GAIT_NOISE, "study.seeds=[3]", "study.seeds must be an array of at least two distinct"),
        (GAIT_NOISE, "study.seeds=[3, 3]", "study.seeds must be an array of at least two distinct"),
        (GAIT_NOISE, "study.gait.population=1", "study.gait: need a population of at least 2"),
        (GAIT_NOISE, "study.budget=5", "unknown field study.budget"),
    ],
)
def test_bad_settings_are_named(tmp_path, experiment, setting, message):
    path = tmp_path / "study.toml"
    path.write_text(experiment)
    with pytest.raises(ValueError, match=message):
        run_experiment(path, overrides=[setting], runs_dir=tmp_path / "runs")


COMPARISON = """
name = "voxels-design-comparison"
[study]
function = "gridworlds.studies.voxels:design_search"
tasks = ["Walker-v0"]
optimisers = ["random", "ga", "herd"]
seeds = [0, 1, 2, 3, 4, 5]
budget = 4000
population = 4
"""
# Best search fitness per seed: the GA's six all above random's; HERD's and the GA's interleaved.
HAND_MADE = {
    "random": [1.01, 1.60, 1.25, 0.90, 1.48, 1.12],
    "ga": [2.55, 1.96, 2.18, 2.31, 1.70, 2.02],
    "herd": [2.33, 3.14, 1.65, 2.05, 2.60, 1.88],
}


def write_finished_runs(out, fitness, task="Walker-v0"):
    """The run files a finished study leaves, one <task>-<optimiser>-<seed>.json per value of
    `fitness` (optimiser -> per-seed best fitness), as design_run returns them."""
    out.mkdir(parents=True, exist_ok=True)
    for optimiser, values in fitness.items():
        for seed, best in enumerate(values):
            row = {"task": task, "optimiser": optimiser, "seed": seed, "generation": 0}
            row |= {"env_steps": 4000, "best": best, "generation_best": best}
            run = {"rows": [row], "best": best, "body": EXAMPLE_BODIES["walker"], "final": best}
            (out / f"{task}-{optimiser}-{seed}.json").write_text(json.dumps(run))


def no_rollouts(*args, **kwargs):
    raise AssertionError("a finished study searched a gait again")


def test_the_comparison_is_a_one_sided_mann_whitney_test_per_pair(tmp_path, monkeypatch):
    path = tmp_path / "comparison.toml"
    path.write_text(COMPARISON)
    out = tmp_path / "runs" / "voxels-design-comparison"
    write_finished_runs(out, HAND_MADE)
    monkeypatch.setattr(voxels_study, "optimise_gaits", no_rollouts)
    run_experiment(path, runs_dir=tmp_path / "runs", resume=True)
    rows = list(csv.DictReader(io.StringIO((out / "comparison.csv").read_text())))
    tests = {(row["a"], row["b"]): row for row in rows}
    assert len(rows) == 6 and {row["task"] for row in rows} == {"Walker-v0"}
    for (a, b), row in tests.items():
        expected = mannwhitneyu(HAND_MADE[a], HAND_MADE[b], alternative="greater")
        assert (int(row["n_a"]), int(row["n_b"])) == (6, 6)
        assert (float(row["U"]), float(row["p"])) == (expected.statistic, expected.pvalue)
    # Every GA seed above every random seed: all 36 pairs won, and of the C(12, 6) = 924 equally
    # likely orders of the twelve values under the null hypothesis only this one is as extreme.
    assert float(tests["ga", "random"]["U"]) == 36
    assert float(tests["ga", "random"]["p"]) == pytest.approx(1 / 924, rel=1e-12)
    assert float(tests["random", "ga"]["U"]) == 0 and float(tests["random", "ga"]["p"]) == 1
    herd_over_ga = mannwhitneyu(HAND_MADE["herd"], HAND_MADE["ga"], alternative="greater").pvalue
    assert herd_over_ga > 0.05
    report = (out / "report.md").read_text()
    assert "ga > random (p = 0.0011)" in report  # a clear pair: the claim
    assert f"herd > ga not shown (p = {herd_over_ga:.2g})" in report  # an unclear one: no claim
    assert "needs at least" not in report

    # The study finished, resumed: the comparison is written again from the run files alone.
    for name in ("comparison.csv", "intervals.csv", "report.md"):
        (out / name).unlink()
    run_experiment(path, runs_dir=tmp_path / "runs", resume=True)
    assert list(csv.DictReader(io.StringIO((out / "comparison.csv").read_text()))) == rows
    assert (out / "report.md").read_text() == report


def test_the_intervals_hold_the_mean_and_are_reproducible():
    fitness = {("Walker-v0", name): np.array(values) for name, values in HAND_MADE.items()}
    seeds = [0, 1, 2, 3, 4, 5]
    rows = voxels_statistics.interval_rows(fitness, ["Walker-v0"], list(HAND_MADE), seeds)
    assert rows == voxels_statistics.interval_rows(fitness, ["Walker-v0"], list(HAND_MADE), seeds)
    for row in rows:
        values = HAND_MADE[row["optimiser"]]
        assert row["n"] == 6 and row["mean"] == pytest.approx(np.mean(values))
        assert min(values) < row["low"] < row["mean"] < row["high"] < max(values)
        rng = np.random.default_rng(seeds)
        expected = bootstrap((values,), np.mean, method="percentile", random_state=rng).confidence_interval
        assert (row["low"], row["high"]) == (expected.low, expected.high)
    others = voxels_statistics.interval_rows(fitness, ["Walker-v0"], list(HAND_MADE), [6, 7, 8, 9, 10, 11])
    assert [(row["low"], row["high"]) for row in others] != [(row["low"], row["high"]) for row in rows]


def test_fewer_than_six_seeds_decide_nothing_but_the_numbers_are_written(tmp_path, monkeypatch):
    path = tmp_path / "comparison.toml"
    path.write_text(COMPARISON.replace("seeds = [0, 1, 2, 3, 4, 5]", "seeds = [0, 1, 2]"))
    out = tmp_path / "runs" / "voxels-design-comparison"
    write_finished_runs(out, {name: values[:3] for name, values in HAND_MADE.items()})
    monkeypatch.setattr(voxels_study, "optimise_gaits", no_rollouts)
    run_experiment(path, runs_dir=tmp_path / "runs", resume=True)
    report = (out / "report.md").read_text()
    assert "the comparison needs at least 6 seeds per optimiser" in report
    # Three seeds a side: the best exact p is 1 / C(6, 3) = 0.05, not below the level.
    assert "ga > random not decided, 3 and 3 seeds (p = 0.05)" in report
    intervals = list(csv.DictReader(io.StringIO((out / "intervals.csv").read_text())))
    assert [(row["optimiser"], row["n"]) for row in intervals] == [
        ("random", "3"),
        ("ga", "3"),
        ("herd", "3"),
    ]
    assert all(float(row["low"]) <= float(row["mean"]) <= float(row["high"]) for row in intervals)

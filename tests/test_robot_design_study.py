"""The robot-design experiment at a smoke budget: every optimiser runs, files appear, resume keeps runs;
the shared PPO controller runs too."""

import csv
import io
import json

import numpy as np
import pytest

from gridworlds.agents import load_agent
from gridworlds.agents.voxel_controllers import GaitSearch, optimise_gaits
from gridworlds.engines.voxel_bodies import read_body
from gridworlds.runner.run import run_experiment

SMOKE = """
name = "robot-design-smoke"
[study]
function = "gridworlds.runner.robot_design_study:design_search"
tasks = ["Walker-v0"]
optimisers = ["random", "ga", "cem", "herd", "herd-flat", "herd-one-depth"]
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
    out = tmp_path / "runs" / "robot-design-smoke"
    names = ("random", "ga", "cem", "herd", "herd-flat", "herd-one-depth")
    assert set(summary["best"]) == {f"Walker-v0-{name}-0" for name in names}
    for name in summary["best"]:
        result = json.loads((out / f"{name}.json").read_text())
        assert result["rows"][-1]["env_steps"] >= 4000  # the budget is spent, whole generations
        body = read_body(out / f"{name}.txt")  # a valid body file
        # The final gait search: 3 x 2 rollouts of at most 60 steps of the best design, whose
        # best gait earned the final return.
        assert 0 < result["final_env_steps"] <= 3 * 2 * 60
        search = GaitSearch(population=3, elites=2, generations=2, horizon=60, seed=0)
        assert optimise_gaits("Walker-v0", [body], search)[1][0] == result["final"]
    final = list(csv.DictReader(io.StringIO((out / "final.csv").read_text())))
    assert [row["optimiser"] for row in final] == list(names)
    assert {f"Walker-v0-{row['optimiser']}-0": float(row["final"]) for row in final} == summary["final"]
    assert (out / "progress.csv").exists() and (out / "best.png").exists()
    again = run_experiment(path, runs_dir=tmp_path / "runs", resume=True)
    assert again["best"] == summary["best"]


GAIT_HORIZONS = """
name = "robot-design-horizons"
[study]
function = "gridworlds.runner.robot_design_study:design_search"
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
    path.write_text(GAIT_HORIZONS.replace('"UpStepper-v0" = 80', '"Pusher-v0" = 80'))
    with pytest.raises(ValueError, match=r"study.gait_horizons must be a table of positive integers keyed"):
        run_experiment(path, runs_dir=tmp_path / "runs")


SHARED_PPO = """
name = "robot-design-ppo-smoke"
[study]
function = "gridworlds.runner.robot_design_study:design_search"
tasks = ["Walker-v0"]
optimisers = ["herd"]
seeds = [0]
budget = 300
population = 3
controller = "shared-ppo"
[study.ppo]
worlds = 3
rollout = 8
epochs = 1
minibatches = 2
width = 16
heads = 2
layers = 1
horizon = 20
steps_per_generation = 48
"""


def test_a_shared_policy_scores_the_designs_and_is_saved(tmp_path):
    pytest.importorskip("torch")
    from gridworlds.agents.voxel_policy import SharedPPO

    path = tmp_path / "ppo.toml"
    path.write_text(SHARED_PPO)
    summary = run_experiment(path, runs_dir=tmp_path / "runs")
    out = tmp_path / "runs" / "robot-design-ppo-smoke"
    result = json.loads((out / "Walker-v0-herd-0.json").read_text())
    # A generation: 48 training steps, then 3 designs x 20 steps of evaluation.
    assert [row["env_steps"] for row in result["rows"]] == [108, 216, 324]
    assert summary["controller"] == "shared-ppo" and summary["ppo"]["steps_per_generation"] == 48
    read_body(out / "Walker-v0-herd-0.txt")
    policy = load_agent(out / "Walker-v0-herd-0.policy")  # it shows the run's best design
    assert isinstance(policy, SharedPPO) and policy.env_steps == 324 and policy.seed == 0
    np.testing.assert_array_equal(policy.body, read_body(out / "Walker-v0-herd-0.txt"))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("study.controller=ppo", r"study.controller must be one of \['gait', 'shared-ppo'\]"),
        ("study.ppo.learning_rate=-1.0", "study.ppo.learning_rate must be a positive number"),
        ("study.ppo.gamma=2.0", "study.ppo.gamma must be a number from 0 to 1"),
        ("study.ppo.steps_per_generation=0", "study.ppo.steps_per_generation must be a positive integer"),
        ("study.ppo.seed=3", r"unknown field study.ppo.seed; the fields of study.ppo are"),
        ("study.final_gait.elites=20", "study.final_gait: need a population of at least 2 and 1 to"),
    ],
)
def test_bad_controller_settings_are_named(tmp_path, setting, message):
    path = tmp_path / "ppo.toml"
    path.write_text(SHARED_PPO)
    with pytest.raises(ValueError, match=message):
        run_experiment(path, overrides=[setting], runs_dir=tmp_path / "runs")

"""The robot-design experiment at a smoke budget: every optimiser runs, files appear, resume keeps runs."""

import json

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
        read_body(out / f"{name}.txt")  # a valid body file
    assert (out / "progress.csv").exists() and (out / "best.png").exists()
    again = run_experiment(path, runs_dir=tmp_path / "runs", resume=True)
    assert again["best"] == summary["best"]

"""The EvoGym fidelity study: its parameter checks, its statistics on hand-made trajectories, what it
says without EvoGym, and a whole run against a fake worker (our own simulator behind the worker's
JSON protocol), so that the protocol is exercised end to end where EvoGym is not installed; and the
voxel benchmark's EvoGym peer, timed through the same worker. The tests against the real EvoGym run
only where GRIDWORLDS_EVOGYM_PYTHON names its interpreter."""

import csv
import io
import json
import os
import stat
import sys

import numpy as np
import pytest
from scipy.stats import spearmanr

from gridworlds.bench.voxels import EVOGYM_ANCHOR, evogym_steps_per_second
from gridworlds.runner.config import load_experiment
from gridworlds.runner.run import run_experiment
from gridworlds.studies.voxels_evogym import (
    EVOGYM_PYTHON_VARIABLE,
    EvoGymError,
    EvoGymPool,
    EvoGymUnavailable,
    evogym_python,
)
from gridworlds.studies.voxels_fidelity import CONTROLLERS, controller_actions, play_ours
from gridworlds.studies.voxels_fidelity_report import Trajectories, spearman, summary_row, within_share

EXPERIMENT = "experiments/voxels-fidelity.toml"
SMOKE = [
    'study.tasks={"Walker-v0"={"5x5"=3, "2x7"=1}, "Pusher-v0"={"5x5"=3}}',
    'study.horizons={"Walker-v0"=24, "Pusher-v0"=16}',
    'study.controllers=["sine-fast", "steps"]',
    "study.worst=1",
    "study.frames=2",
]


# --- parameters ---


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ('study.tasks={"Runner-v0"={"5x5"=3}}', "study.tasks"),
        ('study.tasks={"Walker-v0"={"9x9"=3}}', "study.tasks"),
        ('study.tasks={"Walker-v0"={"5x5"=0}}', "study.tasks"),
        ('study.controllers=["sine-slow", "sine-slow"]', "study.controllers"),
        ('study.controllers=["square"]', "study.controllers"),
        ('study.horizons={"Walker-v0"=0}', "study.horizons"),
        ("study.perturbation=0", "study.perturbation"),
        ("study.within=-1", "study.within"),
        ("study.workers=0", "study.workers"),
        ("study.evogym_python=3", "study.evogym_python"),
        ("study.chaos=1", "study.chaos"),
    ],
)
def test_a_bad_parameter_is_named(override, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        load_experiment(EXPERIMENT, [override])


def test_the_shipped_experiment_meets_the_issues_size():
    params = load_experiment(EXPERIMENT).params
    assert params["tasks"]["Walker-v0"]["5x5"] >= 100
    assert set(params["controllers"]) == set(CONTROLLERS)


def test_controllers_are_deterministic_and_in_range():
    body = np.array([[3, 4, 3], [1, 0, 2]])
    for controller in CONTROLLERS:
        actions = controller_actions(controller, body, 50, [0, 1])
        assert actions.shape == (50, 3) and actions.min() >= 0.6 and actions.max() <= 1.6
        np.testing.assert_array_equal(actions, controller_actions(controller, body, 50, [0, 1]))
        assert np.ptp(actions) > 0.1  # each drives the body
    assert not np.array_equal(
        controller_actions("steps", body, 50, [0, 1]), controller_actions("steps", body, 50, [0, 2])
    )


# --- statistics ---


def trajectories(displacements, returns, length=3):
    """Trajectory sets whose robots move linearly by `displacements` over `length` steps."""
    displacements = np.asarray(displacements, dtype=float)
    t = np.arange(1, length + 1) / length
    robot = np.zeros((len(displacements), length, 2))
    robot[..., 0] = displacements[:, None] * t
    reward = np.repeat(np.asarray(returns, dtype=float)[:, None] / length, length, axis=1)
    return Trajectories(
        robot=robot,
        box=np.full_like(robot, np.nan),
        reward=reward,
        length=np.full(len(displacements), length),
        start=np.zeros((len(displacements), 2)),
    )


def test_the_statistics_on_a_hand_made_pair_of_trajectory_sets():
    evogym = [0.10, 0.40, 0.20, 0.80, 0.05]
    perturbed = [0.11, 0.38, 0.20, 0.70, 0.06]  # spreads 0.01, 0.02, 0, 0.1, 0.01
    ours = [0.12, 0.30, 0.25, 0.75, 0.10]  # gaps 0.02, 0.10, 0.05, 0.05, 0.05
    runs = {
        "ours": trajectories(ours, [1.0, 3.0, 2.0, 5.0, 0.5]),
        "evogym": trajectories(evogym, [1.0, 4.0, 2.0, 5.0, 0.0]),
        "perturbed": trajectories(perturbed, [1.0, 4.0, 2.5, 5.0, 0.1]),
    }
    row = summary_row(runs, factor=3.0)
    assert row["bodies"] == 5
    assert row["spearman_displacement"] == pytest.approx(spearmanr(ours, evogym).statistic)
    assert row["chaos_spearman_displacement"] == pytest.approx(spearmanr(perturbed, evogym).statistic)
    assert row["spearman_return"] == pytest.approx(spearmanr([1, 3, 2, 5, 0.5], [1, 4, 2, 5, 0]).statistic)
    # Within 3x the chaos spread: body 0 (0.02 <= 0.03), body 3 (0.05 <= 0.3), body 4 (0.05 > 0.03 no),
    # body 1 (0.10 > 0.06 no), body 2 (0.05 > 0 no): 2 of 5.
    assert row["within_displacement"] == pytest.approx(2 / 5)
    assert within_share(np.array(ours), np.array(evogym), np.array(perturbed), 1.0) == pytest.approx(1 / 5)
    assert row["median_gap_displacement"] == pytest.approx(0.05)
    assert row["median_chaos_displacement"] == pytest.approx(0.01)
    assert row["ended_early_ours"] == row["ended_early_evogym"] == 0


def test_spearman_is_undefined_for_a_constant_set():
    assert np.isnan(spearman(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])))
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)


def test_an_episode_that_ends_early_is_measured_at_its_end():
    run = trajectories([0.3], [1.0], length=4)
    run.robot[0, 2:] = np.nan
    run.reward[0, 2:] = np.nan
    run.length[0] = 2
    assert run.displacement()[0] == pytest.approx(0.15) and run.returns()[0] == pytest.approx(0.5)


# --- without EvoGym ---


def test_without_evogym_the_study_says_how_to_set_it_up(monkeypatch, tmp_path):
    monkeypatch.delenv(EVOGYM_PYTHON_VARIABLE, raising=False)
    with pytest.raises(EvoGymUnavailable) as error:
        evogym_python("")
    message = str(error.value)
    for step in ("python3.10 -m venv", "pip install evogym==2.0.0", f"export {EVOGYM_PYTHON_VARIABLE}="):
        assert step in message
    with pytest.raises(EvoGymUnavailable, match="pip install evogym==2.0.0"):
        run_experiment(write_smoke(tmp_path, ""), runs_dir=tmp_path / "runs")


def test_a_broken_interpreter_path_is_named(monkeypatch):
    monkeypatch.setenv(EVOGYM_PYTHON_VARIABLE, "/nowhere/python3.10")
    with pytest.raises(EvoGymUnavailable, match=f"{EVOGYM_PYTHON_VARIABLE} = '/nowhere/python3.10'"):
        evogym_python("")
    with pytest.raises(EvoGymUnavailable, match="study.evogym_python = '/nowhere/else'"):
        evogym_python("/nowhere/else")


def test_an_interpreter_without_evogym_stops_with_its_last_words(tmp_path):
    pool = EvoGymPool(fake_interpreter(tmp_path, "import sys\nsys.exit('No module named evogym')\n"), 1)
    with pytest.raises(EvoGymUnavailable, match="No module named evogym"):
        pool.ask({"op": "sample", "shape": [5, 5], "count": 1, "seed": 0})


def test_the_bench_without_evogym_uses_the_anchor_and_says_how_to_measure(monkeypatch):
    monkeypatch.delenv(EVOGYM_PYTHON_VARIABLE, raising=False)
    peer, source = evogym_steps_per_second(0.1)
    assert peer == EVOGYM_ANCHOR
    assert f"set {EVOGYM_PYTHON_VARIABLE}" in source


def test_the_bench_times_evogym_through_the_worker(monkeypatch, tmp_path):
    fake = fake_interpreter(
        tmp_path,
        "import json, sys\n"
        'print(json.dumps({"worker": "fake", "evogym": "2.0.0", "python": "3"}), flush=True)\n'
        "for line in sys.stdin:\n"
        '    print(json.dumps({"steps_per_second": 123.0}), flush=True)\n',
    )
    monkeypatch.setenv(EVOGYM_PYTHON_VARIABLE, fake)
    assert evogym_steps_per_second(0.1) == (123.0, "measured here, EvoGym 2.0.0 in its worker")
    monkeypatch.setenv(EVOGYM_PYTHON_VARIABLE, "/nowhere/python3.10")
    peer, source = evogym_steps_per_second(0.1)
    assert peer == EVOGYM_ANCHOR and "/nowhere/python3.10" in source


# --- a whole run against a fake worker ---

# Answers the worker's protocol from our own simulator: its "evogym" run is ours, so every statistic
# must show perfect agreement; the "perturbed" run moves each action by the perturbation.
FAKE_WORKER = """
import json, sys
import numpy as np
from gridworlds.engines.voxels.bodies import random_body
from gridworlds.envs.voxels import VoxelEnv

def shapes(env):
    w = env.worlds
    pieces = {"robot": 0}
    if "box" in env.core.task.observation:
        pieces["box"] = env.core.box
    return {key: w.pos[0, slice(*w.piece_points[0, p])].T.tolist() for key, p in pieces.items()}

def play(request, shift):
    env = VoxelEnv(request["task"], np.array(request["body"]), horizon=len(request["actions"]))
    env.reset()
    box = env.core.box >= 0
    run = {"robot": [], "box": [] if box else None, "reward": [], "terminated": [], "points": {},
           "start_robot": env.core.before.robot[0].tolist(), "start_points": shapes(env),
           "start_box": env.core.before.box[0].tolist() if box else None}
    for t, action in enumerate(request["actions"]):
        _, reward, terminated, _, _ = env.step(np.array(action) + shift)
        run["robot"].append(env.core.before.robot[0].tolist())
        if box:
            run["box"].append(env.core.before.box[0].tolist())
        run["reward"].append(reward)
        run["terminated"].append(terminated)
        if t in request["frames"]:
            run["points"][str(t)] = shapes(env)
        if terminated:
            break
    return run

print(json.dumps({"worker": "fake", "evogym": "fake", "python": "3"}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "sample":
        rng = np.random.default_rng(len(request["seed"]))
        shape = tuple(request["shape"])
        answer = {"bodies": [random_body(rng, shape).tolist() for _ in range(request["count"])]}
    elif request["task"] == "Pusher-v0" and request["body"][0][0] == REFUSED:
        answer = {"error": "EvoGym refused the body"}
    else:
        answer = {"runs": {"evogym": play(request, 0.0), "perturbed": play(request, request["perturbation"])}}
    print(json.dumps(answer), flush=True)
"""


def fake_interpreter(tmp_path, script):
    """An executable that stands in for EvoGym's interpreter: it runs `script` with this Python (the
    worker's path, its first argument, is ignored)."""
    (tmp_path / "worker.py").write_text(script)
    launcher = tmp_path / "python"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{tmp_path / "worker.py"}"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    return str(launcher)


def write_smoke(tmp_path, python):
    """The smoke configuration as an experiment file, EvoGym's interpreter `python` ("": the variable's)."""
    path = tmp_path / "smoke.toml"
    lines = [
        'name = "voxels-fidelity-smoke"',
        "[study]",
        'function = "gridworlds.studies.voxels_fidelity:fidelity"',
    ]
    lines += [f'evogym_python = "{python}"', *(o.removeprefix("study.") for o in SMOKE)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_smoke_run_against_a_fake_worker_agrees_perfectly_and_resumes(tmp_path):
    path = write_smoke(tmp_path, fake_interpreter(tmp_path, FAKE_WORKER.replace("REFUSED", "-1")))
    summary = run_experiment(path, runs_dir=tmp_path / "runs")
    out = tmp_path / "runs" / "voxels-fidelity-smoke"
    rows = {(row["task"], row["controller"]): row for row in summary["rows"]}
    assert set(rows) == {(t, c) for t in ("Walker-v0", "Pusher-v0") for c in ("sine-fast", "steps")}
    assert rows["Walker-v0", "steps"]["bodies"] == 4 and rows["Pusher-v0", "steps"]["bodies"] == 3
    for row in rows.values():  # the fake's "EvoGym" is ours: perfect agreement
        assert row["median_gap_displacement"] == 0.0 and row["within_displacement"] == 1.0
        rho = row["spearman_displacement"]
        assert np.isnan(rho) or rho == pytest.approx(1.0)
    rollouts = list(csv.DictReader(io.StringIO((out / "rollouts.csv").read_text())))
    assert len(rollouts) == 2 * (4 + 3)
    for name in ("report.md", "com-error.png", "returns.png", "disagreements-Walker-v0.png", "summary.csv"):
        assert (out / name).stat().st_size > 0
    assert "| Walker-v0 | steps | 4 |" in (out / "report.md").read_text()
    assert json.loads((out / "bodies.json").read_text()).keys() == {"5x5", "2x7"}

    # Resume keeps finished units: one removed is the only one played again.
    units = sorted((out / "units").glob("*.json"))
    assert len(units) == 6
    kept = {unit: unit.stat().st_mtime_ns for unit in units}
    removed = out / "units" / "Pusher-v0--5x5--steps.json"
    removed.unlink()
    again = run_experiment(path, runs_dir=tmp_path / "runs", resume=True)
    assert json.dumps(again["rows"]) == json.dumps(summary["rows"])  # (NaN != NaN, but its text is equal)
    assert removed.exists()
    assert all(unit.stat().st_mtime_ns == kept[unit] for unit in units if unit != removed)


def test_a_body_evogym_refuses_is_named_with_its_task(tmp_path):
    fake = fake_interpreter(tmp_path, FAKE_WORKER.replace("REFUSED", "request['body'][0][0]"))
    path = write_smoke(tmp_path, fake)
    with pytest.raises(
        EvoGymError, match=r"EvoGym failed on Pusher-v0 with body 5x5-0 \[\[.*EvoGym refused the body"
    ):
        run_experiment(path, runs_dir=tmp_path / "runs")


# --- the real EvoGym ---


@pytest.mark.skipif(not os.environ.get(EVOGYM_PYTHON_VARIABLE), reason=f"{EVOGYM_PYTHON_VARIABLE} is unset")
def test_against_the_real_evogym(tmp_path):
    """Both worlds start alike (the study checks every robot's start centre), EvoGym is reproducible,
    and it refuses a disconnected body with a message."""
    summary = run_experiment(write_smoke(tmp_path, ""), runs_dir=tmp_path / "runs")
    assert summary["evogym"].startswith("2.")
    assert all(0 <= row["within_displacement"] <= 1 for row in summary["rows"])
    pool = EvoGymPool(evogym_python(""), 1)
    body = [[3, 0, 3]]
    request = {"op": "rollout", "task": "Walker-v0", "body": body, "actions": [[1.0, 1.0]], "frames": []}
    with pytest.raises(EvoGymError, match="must be connected"):
        pool.ask(request)
    walker = np.array([[3, 3, 3], [4, 0, 4]])
    actions = controller_actions("steps", walker, 20, [0])
    request |= {
        "body": walker.tolist(),
        "actions": actions.tolist(),
        "perturbation": 1e-3,
        "perturbation_seed": 0,
    }
    first, second = pool.ask(request)["runs"], pool.ask(request)["runs"]
    pool.close()
    assert first == second
    ours = play_ours("Walker-v0", [walker], [actions])
    np.testing.assert_allclose(ours.start[0], first["evogym"]["start_robot"], atol=1e-12)


@pytest.mark.skipif(not os.environ.get(EVOGYM_PYTHON_VARIABLE), reason=f"{EVOGYM_PYTHON_VARIABLE} is unset")
def test_the_real_evogym_is_timed():
    peer, source = evogym_steps_per_second(0.2)
    assert peer > 0 and source.startswith("measured here, EvoGym 2.")

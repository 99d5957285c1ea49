"""TensorBoard from every learner: `gridworlds run` gives each its own folder, <seed>/tensorboard/<label>/,
which holds every metric of its reports (and, for the SB3 learners, SB3's own scalars); nothing is
written outside the run's directory: no SB3-<date> folder in the temp directory, nothing in the
working directory. Checkpoints do not keep the folder; a resumed run writes on into it."""

from __future__ import annotations

import csv
import importlib.util
import json
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from gridworlds.agents import MANIFEST, load_agent  # noqa: E402
from gridworlds.runner import run_experiment  # noqa: E402

QUADRANT = "gridworlds/HideAndSeekQuadrant-v0"
NEEDS_RAY = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs ray[rllib]")

# agent name -> (world, [env] table, params, budget, tags its TensorBoard must hold besides its reports')
LEARNERS = {
    "sb3": (
        "gridworlds/2048-v0",
        {},
        {"algo": "MaskablePPO", "n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1},
        128,  # two rollouts: SB3 writes train/ after the first update, with the second rollout's
        {"train/loss", "time/fps"},
    ),
    "sb3-selfplay": (
        QUADRANT,
        {"horizon": 8},
        {"n_envs": 1, "n_steps": 8, "batch_size": 32, "n_epochs": 1},
        16,
        {"train/loss", "rollout/ep_rew_mean", "hider_reward", "agent_steps_per_second"},
    ),
    "selfplay-ppo": (
        QUADRANT,
        {"horizon": 8},
        {"arenas": 2, "hidden": 8, "conv_channels": 4, "n_epochs": 1, "minibatches": 1, "threads": 1},
        32,
        {"hider_reward", "agent_steps_per_second"},
    ),
    "shared-ppo": (
        "gridworlds/Walker-v0",
        {},
        {"worlds": 2, "rollout": 8, "n_epochs": 1, "minibatches": 1, "width": 8, "heads": 1, "layers": 1},
        32,
        {"env_steps_per_second"},
    ),
    "othello-gpt": (
        "gridworlds/OthelloVs-v0",
        {},
        {
            "layers": 1,
            "d_model": 16,
            "heads": 1,
            "batch_size": 8,
            "dataset_games": 32,
            "eval_games": 8,
            "eval_every": 16,
            "threads": 1,
            "device": "cpu",
        },
        32,
        {"games_per_second"},
    ),
    "ntuple": ("gridworlds/2048-v0", {}, {"patterns": ["0123", "4567"]}, 4, {"score_mean", "reached_2048"}),
    "rllib-ppo": (
        QUADRANT,
        {"horizon": 8},
        {"train_batch_size": 16, "minibatch_size": 16, "n_epochs": 1, "hidden_sizes": [8]},
        16,
        {"agent_steps_per_second"},
    ),
}


def toml_value(value) -> str:
    return json.dumps(value)  # the JSON of these numbers, strings, booleans and lists is TOML too


def write_experiment(path: Path, name: str, label: str) -> Path:
    world, env, params, budget, _ = LEARNERS[name]
    inline = ", ".join(f"{key} = {toml_value(value)}" for key, value in params.items())
    env_table = "".join(f"{key} = {toml_value(value)}\n" for key, value in env.items())
    path.write_text(
        f'name = "tb"\nworld = "{world}"\nseeds = [0]\n\n[env]\n{env_table}\n'
        f'[[agents]]\nname = "{name}"\nlabel = "{label}"\nparams = {{ {inline} }}\n\n'
        f"[train]\nbudget = {budget}\ncheckpoint_every = {budget // 2}\n\n[eval]\nepisodes = 1\n"
    )
    return path


@pytest.fixture
def sealed(tmp_path, monkeypatch):
    """The test's own temp directory and working directory, both empty: whatever a learner writes
    outside its run's directory shows up in one of them."""
    temp, cwd = tmp_path / "temp", tmp_path / "cwd"
    temp.mkdir()
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    monkeypatch.chdir(cwd)
    yield tmp_path
    # torch keeps its compiler's cache in the temp directory (torchinductor_<user>): not a log.
    left = [path.name for path in temp.iterdir() if not path.name.startswith("torchinductor_")]
    assert not left, f"written to the temp directory: {left}"
    assert not any(cwd.iterdir()), f"written to the working directory: {sorted(cwd.iterdir())}"


def scalar_tags(directory: Path) -> set[str]:
    events = EventAccumulator(str(directory))
    events.Reload()
    return set(events.Tags()["scalars"])


def reported_metrics(run: Path, label: str) -> set[str]:
    with (run / "metrics.csv").open() as file:
        rows = [row for row in csv.DictReader(file) if row["agent"] == label]
    return {row["metric"] for row in rows if not row["metric"].startswith("eval/")}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=NEEDS_RAY) if name == "rllib-ppo" else name for name in LEARNERS]
)
def test_every_learner_writes_tensorboard_into_its_own_folder_of_the_run(name, sealed, one_torch_thread):
    experiment = write_experiment(sealed / "experiment.toml", name, label="learner")
    run_experiment(experiment, runs_dir=sealed / "runs")
    run = sealed / "runs" / "tb" / "0"
    folder = run / "tensorboard" / "learner"
    assert any(folder.glob("events.out.tfevents.*"))
    assert [path.name for path in (run / "tensorboard").iterdir()] == ["learner"]
    tags = scalar_tags(folder)
    expected = LEARNERS[name][-1]
    assert expected <= tags, f"missing: {expected - tags}"
    reported = reported_metrics(run, "learner")
    assert reported <= tags, f"reported but not in TensorBoard: {reported - tags}"
    # The checkpoint does not name the run's folder, and a loaded agent writes no TensorBoard.
    manifest = json.loads((run / "checkpoint-learner" / MANIFEST).read_text())
    assert "tensorboard" not in manifest["params"]
    assert load_agent(run / "checkpoint-learner").config.tensorboard is None


class Crash(Exception):
    pass


def test_a_resumed_run_writes_on_into_the_same_folder(sealed, monkeypatch, one_torch_thread):
    from gridworlds.agents.hide_and_seek.selfplay_ppo import Trainer

    experiment = write_experiment(sealed / "experiment.toml", "selfplay-ppo", label="learner")
    overrides = ["train.budget=48", "train.checkpoint_every=16"]  # an update is 2 arenas x 8 steps
    update, updates = Trainer.update, []

    def crashing_update(trainer, batch):
        updates.append(batch)
        if len(updates) == 3:  # after the checkpoint at 32
            raise Crash
        return update(trainer, batch)

    monkeypatch.setattr(Trainer, "update", crashing_update)
    with pytest.raises(Crash):
        run_experiment(experiment, overrides, runs_dir=sealed / "runs")
    monkeypatch.setattr(Trainer, "update", update)
    folder = sealed / "runs" / "tb" / "0" / "tensorboard" / "learner"
    first = set(folder.iterdir())
    run_experiment(experiment, overrides, runs_dir=sealed / "runs", resume=True)
    assert len(set(folder.iterdir()) - first) == 1  # one more event file, beside the first run's
    events = EventAccumulator(str(folder))
    events.Reload()
    assert [event.step for event in events.Scalars("agent_steps_per_second")] == [16, 32, 48]


def test_tensorboard_in_an_experiment_file_is_refused(sealed):
    experiment = write_experiment(sealed / "experiment.toml", "ntuple", label="learner")
    with pytest.raises(ValueError, match="params.tensorboard cannot be set; the runner sets it"):
        run_experiment(experiment, ["agents.0.params.tensorboard='tb'"], runs_dir=sealed / "runs")


def test_an_agent_outside_a_run_writes_tensorboard_only_when_given_a_directory(sealed, one_torch_thread):
    from gridworlds.agents import make_agent

    world, _, params, _, _ = LEARNERS["sb3"]
    make_agent("sb3", world, seed=0, **params).learn(None, 64)
    assert not any(sealed.glob("**/events.out.tfevents.*"))
    make_agent("sb3", world, seed=0, tensorboard=str(sealed / "tb"), **params).learn(None, 128)
    assert "train/loss" in scalar_tags(sealed / "tb")

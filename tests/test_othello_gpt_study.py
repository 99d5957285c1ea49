"""The OthelloGPT probing experiment in its tiny configuration: the whole pipeline, its learning target
against the untrained control, the report, bad parameters, and resuming after a crash."""

import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest

from gridworlds.agents.othello.gpt import OthelloGPTAgent
from gridworlds.runner.run import run_experiment
from gridworlds.studies.othello import moves_only

TINY = """
name = "othello-gpt-tiny"
[study]
function = "gridworlds.studies.othello:probing_study"
seed = 0
device = "cpu"
model = { layers = 2, d_model = 64, heads = 2 }
probe = { train_games = 300, test_games = 100, mlp_hidden = 64 }
sae = { seeds = [0, 1], steps = 300, batch_size = 256 }
[study.train]
games = 12288
dataset_games = 12288
batch_size = 64
learning_rate = 3e-3
warmup_games = 1024
eval_every = 3072
eval_games = 200
threads = 1
"""


def _training(out):
    with open(out / "training.csv") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("othello-gpt")
    path = root / "tiny.toml"
    path.write_text(TINY)
    summary = run_experiment(path, runs_dir=root / "runs")
    return path, root, summary, root / "runs" / "othello-gpt-tiny"


def test_tiny_pipeline_learns_far_above_the_untrained_control(tiny_run):
    _, _, summary, out = tiny_run
    rows = _training(out)
    assert [int(row["games"]) for row in rows] == [0, 3072, 6144, 9216, 12288]
    assert float(rows[0]["legal_top1"]) < 0.25  # the untrained control
    assert summary["legal_top1"] >= 0.5
    for name in ("report.md", "legality.png", "probes.png", "sae_features.png", "feature_maps.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "model" / "agent.json").exists() and any((out / "tensorboard").iterdir())


def test_tiny_pipeline_probes_and_saes_every_layer(tiny_run):
    _, _, summary, out = tiny_run
    probes = json.loads((out / "probes.json").read_text())
    layers = 3  # the embedding and two blocks
    assert {label: len(scores) for label, scores in probes["linear"].items()} == {
        label: layers
        for label in (
            "colour",
            "relative",
            "flipped",
            "placed",
            "legal_next",
            "stable_heuristic",
            "stable_rule",
            "stable_final",
        )
    }
    # the embedding holds the move just played, so a probe reads the placed square there
    assert probes["linear"]["placed"][0]["balanced_accuracy"] > 0.75
    saes = json.loads((out / "saes.json").read_text())
    assert sorted((row["layer"], row["seed"]) for row in saes["rows"]) == [
        (layer, seed) for layer in range(layers) for seed in (0, 1)
    ]
    assert all(0 <= row["fvu"] < 0.5 and 0 <= row["dead_fraction"] <= 1 for row in saes["rows"])
    assert [row["layer"] for row in summary["rows"]] == list(range(layers))
    # no model: a linear probe on the moves alone reads the empty squares, so more than a prior does
    assert probes["moves_only"]["relative"]["accuracy"] > probes["linear"]["relative"][0]["accuracy"]
    report = (out / "report.md").read_text()
    assert "62.1" in report and "Held-out top-1 legal move rate" in report and "moves alone" in report


def test_moves_only_holds_the_squares_played_the_move_number_and_the_last_move():
    tokens = np.zeros((2, 60), dtype=np.int64)
    tokens[0, :3] = [5, 9, 60]
    tokens[1, :1] = [1]
    held = SimpleNamespace(tokens=tokens, where=np.array([[0, 0], [0, 2], [1, 0]]))
    features = moves_only(held)
    assert features.shape == (3, 60 + 59 + 60)
    played, move_number, last = features[:, :60], features[:, 60:119], features[:, 119:]
    assert [list(np.flatnonzero(row) + 1) for row in played] == [[5], [5, 9, 60], [1]]
    assert [list(np.flatnonzero(row)) for row in move_number] == [[0], [2], [0]]
    assert [list(np.flatnonzero(row) + 1) for row in last] == [[5], [60], [1]]


def test_resume_keeps_finished_stages(tiny_run):
    path, root, summary, out = tiny_run
    before = {name: (out / name).read_text() for name in ("training.csv", "probes.json", "saes.json")}
    again = run_experiment(path, runs_dir=root / "runs", resume=True)
    assert again["rows"] == summary["rows"]
    assert {name: (out / name).read_text() for name in before} == before


def test_training_resumes_from_its_checkpoint_after_a_crash(tmp_path, monkeypatch):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    learn = OthelloGPTAgent.learn

    def crash_after_two_reports(self, data, budget, callback=None):
        calls = []

        def counting(games, metrics):
            callback(games, metrics)
            calls.append(games)
            if len(calls) == 2:
                raise KeyboardInterrupt

        return learn(self, data, budget, counting)

    monkeypatch.setattr(OthelloGPTAgent, "learn", crash_after_two_reports)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, runs_dir=tmp_path / "runs")
    out = tmp_path / "runs" / "othello-gpt-tiny"
    assert [int(row["games"]) for row in _training(out)] == [0, 3072, 6144]
    monkeypatch.setattr(OthelloGPTAgent, "learn", learn)
    run_experiment(path, runs_dir=tmp_path / "runs", resume=True)
    assert [int(row["games"]) for row in _training(out)] == [0, 3072, 6144, 9216, 12288]


def test_bad_parameters_name_the_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(TINY.replace("games = 12288", "games = -5"))
    with pytest.raises(ValueError, match="study.train.games"):
        run_experiment(path, runs_dir=tmp_path / "runs")
    path.write_text(TINY.replace("heads = 2", "heads = 2, depth = 9"))
    with pytest.raises(ValueError, match="study.model"):
        run_experiment(path, runs_dir=tmp_path / "runs")


@pytest.mark.parametrize(
    ("old", "new", "table"),
    [("epochs", "n_epochs", "probe"), ("lr", "learning_rate", "probe"), ("lr", "learning_rate", "sae")],
)
def test_old_setting_names_ask_did_you_mean(tmp_path, old, new, table):
    path = tmp_path / "old.toml"
    path.write_text(TINY.replace(f"{table} = {{ ", f"{table} = {{ {old} = 1, "))
    message = f"old.toml: study.{table}.{old} was renamed {new}: did you mean study.{table}.{new}?"
    with pytest.raises(ValueError) as error:
        run_experiment(path, runs_dir=tmp_path / "runs")
    assert message in str(error.value)

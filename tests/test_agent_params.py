"""Agents' parameters are checked, types, ranges and bounds, when an experiment file loads, before
anything is written; a missing optional dependency names its extra; the runner's smaller promises
([eval] record, resuming an older config.toml, the modes of the files it writes)."""

from __future__ import annotations

import inspect
import os
import stat
import sys
from pathlib import Path

import pytest

from gridworlds import atomic, make
from gridworlds.agents import AgentBase, CheckpointReader, CheckpointWriter, reporting
from gridworlds.cli import main
from gridworlds.extras import MissingExtra
from gridworlds.runner.config import load_experiment

# (agent, world, params, the field its error names, the optional module the agent needs)
BAD_PARAMS = [
    ("alphabeta", "gridworlds/OthelloVs-v0", "{ depth = 1_000_000_000 }", "depth", None),
    ("alphabeta", "gridworlds/OthelloVs-v0", "{ depth = 11 }", "depth", None),
    ("ntuple", "gridworlds/2048-v0", "{ depth = 7 }", "depth", None),
    ("ntuple", "gridworlds/2048-v0", "{ threads = 8000 }", "threads", None),
    (
        "ntuple",
        "gridworlds/2048-v0",
        '{ patterns = ["01234567", "89abcdef"], stages = [2048] }',
        "patterns",
        None,
    ),
    ("expectimax", "gridworlds/2048-v0", '{ network = "runs/x", depth = 100 }', "depth", None),
    ("ca-rule", "gridworlds/TouchingLoops-v0", "{ max_visits = 100_000_000_000 }", "max_visits", None),
    ("ca-rule", "gridworlds/TouchingLoops-v0", '{ action = "toggle" }', "action", None),
    ("scripted", "gridworlds/HideAndSeekQuadrant-v0", '{ hiders = "chase" }', "hiders", None),
    ("sb3", "gridworlds/2048-v0", "{ n_steps = -5 }", "n_steps", "stable_baselines3"),
    ("sb3", "gridworlds/2048-v0", "{ n_envs = 8000 }", "n_envs", "stable_baselines3"),
    ("sb3", "gridworlds/2048-v0", '{ learning_rate = "fast" }', "learning_rate", "stable_baselines3"),
    ("sb3", "gridworlds/2048-v0", "{ gae_lambda = 1.5 }", "gae_lambda", "stable_baselines3"),
    (
        "sb3",
        "gridworlds/2048-v0",
        "{ n_envs = 2, n_steps = 64, batch_size = 100 }",
        "batch_size",
        "stable_baselines3",
    ),
    (
        "sb3",
        "gridworlds/2048-v0",
        "{ normalize_advantage = true, batch_size = 1 }",
        "batch_size",
        "stable_baselines3",
    ),
    (
        "sb3",
        "gridworlds/2048-v0",
        "{ policy_kwargs = { net_arch = [64, 0] } }",
        "policy_kwargs.net_arch",
        "stable_baselines3",
    ),
    (
        "sb3",
        "gridworlds/2048-v0",
        '{ policy_kwargs = { activation_fn = "tanh" } }',
        "policy_kwargs.activation_fn",
        "stable_baselines3",
    ),
    ("sb3-selfplay", "gridworlds/HideAndSeekQuadrant-v0", "{ n_steps = 0 }", "n_steps", "supersuit"),
    ("selfplay-ppo", "gridworlds/HideAndSeekQuadrant-v0", "{ arenas = 64_000 }", "arenas", "torch"),
    ("selfplay-ppo", "gridworlds/HideAndSeekQuadrant-v0", "{ n_epochs = 4_000 }", "n_epochs", "torch"),
    ("shared-ppo", "gridworlds/Walker-v0", "{ worlds = 16_000 }", "worlds", "torch"),
    ("othello-gpt", "gridworlds/OthelloVs-v0", "{ d_model = 128_000 }", "d_model", "torch"),
    ("othello-gpt", "gridworlds/OthelloVs-v0", "{ dataset_games = 500_000_000 }", "dataset_games", "torch"),
]

EXPERIMENT = """
world = "{world}"

[[agents]]
name = "{agent}"
params = {params}

[eval]
episodes = 1
max_steps = 3
"""


def experiment(tmp_path: Path, agent: str, world: str, params: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(EXPERIMENT.format(agent=agent, world=world, params=params))
    return path


@pytest.mark.parametrize(("agent", "world", "params", "field", "needs"), BAD_PARAMS)
def test_a_bad_value_names_the_file_and_the_field(tmp_path, agent, world, params, field, needs):
    if needs:
        pytest.importorskip(needs)
    with pytest.raises(ValueError, match=rf"x.toml: agents.0.params.{field} "):
        load_experiment(experiment(tmp_path, agent, world, params))


def test_a_bad_value_writes_nothing_and_the_corrected_rerun_needs_no_overwrite(tmp_path, capsys):
    runs = tmp_path / "runs"
    bad = experiment(tmp_path, "alphabeta", "gridworlds/OthelloVs-v0", "{ depth = 1_000_000_000 }")
    assert main(["run", str(bad), "--runs-dir", str(runs)]) == 2
    assert "x.toml: agents.0.params.depth must be an integer from 1 to 10" in capsys.readouterr().err
    assert not (runs / "x").exists()

    good = experiment(tmp_path, "alphabeta", "gridworlds/OthelloVs-v0", "{ depth = 1 }")
    assert main(["run", str(good), "--runs-dir", str(runs)]) == 0
    assert (runs / "x" / "0" / "summary.json").is_file()


def test_the_view_radius_is_bounded_by_the_arena():
    with pytest.raises(ValueError, match="view_radius must be an integer from 1 to 12, got 8000"):
        make("gridworlds/HideAndSeekQuadrant-v0", view_radius=8000)
    make("gridworlds/HideAndSeekQuadrant-v0", view_radius=12).close()


def test_the_same_check_runs_when_the_agent_is_built():
    from gridworlds.agents import make_agent

    with pytest.raises(ValueError, match="depth must be an integer from 1 to 10, got 11"):
        make_agent("alphabeta", "gridworlds/OthelloVs-v0", depth=11)
    with pytest.raises(ValueError, match="max_visits must be an integer"):
        make_agent("ca-rule", "gridworlds/TouchingLoops-v0", max_visits=0)


# --- a missing optional dependency names its extra ---


def test_tensorboard_without_torch_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with (
        pytest.raises(MissingExtra, match=r"tensorboard=DIR needs the `learn` extra"),
        reporting(str(tmp_path), None),
    ):
        pass


def test_torch_checkpoints_without_safetensors_name_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    needs = r"a checkpoint of torch tensors needs the `learn` extra \(safetensors is not installed\)"
    with pytest.raises(MissingExtra, match=needs):
        CheckpointWriter(tmp_path).tensors("model.safetensors", {})
    with pytest.raises(MissingExtra, match=needs):
        CheckpointReader(tmp_path, {"files": {}}).tensors("model.safetensors")


def test_ray_without_ray_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    path = experiment(tmp_path, "random", "gridworlds/2048-v0", "{}")
    assert main(["run", str(path), "--runs-dir", str(tmp_path / "runs"), "--ray", "auto"]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("--ray needs the `ray` extra (ray is not installed): pip install 'gridworlds[ray]'")
    )


def test_the_shared_ppo_controller_without_torch_names_the_extra(monkeypatch):
    from gridworlds.runner.config import Fields
    from gridworlds.studies import voxels as study

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "gridworlds.agents.voxels.policy", raising=False)
    needs = r"study.controller = shared-ppo needs the `learn` extra \(torch is not installed\)"
    with pytest.raises(MissingExtra, match=needs):
        study.check_ppo({}, Fields("x.toml"))
    with pytest.raises(MissingExtra, match=needs):
        study.shared_ppo_controller("Walker-v0", 0, {"ppo": {"steps_per_generation": 1}})


def test_a_study_whose_module_needs_a_missing_extra_says_which(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "gridworlds.agents.hide_and_seek.rllib", raising=False)
    path = tmp_path / "x.toml"
    path.write_text('[study]\nfunction = "gridworlds.agents.hide_and_seek.rllib:RLlibPPO"\n')
    with pytest.raises(MissingExtra, match=r"needs the `rllib` extra"):
        load_experiment(path)


# --- loose ends ---


RECORDED = """
world = "gridworlds/2048-v0"

[[agents]]
name = "random"

[[agents]]
name = "greedy"

[eval]
episodes = 2
max_steps = 4
record = true
"""


def test_eval_record_writes_each_agents_first_evaluation_game(tmp_path, monkeypatch):
    from gridworlds.runner import run
    from gridworlds.viewer import record

    recorded, evaluated = [], []
    real_evaluate, real_record = run.evaluate, record.record_episode

    def evaluate(agent, world, env, episodes, seed, *args):
        evaluated.append(seed)
        return real_evaluate(agent, world, env, episodes, seed, *args)

    monkeypatch.setattr(run, "evaluate", evaluate)

    def record_episode(*args, seed=None, **kwargs):
        recorded.append(seed)
        return real_record(*args, seed=seed, **kwargs)

    monkeypatch.setattr(record, "record_episode", record_episode)
    (tmp_path / "x.toml").write_text(RECORDED)
    assert main(["run", str(tmp_path / "x.toml"), "--runs-dir", str(tmp_path / "runs")]) == 0
    seed_dir = tmp_path / "runs" / "x" / "0"
    for label in ("random", "greedy"):
        assert (seed_dir / f"{label}.gif").read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    assert recorded == evaluated == [evaluated[0]] * 2


def test_resuming_a_config_written_before_a_new_field_is_no_change(tmp_path):
    runs = tmp_path / "runs"
    (tmp_path / "x.toml").write_text(RECORDED.replace("record = true", ""))
    assert main(["run", str(tmp_path / "x.toml"), "--runs-dir", str(runs)]) == 0
    config = runs / "x" / "0" / "config.toml"
    config.write_text(config.read_text().replace("record = false\n", ""))  # as an older gridworlds wrote it
    assert "record" not in config.read_text()
    assert main(["run", str(tmp_path / "x.toml"), "--runs-dir", str(runs), "--resume"]) == 0


def test_a_changed_field_still_refuses_to_resume(tmp_path, capsys):
    runs = tmp_path / "runs"
    (tmp_path / "x.toml").write_text(RECORDED.replace("record = true", ""))
    assert main(["run", str(tmp_path / "x.toml"), "--runs-dir", str(runs)]) == 0
    args = ["run", str(tmp_path / "x.toml"), "--runs-dir", str(runs), "--resume", "--set", "eval.max_steps=5"]
    assert main(args) == 2
    assert "eval.max_steps changed" in capsys.readouterr().err


def test_the_scripted_agent_binds_as_the_protocol_says():
    from gridworlds.agents.hide_and_seek.scripted import ScriptedAgent

    assert inspect.signature(ScriptedAgent.bind).parameters == inspect.signature(AgentBase.bind).parameters
    env = make("gridworlds/HideAndSeekQuadrant-v0")
    with pytest.raises(
        ValueError, match=r"seat must be one of hider_0..hider_1, seeker_0..seeker_1, got None"
    ):
        ScriptedAgent("gridworlds/HideAndSeekQuadrant-v0", seed=0).bind(env)


def test_written_files_and_directories_have_the_modes_of_an_ordinary_write(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    atomic.write_text(tmp_path / "file.txt", "x")
    with atomic.directory(tmp_path / "folder"):
        pass
    assert stat.S_IMODE((tmp_path / "file.txt").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o777 & ~umask

"""The experiment runner: config checks, --set, --seeds, runs and their files, resume, fan-out, evaluation."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from gridworlds.agents import AGENTS, AgentBase, make_agent, read_manifest
from gridworlds.cli import main
from gridworlds.runner import evaluate, evaluate_command, run_experiment
from gridworlds.runner.config import load_experiment, parse_seeds
from gridworlds.runner.run import COLUMNS

WORLD = "gridworlds/2048-v0"

BASELINES = """
name = "tiny"
world = "gridworlds/2048-v0"
seeds = [0]

[[agents]]
name = "random"

[[agents]]
name = "greedy"

[eval]
episodes = 20
"""

# random finishes at once (it learns nothing), counting checkpoints every 20 steps and reports every 10.
TRAINING = """
name = "training"
world = "gridworlds/2048-v0"

[[agents]]
name = "random"

[[agents]]
name = "counting"

[train]
budget = 100
eval_every = 50
eval_episodes = 2
checkpoint_every = 20

[eval]
episodes = 2
"""


class Crash(Exception):
    pass


class CountingAgent(AgentBase):
    """Learns nothing but counts its steps; reports every `report_every`; crashes at `crash_at` if set."""

    name = "counting"
    crash_at: int | None = None

    def __init__(self, world_id: str, seed: int | None = None, report_every: int = 10):
        self.world_id, self.seed, self.report_every = world_id, seed, report_every
        self.steps = 0

    def act(self, observation, info):
        return int(np.flatnonzero(info["action_mask"])[0])

    def learn(self, env, budget, callback=None):
        for _ in range(budget):
            self.steps += 1
            if self.steps == CountingAgent.crash_at:
                raise Crash(f"crashed at step {self.steps}")
            if callback is not None and self.steps % self.report_every == 0:
                callback(self.steps, {"steps_seen": float(self.steps)})
        return {"steps_seen": float(self.steps)}

    def params(self):
        return {"seed": self.seed, "report_every": self.report_every}

    def store(self, files):
        files.json("steps.json", self.steps)

    def restore(self, checkpoint):
        self.steps = checkpoint.json("steps.json")


@pytest.fixture
def counting(monkeypatch):
    monkeypatch.setitem(AGENTS, "counting", {"*": f"{__name__}:CountingAgent"})
    monkeypatch.setattr(CountingAgent, "crash_at", None)


def write(tmp_path: Path, text: str, name: str = "x.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


# --- experiment files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASELINES + "[train]\nbudget = 'abc'\n", "train.budget must be a non-negative integer, got 'abc'"),
        (BASELINES + "[train]\nbudget = true\n", "train.budget must be a non-negative integer, got True"),
        (
            BASELINES.replace("episodes = 20", "episodes = 0"),
            "eval.episodes must be a positive integer, got 0",
        ),
        (BASELINES + "[trian]\n", "unknown field trian (did you mean train?)"),
        (
            BASELINES.replace('name = "greedy"', 'name = "greedy"\nlable = "g"'),
            "unknown field agents.1.lable",
        ),
        (BASELINES.replace("2048-v0", "4096-v0"), "world must be a registered world id"),
        (BASELINES.replace('"greedy"', '"grady"'), "agents.1.name must be a registered agent name"),
        (BASELINES.replace('"greedy"', '"random"'), "agents.1.label must be unique"),
        (BASELINES.replace('name = "tiny"', 'name = "a/b"'), "name must be a name of letters"),
        (BASELINES.replace("seeds = [0]", "seeds = [1, 1]"), "seeds must be a non-empty array of distinct"),
        (
            BASELINES.replace('name = "greedy"', 'name = "greedy"\nparams = {seed = 3}'),
            "agents.1.params.seed",
        ),
        ('world = "gridworlds/2048-v0"\n', "agents is missing"),
        (BASELINES + "[env]\nobservation = 'rgb'\n", "env: observation must be one of"),
        (BASELINES + "name = \n", "invalid TOML"),
    ],
)
def test_bad_experiment_files_name_the_file_and_the_field(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match="x.toml") as error:
        load_experiment(path)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parents[1] / "experiments").glob("*.toml")), ids=lambda path: path.name
)
def test_every_experiment_file_loads(path):
    try:
        load_experiment(path)  # checks every field, as `gridworlds run` does before it starts
    except ModuleNotFoundError as error:  # an experiment for an extra that is not installed (ray)
        pytest.skip(f"needs {error.name}")


def test_defaults_are_filled_in(tmp_path):
    experiment = load_experiment(write(tmp_path, BASELINES, "my-exp.toml"))
    assert experiment.seeds == [0]
    assert [(a.name, a.label, a.params) for a in experiment.agents] == [
        ("random", "random", {}),
        ("greedy", "greedy", {}),
    ]
    assert (experiment.train.budget, experiment.train.eval_episodes, experiment.eval.max_steps) == (0, 10, 0)
    unnamed = load_experiment(write(tmp_path, BASELINES.replace('name = "tiny"', ""), "my-exp.toml"))
    assert unnamed.name == "my-exp"


def test_overrides_set_dotted_fields_as_toml_values(tmp_path):
    overrides = [
        "train.budget=1000",
        "agents.1.label=greedy-2",
        "env.observation=onehot",
        "seeds=[3, 4]",
        'name="quoted"',
    ]
    experiment = load_experiment(write(tmp_path, BASELINES), overrides)
    assert experiment.train.budget == 1000
    assert experiment.agents[1].label == "greedy-2"
    assert experiment.env == {"observation": "onehot"}
    assert experiment.seeds == [3, 4]
    assert experiment.name == "quoted"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.budget", "expected KEY=VALUE"),
        ("=3", "expected KEY=VALUE"),
        ("agents.5.name=x", "agents.5 is not an index"),
        ("eval.episodes.x=1", "eval.episodes is 20, not a table"),
        ("train.budget=abc", "train.budget must be a non-negative integer, got 'abc'"),
    ],
)
def test_bad_overrides(tmp_path, override, message):
    with pytest.raises(ValueError) as error:
        load_experiment(write(tmp_path, BASELINES), [override])
    assert message in str(error.value)


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,2,5") == [0, 2, 5]
    assert parse_seeds("0-1, 7") == [0, 1, 7]
    assert parse_seeds("4") == [4]
    for bad in ["", "a", "3-1", "1,1", "-1", "0-", "1.5"]:
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


# --- runs -----------------------------------------------------------------------------------------


def test_baselines_run_writes_every_file_and_greedy_beats_random(tmp_path, capsys):
    run_experiment(write(tmp_path, BASELINES), runs_dir=tmp_path / "runs")
    root = tmp_path / "runs" / "tiny"
    seed_dir = root / "0"
    assert sorted(p.name for p in root.iterdir()) == ["0", "evaluation.png", "summary.json"]
    assert sorted(p.name for p in seed_dir.iterdir()) == [
        "checkpoint-greedy",
        "checkpoint-random",
        "config.toml",
        "evaluation.png",
        "metrics.csv",
        "summary.json",
    ]  # no training.png: nothing was trained
    for png in (root / "evaluation.png", seed_dir / "evaluation.png"):
        assert png.read_bytes().startswith(b"\x89PNG")
    assert seed_dir.joinpath("metrics.csv").read_text() == ",".join(COLUMNS) + "\n"
    assert (
        tomllib.loads(seed_dir.joinpath("config.toml").read_text())
        == load_experiment(write(tmp_path, BASELINES)).to_dict()
    )
    assert read_manifest(seed_dir / "checkpoint-greedy")["name"] == "greedy"
    # Each checkpoint holds the progress it stands for: nothing trained.
    for label in ("random", "greedy"):
        progress = read_manifest(seed_dir / f"checkpoint-{label}")["progress"]
        assert progress == {"steps": 0, "train_time": 0.0, "train_metrics": {}}

    agents = json.loads(seed_dir.joinpath("summary.json").read_text())["agents"]
    assert agents["greedy"]["eval"]["score_mean"] > agents["random"]["eval"]["score_mean"]
    assert agents["greedy"]["steps"] == 0 and agents["greedy"]["train"] == {}
    over_seeds = json.loads(root.joinpath("summary.json").read_text())
    assert over_seeds["seeds"] == [0]
    assert over_seeds["agents"]["greedy"]["eval/score_mean"] == {
        "mean": agents["greedy"]["eval"]["score_mean"],
        "std": 0.0,
    }
    assert "eval/reached_2048_mean" in capsys.readouterr().out

    with pytest.raises(ValueError, match="--resume .* --overwrite"):
        run_experiment(write(tmp_path, BASELINES), runs_dir=tmp_path / "runs")
    run_experiment(
        write(tmp_path, BASELINES), overrides=["eval.episodes=2"], overwrite=True, runs_dir=tmp_path / "runs"
    )
    assert tomllib.loads(seed_dir.joinpath("config.toml").read_text())["eval"]["episodes"] == 2

    # `gridworlds eval` takes a checkpoint as well as a name.
    metrics = evaluate_command(WORLD, str(seed_dir / "checkpoint-greedy"), episodes=2)
    assert metrics["length_mean"] > 0 and "score_mean" in capsys.readouterr().out
    with pytest.raises(ValueError, match="not a checkpoint directory"):
        evaluate_command(WORLD, str(tmp_path / "nowhere"), episodes=2)


def test_resume_after_a_crash_finishes_the_budget_from_the_last_checkpoint(tmp_path, counting):
    path = write(tmp_path, TRAINING)
    seed_dir = tmp_path / "runs" / "training" / "0"
    CountingAgent.crash_at = 75  # after the checkpoint at 60 and the report at 70
    with pytest.raises(Crash):
        run_experiment(path, runs_dir=tmp_path / "runs")
    assert read_manifest(seed_dir / "checkpoint-counting")["progress"]["steps"] == 60
    finished = json.loads(seed_dir.joinpath("summary.json").read_text())["agents"]
    assert set(finished) == {"random"}  # counting is not finished
    random_before = finished["random"]

    with pytest.raises(ValueError, match="train.budget changed"):
        run_experiment(path, overrides=["train.budget=200"], resume=True, runs_dir=tmp_path / "runs")

    CountingAgent.crash_at = None
    run_experiment(path, resume=True, runs_dir=tmp_path / "runs")
    agents = json.loads(seed_dir.joinpath("summary.json").read_text())["agents"]
    assert agents["random"] == random_before  # finished agents are not run again
    assert agents["counting"]["steps"] == 100
    assert agents["counting"]["train"] == {"steps_seen": 100.0}
    assert read_manifest(seed_dir / "checkpoint-counting")["progress"]["steps"] == 100

    rows = [row for row in read_csv(seed_dir / "metrics.csv") if row["agent"] == "counting"]
    reports = [(int(row["step"]), float(row["value"])) for row in rows if row["metric"] == "steps_seen"]
    assert reports == [(step, float(step)) for step in range(10, 101, 10)]  # each once, counting on from 60
    assert [int(row["step"]) for row in rows if row["metric"] == "eval/return_mean"] == [50, 100]
    assert (seed_dir / "training.png").read_bytes().startswith(b"\x89PNG")


def test_two_seeds_fan_out_over_processes(tmp_path, capsys):
    run_experiment(
        write(tmp_path, BASELINES), overrides=["eval.episodes=3"], seeds="0-1", runs_dir=tmp_path / "runs"
    )
    root = tmp_path / "runs" / "tiny"
    per_seed = [json.loads(root.joinpath(seed, "summary.json").read_text()) for seed in ("0", "1")]
    assert [summary["seed"] for summary in per_seed] == [0, 1]
    assert per_seed[0]["agents"]["random"]["eval"] != per_seed[1]["agents"]["random"]["eval"]  # other games
    over_seeds = json.loads(root.joinpath("summary.json").read_text())
    scores = [summary["agents"]["greedy"]["eval"]["score_mean"] for summary in per_seed]
    assert over_seeds["seeds"] == [0, 1]
    assert over_seeds["agents"]["greedy"]["eval/score_mean"] == pytest.approx(
        {"mean": np.mean(scores), "std": np.std(scores, ddof=1)}
    )
    assert " ± " in capsys.readouterr().out


@pytest.mark.slow
def test_seeds_as_ray_tasks(tmp_path):
    pytest.importorskip("ray")
    run_experiment(
        write(tmp_path, BASELINES),
        overrides=["eval.episodes=2"],
        seeds="0-1",
        runs_dir=tmp_path / "runs",
        ray_address="local",
    )
    over_seeds = json.loads((tmp_path / "runs" / "tiny" / "summary.json").read_text())
    assert over_seeds["seeds"] == [0, 1] and set(over_seeds["agents"]) == {"random", "greedy"}


def test_cli_reports_user_errors_with_exit_status_2(tmp_path, capsys):
    assert main(["run", str(write(tmp_path, BASELINES)), "--seeds", "3-1"]) == 2
    assert "--seeds" in capsys.readouterr().err


# --- evaluation -------------------------------------------------------------------------------------


def test_evaluate_is_deterministic_given_the_seeds():
    def run(agent_seed, seed, **kwargs):
        metrics = evaluate(make_agent("random", WORLD, seed=agent_seed), WORLD, {}, 4, seed, **kwargs)
        del metrics["moves_per_second"]  # the one measurement that is not a function of the seeds
        return metrics

    first = run(1, 10)
    assert first == run(1, 10)
    assert first != run(1, 11)
    assert set(first) >= {
        "return_mean",
        "return_std",
        "length_mean",
        "score_mean",
        "score_max",
        "reached_2048_mean",
    }
    assert run(1, 10, max_steps=5)["length_mean"] == 5  # no game of 2048 ends within 5 moves


def test_a_checkpoint_interrupted_between_its_renames_is_recovered(tmp_path):
    agent = make_agent("random", WORLD, seed=3)
    agent.save(tmp_path / "ckpt")
    # As if a later save had moved the old version aside and died before renaming the new one in.
    (tmp_path / "ckpt").rename(tmp_path / ".ckpt.old")
    from gridworlds.agents import load_agent

    assert load_agent(tmp_path / "ckpt").seed == 3
    assert (tmp_path / "ckpt").is_dir() and not (tmp_path / ".ckpt.old").exists()


def test_agent_parameters_are_checked_when_the_file_loads(tmp_path):
    text = BASELINES.replace('name = "greedy"', 'name = "greedy"\nparams = { temprature = 2 }')
    with pytest.raises(ValueError, match=r"x.toml: agents.1.params: unknown parameters \['temprature'\]"):
        load_experiment(write(tmp_path, text))


@pytest.mark.parametrize(
    ("old", "new"), [("lr", "learning_rate"), ("entropy", "ent_coef"), ("epochs", "n_epochs")]
)
def test_old_setting_names_of_agents_ask_did_you_mean(tmp_path, old, new):
    text = BASELINES.replace('name = "greedy"', f'name = "sb3"\nparams = {{ {old} = 1 }}')
    message = f"x.toml: agents.1.params.{old} was renamed {new}: did you mean agents.1.params.{new}?"
    with pytest.raises(ValueError) as error:
        load_experiment(write(tmp_path, text))
    assert message in str(error.value)
    with pytest.raises(ValueError, match=f"did you mean {new}"):
        make_agent("sb3", WORLD, **{old: 1})

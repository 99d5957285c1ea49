"""The n-tuple agents: learning through the agent interface, schedules, checkpoints, fast evaluation."""

import csv
import hashlib
import json
import tracemalloc

import numpy as np
import pytest

from gridworlds.agents import load_agent, make_agent
from gridworlds.runner import run_experiment
from gridworlds.runner.evaluate import evaluate

WORLD = "gridworlds/2048-v0"
SMALL = ["0123", "4567", "0145", "1256"]  # 4-cell patterns: quick to train


def small_agent(**params):
    return make_agent("ntuple", WORLD, seed=0, patterns=SMALL, **params)


def test_learning_reports_every_thousand_games_and_beats_random_play():
    agent, reports = small_agent(), []
    final = agent.learn(None, 2500, lambda games, metrics: reports.append((games, metrics)))
    assert [games for games, _ in reports] == [1000, 2000, 2500]
    assert final == reports[-1][1] and agent.games == 2500
    assert set(final) >= {"score_mean", "reached_2048", "reached_32768", "moves_mean", "moves_per_second"}
    # Random play averages about 1,100 (experiments/2048-baselines.toml).
    assert reports[0][1]["score_mean"] > 3 * 1100
    assert reports[1][1]["score_mean"] > reports[0][1]["score_mean"]


def test_a_callback_returning_false_stops_learning():
    agent = small_agent()
    agent.learn(None, 5000, lambda games, metrics: games < 2000)
    assert agent.games == 2000


def test_engine_evaluation_plays_the_same_games_as_the_env():
    agent = small_agent()
    agent.learn(None, 500)
    fast = evaluate(agent, WORLD, {}, 30, seed=7)
    # A step cap the games never reach sends the evaluation through the env, one step per move.
    through_env = evaluate(agent, WORLD, {}, 30, seed=7, max_steps=10**9)
    fast.pop("moves_per_second"), through_env.pop("moves_per_second")
    assert fast == through_env


def test_resuming_from_a_checkpoint_learns_exactly_what_an_uninterrupted_run_learns(tmp_path):
    straight = small_agent(tc_after=1500)
    straight.learn(None, 3000)
    interrupted = small_agent(tc_after=1500)
    interrupted.learn(None, 2000)  # past the switch: the TC tables are part of the checkpoint
    interrupted.save(tmp_path / "checkpoint")
    resumed = load_agent(tmp_path / "checkpoint")
    assert resumed.games == 2000 and resumed.sums is not None
    resumed.learn(None, 1000)
    assert np.array_equal(resumed.weights, straight.weights)
    assert np.array_equal(resumed.sums, straight.sums)


def test_td_then_tc_switches_at_tc_after():
    agent = small_agent(tc_after=1000)
    agent.learn(None, 1000)
    assert agent.sums is None  # the first 1000 games are TD
    agent.learn(None, 1)
    assert agent.sums is not None and agent.magnitudes.max() > 0


def test_optimistic_initialisation_and_stages_shape_the_tables():
    agent = small_agent(v_init=320_000, stages=[2048, 16384])
    weights = agent.network()
    assert weights.shape == (3, 4, 16**4) and weights.dtype == np.float32
    assert np.all(weights == np.float32(320_000 / 32))


def test_loading_reads_the_tables_without_a_second_copy(tmp_path):
    agent = make_agent("ntuple", WORLD, patterns=["012345", "456789"])  # 2 x 64 MiB
    agent.network()[:] = 1.0
    agent.save(tmp_path / "net")
    tracemalloc.start()
    loaded = load_agent(tmp_path / "net")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert loaded.weights.nbytes == 128 * 2**20 and loaded.weights.sum() == loaded.weights.size
    assert peak < 1.1 * loaded.weights.nbytes


def test_checkpoint_files_and_bad_tables(tmp_path):
    agent = small_agent()
    agent.learn(None, 100)
    agent.save(tmp_path / "net")
    assert sorted(p.name for p in (tmp_path / "net").iterdir()) == [
        "agent.json",
        "training.json",
        "weights.npy",
    ]
    assert json.loads((tmp_path / "net" / "training.json").read_text())["games"] == 100
    weights = tmp_path / "net" / "weights.npy"
    np.save(weights, np.zeros((1, 4, 16), dtype=np.float32))
    with pytest.raises(ValueError, match=r"weights.npy is damaged: its SHA-256 differs"):
        load_agent(tmp_path / "net")
    # A table of the wrong shape that its manifest vouches for is refused all the same.
    manifest = json.loads((tmp_path / "net" / "agent.json").read_text())
    manifest["files"]["weights.npy"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (tmp_path / "net" / "agent.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"weights.npy: expected float32 array of shape \(1, 4, 65536\)"):
        load_agent(tmp_path / "net")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"patterns": "9x6"}, "patterns must be one of"),
        ({"stages": [3000]}, "stages must hold tile values"),
        ({"stages": 16384}, "stages must be a list"),
        ({"stages": [16384, 8192]}, "stages must be ascending"),
        ({"alpha": -0.1}, "alpha must be a non-negative number"),
        ({"tc_after": -1}, "tc_after must be None or a non-negative number of games"),
        ({"threads": 0}, "threads must be an integer from 1 to 256"),
        ({"depth": 0}, "depth must be an integer from 1 to 6"),
        ({"downgrading": "yes"}, "downgrading must be true or false"),
    ],
)
def test_bad_parameters_name_the_field(params, message):
    with pytest.raises(ValueError, match=message):
        make_agent("ntuple", WORLD, **params)


def test_two_threads_train_one_network():
    agent = small_agent(threads=2)
    metrics = agent.learn(None, 1000)
    assert agent.games == 1000 and metrics["score_mean"] > 3 * 1100


def test_expectimax_plays_a_trained_network_deeper_and_saves_only_its_parameters(tmp_path):
    trained = small_agent()
    trained.learn(None, 1000)
    trained.save(tmp_path / "net")
    searcher = make_agent("expectimax", WORLD, network=str(tmp_path / "net"), depth=2)
    assert np.array_equal(searcher.weights, trained.weights)
    greedy = evaluate(trained, WORLD, {}, 20, seed=3)
    deeper = evaluate(searcher, WORLD, {}, 20, seed=3)
    assert deeper["score_mean"] > greedy["score_mean"]
    searcher.save(tmp_path / "search")
    assert [p.name for p in (tmp_path / "search").iterdir()] == ["agent.json"]
    again = load_agent(tmp_path / "search")
    assert (again.config.depth, again.config.downgrading) == (2, True)
    observation = np.zeros((4, 4), dtype=np.int8)
    observation[0, :2] = 1
    assert again.act(observation, {}) in (0, 1, 2, 3)
    with pytest.raises(ValueError, match="network must be the checkpoint directory"):
        make_agent("expectimax", WORLD, network=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="bad parameters"):
        make_agent("expectimax", WORLD)  # network is required


def test_the_viewer_plays_a_trained_network(tmp_path):
    from gridworlds.viewer.app import view

    trained = small_agent()
    trained.learn(None, 200)
    trained.save(tmp_path / "net")
    assert view(WORLD, agent=str(tmp_path / "net"), fps=1000, seed=0, max_steps=20)["steps"] == 20


def test_an_experiment_counts_games_and_the_curves_study_reads_its_log(tmp_path):
    experiment = tmp_path / "td.toml"
    experiment.write_text(
        f"""
name = "td"
world = "{WORLD}"
[[agents]]
name = "ntuple"
params = {{ patterns = {SMALL!r} }}
[train]
budget = 2000
eval_every = 1000
eval_episodes = 50
[eval]
episodes = 100
"""
    )
    runs = tmp_path / "runs"
    summary = run_experiment(experiment, runs_dir=runs)
    assert summary["agents"]["ntuple"]["steps"]["mean"] == 2000
    study = tmp_path / "curves.toml"
    study.write_text(
        f"""
name = "curves"
[study]
function = "gridworlds.studies.game2048:learning_curves"
runs = [{{ label = "td", dir = "{runs / "td" / "0"}", reference = "TD" }}]
"""
    )
    run_experiment(study, runs_dir=runs)
    rows = list(csv.DictReader((runs / "curves" / "curves.csv").open()))
    assert [(r["games"], r["source"]) for r in rows] == [
        ("1000", "eval"),
        ("2000", "eval"),
        ("1000", "train"),
        ("2000", "train"),
    ]
    assert float(rows[1]["score_mean"]) > 3 * 1100 and (runs / "curves" / "curves.png").is_file()
    study.write_text(study.read_text().replace('"TD"', '"SARSA"'))
    with pytest.raises(ValueError, match=r"study.runs\[0\].reference must be one of"):
        run_experiment(study, runs_dir=runs)


def test_td_on_4x6_meets_the_papers_10k_game_row():
    """The reference row (TDL2048+, 4x6, 10k training games): average 21,800, 37% reach 2048, with
    about 10% between seeds; the seed is fixed, so this is the same number on every machine."""
    agent = make_agent("ntuple", WORLD, seed=0, patterns="4x6")
    agent.learn(None, 10_000)
    result = evaluate(agent, WORLD, {}, 2000, seed=1)
    assert result["score_mean"] > 0.9 * 21_800 and result["reached_2048_mean"] > 0.35

"""The stable-baselines3 + SuperSuit self-play baseline for hide-and-seek (`sb3-selfplay`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("supersuit")
pytest.importorskip("stable_baselines3")

from hide_and_seek_walks import check_team_metrics, valid, walk_observations  # noqa: E402

import gridworlds  # noqa: E402
from gridworlds.agents import MANIFEST  # noqa: E402
from gridworlds.agents.hide_and_seek.sb3_selfplay import SuperSuitPPO  # noqa: E402
from gridworlds.engines.hide_and_seek import EPISODE_STATS  # noqa: E402

QUADRANT = "gridworlds/HideAndSeekQuadrant-v0"
HORIZON = 16
# One rollout: 16 steps x 2 copies x 4 agents = 128 agent-steps = 32 arena steps.
TINY = {"n_envs": 2, "n_steps": 16, "batch_size": 64, "n_epochs": 1}
BUDGET = 512  # arena steps: 2048 agent-steps, 16 rollouts


def quadrant(observation: str = "dict"):
    return gridworlds.make(QUADRANT, horizon=HORIZON, observation=observation)


def observations(observation: str, seed: int = 3) -> list:
    return walk_observations(quadrant(observation), seed)


@pytest.fixture(scope="module")
def trained():
    """A flat agent after a tiny learn, with every report of its callback."""
    agent = SuperSuitPPO(QUADRANT, seed=0, **TINY)
    reports = []
    final = agent.learn(quadrant(), BUDGET, lambda steps, metrics: reports.append((steps, metrics)))
    return agent, reports, final


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_envs", 0),
        ("n_envs", 2.5),
        ("learning_rate", 0),
        ("learning_rate", "fast"),
        ("n_steps", -1),
        ("batch_size", 1),
        ("n_epochs", 0),
        ("gamma", 1.5),
        ("gamma", 0),
        ("ent_coef", -0.1),
        ("seed", -1),
        ("observation", "pixels"),
        ("deterministic", "yes"),
        ("threads", 0),
    ],
)
def test_bad_parameters_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SuperSuitPPO(QUADRANT, **{field: value})


def test_act_before_learning_says_so():
    with pytest.raises(RuntimeError, match="not learned"):
        SuperSuitPPO(QUADRANT).act(observations("flat")[0], {})


def test_learn_reports_team_metrics_each_rollout(trained):
    agent, reports, final = trained
    steps = [step for step, _ in reports]
    assert steps == [32 * (k + 1) for k in range(BUDGET // 32)]  # arena steps, one report a rollout
    assert final["steps"] == BUDGET == agent.model.num_timesteps // 4
    for _, metrics in reports:
        check_team_metrics(metrics, HORIZON)
    assert set(EPISODE_STATS) <= set(final)


def test_callback_false_stops_learning_early():
    agent = SuperSuitPPO(QUADRANT, seed=1, **TINY)
    reports = []

    def callback(steps, metrics):
        reports.append(steps)
        return len(reports) < 2

    final = agent.learn(quadrant(), BUDGET, callback)
    assert reports == [32, 64]
    assert final["steps"] <= 64 + TINY["n_envs"]  # stops at the next step (of every copy) after it


@pytest.mark.parametrize("form", ["flat", "dict"])
def test_act_returns_valid_actions_for_both_observation_forms(trained, form):
    flat_agent = trained[0]
    dict_agent = SuperSuitPPO(QUADRANT, seed=0, observation="dict", **TINY)
    dict_agent.learn(quadrant(), 32)  # one rollout
    for agent in (flat_agent, dict_agent):
        for observation in observations(form):
            assert valid(agent.act(observation, {}))
    # Either form of the same observation gives the same action.
    for agent in (flat_agent, dict_agent):
        for flat, parts in zip(observations("flat"), observations("dict"), strict=True):
            assert np.array_equal(agent.act(flat, {}), agent.act(parts, {}))


def test_save_load_round_trip_and_resume(trained, tmp_path):
    agent = trained[0]
    agent.save(tmp_path / "checkpoint")
    manifest = json.loads((tmp_path / "checkpoint" / MANIFEST).read_text())
    assert manifest["name"] == "sb3-selfplay"
    assert manifest["params"]["observation"] == "flat"
    assert manifest["env"]["horizon"] == HORIZON and manifest["env"]["observation"] == "flat"
    assert gridworlds.make(QUADRANT, **manifest["env"]).scenario.horizon == HORIZON

    loaded = SuperSuitPPO.load(tmp_path / "checkpoint")
    assert loaded.params() == agent.params()
    for observation in observations("flat") + observations("dict", seed=4):
        assert np.array_equal(loaded.act(observation, {}), agent.act(observation, {}))

    # Learning goes on from the saved steps, on the world the checkpoint records when given none.
    reports = []
    final = loaded.learn(None, 64, lambda steps, metrics: reports.append(steps))
    assert reports == [BUDGET + 32, BUDGET + 64]
    assert final["steps"] == BUDGET + 64


def test_same_seed_same_learning():
    def first_report(seed):
        reports = []
        SuperSuitPPO(QUADRANT, seed=seed, **TINY).learn(quadrant(), 64, lambda s, m: reports.append(m))
        return {k: v for k, v in reports[-1].items() if k != "agent_steps_per_second"}

    assert first_report(5) == first_report(5)


def test_registered_name_builds_and_loads_it(tmp_path):
    from gridworlds.agents import AGENTS, load_agent, make_agent

    if "sb3-selfplay" not in AGENTS:
        pytest.skip("sb3-selfplay is not registered in gridworlds.agents.AGENTS yet")
    agent = make_agent("sb3-selfplay", QUADRANT, seed=0, **TINY)
    assert isinstance(agent, SuperSuitPPO)
    agent.learn(quadrant(), 32)
    agent.save(tmp_path / "checkpoint")
    observation = observations("flat")[0]
    assert np.array_equal(
        load_agent(tmp_path / "checkpoint").act(observation, {}), agent.act(observation, {})
    )

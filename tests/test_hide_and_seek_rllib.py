"""The Ray RLlib self-play agent for hide-and-seek (`rllib-ppo`), on a tiny budget.

Ray 2.60 removed `ray.init(local_mode=True)`; its replacement runs here: `num_env_runners=0` samples
in the test process, with one local learner, over a small local Ray runtime started once for the
module (about 5 s) and shut down after it. Skipped where ray[rllib] is not installed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("ray.rllib")
pytest.importorskip("torch")

# RLlib re-registers a gymnasium id of its own for every algorithm it builds.
pytestmark = pytest.mark.filterwarnings("ignore:.*Overriding environment rllib-multi-agent-env")

import ray  # noqa: E402
from hide_and_seek_walks import check_team_metrics, valid, walk_observations  # noqa: E402

import gridworlds  # noqa: E402
from gridworlds.agents import MANIFEST  # noqa: E402
from gridworlds.agents.hide_and_seek.rllib import MODEL, RLlibPPO  # noqa: E402
from gridworlds.engines.hide_and_seek import EPISODE_STATS  # noqa: E402

QUADRANT = "gridworlds/HideAndSeekQuadrant-v0"
HORIZON = 16
# One iteration: 32 arena steps (two episodes of 16, 128 agent-steps), one epoch of one minibatch.
TINY = {"train_batch_size": 32, "minibatch_size": 32, "n_epochs": 1, "hidden_sizes": [16]}
BATCH = TINY["train_batch_size"]
BUDGET = 2 * BATCH  # two iterations


def quadrant(observation: str = "flat"):
    return gridworlds.make(QUADRANT, horizon=HORIZON, observation=observation)


def observations(observation: str, seed: int = 3) -> list:
    return walk_observations(quadrant(observation), seed)


@pytest.fixture(scope="module")
def local_ray():
    """One small local Ray runtime for the module's learners (each agent would start it otherwise)."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=1, include_dashboard=False)
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def trained(local_ray):
    """An agent after a tiny learn (two iterations), with every report of its callback."""
    agent = RLlibPPO(QUADRANT, seed=0, **TINY)
    reports = []
    final = agent.learn(quadrant(), BUDGET, lambda steps, metrics: reports.append((steps, metrics)))
    yield agent, reports, final
    agent.close()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_env_runners", -1),
        ("num_env_runners", 1.5),
        ("train_batch_size", 0),
        ("minibatch_size", 0),
        ("minibatch_size", 64),  # more than train_batch_size
        ("n_epochs", 0),
        ("learning_rate", 0),
        ("learning_rate", "fast"),
        ("gamma", 1.5),
        ("gamma", 0),
        ("ent_coef", -0.1),
        ("hidden_sizes", []),
        ("hidden_sizes", [16, 0]),
        ("seed", -1),
        ("deterministic", "yes"),
        ("threads", 0),
        ("address", 5),
        ("address", ""),
    ],
)
def test_bad_parameters_name_the_field(field, value):
    params = {**TINY, field: value}
    with pytest.raises(ValueError, match=field):
        RLlibPPO(QUADRANT, **params)


def test_act_and_save_before_learning_say_so(tmp_path):
    agent = RLlibPPO(QUADRANT)
    assert agent.learn(None, 0) == {}  # no budget: nothing built, nothing learned
    with pytest.raises(ValueError, match="budget"):
        agent.learn(None, -1)
    with pytest.raises(RuntimeError, match="not learned"):
        agent.act(observations("flat")[0], {})
    with pytest.raises(RuntimeError, match="not learned"):
        agent.save(tmp_path / "checkpoint")


def test_learn_reports_team_metrics_each_iteration(trained):
    agent, reports, final = trained
    assert [step for step, _ in reports] == [BATCH, 2 * BATCH]  # arena steps, one report an iteration
    assert final["steps"] == BUDGET
    for _, metrics in reports:
        check_team_metrics(metrics, HORIZON)
    assert set(EPISODE_STATS) <= set(final)
    # One policy for every agent of both teams.
    assert set(agent.algo.config.policies) == {"shared"}


def test_act_returns_valid_actions_for_both_observation_forms(trained):
    agent = trained[0]
    for observation in observations("flat") + observations("dict"):
        assert valid(agent.act(observation, {}))
    # Either form of the same observation gives the same (most likely) action.
    for flat, parts in zip(observations("flat"), observations("dict"), strict=True):
        assert np.array_equal(agent.act(flat, {}), agent.act(parts, {}))
    with pytest.raises(ValueError, match="shape"):
        agent.act(np.zeros(3, np.float32), {})


def test_save_load_round_trip_and_resume(trained, tmp_path):
    agent = trained[0]
    agent.save(tmp_path / "checkpoint")
    assert (tmp_path / "checkpoint" / MODEL).is_file()
    manifest = json.loads((tmp_path / "checkpoint" / MANIFEST).read_text())
    assert manifest["name"] == "rllib-ppo"
    assert manifest["params"] == agent.params()
    assert manifest["env"]["horizon"] == HORIZON and manifest["env"]["observation"] == "flat"
    assert gridworlds.make(QUADRANT, **manifest["env"]).scenario.horizon == HORIZON

    loaded = RLlibPPO.load(tmp_path / "checkpoint")
    assert loaded.params() == agent.params()
    assert loaded.algo is None  # acting needs only the policy, not Ray
    for observation in observations("flat") + observations("dict", seed=4):
        assert np.array_equal(loaded.act(observation, {}), agent.act(observation, {}))

    # A loaded agent saves what it loaded, even after its source is gone.
    loaded.save(tmp_path / "again")
    again = RLlibPPO.load(tmp_path / "again")
    observation = observations("flat")[0]
    assert np.array_equal(again.act(observation, {}), agent.act(observation, {}))

    # Learning goes on from the saved steps, on the world the checkpoint records when given none.
    reports = []
    final = loaded.learn(None, BATCH, lambda steps, metrics: reports.append(steps))
    try:
        assert reports == [BUDGET + BATCH]
        assert final["steps"] == BUDGET + BATCH
        assert "hider_reward" in final and "seeker_reward" in final
    finally:
        loaded.close()


def test_callback_false_stops_learning_early(local_ray):
    agent = RLlibPPO(QUADRANT, seed=1, **TINY)
    reports = []

    def callback(steps, metrics):
        reports.append(steps)
        return False

    try:
        final = agent.learn(quadrant(), 10 * BATCH, callback)
        assert reports == [BATCH]
        assert final["steps"] == BATCH
        # The algorithm learns on the world it was built for, and says so.
        with pytest.raises(ValueError, match="world it started on"):
            agent.learn(gridworlds.make(QUADRANT, horizon=HORIZON + 1), BATCH)
    finally:
        agent.close()
    # Closed, it still acts with its last policy.
    assert valid(agent.act(observations("flat")[0], {}))


def test_same_seed_same_learning(local_ray):
    def learned(seed):
        agent = RLlibPPO(QUADRANT, seed=seed, **TINY)
        reports = []
        agent.learn(quadrant(), BUDGET, lambda steps, metrics: reports.append(metrics))
        actions = [agent.act(observation, {}) for observation in observations("flat")]
        agent.close()
        return [{k: v for k, v in m.items() if k != "agent_steps_per_second"} for m in reports], actions

    (reports, actions), (again, actions_again) = learned(5), learned(5)
    assert reports == again
    assert np.array_equal(actions, actions_again)


def test_registered_name_builds_and_loads_it(trained, tmp_path):
    from gridworlds.agents import AGENTS, load_agent, make_agent

    if "rllib-ppo" not in AGENTS:
        pytest.skip("rllib-ppo is not registered in gridworlds.agents.AGENTS yet")
    assert isinstance(make_agent("rllib-ppo", QUADRANT, seed=0, **TINY), RLlibPPO)
    agent = trained[0]
    agent.save(tmp_path / "checkpoint")
    observation = observations("dict")[0]
    assert np.array_equal(
        load_agent(tmp_path / "checkpoint").act(observation, {}), agent.act(observation, {})
    )

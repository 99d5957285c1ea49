"""The hide-and-seek pettingzoo ParallelEnv: API, seeding, spaces, actions, episode statistics, SB3."""

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

import gridworlds
from gridworlds.engines import hide_and_seek as engine
from gridworlds.engines.hide_and_seek import EPISODE_STATS
from gridworlds.envs.hide_and_seek import PARTS, HideAndSeekEnv

WORLDS = ("gridworlds/HideAndSeek-v0", "gridworlds/HideAndSeekQuadrant-v0")
QUADRANT = "gridworlds/HideAndSeekQuadrant-v0"


def random_actions(env, rng):
    return {agent: rng.integers(0, engine.ACTION_NVEC) for agent in env.agents}


@pytest.mark.parametrize("world_id", WORLDS)
@pytest.mark.parametrize("observation", ["dict", "flat"])
def test_parallel_api(world_id, observation):
    parallel_api_test(gridworlds.make(world_id, observation=observation), num_cycles=100)


@pytest.mark.parametrize("world_id", WORLDS)
def test_parallel_seed(world_id):
    parallel_seed_test(lambda: gridworlds.make(world_id), num_cycles=100)


def test_agents_spaces_and_state():
    env = gridworlds.make("gridworlds/HideAndSeek-v0", hiders=3, seekers=1)
    assert env.possible_agents == ["hider_0", "hider_1", "hider_2", "seeker_0"]
    # One cached space object for every agent, as SuperSuit's vectorisation needs.
    assert len({id(env.observation_space(a)) for a in env.possible_agents}) == 1
    assert len({id(env.action_space(a)) for a in env.possible_agents}) == 1
    assert env.action_space("hider_0").nvec.tolist() == [5, 3, 2, 3]
    observations, infos = env.reset(seed=3)
    assert set(observations) == set(env.possible_agents) and infos == {a: {} for a in env.possible_agents}
    for observation in observations.values():
        assert env.observation_space("hider_0").contains(observation)
        assert list(observation) == list(PARTS)
    state = env.state()
    assert env.state_space.contains(state)
    assert state.shape == (4 * engine.SELF_FEATURES + 6 * engine.OBJECT_STATE_FEATURES + 4 + 18 * 18,)


def test_observation_reports_self_team_and_masks():
    env = gridworlds.make(QUADRANT)
    observations, _ = env.reset(seed=1)
    arenas = env.arenas
    for i, agent in enumerate(env.possible_agents):
        own = observations[agent]["self"]
        assert own[0] == pytest.approx(arenas.agent_pos[0, i, 0] / 14)
        assert own[1] == pytest.approx(arenas.agent_pos[0, i, 1] / 14)
        assert own[4] == (agent.startswith("seeker"))
        assert np.hypot(own[2], own[3]) == pytest.approx(1.0)
    visible = engine.vision(arenas, env.scenario)
    hider = observations["hider_0"]
    assert hider["agents_mask"].tolist() == visible[0, 1:4].astype(int).tolist()
    assert hider["boxes_mask"].tolist() == visible[0, 4:6].astype(int).tolist()
    hidden = hider["agents_mask"] == 0
    assert (hider["agents"][hidden] == 0).all()
    assert observations["hider_0"]["preparation"][0] == 0.0


def test_flat_observation_is_the_dict_concatenated():
    flat_env = gridworlds.make(QUADRANT, observation="flat")
    dict_env = gridworlds.make(QUADRANT)
    flat, _ = flat_env.reset(seed=5)
    parts, _ = dict_env.reset(seed=5)
    for agent in flat_env.possible_agents:
        expected = np.concatenate([parts[agent][name].ravel().astype(np.float32) for name in PARTS])
        assert np.array_equal(flat[agent], expected)
        assert flat_env.observation_space(agent).contains(flat[agent])
        # gymnasium's own flattening of the Dict space gives the same vector (its keys keep PARTS order).
        assert list(dict_env.observation_space(agent)) == list(PARTS)
        assert np.array_equal(gym.spaces.flatten(dict_env.observation_space(agent), parts[agent]), expected)


def test_observations_are_not_overwritten_by_later_steps():
    env = gridworlds.make(QUADRANT)
    first, _ = env.reset(seed=0)
    kept = {name: array.copy() for name, array in first["seeker_0"].items()}
    rng = np.random.default_rng(0)
    for _ in range(40):
        env.step(random_actions(env, rng))
    for name, array in kept.items():
        assert np.array_equal(first["seeker_0"][name], array)


def test_episode_truncates_at_horizon_with_statistics():
    env = gridworlds.make(QUADRANT, horizon=20)
    env.reset(seed=2)
    rng = np.random.default_rng(2)
    totals = dict.fromkeys(env.possible_agents, 0.0)
    for step in range(20):
        _, rewards, terminations, truncations, infos = env.step(random_actions(env, rng))
        for agent, reward in rewards.items():
            totals[agent] += reward
        assert not any(terminations.values())
        if step < 8:  # round(0.4 * 20) preparation steps: no rewards
            assert set(rewards.values()) == {0.0}
        if step < 19:
            assert not any(truncations.values()) and env.agents
    assert all(truncations.values()) and env.agents == []
    for agent in env.possible_agents:
        episode = infos[agent]["episode"]
        assert list(episode) == ["r", "l", *EPISODE_STATS]
        assert episode["r"] == totals[agent] and episode["l"] == 20
        assert 0.0 <= episode["hider_seen_fraction"] <= 1.0
    assert episode["hider_reward"] == pytest.approx((totals["hider_0"] + totals["hider_1"]) / 2)
    assert episode["seeker_reward"] == pytest.approx((totals["seeker_0"] + totals["seeker_1"]) / 2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})


def test_same_seed_same_episode_and_batch_equals_single():
    def run(seed):
        env = gridworlds.make(QUADRANT)
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        rewards = []
        while env.agents:
            rewards.append(list(env.step(random_actions(env, rng))[1].values()))
        return env.arenas, np.array(rewards)

    first, rewards_a = run(7)
    second, rewards_b = run(7)
    assert np.array_equal(rewards_a, rewards_b)
    assert all(np.array_equal(x, y) for x, y in zip(first, second, strict=True))
    # The env's arena is engine arena 0 of a batch seeded the same way.
    scenario = engine.Scenario(**gridworlds.registry.world(QUADRANT).kwargs)
    env = gridworlds.make(QUADRANT)
    env.reset(seed=11)
    batch = engine.new_arenas(scenario, [11, 12])
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(env.arenas, batch, strict=True))


@pytest.mark.parametrize(
    "agent, action, message",
    [
        ("seeker_0", [5, 0, 0, 0], r"action of seeker_0 must be 4 integers.*\[5, 0, 0, 0\]"),
        ("hider_1", [0, 0, 0], "action of hider_1 must be 4 integers"),
        ("hider_1", [0.0, 0, 0, 0], "action of hider_1 must be 4 integers"),
        ("hider_0", np.array([0, -1, 0, 0]), "action of hider_0"),
        ("seeker_1", [0, 0, 0, 3], "action of seeker_1"),
        ("seeker_1", "up", "action of seeker_1"),
    ],
)
def test_bad_actions_name_the_agent_and_change_nothing(agent, action, message):
    env = gridworlds.make(QUADRANT)
    env.reset(seed=0)
    before = env.arenas.copy()
    actions = {name: np.ones(4, np.int64) for name in env.agents}
    actions[agent] = action
    with pytest.raises(ValueError, match=message):
        env.step(actions)
    assert all(np.array_equal(x, y) for x, y in zip(before, env.arenas, strict=True))
    with pytest.raises(ValueError, match="one action per agent"):
        env.step({"hider_0": [0, 0, 0, 0]})
    with pytest.raises(ValueError, match="one action per agent"):
        env.step([[0, 0, 0, 0]] * 4)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"size": 5}, "size"),
        ({"hiders": 0}, "hiders"),
        ({"seekers": 4}, "seekers"),
        ({"elongated": 5}, "elongated"),
        ({"horizon": 0}, "horizon"),
        ({"prep_fraction": 1.0}, "prep_fraction"),
        ({"quadrant": "yes"}, "quadrant"),
        ({"view_radius": 0}, "view_radius"),
        ({"observation": "image"}, "observation"),
        ({"size": 8, "boxes": 16}, "size"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        HideAndSeekEnv(**kwargs)


def test_supersuit_vector_env_trains_with_stable_baselines3():
    ss = pytest.importorskip("supersuit")
    sb3 = pytest.importorskip("stable_baselines3")
    for observation, policy in (("flat", "MlpPolicy"), ("dict", "MultiInputPolicy")):
        env = gridworlds.make(QUADRANT, observation=observation, horizon=16)
        vec = ss.concat_vec_envs_v1(
            ss.pettingzoo_env_to_vec_env_v1(env), 2, num_cpus=0, base_class="stable_baselines3"
        )
        assert vec.num_envs == 8  # 2 copies x 4 agents
        model = sb3.PPO(
            policy, vec, n_steps=16, batch_size=64, n_epochs=1, device="cpu"
        )  # SuperSuit has no seed()
        model.learn(128)
        actions, _ = model.predict(vec.reset())
        assert actions.shape == (8, 4)
        vec.close()

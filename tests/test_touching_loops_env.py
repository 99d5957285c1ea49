"""The touching-loops envs and the ca-rule agent."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gridworlds  # noqa: F401  (registers the ids)
from gridworlds.agents import make_agent
from gridworlds.engines import touching_loops as engine
from gridworlds.envs.touching_loops import TouchingLoopsCAEnv, TouchingLoopsEnv
from gridworlds.runner import evaluate

EDIT, CA = "gridworlds/TouchingLoops-v0", "gridworlds/TouchingLoopsCA-v0"
RING = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.int8)  # the one valid 3x3 pattern


def set_field(env, field):
    engine.field_to_rows(np.asarray(field, dtype=np.int8), env.rows)
    env._refresh()


@pytest.mark.parametrize("world_id", [EDIT, CA])
@pytest.mark.parametrize("tiles", ["touching", "non-touching"])
def test_check_env(world_id, tiles):
    check_env(gym.make(world_id, tiles=tiles).unwrapped)


def test_observation_is_field_and_validity():
    env = TouchingLoopsEnv(n=3)
    env.reset(seed=0)
    set_field(env, RING)
    obs = env._observe()
    assert (obs[0] == RING).all() and obs[1].all() and env.stable


def test_completing_the_pattern_is_rewarded_and_terminates():
    env = TouchingLoopsEnv(n=3, stable_bonus=5.0)
    env.reset(seed=0)
    almost = RING.copy()
    almost[0, 0] = 0
    set_field(env, almost)
    before = env.valid_count
    obs, reward, terminated, truncated, info = env.step(0)  # flip cell (0, 0) back to 1
    assert terminated and not truncated and info["stable"] and info["loops"] == 1
    assert reward == 9 - before + 5.0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_set_actions_write_the_value_first():
    env = TouchingLoopsEnv(n=4, action="set")
    assert env.action_space.n == 32
    env.reset(seed=1)
    env.step(16 + 5)  # value 1 at cell 5 = (1, 1)
    assert env.field[1, 1] == 1
    env.step(5)  # value 0 at cell 5
    assert env.field[1, 1] == 0
    env.step(5)  # setting a cell to its own value changes nothing
    assert env.field[1, 1] == 0


@pytest.mark.parametrize("action", [-1, 9, 1.5, "a", np.array([1, 2])])
def test_bad_actions_are_refused(action):
    env = TouchingLoopsEnv(n=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be"):
        env.step(action)


def test_ca_env_refuses_bad_noise():
    env = TouchingLoopsCAEnv(n=4)
    env.reset(seed=0)
    for action in [np.array([1.5]), np.array([0.1, 0.2]), np.array([[0.1]]), 0.4]:
        with pytest.raises(ValueError, match="noise probability"):
            env.step(action)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"n": 2}, "n must"),
        ({"n": 61}, "n must"),
        ({"density": 1.5}, "density"),
        ({"action": "toggle"}, "action"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TouchingLoopsEnv(**kwargs)


def test_a_tile_file_with_a_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="tile set line 2"):
        TouchingLoopsEnv(tiles="- 0 -\n1 1\n- 0 -\n")


def test_custom_tile_text_works_like_the_named_set():
    env = TouchingLoopsEnv(n=5, tiles=engine.TOUCHING_TILES)
    assert env.tiles == "custom"
    named = TouchingLoopsEnv(n=5)
    a, b = env.reset(seed=4)[0], named.reset(seed=4)[0]
    assert (a == b).all()


def test_seeded_resets_and_pickling_are_deterministic():
    env = gym.make(CA, n=8)
    first = env.reset(seed=3)[0]
    trajectory = [env.step(np.array([0.4], dtype=np.float32))[0] for _ in range(5)]
    assert (env.reset(seed=3)[0] == first).all()
    assert all((env.step(np.array([0.4], dtype=np.float32))[0] == obs).all() for obs in trajectory)
    copy = pickle.loads(pickle.dumps(env))
    a, b = copy.step(np.array([0.4], dtype=np.float32)), env.step(np.array([0.4], dtype=np.float32))
    assert (a[0] == b[0]).all() and a[1] == b[1]


def test_ca_env_runs_the_rule_to_a_stable_pattern():
    env = TouchingLoopsCAEnv(n=6, sweeps_per_step=50)
    env.reset(seed=0)
    total, terminated = 0.0, False
    while not terminated:
        _, reward, terminated, _, info = env.step(np.array([0.4], dtype=np.float32))
        total += reward
    assert engine.is_loop_pattern(env.field, True)
    assert -total == info["sweeps"] and info["invalid_visits"] == 0


def test_ca_rule_agent_solves_small_fields_and_random_does_not():
    kwargs = {"n": 5}
    rule = evaluate(make_agent("ca-rule", EDIT, seed=0), EDIT, kwargs, episodes=10, seed=0)
    random = evaluate(make_agent("random", EDIT, seed=0), EDIT, kwargs, episodes=10, seed=0)
    assert rule["stable_mean"] >= 0.7 and random["stable_mean"] <= 0.1
    ca = evaluate(make_agent("ca-rule", CA, seed=0, noise=0.4), CA, {"n": 6}, episodes=5, seed=0)
    assert ca["stable_mean"] == 1.0 and ca["sweeps_mean"] > 0

"""The 2048 gymnasium env and vector env: API conformance, rules at the env level, seeding, errors."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gridworlds  # noqa: F401  (registers the ids)
from gridworlds.engines import game2048 as engine
from gridworlds.envs.game2048 import Game2048Env, Game2048VectorEnv, episode_metrics

ID = "gridworlds/2048-v0"


def set_grid(env, exponents):
    env.board = engine.grid_to_board(np.array(exponents))
    env.legal = engine.legal_bits(env.board)


@pytest.mark.parametrize("observation", ["exponents", "onehot"])
def test_check_env(observation):
    check_env(gym.make(ID, observation=observation).unwrapped)


def test_observation_and_info():
    env = gym.make(ID)
    obs, info = env.reset(seed=0)
    assert obs.shape == (4, 4) and obs.dtype == np.int8 and env.observation_space.contains(obs)
    assert (obs > 0).sum() == 2
    assert info["score"] == 0 and info["max_tile"] in (2, 4) and info["illegal"] is False
    assert info["action_mask"].dtype == bool and info["action_mask"].shape == (4,)
    assert (env.unwrapped.action_masks() == info["action_mask"]).all()


def test_onehot_planes_match_exponents():
    plain, onehot = gym.make(ID), gym.make(ID, observation="onehot")
    obs, _ = plain.reset(seed=5)
    planes, _ = onehot.reset(seed=5)
    for action in [0, 1, 2, 3] * 10:
        assert planes.shape == (16, 4, 4) and (planes.sum(axis=0) == 1).all()
        assert (planes.argmax(axis=0) == obs).all()
        obs, *_ = plain.step(action)
        planes, *_ = onehot.step(action)


def test_reward_and_score_follow_merges():
    env = Game2048Env()
    env.reset(seed=0)
    set_grid(env, [[1, 1, 2, 2], [0] * 4, [0] * 4, [0] * 4])  # 2 2 4 4
    obs, reward, terminated, truncated, info = env.step(engine.LEFT)
    assert reward == 4 + 8 and info["score"] == 12
    assert obs[0, :2].tolist() == [2, 3] and (obs > 0).sum() == 3  # 4 8 plus one spawned tile
    assert not terminated and not truncated


def test_illegal_move_is_a_noop_by_default():
    env = Game2048Env()
    env.reset(seed=0)
    set_grid(env, [[1, 2, 0, 0], [0] * 4, [0] * 4, [0] * 4])
    before = env._observe()
    obs, reward, terminated, _, info = env.step(engine.LEFT)
    assert reward == 0 and info["illegal"] and not terminated
    assert (obs == before).all()  # no spawn
    assert info["action_mask"].tolist() == [False, True, True, False]


@pytest.mark.parametrize("limit", [1, 5, None])
def test_a_run_of_illegal_moves_truncates_the_game(limit):
    """An illegal move changes nothing, so a policy repeating one would play forever: the
    `max_illegal_run`-th illegal move in a row truncates the game (None: never); a legal move
    starts the count again."""
    env = Game2048Env(max_illegal_run=limit)
    env.reset(seed=0)
    set_grid(env, [[1, 2, 0, 0], [0] * 4, [0] * 4, [0] * 4])  # left and up change nothing
    for run in range(1, (limit or 100) + 1):
        _, _, terminated, truncated, info = env.step(engine.LEFT)
        assert info["illegal_run"] == run and not terminated
        assert truncated == (run == limit)
    if limit is not None:
        with pytest.raises(RuntimeError, match="call reset"):
            env.step(engine.RIGHT)
        env.reset(seed=0)
        set_grid(env, [[1, 2, 0, 0], [0] * 4, [0] * 4, [0] * 4])
        for _ in range(limit - 1):
            env.step(engine.LEFT)
        _, _, _, truncated, info = env.step(engine.RIGHT)  # legal: the run starts again
        assert info["illegal_run"] == 0 and not truncated
        set_grid(env, [[1, 2, 0, 0], [0] * 4, [0] * 4, [0] * 4])
        _, _, _, truncated, info = env.step(engine.LEFT)
        assert info["illegal_run"] == 1 and truncated == (limit == 1)


def test_illegal_move_can_terminate_with_a_penalty():
    env = Game2048Env(illegal_action="terminate", illegal_reward=-5.0)
    env.reset(seed=0)
    set_grid(env, [[1, 2, 0, 0], [0] * 4, [0] * 4, [0] * 4])
    _, reward, terminated, _, info = env.step(engine.LEFT)
    assert reward == -5.0 and terminated and info["illegal"] and not info["action_mask"].any()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(engine.RIGHT)


def test_game_ends_when_no_move_is_legal():
    env = Game2048Env()
    env.reset(seed=0)
    # 2 4 2 4 / 4 2 4 2 / 8 4 2 4 / 8 16 32 . : after RIGHT the spawn (2 or 4) has no equal neighbour.
    set_grid(env, [[1, 2, 1, 2], [2, 1, 2, 1], [3, 2, 1, 2], [3, 4, 5, 0]])
    obs, reward, terminated, truncated, info = env.step(engine.RIGHT)
    assert obs[3].tolist()[1:] == [3, 4, 5] and obs[3, 0] in (1, 2)
    assert reward == 0 and terminated and not truncated
    assert not info["action_mask"].any()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(engine.LEFT)


def test_random_games_terminate_with_empty_mask():
    env = gym.make(ID)
    rng = np.random.default_rng(0)
    for seed in range(5):
        _, info = env.reset(seed=seed)
        terminated = False
        while not terminated:
            action = rng.choice(np.flatnonzero(info["action_mask"]))
            _, _, terminated, truncated, info = env.step(action)
            assert not truncated
        assert not info["action_mask"].any()
        assert episode_metrics(info)["score"] == info["score"] > 0


def test_max_episode_steps_truncates():
    env = gym.make(ID, max_episode_steps=5)
    env.reset(seed=0)
    for t in range(5):
        _, _, terminated, truncated, _ = env.step(t % 4)
    assert truncated and not terminated


def play(env, actions, seed):
    out = [env.reset(seed=seed)[0]]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        out.append((obs, reward, terminated, info["score"]))
        if terminated or truncated:
            out.append(env.reset()[0])
    return out


def same(a, b):
    return all(
        np.array_equal(x, y) if isinstance(x, np.ndarray) else same(x, y) if isinstance(x, tuple) else x == y
        for x, y in zip(a, b, strict=True)
    )


def test_seed_makes_games_reproducible():
    actions = np.random.default_rng(1).integers(0, 4, 300)
    first = play(gym.make(ID), actions, seed=42)
    assert same(first, play(gym.make(ID), actions, seed=42))
    assert not same(first, play(gym.make(ID), actions, seed=43))


def test_pickled_env_continues_identically():
    env = gym.make(ID)
    env.reset(seed=3)
    for action in [0, 1, 2, 3]:
        env.step(action)
    copy = pickle.loads(pickle.dumps(env))
    for action in [3, 2, 1, 0, 1, 1, 2]:
        a, b = env.step(action), copy.step(action)
        assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]


@pytest.mark.parametrize("action", [4, -1, 1.5, "up", np.array([1, 2]), np.array(1.0), True, None])
def test_bad_actions_are_refused(action):
    env = gym.make(ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an integer in 0\.\.3"):
        env.unwrapped.step(action)


def test_numpy_integer_actions_are_accepted():
    env = Game2048Env()
    env.reset(seed=0)
    for action in [np.int64(1), np.int8(2), np.array(3)]:
        env.step(action)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"observation": "pixels"}, "observation"),
        ({"illegal_action": "skip"}, "illegal_action"),
        ({"max_illegal_run": 0}, "max_illegal_run"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Game2048Env(**kwargs)
    with pytest.raises(ValueError, match=field):
        Game2048VectorEnv(num_envs=2, **kwargs)


# --- vector env ---


def test_make_vec_uses_the_batched_env():
    env = gym.make_vec(ID, num_envs=1024, vectorization_mode="vector_entry_point")
    assert isinstance(env.unwrapped, Game2048VectorEnv)
    obs, info = env.reset(seed=0)
    assert obs.shape == (1024, 4, 4) and info["action_mask"].shape == (1024, 4)
    obs, rewards, terminated, truncated, info = env.step(np.zeros(1024, dtype=np.int64))
    assert rewards.shape == terminated.shape == truncated.shape == (1024,)
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP


@pytest.mark.parametrize("observation", ["exponents", "onehot"])
@pytest.mark.parametrize("illegal_action", ["noop", "terminate"])
def test_vector_env_equals_single_envs(observation, illegal_action):
    """Same seeds, same actions: the batched env gives exactly SyncVectorEnv's trajectories,
    across game ends, autoresets, illegal moves and truncations."""
    n, steps = 8, 400
    # A short run of illegal moves truncates too, so truncations of both kinds happen.
    kwargs = {
        "observation": observation,
        "illegal_action": illegal_action,
        "max_episode_steps": 150,
        "max_illegal_run": 3,
    }
    batched = gym.make_vec(ID, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    reference = gym.make_vec(ID, num_envs=n, vectorization_mode="sync", **kwargs)
    actions = np.random.default_rng(0).integers(0, 4, size=(steps, n))
    a, b = batched.reset(seed=10), reference.reset(seed=10)
    assert np.array_equal(a[0], b[0])
    ends = 0
    for t in range(steps):
        a = batched.step(actions[t])
        b = reference.step(actions[t])
        for x, y in zip(a[:4], b[:4], strict=True):
            assert np.array_equal(x, y), t
        for key in ("score", "max_tile", "illegal", "illegal_run", "action_mask"):
            assert np.array_equal(a[4][key], b[4][key]), (t, key)
        ends += int((a[2] | a[3]).sum())
    assert ends > 0


def test_vector_env_refuses_bad_actions():
    env = Game2048VectorEnv(num_envs=4)
    env.reset(seed=0)
    for actions in [np.zeros(3, dtype=int), np.zeros((4, 1), dtype=int), np.zeros(4), np.array([0, 1, 2, 4])]:
        with pytest.raises(ValueError, match="actions must"):
            env.step(actions)
    with pytest.raises(ValueError, match="num_envs"):
        Game2048VectorEnv(num_envs=0)


def test_vector_env_takes_a_list_of_seeds():
    listed = Game2048VectorEnv(num_envs=3)
    counted = Game2048VectorEnv(num_envs=3)
    assert np.array_equal(listed.reset(seed=[5, 6, 7])[0], counted.reset(seed=5)[0])
    with pytest.raises(ValueError, match="seed"):
        listed.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="seed"):
        Game2048Env().reset(seed=-1)

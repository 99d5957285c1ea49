"""The voxel-robot gymnasium envs: API conformance, bodies, the vector env, a walking design."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gridworlds  # noqa: F401
from gridworlds.engines.voxels.bodies import EXAMPLE_BODIES, actuator_cells, body_from_text, write_body
from gridworlds.envs.voxels import VoxelEnv, VoxelVectorEnv

WALKER = "gridworlds/Walker-v0"
STRIP = np.array([[3, 3, 4]])


def test_walker_passes_gymnasium_checks_with_a_body_of_any_shape():
    env = gym.make(WALKER, body=STRIP)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.action_space.shape == (3,)
    points = 8  # a 1x3 strip: 2 rows of 4 corners
    assert env.observation_space.shape == (2 + 2 * points,)


def test_a_body_comes_from_an_array_a_text_or_a_file(tmp_path):
    text = EXAMPLE_BODIES["walker"]
    write_body(tmp_path / "walker.json", body_from_text(text))
    shapes = {
        VoxelEnv(body=source).action_space.shape
        for source in (
            None,
            text,
            body_from_text(text),
            str(tmp_path / "walker.json"),
            tmp_path / "walker.json",
        )
    }
    assert shapes == {(12,)}
    with pytest.raises(ValueError, match="4-connected"):
        VoxelEnv(body=[[3, 0, 3]])
    with pytest.raises(FileNotFoundError):
        VoxelEnv(body=str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="task must be one of"):
        VoxelEnv(task="Runner-v9")


def test_bad_actions_are_refused_and_change_nothing():
    env = VoxelEnv(body=STRIP)
    obs, _ = env.reset()
    with pytest.raises(ValueError, match=r"action must have shape \(3,\)"):
        env.step(np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([1.0, np.nan, 1.0]))
    assert env.core.lengths[0] == 0
    np.testing.assert_array_equal(env.core.observe()[0], obs)


def test_reward_is_the_forward_move_and_the_horizon_truncates():
    env = VoxelEnv(body=STRIP)
    env.reset()
    start = env.core.measure().robot[0, 0]
    total, steps = 0.0, 0
    while True:
        _, reward, terminated, truncated, info = env.step(np.ones(3))
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            break
    assert (steps, terminated, truncated) == (500, False, True)
    assert total == pytest.approx(env.core.measure().robot[0, 0] - start)
    assert info["distance"] == pytest.approx(total)


def test_a_horizon_argument_truncates_sooner():
    env = VoxelEnv(body=STRIP, horizon=3)
    env.reset()
    assert [env.step(np.ones(3))[3] for _ in range(3)] == [False, False, True]
    vector = VoxelVectorEnv(num_envs=2, body=STRIP, horizon=3)
    vector.reset()
    assert [vector.step(np.ones((2, 3)))[3].tolist() for _ in range(3)][-1] == [True, True]
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        VoxelEnv(horizon=0)


def test_the_vector_env_steps_like_single_envs_and_resets_after_the_end():
    vector = VoxelVectorEnv(num_envs=3, body=STRIP)
    singles = [VoxelEnv(body=STRIP) for _ in range(3)]
    obs, _ = vector.reset(seed=0)
    np.testing.assert_array_equal(obs, np.stack([env.reset()[0] for env in singles]))
    rng = np.random.default_rng(0)
    for _ in range(5):
        actions = rng.uniform(0.6, 1.6, (3, 3))
        obs, rewards, *_ = vector.step(actions)
        expected = [env.step(a) for env, a in zip(singles, actions, strict=True)]
        np.testing.assert_array_equal(obs, np.stack([e[0] for e in expected]))
        np.testing.assert_array_equal(rewards, [e[1] for e in expected])
    vector.core.lengths[1] = 499  # copy 1 reaches the horizon on the next step
    _, _, _, truncated, _ = vector.step(np.ones((3, 3)))
    assert truncated.tolist() == [False, True, False]
    obs, rewards, terminated, truncated, _ = vector.step(np.ones((3, 3)))
    np.testing.assert_array_equal(obs[1], VoxelEnv(body=STRIP).reset()[0])
    assert (rewards[1], terminated[1], truncated[1]) == (0.0, False, False)
    envs = gym.make_vec(WALKER, num_envs=2, vectorization_mode="vector_entry_point", body=STRIP)
    assert envs.action_space.shape == (2, 3)


def test_a_walker_with_a_simple_periodic_gait_covers_two_metres():
    # A hand-made gait: each leg's two actuator columns a half period apart, one leg a quarter period
    # behind the other; the period (26 steps) was picked among 20, 26 and 32.
    body = body_from_text(EXAMPLE_BODIES["walker"])
    column_phase = {0: 0.0, 1: np.pi, 3: 0.0, 4: 1.5 * np.pi}
    phases = np.array([column_phase[c] for c in actuator_cells(body)[:, 1]])
    env = VoxelEnv(body=body)
    env.reset()
    for t in range(500):
        _, _, terminated, truncated, info = env.step(1.1 + 0.5 * np.sin(2 * np.pi * t / 26 + phases))
        assert not terminated
    assert info["distance"] > 2.0


def test_sb3_ppo_drives_a_voxel_robot_in_the_worlds_action_range(tmp_path):
    pytest.importorskip("stable_baselines3")
    from gridworlds.agents import load_agent, make_agent

    env = gym.make(WALKER, body=STRIP)
    agent = make_agent("sb3", WALKER, seed=0, algo="PPO", n_envs=1, n_steps=64, batch_size=32)
    agent.learn(env, 64)
    obs, _ = env.reset(seed=0)
    action = agent.act(obs, {})
    # the policy acts in [-1, 1]: an untrained one starts near the middle of Box(0.6, 1.6), not at 0.6
    assert env.action_space.contains(action) and np.all(np.abs(action - 1.1) < 0.3)
    agent.save(tmp_path / "ppo")
    np.testing.assert_allclose(load_agent(tmp_path / "ppo").act(obs, {}), action)
    with pytest.raises(ValueError, match="continuous actions: use algo='PPO'"):
        make_agent("sb3", WALKER, algo="MaskablePPO", n_envs=1).learn(env, 64)


def test_floor_gaps_are_read_from_the_terrain_under_each_column():
    env = VoxelEnv("UpStepper-v0", body=np.full((2, 2), 3))  # robot at cell (1, 1) on ground 1 voxel high
    obs, _ = env.reset()
    centre = env.core.measure().robot[0]
    floor = obs[-11:]  # floor:5, columns x = centre - 5 .. centre + 5 voxels
    gap = min(centre[1] - 0.1, 0.5)  # the ground's top is at y = 0.1
    expected = [0.5 if centre[0] + 0.1 * k < 0 else gap for k in range(-5, 6)]  # nothing left of x = 0
    np.testing.assert_allclose(floor, expected, atol=1e-12)
    assert env.core.task.observation[-1] == "floor:5"

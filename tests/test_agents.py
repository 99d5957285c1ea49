"""The agent table, the untrained agents, and the stable-baselines3 adapter."""

import numpy as np
import pytest

import gridworlds
from gridworlds.agents import AGENTS, Agent, load_agent, make_agent, read_manifest
from gridworlds.agents.game2048.greedy import observation_to_board
from gridworlds.engines import game2048 as engine
from gridworlds.registry import GYMNASIUM, WORLDS
from gridworlds.runner import evaluate, evaluate_command

ID = "gridworlds/2048-v0"


def test_unknown_names_and_parameters_are_refused():
    with pytest.raises(ValueError, match="unknown agent name 'nope'"):
        make_agent("nope", ID)
    with pytest.raises(ValueError, match="bad parameters"):
        make_agent("random", ID, temperature=2.0)
    with pytest.raises(ValueError, match="does not play"):
        make_agent("greedy", "gridworlds/Elsewhere-v0")


# Learners, and agents that need a trained network, have tests of their own.
UNTRAINED = sorted(
    (name, world_id)
    for name, worlds in AGENTS.items()
    if name not in ("sb3", "ntuple", "expectimax", "othello-gpt", "shared-ppo")
    for world_id in ([ID, "gridworlds/OthelloVs-v0"] if "*" in worlds else worlds)
    if WORLDS[world_id].kind == GYMNASIUM
)


@pytest.mark.parametrize("name, world_id", UNTRAINED)
def test_untrained_agents_play_legal_moves_and_round_trip(name, world_id, tmp_path):
    agent = make_agent(name, world_id, seed=1)
    assert isinstance(agent, Agent)
    assert agent.learn(None, 0) == {}
    env = gridworlds.make(world_id)
    obs, info = env.reset(seed=0)
    for _ in range(50):
        action = agent.act(obs, info)
        assert env.action_space.contains(action)
        if "action_mask" in info:
            assert info["action_mask"][action]
        obs, _, terminated, _, info = env.step(action)
        if terminated:
            obs, info = env.reset()
    agent.save(tmp_path / "ckpt")
    copy = load_agent(tmp_path / "ckpt")
    assert type(copy) is type(agent) and copy.params() == agent.params()
    # Same seed, same choices.
    fresh = make_agent(name, world_id, seed=1)
    assert np.array_equal([copy.act(obs, info) for _ in range(20)], [fresh.act(obs, info) for _ in range(20)])


def test_greedy_takes_the_biggest_merge():
    grid = np.array([[1, 1, 0, 0], [2, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0]])  # 2 2 / 4 / 4 / 8
    obs = grid.astype(np.int8)
    agent = make_agent("greedy", ID, seed=0)
    # Left or right merges the 2s (4 points); up or down merges the 4s (8 points).
    assert agent.act(obs, {}) in (engine.UP, engine.DOWN)
    planes = (grid[None] == np.arange(16)[:, None, None]).astype(np.int8)
    assert observation_to_board(planes) == observation_to_board(obs)


def test_greedy_beats_random():
    scores = {
        name: evaluate(make_agent(name, ID, seed=0), ID, {}, episodes=20, seed=0)["score_mean"]
        for name in ("random", "greedy")
    }
    assert scores["greedy"] > 1.5 * scores["random"]


def test_load_refuses_a_directory_without_manifest(tmp_path):
    with pytest.raises(ValueError, match="not an agent checkpoint"):
        load_agent(tmp_path)


def test_sb3_refuses_unknown_hyperparameters():
    pytest.importorskip("sb3_contrib")
    with pytest.raises(ValueError, match="learning_rat"):
        make_agent("sb3", ID, learning_rat=0.1)
    with pytest.raises(ValueError, match="algo"):
        make_agent("sb3", ID, algo="DQN9")


@pytest.mark.parametrize("algo, observation", [("MaskablePPO", "onehot"), ("PPO", "exponents")])
def test_sb3_learns_saves_and_acts(algo, observation, tmp_path):
    pytest.importorskip("sb3_contrib")
    agent = make_agent("sb3", ID, seed=0, algo=algo, n_envs=2, n_steps=64, batch_size=64, n_epochs=1)
    reports = []
    env = gridworlds.make(ID, observation=observation)
    metrics = agent.learn(env, 512, lambda step, m: reports.append((step, m)))
    assert metrics["steps"] == 512
    assert [step for step, _ in reports] == [128, 256, 384, 512]  # one per rollout of 2 envs x 64 steps
    assert reports[-1][1]["episode_return"] > 0 and metrics["score"] > 0
    agent.save(tmp_path / "ckpt")
    copy = load_agent(tmp_path / "ckpt")
    # The checkpoint remembers the world's arguments, so evaluations and viewers play what it learned.
    assert read_manifest(tmp_path / "ckpt")["env"] == {"observation": observation}
    # PPO without masks may repeat an illegal no-op move forever, hence the step cap.
    assert evaluate_command(ID, str(tmp_path / "ckpt"), episodes=1, max_steps=500)["length_mean"] > 0
    obs, info = env.reset(seed=0)
    for _ in range(30):
        action = agent.act(obs, info)
        assert copy.act(obs, info) == action
        if algo == "MaskablePPO":
            assert info["action_mask"][action]
        obs, _, terminated, _, info = env.step(action)
        if terminated:
            obs, info = env.reset()
    # Learning resumes from the loaded model's step count.
    assert copy.learn(env, 128)["steps"] == 640


def test_sb3_callback_can_stop_learning():
    pytest.importorskip("sb3_contrib")
    agent = make_agent("sb3", ID, seed=0, n_envs=2, n_steps=32, batch_size=64, n_epochs=1)
    steps = agent.learn(gridworlds.make(ID), 10_000, lambda step, m: False)["steps"]
    assert steps < 10_000

"""`selfplay_vec_env`: hide-and-seek as a stable-baselines3 vector env through SuperSuit, one sub-env
per agent of each copy, every copy playing its own worlds from a seed; and the README's recipe with
it, run as written but for its sizes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("supersuit")
pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO  # noqa: E402

from gridworlds.agents.hide_and_seek.sb3_selfplay import selfplay_vec_env  # noqa: E402

QUADRANT = "gridworlds/HideAndSeekQuadrant-v0"
AGENTS = 4  # the quadrant game's 2 hiders and 2 seekers
README = Path(__file__).parents[1] / "README.md"
# The README recipe's sizes -> a test's: each must appear in it exactly once.
TINY = {
    "num_copies=8": "num_copies=2",
    "n_steps=128": "n_steps=8",
    "batch_size=1024": "batch_size=64",
    "total_timesteps=1_000_000": "total_timesteps=64",
}


def copies(observations: np.ndarray) -> np.ndarray:
    """The observations [sub-envs, ...] as [copies, agents, ...]."""
    return observations.reshape(-1, AGENTS, *observations.shape[1:])


def test_every_copy_plays_its_own_worlds_from_the_seed():
    venv = selfplay_vec_env(QUADRANT, 3, seed=0, observation="flat")
    assert venv.num_envs == 3 * AGENTS
    first = copies(venv.reset())
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    assert np.array_equal(copies(selfplay_vec_env(QUADRANT, 3, seed=0, observation="flat").reset()), first)
    assert not np.array_equal(
        copies(selfplay_vec_env(QUADRANT, 3, seed=1, observation="flat").reset()), first
    )
    unseeded = copies(selfplay_vec_env(QUADRANT, 2, observation="flat").reset())
    assert not np.array_equal(unseeded[0], unseeded[1])  # a seed drawn at random, copies apart


def test_ppo_seeds_it_and_learns_on_it(tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path))  # SB3's own logger folder, which it always makes
    seeded = copies(selfplay_vec_env(QUADRANT, 2, seed=0, observation="flat").reset())
    venv = selfplay_vec_env(QUADRANT, 2, seed=7, horizon=8, observation="flat")
    model = PPO("MlpPolicy", venv, n_steps=8, batch_size=64, n_epochs=1, seed=0)  # seeds copy i with 0 + i
    assert np.array_equal(copies(venv.reset()), seeded)
    model.learn(total_timesteps=64)
    assert model.num_timesteps == 2 * AGENTS * 8


def test_it_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="num_copies must be a positive integer"):
        selfplay_vec_env(QUADRANT, 0)
    with pytest.raises(ValueError, match="plays the hide-and-seek worlds"):
        selfplay_vec_env("gridworlds/2048-v0", 2)


def readme_recipe(text: str) -> str:
    """The README's Python block that calls selfplay_vec_env."""
    blocks = [
        block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "selfplay_vec_env(" in block
    ]
    assert len(blocks) == 1, "README.md should hold one Python block calling selfplay_vec_env"
    return blocks[0]


def test_the_readme_recipe_runs(tmp_path, monkeypatch, one_torch_thread):
    code = readme_recipe(README.read_text())
    for size, tiny in TINY.items():
        assert code.count(size) == 1, f"the README's recipe no longer says {size}"
        code = code.replace(size, tiny)
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path))
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["model"].num_timesteps >= 64

"""The registry, gridworlds.make, `gridworlds list`, and what `import gridworlds` pulls in."""

import subprocess
import sys

import gymnasium as gym
import pytest

import gridworlds
from gridworlds.cli import main
from gridworlds.registry import GYMNASIUM, PETTINGZOO_AEC, PETTINGZOO_PARALLEL, WORLDS, load


@pytest.mark.parametrize("world_id", sorted(WORLDS))
def test_every_world_is_made_with_its_kind(world_id):
    spec = WORLDS[world_id]
    env = gridworlds.make(world_id)
    if spec.kind == GYMNASIUM:
        assert isinstance(env, gym.Env)
        assert gym.spec(world_id).vector_entry_point == spec.vector_entry_point
    else:
        assert spec.kind in (PETTINGZOO_AEC, PETTINGZOO_PARALLEL)
    observation_space, action_space = spec.spaces()
    assert observation_space and action_space and spec.description
    env.close()


@pytest.mark.parametrize("world_id", sorted(WORLDS))
def test_every_entry_point_string_loads(world_id):
    spec = WORLDS[world_id]
    for target in (spec.entry_point, spec.vector_entry_point, spec.viewer, spec.episode_metrics, spec.bench):
        if target is not None:
            assert callable(load(target))


def test_unknown_id_lists_the_known_ones():
    with pytest.raises(ValueError, match="gridworlds/2048-v0"):
        gridworlds.make("gridworlds/Nope-v0")


def test_make_passes_arguments():
    env = gridworlds.make("gridworlds/2048-v0", observation="onehot", max_episode_steps=3)
    assert env.observation_space.shape == (16, 4, 4)
    env.reset(seed=0)
    assert [env.step(a)[3] for a in (0, 1, 2)][-1] is True


def test_list_command_prints_every_world(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for world_id, spec in WORLDS.items():
        assert world_id in out and spec.kind in out
    assert "Discrete(4)" in out


def test_import_is_light():
    """`import gridworlds` registers the ids without numba, torch or pygame."""
    code = (
        "import sys, gridworlds, gymnasium; "
        "assert 'gridworlds/2048-v0' in gymnasium.registry; "
        "print(sorted(m for m in ('numba', 'torch', 'pygame', 'stable_baselines3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

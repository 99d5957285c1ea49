"""Seeds are integers in [0, 2**63) everywhere: larger ones used to wrap around onto seed 0's game,
and a seed range had no bound, so a typo ran the machine out of memory."""

import gymnasium as gym
import pytest

import gridworlds  # noqa: F401  (registers the ids)
from gridworlds.engines.rng import seed_state
from gridworlds.envs.checks import check_seed
from gridworlds.runner.config import MAX_SEEDS, load_experiment, parse_seeds

EXPERIMENT = """name = "seeds"
world = "gridworlds/2048-v0"
seeds = {seeds}

[[agents]]
name = "random"
"""


def test_the_largest_seed_is_taken_and_the_next_refused():
    largest = 2**63 - 1
    assert check_seed(largest) == largest and seed_state(largest) != seed_state(0)
    for refuse in (check_seed, seed_state):
        with pytest.raises(ValueError, match=r"\[0, 2\*\*63\)"):
            refuse(2**63)
        with pytest.raises(ValueError, match=r"\[0, 2\*\*63\)"):
            refuse(2**64)  # used to wrap around to seed 0's stream


def test_envs_refuse_seeds_past_the_limit():
    env = gym.make("gridworlds/2048-v0")
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed=2**64)
    envs = gym.make_vec("gridworlds/2048-v0", num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="seed"):
        envs.reset(seed=2**63 - 1)  # the second env's seed, 2**63, is past the limit


def test_seed_ranges_are_bounded_before_they_are_built():
    assert parse_seeds(f"0-{MAX_SEEDS - 1}") == list(range(MAX_SEEDS))
    with pytest.raises(ValueError, match=f"at most {MAX_SEEDS} seeds"):
        parse_seeds("0-99999999999")
    with pytest.raises(ValueError, match=f"at most {MAX_SEEDS} seeds"):
        parse_seeds(f"0-{MAX_SEEDS - 1},{MAX_SEEDS}")
    with pytest.raises(ValueError, match="too large"):
        parse_seeds(str(2**63))


@pytest.mark.parametrize("seeds", [f"[{2**63}]", "[-1]", f"[{', '.join(map(str, range(MAX_SEEDS + 1)))}]"])
def test_an_experiment_files_seeds_are_checked(tmp_path, seeds):
    path = tmp_path / "seeds.toml"
    path.write_text(EXPERIMENT.format(seeds=seeds))
    with pytest.raises(ValueError, match=r"seeds\.toml.*seeds.*\[0, 2\*\*63\)"):
        load_experiment(path)

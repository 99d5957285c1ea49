"""Argument checks shared by the envs; each error names the argument and the form it expects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gridworlds.engines.rng import SEED_LIMIT, seed_state


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_int_range(name: str, value: Any, low: int, high: int) -> int:
    """An integer from `low` to `high`; callers bound a count where a larger one would hang or
    exhaust memory, and say why beside the bound."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def check_non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)


def check_positive_number(name: str, value: Any) -> float:
    if not _is_number(value) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_non_negative_number(name: str, value: Any) -> float:
    if not _is_number(value) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def check_probability(name: str, value: Any) -> float:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def check_discrete_action(action: Any, n: int) -> int:
    """An integer in [0, n): a Python or numpy integer, or a 0-d integer array."""
    if isinstance(action, np.ndarray) and action.ndim == 0 and action.dtype.kind in "iu":
        action = action.item()
    if isinstance(action, bool) or not isinstance(action, int | np.integer) or not 0 <= action < n:
        shape = f" of shape {action.shape}" if isinstance(action, np.ndarray) else ""
        raise ValueError(f"action must be an integer in 0..{n - 1}, got {action!r}{shape}")
    return int(action)


def require_reset(needed: bool) -> None:
    """Every env's answer to a step with no episode under way (before the first reset(), or after a
    termination or truncation): one RuntimeError with one message, whatever the world."""
    if needed:
        raise RuntimeError("step() called before reset() or after the episode ended; call reset() first")


def check_seed(seed: Any) -> int | None:
    """None or an integer (Python or numpy) in [0, 2**63)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seed must be None or an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def engine_seed(seed: int | None, current: np.uint64, np_random: np.random.Generator) -> np.uint64:
    """The engine generator state after `reset(seed=...)`: drawn from the seed when one is given,
    kept when the env already has one, else drawn from the env's np_random."""
    if seed is not None:
        return seed_state(seed)
    if current != 0:
        return current
    return np.uint64(np_random.integers(0, 2**63))


def vector_seeds(seed: Any, num_envs: int) -> list[int] | None:
    """`reset(seed=...)` of a vector env: an int s seeds env i with s + i (as SyncVectorEnv does);
    a list gives one seed per env; None keeps each env's generator."""
    if seed is None:
        return None
    seeds = [seed + i for i in range(num_envs)] if isinstance(seed, int | np.integer) else list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"seed must be an int or a list of {num_envs} ints, got {seed!r}")
    return [check_seed(s) for s in seeds]


def reset_vector_rngs(rngs: np.ndarray, seed: Any, np_random: np.random.Generator) -> None:
    """Set the engine generator state of every env of a vector env for `reset(seed=...)`."""
    seeds = vector_seeds(seed, len(rngs))
    for i in range(len(rngs)):
        rngs[i] = engine_seed(None if seeds is None else seeds[i], rngs[i], np_random)


def check_vector_actions(actions: Any, num_envs: int, n: int) -> np.ndarray:
    """A vector env's actions: an integer array of shape (num_envs,) with values in [0, n)."""
    actions = np.asarray(actions)
    if actions.shape != (num_envs,) or actions.dtype.kind not in "iu":
        raise ValueError(
            f"actions must be an integer array of shape ({num_envs},), "
            f"got {actions.dtype} array of shape {actions.shape}"
        )
    if ((actions < 0) | (actions >= n)).any():
        raise ValueError(f"actions must lie in 0..{n - 1}, got {actions}")
    return actions.astype(np.int64)

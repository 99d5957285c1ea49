"""Argument checks shared by the envs; each error names the argument and the form it expects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_discrete_action(action: Any, n: int) -> int:
    """An integer in [0, n): a Python or numpy integer, or a 0-d integer array."""
    if isinstance(action, np.ndarray) and action.ndim == 0 and action.dtype.kind in "iu":
        action = action.item()
    if isinstance(action, bool) or not isinstance(action, int | np.integer) or not 0 <= action < n:
        shape = f" of shape {action.shape}" if isinstance(action, np.ndarray) else ""
        raise ValueError(f"action must be an integer in 0..{n - 1}, got {action!r}{shape}")
    return int(action)

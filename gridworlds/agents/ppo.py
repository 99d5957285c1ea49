"""The pieces of PPO (Schulman et al. 2017) that every PPO learner here shares: generalised advantage
estimates (Schulman et al. 2016), the clipped surrogate loss, and the checks of the settings they
all have."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gridworlds.envs.checks import (
    check_non_negative_number,
    check_positive_int,
    check_positive_number,
    check_probability,
)


def check_ppo_settings(config: Any) -> None:
    """A ValueError naming the first of the usual PPO fields of `config` out of its range: epochs,
    minibatches, learning_rate, clip, max_grad_norm, gamma, gae_lambda, entropy, value_coef."""
    for name in ("epochs", "minibatches"):
        check_positive_int(name, getattr(config, name))
    for name in ("learning_rate", "clip", "max_grad_norm"):
        check_positive_number(name, getattr(config, name))
    for name in ("gamma", "gae_lambda"):
        check_probability(name, getattr(config, name))
    for name in ("entropy", "value_coef"):
        check_non_negative_number(name, getattr(config, name))


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    gamma: float,
    lam: float,
    ends: np.ndarray | None = None,
    last_value: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates and returns, (advantages, returns), of rewards and values
    [T, ...]. ends[t] (bool [T, ...], None: never) says an episode ended after step t, so nothing is
    bootstrapped across it; after the last step `last_value` is bootstrapped (0, the default: the
    episodes end there, as whole-episode rollouts do)."""
    advantages = np.zeros_like(rewards)
    running = np.zeros_like(rewards[0])
    for t in reversed(range(len(rewards))):
        next_value = values[t + 1] if t + 1 < len(rewards) else last_value
        going_on = 1.0 if ends is None else 1.0 - ends[t]
        delta = rewards[t] + gamma * next_value * going_on - values[t]
        running = delta + gamma * lam * going_on * running
        advantages[t] = running
    return advantages, advantages + values


def clipped_loss(
    new_logprob: torch.Tensor, old_logprob: torch.Tensor, advantages: torch.Tensor, clip: float
) -> torch.Tensor:
    """PPO's clipped surrogate, to minimise."""
    ratio = torch.exp(new_logprob - old_logprob)
    return -torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages).mean()

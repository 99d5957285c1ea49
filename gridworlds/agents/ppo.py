"""The pieces of PPO (Schulman et al. 2017) that every PPO learner here shares: generalised advantage
estimates (Schulman et al. 2016), the clipped surrogate loss, and the checks of the settings they
all have."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from gridworlds.envs.checks import (
    check_int_range,
    check_non_negative_number,
    check_positive_number,
    check_probability,
)

MAX_EPOCHS = 1_000
MAX_MINIBATCHES = 10_000


@dataclass(frozen=True)
class PPOSettings:
    """The settings every PPO learner here has; a learner's config adds its own fields to these and
    may change their defaults."""

    learning_rate: float = 3e-4
    n_epochs: int = 4  # passes over each rollout
    minibatches: int = 4  # each pass cuts the rollout into this many minibatches
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    value_coef: float = 0.5
    max_grad_norm: float = 0.5

    def __post_init__(self) -> None:
        """A ValueError naming the first of these fields out of its range; a learner's config that
        adds fields checks them in its own __post_init__, after calling this one."""
        # Passes and minibatches repeat the update: a hundred times the usual settings is a typo
        check_int_range("n_epochs", self.n_epochs, 1, MAX_EPOCHS)
        check_int_range("minibatches", self.minibatches, 1, MAX_MINIBATCHES)
        for name in ("learning_rate", "clip_range", "max_grad_norm"):
            check_positive_number(name, getattr(self, name))
        for name in ("gamma", "gae_lambda"):
            check_probability(name, getattr(self, name))
        for name in ("ent_coef", "value_coef"):
            check_non_negative_number(name, getattr(self, name))


def minibatches(samples: int, settings: PPOSettings, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """The sample indices of every minibatch of every epoch: each epoch a fresh permutation cut into
    `settings.minibatches` equal parts (a remainder sits that epoch out)."""
    size = samples // settings.minibatches
    for _ in range(settings.n_epochs):
        order = torch.randperm(samples, generator=generator)
        for first in range(0, size * settings.minibatches, size):
            yield order[first : first + size]


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
    new_logprob: torch.Tensor, old_logprob: torch.Tensor, advantages: torch.Tensor, clip_range: float
) -> torch.Tensor:
    """PPO's clipped surrogate, to minimise."""
    ratio = torch.exp(new_logprob - old_logprob)
    clipped = ratio.clamp(1 - clip_range, 1 + clip_range)
    return -torch.min(ratio * advantages, clipped * advantages).mean()

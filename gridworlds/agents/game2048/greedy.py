"""2048 agents that need no neural network."""

from __future__ import annotations

from typing import Any

import numpy as np

from gridworlds.agents.simple import UntrainedAgent
from gridworlds.engines import game2048 as engine


def observation_to_board(observation: np.ndarray) -> np.uint64:
    """The 64-bit board behind an exponent grid (4, 4) or one-hot planes (16, 4, 4)."""
    observation = np.asarray(observation)
    grid = observation.argmax(axis=0) if observation.ndim == 3 else observation
    return engine.grid_to_board(grid.astype(np.int64))


class Greedy2048(UntrainedAgent):
    """Takes the legal move with the largest immediate merge reward; ties broken at random."""

    name = "greedy"

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        _, rewards, legal = engine.afterstates(observation_to_board(observation))
        if not legal.any():
            return 0
        best = np.flatnonzero(legal & (rewards == rewards[legal].max()))
        return int(self.rng.choice(best))

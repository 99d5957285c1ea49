"""Agents that need no training, and the base they share."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from gridworlds.agents.base import AgentBase, Callback


class UntrainedAgent(AgentBase):
    """An agent whose behaviour is fixed by its parameters: learn does nothing, and a checkpoint is
    its manifest alone."""

    name = "untrained"

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        super().__init__(world_id, seed, **settings)
        self.rng = np.random.default_rng(seed)

    def learn(self, env_or_data: Any, budget: int, callback: Callback | None = None) -> dict[str, float]:
        return {}


def action_mask(observation: Any, info: dict[str, Any]) -> np.ndarray | None:
    """The legal-action mask, wherever the world puts it (gymnasium: info; pettingzoo: observation)."""
    if "action_mask" in info:
        return np.asarray(info["action_mask"])
    if isinstance(observation, dict) and "action_mask" in observation:
        return np.asarray(observation["action_mask"])
    return None


class RandomAgent(UntrainedAgent):
    """Uniform over the legal actions; a sample of the world's action space if it has no mask.

    The action space comes from a world it builds once; in a pettingzoo world that is the space of
    its first agent (every agent of a world in this suite has the same one)."""

    name = "random"

    def __init__(self, world_id: str, seed: int | None = None):
        super().__init__(world_id, seed)
        self._action_space = None

    def bind(self, env: Any, seat: Any = None) -> RandomAgent:
        """Sample `env`'s own action space from now on (a world's size can depend on its arguments,
        as a voxel robot's actions on its body); returns the agent."""
        space = env.action_space
        if callable(space):  # pettingzoo: action_space(agent) is a method
            space = space(seat if seat is not None else env.possible_agents[0])
        self._action_space = copy.deepcopy(space)
        self._action_space.seed(self.seed)
        return self

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        mask = action_mask(observation, info)
        if mask is not None and mask.any():
            return int(self.rng.choice(np.flatnonzero(mask)))
        if self._action_space is None:
            from gridworlds.registry import make

            env = make(self.world_id)
            self.bind(env)
            env.close()
        return self._action_space.sample()

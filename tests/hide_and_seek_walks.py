"""What the hide-and-seek learners' tests share: observations along a random walk, a valid action."""

import numpy as np

from gridworlds.engines.hide_and_seek import ACTION_NVEC


def walk_observations(env, seed: int = 3, steps: int = 5) -> list:
    """Observations of hider_0 and seeker_1 along a random walk of `env`."""
    found, _ = env.reset(seed=seed)
    seen = []
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        seen += [found["hider_0"], found["seeker_1"]]
        actions = {agent: rng.integers(0, ACTION_NVEC) for agent in env.agents}
        found, *_ = env.step(actions)
    return seen


def valid(action) -> bool:
    """Whether `action` is 4 integers within ACTION_NVEC."""
    action = np.asarray(action)
    return (
        action.shape == (4,)
        and action.dtype.kind in "iu"
        and bool(((action >= 0) & (action < ACTION_NVEC)).all())
    )

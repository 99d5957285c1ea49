"""What the hide-and-seek learners' tests share: observations along a random walk, a valid action,
the checks of a report."""

import numpy as np

from gridworlds.engines.hide_and_seek import ACTION_NVEC, EPISODE_STATS


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


def check_team_metrics(metrics: dict[str, float], horizon: int) -> None:
    """A learner's report of whole episodes of `horizon` steps (40% of them preparation)."""
    prep = round(0.4 * horizon)
    assert set(EPISODE_STATS) | {"episode_length", "agent_steps_per_second"} <= set(metrics)
    assert metrics["episode_length"] == horizon
    assert metrics["agent_steps_per_second"] > 0
    # +-1 a step after preparation, the teams opposite; leaving the area only costs (-10).
    assert metrics["hider_reward"] + metrics["seeker_reward"] <= 1e-9
    assert -horizon * 11 <= metrics["hider_reward"] <= horizon - prep
    assert -horizon * 11 <= metrics["seeker_reward"] <= horizon - prep
    assert 0 <= metrics["hider_seen_fraction"] <= 1

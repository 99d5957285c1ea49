"""Hide-and-seek benchmark: the batched engine with and without observations, the pettingzoo env, memory.

No peer is measured: OpenAI's released worlds need MuJoCo and are not a grid. The targets (300k
engine steps and 30k env steps per second) are printed beside the figures.
"""

from __future__ import annotations

import numpy as np

from gridworlds.bench import peak_rss_mib, rate
from gridworlds.tables import format_table

BATCH = 1024
WORLDS = ("gridworlds/HideAndSeek-v0", "gridworlds/HideAndSeekQuadrant-v0")


def _scenario(world_id: str):
    from gridworlds.engines import hide_and_seek as engine
    from gridworlds.registry import world

    return engine.Scenario(**world(world_id).kwargs).check()


def engine_steps_per_second(world_id: str, seconds: float, observe: bool) -> tuple[float, float]:
    """Uniformly random actions in BATCH arenas, finished episodes restarted (the restarts are timed).

    Returns (env steps per second, bytes of state per arena).
    """
    from gridworlds.engines import hide_and_seek as engine

    scenario = _scenario(world_id)
    arenas = engine.new_arenas(scenario, list(range(BATCH)))
    rng = np.random.default_rng(0)
    actions = [
        np.stack([rng.integers(0, n, (BATCH, scenario.agents)) for n in engine.ACTION_NVEC], axis=-1)
        for _ in range(64)
    ]
    rewards = np.zeros((BATCH, scenario.agents))
    observations = engine.Observations.allocate(scenario, BATCH, 3) if observe else None
    engine.step(arenas, scenario, actions[0], rewards, observations)  # compile or load outside the timing

    def work() -> int:
        for a in actions:
            truncated = engine.step(arenas, scenario, a, rewards, observations)
            if truncated.any():
                engine.reset(arenas, scenario, truncated)
        return len(actions) * BATCH

    return rate(work, seconds), sum(array.nbytes for array in arenas) / BATCH


def env_steps_per_second(world_id: str, seconds: float, observation: str) -> float:
    """The pettingzoo env, one arena, uniformly random actions for every agent."""
    from gridworlds.registry import make

    env = make(world_id, observation=observation)
    env.reset(seed=0)
    space = env.action_space(env.possible_agents[0])
    space.seed(0)
    actions = [{agent: space.sample() for agent in env.possible_agents} for _ in range(256)]

    def work() -> int:
        for a in actions:
            if not env.agents:
                env.reset()
            env.step(a)
        return len(actions)

    return rate(work, seconds)


def run(quick: bool = False) -> None:
    seconds = 0.5 if quick else 3.0
    rows = [("measure", "value", "note")]
    for world_id in WORLDS:
        name = world_id.removeprefix("gridworlds/")
        scenario = _scenario(world_id)
        shape = f"{scenario.hiders} v {scenario.seekers}, {scenario.boxes} boxes, {scenario.ramps} ramps"
        steps, state_bytes = engine_steps_per_second(world_id, seconds, observe=False)
        observed, _ = engine_steps_per_second(world_id, seconds, observe=True)
        dict_env = env_steps_per_second(world_id, seconds, "dict")
        flat_env = env_steps_per_second(world_id, seconds, "flat")
        rows += [
            (f"{name} engine", f"{steps / 1e3:.0f}k steps/s", f"batch {BATCH}, {shape}; target 300k"),
            (f"{name} engine + observe", f"{observed / 1e3:.0f}k steps/s", "every agent's observation too"),
            (f"{name} pettingzoo env", f"{dict_env / 1e3:.1f}k steps/s", "dict observations; target 30k"),
            (f"{name} pettingzoo env, flat", f"{flat_env / 1e3:.1f}k steps/s", 'observation="flat"'),
            (f"{name} state", f"{state_bytes:.0f} bytes per arena", f"grid {scenario.grid}x{scenario.grid}"),
        ]
    rows.append(("peak memory", f"{peak_rss_mib():.0f} MiB", "whole process (numba, gymnasium, pettingzoo)"))
    print(format_table(rows, numbers=False))

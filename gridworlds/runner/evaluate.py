"""Play an agent for whole episodes and summarise them; `gridworlds eval`."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from gridworlds.agents import Agent, player
from gridworlds.registry import GYMNASIUM, PETTINGZOO_PARALLEL, load, make, world
from gridworlds.tables import format_table


def evaluate(
    agent: Agent,
    world_id: str,
    env_kwargs: dict[str, Any],
    episodes: int,
    seed: int,
    max_steps: int = 0,
    progress: bool | dict[str, Any] = False,
) -> dict[str, float]:
    """Play `episodes` episodes of `gridworlds.make(world_id, **env_kwargs)`, episode k reset with seed + k.

    Returns return_mean, return_std, return_min, return_max, length_mean; `<metric>_mean` for each
    metric of the world's episode_metrics hook (for 2048: score, max_tile and the reach rates
    reached_512 ... reached_32768); score_max when there is a score; and moves_per_second, the
    speed of agent and world together. max_steps > 0 cuts episodes off after that many steps.
    An agent that `plays_in_engine` plays the games in the engine instead (see _engine_episodes):
    the same games, without an env step per move.
    progress: False, True, or keyword arguments for the tqdm bar.
    """
    spec = world(world_id)
    if spec.kind not in (GYMNASIUM, PETTINGZOO_PARALLEL):
        raise ValueError(f"evaluating {spec.kind} worlds such as {world_id} is not supported yet")
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    episode_metrics = load(spec.episode_metrics) if spec.episode_metrics else None
    bar = {"desc": "evaluate", **progress} if isinstance(progress, dict) else {}

    seeds = range(seed, seed + episodes)
    if agent.plays_in_engine and max_steps == 0:
        games = _engine_episodes(agent, seeds)
    elif spec.kind == PETTINGZOO_PARALLEL:
        games = _parallel_episodes(agent, make(world_id, **env_kwargs), seeds, max_steps)
    else:
        games = _env_episodes(agent, make(world_id, **env_kwargs), seeds, max_steps)
    returns, lengths = [], []
    metrics: dict[str, list[float]] = defaultdict(list)
    start = time.perf_counter()
    for total, length, info in tqdm(games, total=episodes, unit="episode", disable=progress is False, **bar):
        returns.append(total)
        lengths.append(length)
        for name, value in (episode_metrics(info) if episode_metrics else {}).items():
            metrics[name].append(value)
    elapsed = time.perf_counter() - start

    result = {
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "return_min": float(np.min(returns)),
        "return_max": float(np.max(returns)),
        "length_mean": float(np.mean(lengths)),
    }
    result.update({f"{name}_mean": float(np.mean(values)) for name, values in metrics.items()})
    if "score" in metrics:
        result["score_max"] = float(np.max(metrics["score"]))
    result["moves_per_second"] = sum(lengths) / elapsed
    return result


def _env_episodes(
    agent: Agent, env: Any, seeds: Iterable[int], max_steps: int
) -> Iterator[tuple[float, int, dict[str, Any]]]:
    """(return, length, last info) of each episode played through the env (the agent bound to it
    first, as the viewer does, for agents that read the world itself)."""
    agent.bind(env)
    try:
        for seed in seeds:
            observation, info = env.reset(seed=seed)
            total, length, done = 0.0, 0, False
            while not done and (max_steps == 0 or length < max_steps):
                observation, reward, terminated, truncated, info = env.step(agent.act(observation, info))
                total += float(reward)
                length += 1
                done = terminated or truncated
            yield total, length, info
    finally:
        env.close()


def _parallel_episodes(
    agent: Agent, env: Any, seeds: Iterable[int], max_steps: int
) -> Iterator[tuple[float, int, dict[str, Any]]]:
    """(return, length, last info) of each episode of a pettingzoo parallel world in which the agent
    plays every seat (a shared policy); the return is the mean over the seats, the info the first
    seat's (the worlds put the episode's statistics in every seat's)."""
    try:
        for seed in seeds:
            observations, infos = env.reset(seed=seed)
            totals = dict.fromkeys(env.possible_agents, 0.0)
            length, info = 0, {}
            while env.agents and (max_steps == 0 or length < max_steps):
                actions = {seat: agent.act(observations[seat], infos[seat]) for seat in env.agents}
                observations, rewards, _, _, infos = env.step(actions)
                for seat, reward in rewards.items():
                    totals[seat] += float(reward)
                length += 1
                info = infos[env.possible_agents[0]]
            yield float(np.mean(list(totals.values()))), length, info
    finally:
        env.close()


def _engine_episodes(
    agent: Agent, seeds: Sequence[int], chunk: int = 100
) -> Iterator[tuple[float, int, dict[str, Any]]]:
    """The same, from an agent that plays the world's engine itself, many games per call:
    `agent.play_episodes(seeds)` returns arrays "return" and "length", and one array per field of
    the episodes' last infos, each game seeded as the env's reset(seed=...) would seed it."""
    for first in range(0, len(seeds), chunk):
        games = agent.play_episodes(np.asarray(seeds[first : first + chunk]))
        fields = [name for name in games if name not in ("return", "length")]
        for k in range(len(games["length"])):
            info = {name: games[name][k].item() for name in fields}
            yield float(games["return"][k]), int(games["length"][k]), info


def evaluate_command(
    world_id: str, agent: str, episodes: int = 100, seed: int = 0, max_steps: int = 0
) -> dict[str, float]:
    """`gridworlds eval WORLD --agent NAME_OR_CHECKPOINT`: evaluate, print a table, return the metrics."""
    world(world_id)  # an unknown id fails before anything is built
    if episodes < 1:
        raise ValueError(f"--episodes must be a positive integer, got {episodes}")
    if max_steps < 0:
        raise ValueError(f"--max-steps must be a non-negative integer, got {max_steps}")
    if seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {seed}")
    # A checkpoint plays the world as it learned it (e.g. with onehot observations).
    playing, env_kwargs = player(agent, world_id, seed)
    metrics = evaluate(playing, world_id, env_kwargs, episodes, seed, max_steps, progress=True)
    print(
        f"{agent} on {world_id}, {episodes} episodes from seed {seed}"
        + (f", env {env_kwargs}" if env_kwargs else "")
    )
    print(format_table([("metric", "value"), *((name, f"{value:.6g}") for name, value in metrics.items())]))
    return metrics

"""Play agents for whole episodes and summarise them; `gridworlds eval`.

Every kind of world is evaluated: a gymnasium world with one agent; a pettingzoo parallel world
(hide-and-seek) with one agent on every seat (a shared policy) or one per seat; a pettingzoo AEC
world (Othello) as a match between agents, one per seat, the seats changing hands from game to game.

An episode that runs long shows its step count on the progress bar as it goes (every
LONG_EPISODE_EVERY steps from LONG_EPISODE on), so that one that never ends, say a 2048 policy that
repeats an illegal no-op move, is seen for what it is rather than taken for a hang.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from gridworlds.agents import Agent
from gridworlds.registry import GYMNASIUM, PETTINGZOO_AEC, PETTINGZOO_PARALLEL, load, make, world
from gridworlds.tables import format_table
from gridworlds.viewer.app import HUMAN, seat_players

LONG_EPISODE = 10_000  # steps after which an episode's progress is shown while it runs
LONG_EPISODE_EVERY = 1_000  # steps between those updates

# Called with the current episode's length after each of its steps.
StepWatch = Callable[[int], None]


def _othello_seat_metrics(env: Any, seat: str) -> dict[str, float]:
    # The AEC env tells its discs only in its observations: plane 0 the seat's own, plane 1 the other's.
    planes = env.observe(seat)["observation"]
    return {"disc_difference": float(planes[0].sum()) - float(planes[1].sum())}


# world id -> what a turn-based world's evaluation measures at the end of a game, from one seat's side
SEAT_METRICS: dict[str, Callable[[Any, str], dict[str, float]]] = {
    "gridworlds/Othello-v0": _othello_seat_metrics,
}


def evaluate(
    agent: Agent | Sequence[Agent],
    world_id: str,
    env_kwargs: dict[str, Any],
    episodes: int,
    seed: int,
    max_steps: int = 0,
    progress: bool | dict[str, Any] = False,
) -> dict[str, float]:
    """Play `episodes` episodes of `gridworlds.make(world_id, **env_kwargs)`, episode k reset with seed + k.

    `agent` is one agent, which in a pettingzoo parallel world plays every seat (a shared policy,
    bound to the world with no seat), or a list of agents, one per seat in `possible_agents` order,
    each bound to its seat. A pettingzoo AEC world (turn-based: Othello) needs the list: agent i
    plays seat (i + k) % seats in game k, so in a two-player game the first agent plays black in
    games 0, 2, 4 ... and white in games 1, 3, 5 ..., and the results are the first agent's.

    Returns return_mean, return_std, return_min, return_max, length_mean; `<metric>_mean` for each
    metric of the world's episode_metrics hook (for 2048: score, max_tile and the reach rates
    reached_512 ... reached_32768); score_max when there is a score; and moves_per_second, the
    speed of agents and world together. In a parallel world the return is the mean over the seats.
    In an AEC world, the first agent's: its wins, draws and losses (counts, by the sign of its return
    in the games that ended), finished_mean (the share of games that ended, the rest cut off by
    max_steps) and SEAT_METRICS' from its side (Othello: disc_difference_mean, its discs less the
    other's). max_steps > 0 cuts episodes off after that many steps (moves, in an AEC world).
    An agent that `plays_in_engine` plays the games in the engine instead (see _engine_episodes):
    the same games, without an env step per move.
    progress: False, True, or keyword arguments for the tqdm bar.
    """
    spec = world(world_id)
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    shared = not isinstance(agent, Sequence)
    if spec.kind == PETTINGZOO_AEC and shared:
        raise ValueError(f"{world_id} is a turn-based match: evaluate takes a list of agents, one per seat")
    if spec.kind == GYMNASIUM and not shared and len(agent) != 1:
        raise ValueError(f"{world_id} has one seat, got {len(agent)} agents")
    measure = load(spec.episode_metrics) if spec.episode_metrics else _no_metrics
    bar = tqdm(
        total=episodes,
        unit="episode",
        disable=progress is False,
        **{"desc": "evaluate", **(progress if isinstance(progress, dict) else {})},
    )

    def watch(length: int) -> None:
        if length >= LONG_EPISODE and length % LONG_EPISODE_EVERY == 0:
            bar.set_postfix_str(f"episode {bar.n + 1} at step {length:,}")

    seeds = range(seed, seed + episodes)
    if spec.kind == GYMNASIUM:
        single = agent if shared else agent[0]
        if single.plays_in_engine and max_steps == 0:
            games = _engine_episodes(single, seeds)
        else:
            games = _env_episodes(single, make(world_id, **env_kwargs), seeds, max_steps, watch)
    elif spec.kind == PETTINGZOO_PARALLEL:
        games = _parallel_episodes(agent, make(world_id, **env_kwargs), seeds, max_steps, watch)
    else:
        env = make(world_id, **env_kwargs)
        games = _turn_episodes(agent, env, seeds, max_steps, SEAT_METRICS.get(world_id), watch)
        measure = dict  # _turn_episodes yields each game's measures themselves
    returns, lengths = [], []
    metrics: dict[str, list[float]] = defaultdict(list)
    start = time.perf_counter()
    try:
        for total, length, info in games:
            returns.append(total)
            lengths.append(length)
            for name, value in measure(info).items():
                metrics[name].append(value)
            if length >= LONG_EPISODE:
                bar.set_postfix_str("", refresh=False)
            bar.update(1)
    finally:
        bar.close()
    elapsed = time.perf_counter() - start

    result = {
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "return_min": float(np.min(returns)),
        "return_max": float(np.max(returns)),
        "length_mean": float(np.mean(lengths)),
    }
    if spec.kind == PETTINGZOO_AEC:
        ended = np.asarray(metrics["finished"]) == 1
        outcomes = np.sign(returns)[ended]
        result.update(
            wins=float(np.sum(outcomes > 0)),
            draws=float(np.sum(outcomes == 0)),
            losses=float(np.sum(outcomes < 0)),
        )
    result.update({f"{name}_mean": float(np.mean(values)) for name, values in metrics.items()})
    if "score" in metrics:
        result["score_max"] = float(np.max(metrics["score"]))
    result["moves_per_second"] = sum(lengths) / elapsed
    return result


def _no_metrics(info: dict[str, Any]) -> dict[str, float]:
    return {}


def _env_episodes(
    agent: Agent, env: Any, seeds: Iterable[int], max_steps: int, watch: StepWatch
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
                watch(length)
                done = terminated or truncated
            yield total, length, info
    finally:
        env.close()


def _parallel_episodes(
    agent: Agent | Sequence[Agent], env: Any, seeds: Iterable[int], max_steps: int, watch: StepWatch
) -> Iterator[tuple[float, int, dict[str, Any]]]:
    """(return, length, last info) of each episode of a pettingzoo parallel world in which one agent
    plays every seat (a shared policy) or each seat has its own; the return is the mean over the
    seats, the info the first seat's (the worlds put the episode's statistics in every seat's)."""
    seats = env.possible_agents
    if isinstance(agent, Sequence):
        if len(agent) != len(seats):
            env.close()
            raise ValueError(
                f"the world has {len(seats)} seats ({', '.join(seats)}), got {len(agent)} agents"
            )
        players = {seat: player.bind(env, seat) for seat, player in zip(seats, agent, strict=True)}
    else:
        players = dict.fromkeys(seats, agent.bind(env))
    try:
        for seed in seeds:
            observations, infos = env.reset(seed=seed)
            totals = dict.fromkeys(seats, 0.0)
            length, info = 0, {}
            while env.agents and (max_steps == 0 or length < max_steps):
                actions = {seat: players[seat].act(observations[seat], infos[seat]) for seat in env.agents}
                observations, rewards, _, _, infos = env.step(actions)
                for seat, reward in rewards.items():
                    totals[seat] += float(reward)
                length += 1
                watch(length)
                info = infos[seats[0]]
            yield float(np.mean(list(totals.values()))), length, info
    finally:
        env.close()


def _turn_episodes(
    agents: Sequence[Agent],
    env: Any,
    seeds: Iterable[int],
    max_steps: int,
    seat_metrics: Callable[[Any, str], dict[str, float]] | None,
    watch: StepWatch,
) -> Iterator[tuple[float, int, dict[str, float]]]:
    """(the first agent's return, moves, its measures) of each game of a pettingzoo AEC world, agent
    i on seat (i + k) % seats in game k, each bound to its seat before the game. The measures are
    "finished" (1.0 when the game ended, 0.0 when max_steps cut it off) and `seat_metrics(env,
    the first agent's seat)`."""
    seats = env.possible_agents
    if len(agents) != len(seats):
        env.close()
        raise ValueError(
            f"the world has {len(seats)} seats ({', '.join(seats)}): "
            f"give one agent per seat, got {len(agents)}"
        )
    try:
        for game, seed in enumerate(seeds):
            players = {seats[(i + game) % len(seats)]: agent for i, agent in enumerate(agents)}
            for seat, player in players.items():
                player.bind(env, seat)
            first = seats[game % len(seats)]
            env.reset(seed=seed)
            totals = dict.fromkeys(seats, 0.0)
            moves = 0
            for seat in env.agent_iter():
                observation, reward, terminated, truncated, info = env.last()
                totals[seat] += float(reward)  # what the seat earned since its last move
                if terminated or truncated:
                    action = None  # a finished seat leaves the game with a None step
                elif max_steps and moves >= max_steps:
                    break
                else:
                    action = players[seat].act(observation, info)
                    moves += 1
                    watch(moves)
                env.step(action)
            measures = {"finished": float(not env.agents)}
            measures.update(seat_metrics(env, first) if seat_metrics else {})
            yield totals[first], moves, measures
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
    world_id: str,
    agent: str | list[str] = "random",
    episodes: int = 100,
    seed: int = 0,
    max_steps: int = 0,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, float]:
    """`gridworlds eval WORLD --agent NAME_OR_CHECKPOINT ...`: evaluate, print a table, return the metrics.

    `agent` is one agent spec (a registered name or a checkpoint directory) or a list of them, one
    per seat in order, as `gridworlds view` takes them: a parallel world repeats the last for the
    seats left over (one spec: that agent on every seat, each seat its own agent bound to it); a
    turn-based world needs one per seat. Agent i is seeded with seed + i. A checkpoint plays the world
    with the arguments it learned with (e.g. onehot observations), `env_kwargs` over them.
    """
    spec = world(world_id)  # an unknown id fails before anything is built
    if episodes < 1:
        raise ValueError(f"--episodes must be a positive integer, got {episodes}")
    if max_steps < 0:
        raise ValueError(f"--max-steps must be a non-negative integer, got {max_steps}")
    if seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {seed}")
    specs = [agent] if isinstance(agent, str) else list(agent)
    if HUMAN in specs:
        raise ValueError(f"--agent {HUMAN} is for gridworlds view: eval has no person to play a seat")
    seating = seat_players(world_id, specs, seed, dict(env_kwargs or {}), render_mode=None)
    seating.game.env.close()  # made only to learn its seats
    seats, players, names = seating.game.seats, seating.players, seating.names
    if len(players) < len(seats):
        raise ValueError(
            f"{world_id} has {len(seats)} seats ({', '.join(seats)}): give --agent once per seat, "
            f"in that order, got {len(players)}"
        )
    playing = players[0] if spec.kind == GYMNASIUM else players
    metrics = evaluate(playing, world_id, seating.env_kwargs, episodes, seed, max_steps, progress=True)
    print(_describe(spec.kind, world_id, seats, names, episodes, seed, seating.env_kwargs))
    print(format_table([("metric", "value"), *((name, f"{value:.6g}") for name, value in metrics.items())]))
    return metrics


def _describe(
    kind: str,
    world_id: str,
    seats: Sequence[str],
    names: list[str],
    episodes: int,
    seed: int,
    env_kwargs: dict[str, Any],
) -> str:
    """The line above the results table: who played which seat, how many episodes, which world."""
    env = f", env {env_kwargs}" if env_kwargs else ""
    if kind == GYMNASIUM:
        return f"{names[0]} on {world_id}, {episodes} episodes from seed {seed}{env}"
    if kind == PETTINGZOO_PARALLEL:
        seating = ", ".join(f"{seat} {name}" for seat, name in zip(seats, names, strict=True))
        return (
            f"{world_id}, {episodes} episodes from seed {seed}{env}: {seating}; "
            f"return: the mean over the seats"
        )
    turns = "; ".join(
        f"{name} plays {', '.join(seats[(i + k) % len(seats)] for k in range(len(seats)))} in turn"
        for i, name in enumerate(names)
    )
    return (
        f"{' against '.join(names)} on {world_id}, {episodes} games from seed {seed}{env}; seats change "
        f"every game ({turns}); the results are {names[0]}'s"
    )

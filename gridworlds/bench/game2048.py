"""2048 benchmarks: engine, vector env and single env throughput, memory, and Pgx in the same run
(`gridworlds bench gridworlds/2048-v0`); the n-tuple learner's training speed
(`gridworlds bench gridworlds/2048-v0 --training`)."""

from __future__ import annotations

import numpy as np

from gridworlds.bench import peak_rss_mib, pgx_random_play, rate
from gridworlds.tables import format_table

BATCH = 1024


def engine_moves_per_second(seconds: float) -> float:
    """Random legal play on BATCH boards in one numba call; restarts of finished games are free."""
    from gridworlds.engines import game2048 as engine
    from gridworlds.engines.rng import seed_state

    boards = np.zeros(BATCH, dtype=np.uint64)
    rngs = np.array([seed_state(i) for i in range(BATCH)], dtype=np.uint64)
    engine.new_game_batch(boards, rngs, np.zeros(BATCH, dtype=np.uint8))
    moves_per_board = 1000
    engine.play_random_batch(boards, rngs, 1)  # compile or load from cache outside the timing

    def work() -> int:
        engine.play_random_batch(boards, rngs, moves_per_board)
        return BATCH * moves_per_board

    return rate(work, seconds)


def vector_env_steps_per_second(seconds: float) -> tuple[float, float]:
    """gym.make_vec over BATCH games with uniformly random actions (illegal ones are no-ops).

    Returns (steps per second, bytes of state per game).
    """
    import gymnasium as gym

    import gridworlds  # noqa: F401  (registers the ids)

    env = gym.make_vec("gridworlds/2048-v0", num_envs=BATCH, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, size=(64, BATCH))
    env.step(actions[0])

    def work() -> int:
        for a in actions:
            env.step(a)
        return actions.size

    steps = rate(work, seconds)
    games = env.unwrapped
    state = (games.boards, games.rngs, games.legal, games.scores, games.lengths, games.needs_reset)
    env.close()
    return steps, sum(array.nbytes for array in state) / BATCH


def single_env_steps_per_second(seconds: float, wrapped: bool) -> float:
    """One env, random legal actions from the info mask; `wrapped` keeps gym.make's wrappers."""
    import gymnasium as gym

    import gridworlds  # noqa: F401

    env = gym.make("gridworlds/2048-v0")
    if not wrapped:
        env = env.unwrapped
    rng = np.random.default_rng(0)
    choices = rng.integers(0, 1 << 30, size=4096)
    _, info = env.reset(seed=0)

    def work() -> int:
        nonlocal info
        for c in choices:
            legal = np.flatnonzero(info["action_mask"])
            _, _, terminated, _, info = env.step(int(legal[c % len(legal)]))
            if terminated:
                _, info = env.reset()
        return len(choices)

    return rate(work, seconds)


def run(quick: bool = False) -> None:
    seconds = 0.5 if quick else 3.0
    engine = engine_moves_per_second(seconds)
    vector, bytes_per_game = vector_env_steps_per_second(seconds)
    single = single_env_steps_per_second(seconds, wrapped=False)
    single_wrapped = single_env_steps_per_second(seconds, wrapped=True)
    memory = peak_rss_mib()
    pgx = pgx_random_play("2048", BATCH, seconds)
    rows = [
        ("measure", "value", "note"),
        ("engine, random legal play", f"{engine / 1e6:.2f}M moves/s", f"batch {BATCH}, one core"),
        ("vector env", f"{vector / 1e6:.2f}M steps/s", f"{BATCH} envs, random actions"),
        ("single env", f"{single / 1e3:.0f}k steps/s", "env.unwrapped, random legal actions"),
        ("single env, gym.make", f"{single_wrapped / 1e3:.0f}k steps/s", "with gymnasium's wrappers"),
        (
            "vector env state",
            f"{bytes_per_game:.0f} bytes per game",
            "board, generator, score, length, flags",
        ),
        ("peak memory", f"{memory:.0f} MiB", "whole process before Pgx (numba, gymnasium)"),
    ]
    if pgx is None:
        rows.append(("Pgx 2048", "not installed", "pip install pgx to compare"))
    else:
        pgx_moves, _ = pgx
        rows.append(
            ("Pgx 2048 (JAX, CPU)", f"{pgx_moves / 1e6:.2f}M moves/s", f"batch {BATCH}, random legal play")
        )
        rows.append(("engine / Pgx", f"{engine / pgx_moves:.1f}x", "same machine, same run"))
    print(format_table(rows, numbers=False))


def training(games: int = 10_000, patterns: str = "4x6", threads: int = 1) -> None:
    """Train a fresh `ntuple` agent with afterstate TD(0) (alpha 0.1 split over the features, 1-ply
    greedy) and print, per 1,000 games, the average score, the share reaching 2048 and the training
    moves/s. With threads > 1 the threads train the one network together (shared weights, no locks).
    For reference, the authors' C++ (TDL2048+) trains 4x6 at 2.9M moves/s on one core of these
    machines, 4.3M with two threads."""
    from gridworlds.agents import make_agent

    agent = make_agent("ntuple", "gridworlds/2048-v0", seed=0, patterns=patterns, threads=threads)
    moves, seconds = 0.0, 0.0

    def report(done: int, metrics: dict[str, float]) -> None:
        nonlocal moves, seconds
        chunk = metrics["moves_mean"] * 1000
        moves, seconds = moves + chunk, seconds + chunk / metrics["moves_per_second"]
        print(
            f"{done:>8} {metrics['score_mean']:>9.0f} {metrics['reached_2048']:>9.1%} "
            f"{metrics['moves_per_second'] / 1e6:>8.2f}M",
            flush=True,
        )

    print(f"{patterns}, {threads} thread(s)")
    print(f"{'games':>8} {'average':>9} {'2048 rate':>9} {'moves/s':>9}")
    agent.learn(None, games, report)
    print(f"overall {moves / seconds / 1e6:.2f}M training moves/s; peak memory {peak_rss_mib():.0f} MiB")

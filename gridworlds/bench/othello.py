"""Othello benchmark: random games, dataset writing, perft, alpha-beta, the vector env, memory, and
OpenSpiel and Pgx in the same run when they are installed."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import numpy as np

from gridworlds.bench import peak_rss_mib, pgx_random_play, rate
from gridworlds.engines import othello as engine
from gridworlds.engines.rng import seed_state
from gridworlds.tables import format_table

BATCH = 1024
KNOWN_PERFT = {9: 3_005_288, 10: 24_571_284}  # leaf counts from the start position, as published


def random_games_per_second(seconds: float) -> tuple[float, float]:
    """engine.random_games in calls of 10,000 games on one core; returns (games/s, moves/s)."""
    games_per_call = 10_000
    # int8, as the dataset writer uses: a smaller buffer than int64, and faster.
    squares = np.empty((games_per_call, engine.MAX_MOVES), dtype=np.int8)
    rng = seed_state(0)
    engine.random_games(1, rng, squares)  # compile or load from cache outside the timing
    games = moves = 0

    def work() -> int:
        nonlocal rng, games, moves
        lengths, rng = engine.random_games(games_per_call, rng, squares)
        games += games_per_call
        moves += int(lengths.sum())
        return games_per_call

    games_per_second = rate(work, seconds)
    return games_per_second, games_per_second * moves / games


def dataset_seconds(games: int) -> float:
    """Seconds that write_games takes for `games` games into a temporary directory."""
    from gridworlds.datasets.othello import write_games

    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        write_games(Path(directory) / "games", games, progress=False)
        return time.perf_counter() - start


def perft_timing(depth: int) -> tuple[int, float]:
    """(leaf count, seconds) of perft from the start position."""
    engine.perft(engine.START_BLACK, engine.START_WHITE, 1)  # load from cache outside the timing
    start = time.perf_counter()
    leaves = engine.perft(engine.START_BLACK, engine.START_WHITE, depth)
    return leaves, time.perf_counter() - start


def alphabeta_moves_per_second(seconds: float, depth: int = 4) -> float:
    """Whole games in which both players search `depth` plies: the positions a game really meets."""
    rng = seed_state(0)
    engine.alphabeta_move(engine.START_BLACK, engine.START_WHITE, 1, rng)  # outside the timing

    def work() -> int:
        nonlocal rng
        me, opp, moves = engine.START_BLACK, engine.START_WHITE, 0
        while not engine.game_over(me, opp):
            if engine.legal_moves(me, opp):
                square, rng = engine.alphabeta_move(me, opp, depth, rng)
                me, opp = engine.play(me, opp, square)
                moves += 1
            me, opp = opp, me
        return moves

    return rate(work, seconds)


def vector_env_steps_per_second(seconds: float) -> float:
    """gym.make_vec over BATCH OthelloVs games against the random opponent, random legal actions."""
    import gymnasium as gym

    import gridworlds  # noqa: F401  (registers the ids)

    env = gym.make_vec("gridworlds/OthelloVs-v0", num_envs=BATCH, vectorization_mode="vector_entry_point")
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(0)

    def work() -> int:
        nonlocal info
        for _ in range(64):
            # Uniform over the legal squares; a finished game has none, and its action is ignored.
            actions = (rng.random(info["action_mask"].shape) * info["action_mask"]).argmax(axis=1)
            _, _, _, _, info = env.step(actions)
        return 64 * BATCH

    work()
    steps = rate(work, seconds)
    env.close()
    return steps


def openspiel_random_games(seconds: float) -> tuple[float, float] | None:
    """OpenSpiel's othello played from Python with random legal moves: (games/s, moves/s, passes not
    counted), or None when OpenSpiel is not installed."""
    try:
        import pyspiel
    except ImportError:
        return None
    game = pyspiel.load_game("othello")
    choose = random.Random(0).choice
    games = moves = 0

    def work() -> int:
        nonlocal games, moves
        state = game.new_initial_state()
        while not state.is_terminal():
            action = choose(state.legal_actions())
            moves += action != engine.PASS
            state.apply_action(action)
        games += 1
        return 1

    games_per_second = rate(work, seconds)
    return games_per_second, games_per_second * moves / games


def run(quick: bool = False) -> None:
    seconds = 0.5 if quick else 3.0
    dataset_games = 100_000 if quick else 1_000_000
    games, moves = random_games_per_second(seconds)
    writing = dataset_seconds(dataset_games)
    perfts = {depth: perft_timing(depth) for depth in KNOWN_PERFT}
    alphabeta = alphabeta_moves_per_second(seconds)
    vector = vector_env_steps_per_second(seconds)
    memory = peak_rss_mib()
    openspiel = openspiel_random_games(seconds)
    pgx = pgx_random_play("othello", BATCH, seconds)

    rows = [
        ("measure", "value", "note"),
        (
            "engine, random legal games",
            f"{games / 1e3:.0f}k games/s",
            "one core, moves uniform over legal ones",
        ),
        ("engine, random legal moves", f"{moves / 1e6:.2f}M moves/s", "passes not counted"),
        (
            f"dataset, {dataset_games:,} games",
            f"{writing:.1f} s",
            f"write_games: {dataset_games / writing / 1e3:.0f}k games/s with shards, checksums, fsync",
        ),
    ]
    for depth, (leaves, elapsed) in perfts.items():
        check = "the known count" if leaves == KNOWN_PERFT[depth] else f"NOT the known {KNOWN_PERFT[depth]:,}"
        rows.append(
            (
                f"perft {depth}",
                f"{elapsed:.2f} s, {leaves / elapsed / 1e6:.1f}M leaves/s",
                f"{leaves:,}: {check}",
            )
        )
    rows += [
        ("alpha-beta, depth 4", f"{alphabeta / 1e3:.1f}k moves/s", "self-play games, both players searching"),
        (
            "vector env (OthelloVs)",
            f"{vector / 1e6:.2f}M steps/s",
            f"{BATCH} envs, random legal actions; a step includes the random opponent's reply",
        ),
        ("peak memory", f"{memory:.0f} MiB", "whole process before OpenSpiel and Pgx"),
    ]
    if openspiel is None:
        rows.append(("OpenSpiel othello", "not installed", "pip install open_spiel to compare"))
    else:
        rows += [
            ("OpenSpiel othello", f"{openspiel[0] / 1e3:.2f}k games/s", "from Python, random legal moves"),
            ("", f"{openspiel[1] / 1e3:.0f}k moves/s", "passes not counted"),
            ("engine / OpenSpiel", f"{games / openspiel[0]:.0f}x", "games/s, same machine, same run"),
        ]
    if pgx is None:
        rows.append(("Pgx othello", "not installed", "pip install pgx to compare"))
    else:
        rows += [
            ("Pgx othello (JAX, CPU)", f"{pgx[1] / 1e3:.2f}k games/s", f"batch {BATCH}, random legal play"),
            ("", f"{pgx[0] / 1e3:.0f}k moves/s", "steps: passes counted as moves"),
            ("engine / Pgx", f"{games / pgx[1]:.0f}x", "games/s, same machine, same run"),
        ]
    print(format_table(rows, numbers=False))

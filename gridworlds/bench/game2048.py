"""2048 benchmark: engine, vector env and single env throughput, memory, and Pgx in the same run."""

from __future__ import annotations

import numpy as np

from gridworlds.bench import peak_rss_mib, rate
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


def pgx_moves_per_second(seconds: float) -> float | None:
    """Pgx's 2048 (JAX on CPU), BATCH games with random legal moves and auto-reset; None if absent."""
    try:
        import jax
        import pgx
        from pgx.experimental import auto_reset
    except ImportError:
        return None
    jax.config.update("jax_platforms", "cpu")
    env = pgx.make("2048")
    init = jax.jit(jax.vmap(env.init))
    step = jax.vmap(auto_reset(env.step, env.init))

    @jax.jit
    def play(state, key, steps: int = 64):
        def body(carry, _):
            state, key = carry
            key, action_key, reset_key = jax.random.split(key, 3)
            logits = jax.numpy.where(state.legal_action_mask, 0.0, -jax.numpy.inf)
            actions = jax.random.categorical(action_key, logits, axis=-1)
            state = step(state, actions, jax.random.split(reset_key, BATCH))
            return (state, key), None

        (state, key), _ = jax.lax.scan(body, (state, key), None, length=steps)
        return state, key

    key = jax.random.PRNGKey(0)
    state = init(jax.random.split(key, BATCH))
    state, key = play(state, key)
    jax.block_until_ready(state)

    def work() -> int:
        nonlocal state, key
        state, key = play(state, key)
        jax.block_until_ready(state)
        return 64 * BATCH

    return rate(work, seconds)


def run(quick: bool = False) -> None:
    seconds = 0.5 if quick else 3.0
    engine = engine_moves_per_second(seconds)
    vector, bytes_per_game = vector_env_steps_per_second(seconds)
    single = single_env_steps_per_second(seconds, wrapped=False)
    single_wrapped = single_env_steps_per_second(seconds, wrapped=True)
    memory = peak_rss_mib()
    pgx = pgx_moves_per_second(seconds)
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
        rows.append(("Pgx 2048 (JAX, CPU)", f"{pgx / 1e6:.2f}M moves/s", f"batch {BATCH}, random legal play"))
        rows.append(("engine / Pgx", f"{engine / pgx:.1f}x", "same machine, same run"))
    print(format_table(rows, numbers=False))

"""Throughput and memory benchmarks, one module per world (the registry's `bench` entry).

Benchmarks print figures; they assert nothing, since shared machines are too noisy for timed tests.
"""

from __future__ import annotations

import inspect
import resource
import time
from collections.abc import Callable
from typing import Any

from gridworlds.registry import load, world


def rate(work: Callable[[], int], min_seconds: float) -> float:
    """Units per second of `work()` (which returns the units it did), repeated for min_seconds."""
    units, start = 0, time.perf_counter()
    while True:
        units += work()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return units / elapsed


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pgx_random_play(env_id: str, batch: int, seconds: float) -> tuple[float, float] | None:
    """Pgx's `env_id` (JAX on CPU): `batch` games of uniformly random legal moves with auto-reset.

    Returns (steps per second, finished games per second), or None when Pgx is not installed.
    """
    try:
        import jax
        import pgx
        from pgx.experimental import auto_reset
    except ImportError:
        return None
    jax.config.update("jax_platforms", "cpu")
    env = pgx.make(env_id)
    init = jax.jit(jax.vmap(env.init))
    step = jax.vmap(auto_reset(env.step, env.init))
    steps = 64

    @jax.jit
    def play(state, key):
        def body(carry, _):
            state, key, finished = carry
            key, action_key, reset_key = jax.random.split(key, 3)
            logits = jax.numpy.where(state.legal_action_mask, 0.0, -jax.numpy.inf)
            actions = jax.random.categorical(action_key, logits, axis=-1)
            state = step(state, actions, jax.random.split(reset_key, batch))
            # auto_reset keeps a finished game's flag on the new game's state for one step.
            return (state, key, finished + state.terminated.sum()), None

        (state, key, finished), _ = jax.lax.scan(body, (state, key, 0), None, length=steps)
        return state, key, finished

    key = jax.random.PRNGKey(0)
    state = init(jax.random.split(key, batch))
    state, key, _ = play(state, key)
    jax.block_until_ready(state)
    played = games = 0

    def work() -> int:
        nonlocal state, key, played, games
        state, key, finished = play(state, key)
        games += int(finished)  # waits for the whole scan, as block_until_ready would
        played += steps * batch
        return steps * batch

    steps_per_second = rate(work, seconds)
    return steps_per_second, steps_per_second * games / played


def run_world_bench(world_id: str, quick: bool = False, training: dict[str, Any] | None = None) -> None:
    """Print `world_id`'s throughput benchmark; with `training` (its keyword arguments, possibly none),
    the training-speed benchmark of the world's learner instead, where the world has one."""
    spec = world(world_id)
    if spec.bench is None:
        raise ValueError(f"{world_id} has no benchmark yet")
    if training is None:
        load(spec.bench)(quick=quick)
        return
    module = spec.bench.partition(":")[0]
    try:
        benchmark = load(f"{module}:training")
    except AttributeError:
        raise ValueError(f"{world_id} has no training benchmark; gridworlds/2048-v0 has one") from None
    try:
        inspect.signature(benchmark).bind(**training)
    except TypeError as error:
        raise ValueError(
            f"--set: {error}; the training benchmark takes {inspect.signature(benchmark)}"
        ) from None
    benchmark(**training)

"""Touching-loops benchmark: the CA rule's cell updates and sweeps per second from random fields, the
template test, the brute-force check of all small fields, and memory. No peer is named for this world."""

from __future__ import annotations

import time

import numpy as np

from gridworlds.bench import peak_rss_mib, rate
from gridworlds.engines import touching_loops as engine
from gridworlds.engines.rng import seed_state
from gridworlds.tables import format_table

BATCH = 16
NOISE = 0.4
TARGET = 20e6  # cell updates per second on one core, from the issue
KNOWN_PATTERNS = {("touching", 4): 11, ("touching", 5): 74, ("non-touching", 4): 9, ("non-touching", 5): 15}


def cell_updates_per_second(n: int, tile_set: str, seconds: float) -> float:
    """run_batch on BATCH fields on one core, as a convergence experiment runs them: each from a 50%
    random field until it is stable, then from a fresh one.

    Every sweep visits n^2 cells, valid or not; a field stops at its stable sweep, so only the sweeps
    it took count.
    """
    templates = engine.tile_set_templates(tile_set)
    rows = np.zeros((BATCH, n + 4), dtype=np.uint64)
    rngs = np.array([seed_state(b) for b in range(BATCH)], dtype=np.uint64)
    sweeps = np.zeros(BATCH, dtype=np.int64)
    converged = np.zeros(BATCH, dtype=np.bool_)
    max_sweeps = 2_000_000 // (BATCH * n * n)  # about 0.1 s a call: Python's share stays negligible
    engine.run_batch(rows, n, NOISE, rngs, 1, *templates, sweeps, converged)  # load outside the timing

    def work() -> int:
        for b in np.flatnonzero(converged):
            rngs[b] = engine.random_field(rows[b], n, 0.5, rngs[b])
        engine.run_batch(rows, n, NOISE, rngs, max_sweeps, *templates, sweeps, converged)
        return int(sweeps.sum()) * n * n

    converged[:] = True  # so that every field starts random
    return rate(work, seconds)


def template_tests_per_second(tile_set: str, seconds: float) -> float:
    """valid_cells over random fields of the largest size: each cell against every template, the
    cell test that the rule and the brute force both make."""
    templates = engine.tile_set_templates(tile_set)
    n = engine.MAX_N
    rows = np.zeros(n + 4, dtype=np.uint64)
    engine.random_field(rows, n, 0.5, seed_state(0))
    out = np.zeros((n, n), dtype=np.bool_)
    engine.valid_cells(rows, n, *templates, out)  # load outside the timing

    def work() -> int:
        engine.valid_cells(rows, n, *templates, out)
        return n * n * len(templates[0])

    return rate(work, seconds)


def brute_force(n: int, tile_set: str) -> tuple[tuple[int, int, int], float]:
    """count_patterns over all 2^(n*n) fields: ((checker, rule, disagreements), seconds)."""
    templates = engine.tile_set_templates(tile_set)
    engine.count_patterns(3, tile_set == "touching", *templates)  # load outside the timing
    start = time.perf_counter()
    counts = engine.count_patterns(n, tile_set == "touching", *templates)
    return counts, time.perf_counter() - start


def run(quick: bool = False) -> None:
    seconds = 0.5 if quick else 3.0
    brute_n = 4 if quick else 5
    updates = {(n, "touching"): cell_updates_per_second(n, "touching", seconds) for n in (8, 16, 32)}
    updates[16, "non-touching"] = cell_updates_per_second(16, "non-touching", seconds)
    tests = {tile_set: template_tests_per_second(tile_set, seconds) for tile_set in engine.TILE_SETS}
    brute = {tile_set: brute_force(brute_n, tile_set) for tile_set in engine.TILE_SETS}
    memory = peak_rss_mib()

    rows = [("measure", "value", "note")]
    for (n, tile_set), per_second in updates.items():
        verdict = "meets" if per_second >= TARGET else "BELOW"
        rows.append(
            (
                f"rule, {tile_set}, n={n}",
                f"{per_second / 1e6:.1f}M cell updates/s",
                f"{per_second / n**2 / 1e3:.1f}k sweeps/s; {verdict} the {TARGET / 1e6:.0f}M target",
            )
        )
    for tile_set, per_second in tests.items():
        count = len(engine.tile_set_templates(tile_set)[0])
        rows.append(
            (
                f"template tests, {tile_set}",
                f"{per_second / 1e6:.0f}M tests/s",
                f"{per_second / count / 1e6:.1f}M cells/s against all {count} templates",
            )
        )
    for tile_set, ((checker, rule, disagree), elapsed) in brute.items():
        known = KNOWN_PATTERNS[tile_set, brute_n]
        check = "the known count" if checker == rule == known and not disagree else f"NOT the known {known}"
        rows.append(
            (
                f"brute force n={brute_n}, {tile_set}",
                f"{elapsed:.2f} s",
                f"{2 ** (brute_n**2) / elapsed / 1e6:.1f}M fields/s; {checker} patterns, "
                f"{disagree} disagreements: {check}",
            )
        )
    rows.append(("peak memory", f"{memory:.0f} MiB", "whole process"))
    print(format_table(rows, numbers=False))

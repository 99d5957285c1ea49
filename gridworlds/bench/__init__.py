"""Throughput and memory benchmarks, one module per world (the registry's `bench` entry).

Benchmarks print figures; they assert nothing, since shared machines are too noisy for timed tests.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

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


def run_world_bench(world_id: str, quick: bool = False) -> None:
    spec = world(world_id)
    if spec.bench is None:
        raise ValueError(f"{world_id} has no benchmark yet")
    load(spec.bench)(quick=quick)

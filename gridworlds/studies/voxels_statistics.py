"""Which design optimiser finds fitter designs, per task: decided by tests over the seeds.

The robot-design study (`voxels.design_search`) calls `write_comparison` once every run is done
(also on `--resume` of a finished study, which runs nothing). The number compared is each run's
best search fitness, one per seed. It writes, under the study's directory:

    comparison.csv  task, a, b, n_a, n_b, U, p: for every ordered pair of optimisers (a, b), the
                    one-sided Mann-Whitney U test that a's values are greater than b's
                    (`scipy.stats.mannwhitneyu(a, b, alternative="greater")`: its exact
                    distribution when one side has at most 8 seeds and no two values tie, the
                    normal approximation with its tie correction otherwise)
    intervals.csv   task, optimiser, n, mean, low, high: the mean over seeds with its 95% percentile
                    bootstrap interval (`scipy.stats.bootstrap`, 9,999 resamples, seeded from the
                    study's seeds, so the same runs give the same interval; low and high empty for a
                    single seed, which has no spread to resample)
    report.md       a section per task: the intervals as a table, then the claim for every pair of
                    optimisers in words, at a level of 0.05

A pair's claim is stated in the direction its data leans (the larger U; on a tie, the optimiser
listed first): "ga > random (p = 0.0011)" when p < 0.05, "herd > ga not shown (p = 0.53)"
otherwise. A claim needs at least MIN_SEEDS seeds on each side (three a side cannot reach
p < 0.05 at all); with fewer, the pair reads "not decided" and its numbers are written all the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import bootstrap, mannwhitneyu

from gridworlds import atomic
from gridworlds.tables import csv_text

LEVEL = 0.05
MIN_SEEDS = 6
CONFIDENCE = 0.95
RESAMPLES = 9_999
COMPARISON_COLUMNS = ("task", "a", "b", "n_a", "n_b", "U", "p")
INTERVAL_COLUMNS = ("task", "optimiser", "n", "mean", "low", "high")

# (task, optimiser) -> that optimiser's best search fitness on the task, one value per seed
Fitness = Mapping[tuple[str, str], np.ndarray]


def fitness_by_run(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], np.ndarray]:
    """The "best" of each of final.csv's `rows` (task, optimiser, seed, best, ...), by task and
    optimiser, in the rows' order of seeds."""
    values: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        values.setdefault((row["task"], row["optimiser"]), []).append(float(row["best"]))
    return {key: np.array(seeds) for key, seeds in values.items()}


def comparison_rows(
    fitness: Fitness, tasks: Sequence[str], optimisers: Sequence[str]
) -> list[dict[str, Any]]:
    """Per task, the one-sided Mann-Whitney U test of every ordered pair (a, b) of `optimisers`."""
    rows = []
    for task in tasks:
        for a in optimisers:
            for b in optimisers:
                if a == b:
                    continue
                test = mannwhitneyu(fitness[task, a], fitness[task, b], alternative="greater")
                rows.append(
                    {
                        "task": task,
                        "a": a,
                        "b": b,
                        "n_a": len(fitness[task, a]),
                        "n_b": len(fitness[task, b]),
                        "U": float(test.statistic),
                        "p": float(test.pvalue),
                    }
                )
    return rows


def interval_rows(
    fitness: Fitness, tasks: Sequence[str], optimisers: Sequence[str], seeds: Sequence[int]
) -> list[dict[str, Any]]:
    """Per task and optimiser, the mean over seeds and its percentile bootstrap interval. Each
    interval's resampling starts afresh from `seeds` (the study's), so that an interval depends only
    on its own values, not on which other tasks and optimisers the study ran."""
    rows = []
    for task in tasks:
        for optimiser in optimisers:
            values = fitness[task, optimiser]
            low = high = None
            if len(values) >= 2:
                interval = bootstrap(
                    (values,),
                    np.mean,
                    confidence_level=CONFIDENCE,
                    n_resamples=RESAMPLES,
                    method="percentile",
                    random_state=np.random.default_rng(list(seeds)),
                ).confidence_interval
                low, high = float(interval.low), float(interval.high)
            rows.append(
                {
                    "task": task,
                    "optimiser": optimiser,
                    "n": len(values),
                    "mean": float(values.mean()),
                    "low": low,
                    "high": high,
                }
            )
    return rows


def claim(test: Mapping[str, Any]) -> str:
    """The comparison row `test` (a, b, n_a, n_b, p) in words."""
    if min(test["n_a"], test["n_b"]) < MIN_SEEDS:
        verdict = f" not decided, {test['n_a']} and {test['n_b']} seeds"
    elif test["p"] < LEVEL:
        verdict = ""
    else:
        verdict = " not shown"
    return f"{test['a']} > {test['b']}{verdict} (p = {test['p']:.2g})"


def task_claims(comparisons: Sequence[Mapping[str, Any]], task: str, optimisers: Sequence[str]) -> str:
    """The task's sentence: each pair of optimisers in the direction its data leans, the smallest p
    first, so that the pairs shown lead."""
    by_pair = {(row["a"], row["b"]): row for row in comparisons if row["task"] == task}
    leaning = []
    for i, first in enumerate(optimisers):
        for second in optimisers[i + 1 :]:
            forward, backward = by_pair[first, second], by_pair[second, first]
            leaning.append(backward if backward["U"] > forward["U"] else forward)
    leaning.sort(key=lambda row: row["p"])
    return f"{task}: " + "; ".join(claim(row) for row in leaning) + "."


def report_markdown(
    comparisons: Sequence[Mapping[str, Any]],
    intervals: Sequence[Mapping[str, Any]],
    tasks: Sequence[str],
    optimisers: Sequence[str],
) -> str:
    """report.md: what the numbers are, then per task the intervals as a table and its claims."""
    pairs = len(optimisers) * (len(optimisers) - 1) // 2
    lines = [
        "# Robot design: which optimiser finds fitter designs",
        "",
        "Each run's best search fitness, one value per seed. Per optimiser, the mean over seeds with "
        f"its {CONFIDENCE:.0%} percentile bootstrap interval ({RESAMPLES:,} resamples, seeded from the "
        "study's seeds: the same runs give the same intervals); per pair of "
        "optimisers, the one-sided Mann-Whitney U test in the direction the data leans, a claim at "
        f"p < {LEVEL} with at least {MIN_SEEDS} seeds a side. Each p is its own test's, not corrected "
        f"for the {pairs} pairs of a task. Every ordered pair: comparison.csv; the intervals: "
        "intervals.csv.",
    ]
    for task in tasks:
        rows = [row for row in intervals if row["task"] == task]
        lines += ["", f"## {task}", ""]
        fewest = min(row["n"] for row in rows)
        if fewest < MIN_SEEDS:
            lines += [
                f"Only {fewest} seed(s) for some optimiser: the comparison needs at least {MIN_SEEDS} "
                "seeds per optimiser, so nothing here is decided; the numbers are written all the same.",
                "",
            ]
        lines += ["| optimiser | seeds | mean | 95% interval |", "|---|---:|---:|---:|"]
        for row in rows:
            spread = "-" if row["low"] is None else f"{row['low']:.2f} - {row['high']:.2f}"
            lines.append(f"| {row['optimiser']} | {row['n']} | {row['mean']:.2f} | {spread} |")
        if len(optimisers) > 1:
            lines += ["", task_claims(comparisons, task, optimisers)]
    return "\n".join(lines) + "\n"


def write_comparison(rows: Sequence[Mapping[str, Any]], params: Mapping[str, Any], out_dir: Path) -> None:
    """comparison.csv, intervals.csv and report.md from final.csv's `rows` of the study `params`."""
    fitness = fitness_by_run(rows)
    tasks, optimisers = params["tasks"], params["optimisers"]
    comparisons = comparison_rows(fitness, tasks, optimisers)
    intervals = interval_rows(fitness, tasks, optimisers, params["seeds"])
    atomic.write_text(out_dir / "comparison.csv", csv_text(comparisons, COMPARISON_COLUMNS))
    atomic.write_text(out_dir / "intervals.csv", csv_text(intervals, INTERVAL_COLUMNS))
    atomic.write_text(out_dir / "report.md", report_markdown(comparisons, intervals, tasks, optimisers))

"""The touching-loops-convergence study: how many sweeps the touching-loops rule takes from a random field to
a stable loop pattern, over field sizes, tile sets and noise settings.

    gridworlds run experiments/touching-loops-convergence.toml

For every field size n, tile set and noise setting (a *grid point*) it runs `runs` fields with the
engine's batched kernel, each from a random field, until the field is stable or n's sweep budget is
spent. Run k of size n starts from the same field (seeded by seed, n and k) at every tile set and noise
setting, so the settings are compared on the same fields.

Parameters, the [study] table of the experiment file (defaults in brackets):

    n        field sizes                                   [6, 8, 10, 12, 16]
    tiles    tile sets                                     ["touching", "non-touching"]
    noise    noise settings: a number is the rule's constant noise probability pi; a table
             {free = p, stuck = q} splits it by whether the rule's adoption step could change the
             invalid cell (p) or not (q); engine.run_batch_split_noise has the why
                                                           [0.3, 0.4, 0.5, {free = 0.0, stuck = 0.7}]
    runs     runs per grid point                           [100]
    budget   sweeps per run                                [100,000 up to n = 12, 1,000,000 above]
             (runs and budget: a number for every field size, or a table with one per size,
             e.g. {6 = 1000, 8 = 5000})
    density  share of 1-cells in the random start fields  [0.5]
    seed     seeds the start fields and the rule           [0]

Files under runs/<name>/ (besides the runner's config.toml and summary.json):

    points/n<n>-<tiles>-<noise>.csv  the runs of one grid point, written when the point is done;
                                     --resume reads these back instead of running the points again
    results.csv                      every run: n, tiles, noise, run, sweeps, converged (0/1), and what
                                     the pattern checker says of the final field: valid (0/1),
                                     density, loops, contacts
    summary.csv                      per grid point: runs, share converged, mean sweeps with its
                                     standard error, median sweeps; mean density, loops and contacts
                                     of the stable patterns (empty when none)
    convergence.png                  mean and median sweeps against n on a log scale, and density

A run that does not converge counts its whole budget, so a mean with unconverged runs is a lower bound.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gridworlds import atomic
from gridworlds.engines import touching_loops as engine
from gridworlds.runner.config import NON_NEGATIVE, POSITIVE, Fields, Kind
from gridworlds.runner.plots import panels, save_png
from gridworlds.tables import csv_text

PREFIX = "study."
RUN_COLUMNS = {  # results.csv: column -> how to read it back
    "n": int,
    "tiles": str,
    "noise": str,
    "run": int,
    "sweeps": int,
    "converged": int,
    "valid": int,
    "density": float,
    "loops": int,
    "contacts": int,
}
BATCH = 10  # runs per kernel call: a few, so that the progress bar moves during slow grid points

Noise = float | dict[str, float]  # a constant probability, or {"free": p, "stuck": q}
DEFAULT_NOISE: list[Noise] = [0.3, 0.4, 0.5, {"free": 0.0, "stuck": 0.7}]


def _is_probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


SIZES = Kind(
    f"a non-empty array of distinct field sizes from 3 to {engine.MAX_N}",
    lambda v: (
        isinstance(v, list)
        and v != []
        and all(POSITIVE.check(n) and 3 <= n <= engine.MAX_N for n in v)
        and len(set(v)) == len(v)
    ),
)
TILE_NAMES = Kind(
    f"a non-empty array of distinct tile set names ({', '.join(engine.TILE_SETS)})",
    lambda v: (
        isinstance(v, list) and v != [] and all(t in engine.TILE_SETS for t in v) and len(set(v)) == len(v)
    ),
)
NOISE_SETTINGS = Kind(
    "a non-empty array of noise settings (probabilities, or tables {free = p, stuck = q})",
    lambda v: isinstance(v, list) and v != [] and all(_is_probability(x) or isinstance(x, dict) for x in v),
)
PROBABILITY = Kind("a number from 0 to 1", _is_probability)
BY_SIZE = Kind(
    "a positive integer or a table of them by field size",
    lambda v: POSITIVE.check(v) or isinstance(v, dict),
)


def check_convergence_params(params: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """The [study] parameters checked and with their defaults filled in (config.py calls this)."""
    fields.no_unknown_keys(params, PREFIX, ["n", "tiles", "noise", "runs", "budget", "density", "seed"])
    sizes = fields.get(params, PREFIX, "n", SIZES, [6, 8, 10, 12, 16])
    settings = fields.get(params, PREFIX, "noise", NOISE_SETTINGS, DEFAULT_NOISE)
    noise = [_check_noise(fields, i, setting) for i, setting in enumerate(settings)]
    if len({noise_label(setting) for setting in noise}) < len(noise):
        raise fields.error(PREFIX + "noise", "an array of distinct settings", params["noise"])
    return {
        "n": sizes,
        "tiles": fields.get(params, PREFIX, "tiles", TILE_NAMES, list(engine.TILE_SETS)),
        "noise": noise,
        "runs": _by_size(fields, params, "runs", sizes, lambda n: 100),
        "budget": _by_size(fields, params, "budget", sizes, lambda n: 100_000 if n <= 12 else 1_000_000),
        "density": float(fields.get(params, PREFIX, "density", PROBABILITY, 0.5)),
        "seed": fields.get(params, PREFIX, "seed", NON_NEGATIVE, 0),
    }


def _by_size(
    fields: Fields, params: dict[str, Any], key: str, sizes: list[int], default: Callable[[int], int]
) -> dict[str, int]:
    """A positive integer per field size, keyed by str(n) (TOML's keys are strings), from a number
    for every size or a table with one per size."""
    value = fields.get(params, PREFIX, key, BY_SIZE, None)
    if value is None:
        return {str(n): default(n) for n in sizes}
    if isinstance(value, dict):
        return {str(n): fields.get(value, f"{PREFIX}{key}.", str(n), POSITIVE) for n in sizes}
    return {str(n): value for n in sizes}


def _check_noise(fields: Fields, index: int, setting: Any) -> Noise:
    if not isinstance(setting, dict):
        return float(setting)
    prefix = f"{PREFIX}noise.{index}."
    fields.no_unknown_keys(setting, prefix, ["free", "stuck"])
    return {key: float(fields.get(setting, prefix, key, PROBABILITY)) for key in ("free", "stuck")}


def noise_label(noise: Noise) -> str:
    """How a noise setting is named in tables, file names and plots: pi=0.3, free=0,stuck=0.7."""
    if isinstance(noise, dict):
        return f"free={noise['free']:g},stuck={noise['stuck']:g}"
    return f"pi={noise:g}"


def convergence(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """Run the study (see the module docstring) and write its files; returns {"rows": the summary}."""
    grid = [(n, tiles, noise) for n in params["n"] for tiles in params["tiles"] for noise in params["noise"]]
    points = []
    total = sum(params["runs"][str(n)] for n, _, _ in grid)
    with tqdm(total=total, unit="run", desc="touching-loops-convergence") as bar:
        for n, tiles, noise in grid:
            path = out_dir / "points" / f"n{n}-{tiles}-{noise_label(noise)}.csv"
            if resume and path.is_file():
                point = _read_runs(path)
                bar.update(len(point))
            else:
                bar.set_postfix_str(f"n={n} {tiles} {noise_label(noise)}")
                point = run_point(n, tiles, noise, params, bar.update)
                atomic.write_text(path, csv_text(point, RUN_COLUMNS))
            points.append(point)

    runs = [run for point in points for run in point]
    atomic.write_text(out_dir / "results.csv", csv_text(runs, RUN_COLUMNS))
    summary = [summarise(point) for point in points]
    atomic.write_text(out_dir / "summary.csv", csv_text(summary, list(summary[0])))
    plot_convergence(
        summary, out_dir / "convergence.png", f"{out_dir.name}: random fields to stable patterns"
    )
    return {"rows": summary}


convergence.check = check_convergence_params


def run_point(
    n: int, tiles: str, noise: Noise, params: dict[str, Any], progress: Callable[[int], object]
) -> list[dict[str, Any]]:
    """The runs of one grid point, one dict per run (RUN_COLUMNS); progress(k) after every k runs."""
    # A constant pi is free = stuck = pi, with which the split kernel runs engine.run_batch exactly.
    free, stuck = (noise["free"], noise["stuck"]) if isinstance(noise, dict) else (noise, noise)
    runs, budget = params["runs"][str(n)], params["budget"][str(n)]
    templates = engine.tile_set_templates(tiles)
    rows = np.zeros((runs, n + 4), dtype=np.uint64)
    rngs = np.zeros(runs, dtype=np.uint64)
    # Run k's state depends on (seed, n, k) only: the same start field for every tile set and noise.
    starts = np.random.SeedSequence([params["seed"], n]).generate_state(runs, dtype=np.uint64)
    for k in range(runs):
        rngs[k] = engine.random_field(rows[k], n, params["density"], starts[k])
    sweeps = np.zeros(runs, dtype=np.int64)
    converged = np.zeros(runs, dtype=np.bool_)
    for first in range(0, runs, BATCH):
        part = slice(first, first + BATCH)
        engine.run_batch_split_noise(
            rows[part], n, free, stuck, rngs[part], budget, *templates, sweeps[part], converged[part]
        )
        progress(len(sweeps[part]))

    field = np.zeros((n, n), dtype=np.int8)
    results = []
    for k in range(runs):
        engine.rows_to_field(rows[k], field)
        stats = engine.pattern_stats(field, touching=tiles != "non-touching")
        results.append(
            {
                "n": n,
                "tiles": tiles,
                "noise": noise_label(noise),
                "run": k,
                "sweeps": int(sweeps[k]),
                "converged": int(converged[k]),
                "valid": int(stats["valid"]),
                "density": stats["density"],
                "loops": stats["loops"],
                "contacts": stats["contacts"],
            }
        )
    return results


def summarise(point: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary row of a grid point's runs."""
    sweeps = np.array([run["sweeps"] for run in point], dtype=np.float64)
    stable = [run for run in point if run["converged"]]

    def stable_mean(key: str) -> float | None:
        return float(np.mean([run[key] for run in stable])) if stable else None

    return {
        "n": point[0]["n"],
        "tiles": point[0]["tiles"],
        "noise": point[0]["noise"],
        "runs": len(point),
        "converged": len(stable) / len(point),
        "sweeps_mean": float(sweeps.mean()),
        "sweeps_sem": float(sweeps.std(ddof=1) / math.sqrt(len(point))) if len(point) > 1 else 0.0,
        "sweeps_median": float(np.median(sweeps)),
        "density": stable_mean("density"),
        "loops": stable_mean("loops"),
        "contacts": stable_mean("contacts"),
    }


def plot_convergence(summary: list[dict[str, Any]], path: Path, title: str) -> None:
    """Mean (solid) and median (dashed) sweeps against n on a log scale, and the mean density of the
    stable patterns; a colour per tile set and noise setting."""
    figure, (sweeps_axes, density_axes) = panels(2, title)
    lines = list(dict.fromkeys((row["tiles"], row["noise"]) for row in summary))
    for i, (tiles, noise) in enumerate(lines):
        line = [row for row in summary if (row["tiles"], row["noise"]) == (tiles, noise)]
        sizes = [row["n"] for row in line]
        colour = f"C{i % 10}"
        sweeps_axes.plot(
            sizes, [row["sweeps_mean"] for row in line], "o-", color=colour, label=f"{tiles} {noise}"
        )
        sweeps_axes.plot(sizes, [row["sweeps_median"] for row in line], "x--", color=colour)
        density = [math.nan if row["density"] is None else row["density"] for row in line]
        density_axes.plot(sizes, density, "o-", color=colour)
    sweeps_axes.set_yscale("log")
    sweeps_axes.set_title("sweeps to a stable pattern", fontsize=10)
    sweeps_axes.set_ylabel("mean (solid), median (dashed)")
    density_axes.set_title("density of the stable patterns", fontsize=10)
    for axes in (sweeps_axes, density_axes):
        axes.set_xlabel("n")
        axes.set_xticks(sorted({row["n"] for row in summary}))
        axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", ncols=4, fontsize=8)
    save_png(figure, path)


def _read_runs(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="") as file:
        return [{key: RUN_COLUMNS[key](value) for key, value in row.items()} for row in csv.DictReader(file)]

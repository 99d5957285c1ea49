"""The n-tuple learning curves beside the paper's reference numbers.

    gridworlds run experiments/2048-curves.toml

Reads the metrics.csv of n-tuple runs (finished or still running) and draws, for each, the training
games' average score and 2048-rate per 1,000 games, its periodic evaluations, and the reference
points of the learner it reproduces (TDL2048+, the authors' C++ program, on these machines:
docs/2048.md, reference numbers).

Parameters, the [study] table of the experiment file:

    runs     an array of tables {label = ..., dir = ..., reference = ...}: a run directory holding
             metrics.csv (runs/<name>/<seed>), a label for the plot, and the reference rows it is
             compared to, one of REFERENCES ("TD", "OTD")

Files under runs/<name>/ (besides the runner's config.toml and summary.json):

    curves.csv   label, games, source ("train": the 1,000 training games before `games`; "eval": an
                 evaluation after `games` training games), score_mean, reached_2048
    curves.png   average score and 2048-rate against training games, log scale, each run's
                 reference points as black-edged crosses of its colour
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from gridworlds import atomic
from gridworlds.runner.config import Fields, Kind
from gridworlds.runner.plots import panels, save_png
from gridworlds.tables import csv_text

PREFIX = "study."
# learner -> (training games, average score, 2048-rate) measured with TDL2048+ (4x6, 10k test games).
# The OTD row at 1.1M games is OTD for 1M games, then TC for 100k.
REFERENCES = {
    "TD": [(10_000, 21_800, 0.37), (100_000, 65_000, 0.905), (1_000_000, 129_994, 0.964)],
    "OTD": [(100_000, 14_560, 0.108), (1_000_000, 61_936, 0.975), (1_100_000, 85_564, 0.991)],
}
COLUMNS = ("label", "games", "source", "score_mean", "reached_2048")
RUNS = Kind(
    "a non-empty array of tables {label = ..., dir = ..., reference = ...}",
    lambda v: isinstance(v, list) and v != [] and all(isinstance(run, dict) for run in v),
)


def check_curves_params(params: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """The [study] parameters, checked (config.py calls this)."""
    fields.no_unknown_keys(params, PREFIX, ["runs"])
    runs = fields.get(params, PREFIX, "runs", RUNS)
    for i, run in enumerate(runs):
        prefix = f"{PREFIX}runs[{i}]."
        fields.no_unknown_keys(run, prefix, ["label", "dir", "reference"])
        for key in ("label", "dir"):
            fields.get(run, prefix, key, Kind("a string", lambda v: isinstance(v, str) and v != ""))
        fields.get(run, prefix, "reference", Kind(f"one of {sorted(REFERENCES)}", lambda v: v in REFERENCES))
    if len({run["label"] for run in runs}) < len(runs):
        raise fields.error(PREFIX + "runs", "runs with distinct labels", [run["label"] for run in runs])
    return {"runs": runs}


def learning_curves(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """Collect the curves, write curves.csv and curves.png; returns {"rows": each run's last training
    and evaluation points}."""
    rows = []
    for run in params["runs"]:
        metrics = Path(run["dir"]) / "metrics.csv"
        if not metrics.is_file():
            raise ValueError(f"study.runs: {run['label']!r} has no {metrics}; run its experiment first")
        rows += curve_rows(run["label"], metrics)
    atomic.write_text(out_dir / "curves.csv", csv_text(rows, COLUMNS))
    plot_curves(rows, params["runs"], out_dir / "curves.png", f"{out_dir.name}: n-tuple learning curves")
    last = {(row["label"], row["source"]): row for row in rows}
    return {"rows": list(last.values())}


learning_curves.check = check_curves_params


def curve_rows(label: str, metrics_csv: Path) -> list[dict[str, Any]]:
    """The training (per 1,000 games) and evaluation points of one run's metrics.csv."""
    points: dict[tuple[int, str], dict[str, Any]] = {}
    names = {
        "score_mean": ("train", "score_mean"),
        "reached_2048": ("train", "reached_2048"),
        "eval/score_mean": ("eval", "score_mean"),
        "eval/reached_2048_mean": ("eval", "reached_2048"),
    }
    with metrics_csv.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["metric"] in names:
                source, column = names[row["metric"]]
                point = points.setdefault(
                    (int(row["step"]), source), {"label": label, "games": int(row["step"]), "source": source}
                )
                point[column] = float(row["value"])
    return sorted(points.values(), key=lambda p: (p["source"], p["games"]))


def plot_curves(rows: list[dict[str, Any]], runs: list[dict[str, str]], path: Path, title: str) -> None:
    figure, axes = panels(2, title)
    for ax, column, name in zip(
        axes, ("score_mean", "reached_2048"), ("average score", "2048-rate"), strict=True
    ):
        for i, run in enumerate(runs):
            for source, style in (("train", {"lw": 1, "alpha": 0.6}), ("eval", {"marker": "o", "lw": 0})):
                points = [
                    r for r in rows if r["label"] == run["label"] and r["source"] == source and column in r
                ]
                ax.plot(
                    [p["games"] for p in points],
                    [p[column] for p in points],
                    color=f"C{i}",
                    label=f"{run['label']} ({'training games' if source == 'train' else 'evaluations'})",
                    **style,
                )
            reference = REFERENCES[run["reference"]]
            ax.plot(
                [games for games, _, _ in reference],
                [score if column == "score_mean" else rate for _, score, rate in reference],
                "X",
                color=f"C{i}",
                markeredgecolor="black",
                markersize=9,
                label=f"TDL2048+ {run['reference']}" if column == "score_mean" else None,
            )
        ax.set_xscale("log")
        ax.set_xlabel("training games")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    save_png(figure, path)

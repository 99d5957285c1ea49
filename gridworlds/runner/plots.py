"""PNG plots of a run: training curves from metrics.csv, and bar charts of the final evaluation.

Figures are drawn with matplotlib's Figure directly (Agg canvas, no pyplot), so plotting neither
needs a display nor changes the backend of a program that imports the runner.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from matplotlib.figure import Figure

from gridworlds import atomic


def plot_training(
    rows: list[dict[str, str]], path: Path, title: str, unit: str = "environment steps"
) -> None:
    """One panel per metric of metrics.csv rows, value against step (in `unit`), one line per agent.

    Of the periodic evaluations only the means are drawn (eval/*_mean); metrics that are 0
    throughout are left out, as in plot_evaluation.
    """
    series: dict[str, dict[str, tuple[list[int], list[float]]]] = {}  # metric -> agent -> (steps, values)
    for row in rows:
        steps, values = series.setdefault(row["metric"], {}).setdefault(row["agent"], ([], []))
        steps.append(int(row["step"]))
        values.append(float(row["value"]))
    agents = list(dict.fromkeys(row["agent"] for row in rows))
    metrics = [
        m
        for m in series
        if (m.endswith("_mean") or not m.startswith("eval/"))
        and any(v != 0 for _, values in series[m].values() for v in values)
    ]

    figure, axes = panels(len(metrics), title)
    for ax, metric in zip(axes, metrics, strict=False):
        for agent, (steps, values) in series[metric].items():
            ax.plot(
                steps,
                values,
                marker="." if len(steps) < 30 else None,
                color=f"C{agents.index(agent)}",
                label=agent,
            )
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel(unit)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    save_png(figure, path)


def plot_evaluation(
    values: dict[str, dict[str, float]], errors: dict[str, dict[str, float]], path: Path, title: str
) -> None:
    """One panel per mean metric (`*_mean`), a bar per agent, error bars where `errors` has them.

    values and errors map agent label -> metric -> number. Metrics that are 0 for every agent
    (tiles never reached) are left out: a panel of empty bars says nothing.
    """
    agents = list(values)
    names = dict.fromkeys(m for agent in agents for m in values[agent] if m.endswith("_mean"))
    metrics = [m for m in names if any(values[agent].get(m, 0) != 0 for agent in agents)]

    figure, axes = panels(len(metrics), title)
    for ax, metric in zip(axes, metrics, strict=False):
        heights = [values[agent].get(metric, math.nan) for agent in agents]
        spread = [errors.get(agent, {}).get(metric, 0.0) for agent in agents]
        colors = [f"C{i}" for i in range(len(agents))]
        ax.bar(agents, heights, yerr=spread if any(spread) else None, capsize=4, color=colors)
        ax.set_title(metric, fontsize=10)
        ax.tick_params(axis="x", labelrotation=30 if len(agents) > 3 else 0)
        ax.grid(axis="y", alpha=0.3)
    save_png(figure, path)


def panels(count: int, title: str) -> tuple[Figure, list]:
    """A titled figure with `count` axes, at most three to a row (shared by every plot of the runner)."""
    columns = min(3, max(count, 1))
    rows = math.ceil(max(count, 1) / columns)
    figure = Figure(figsize=(4.5 * columns, 3.2 * rows + 0.4), layout="constrained")
    figure.suptitle(title)
    axes = list(figure.subplots(rows, columns, squeeze=False).flat)
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes


def save_png(figure: Figure, path: Path) -> None:
    """Write a figure as a PNG, atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic.write_bytes(path, buffer.getvalue())

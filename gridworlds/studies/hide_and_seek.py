"""Hide-and-seek studies: the scripted baselines against each other (do boxes in doors hide the
hiders?), and the phases of a self-play run.

    gridworlds run experiments/hide-and-seek-scripted.toml
    gridworlds run experiments/hide-and-seek-phases.toml

Plays whole episodes on the batched engine (`agents.hide_and_seek.scripted.play_scripted`) for each
world and each pairing of scripted team policies, and reports the per-episode statistics the
env logs: each team's mean return, the share of post-preparation steps with a hider seen, boxes
moved and locked during preparation, ramps moved and locked.

Parameters, the [study] table of the experiment file:

    worlds     world ids (gridworlds/HideAndSeek-v0, gridworlds/HideAndSeekQuadrant-v0)
    pairings   [hiders, seekers] policy names: hiders "random", "still" or "fort", seekers "random",
               "still" or "chase"
    episodes   episodes per world and pairing
    seed       seeds the worlds and the random policies

Files under runs/<name>/: baselines.csv (one row per world and pairing) and baselines.png (the
share of post-preparation steps with a hider seen, and the hiders' mean return, per pairing).

`phases` reads a self-play run's metrics.csv ([study] `run` = its directory, `agent` = its label)
and writes phases.png: each team's return and the episode statistics against env steps, with the
start of each phase of PHASES marked (seekers chase, hiders build forts, seekers use ramps, hiders
lock ramps), as the paper's figure 1 marks them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gridworlds import atomic
from gridworlds.agents.hide_and_seek.scripted import HIDER_POLICIES, SEEKER_POLICIES, play_scripted
from gridworlds.engines.hide_and_seek import EPISODE_STATS, Scenario
from gridworlds.registry import WORLDS, world
from gridworlds.runner.config import NON_NEGATIVE, POSITIVE, Fields, Kind
from gridworlds.runner.plots import panels, save_png
from gridworlds.tables import csv_text

PREFIX = "study."
HIDE_AND_SEEK_WORLDS = [id_ for id_, spec in WORLDS.items() if spec.entry_point.endswith(":HideAndSeekEnv")]
COLUMNS = ("world", "hiders", "seekers", "episodes", *EPISODE_STATS)
WORLD_IDS = Kind(
    f"a non-empty array of world ids from {HIDE_AND_SEEK_WORLDS}",
    lambda v: isinstance(v, list) and v != [] and all(w in HIDE_AND_SEEK_WORLDS for w in v),
)
PAIRINGS = Kind(
    f"a non-empty array of [hiders, seekers] policy names, hiders from {list(HIDER_POLICIES)}, "
    f"seekers from {list(SEEKER_POLICIES)}",
    lambda v: (
        isinstance(v, list)
        and v != []
        and all(
            isinstance(p, list) and len(p) == 2 and p[0] in HIDER_POLICIES and p[1] in SEEKER_POLICIES
            for p in v
        )
    ),
)


def check_params(params: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """The [study] parameters, checked (config.py calls this)."""
    fields.no_unknown_keys(params, PREFIX, ["worlds", "pairings", "episodes", "seed"])
    return {
        "worlds": fields.get(params, PREFIX, "worlds", WORLD_IDS),
        "pairings": fields.get(params, PREFIX, "pairings", PAIRINGS),
        "episodes": fields.get(params, PREFIX, "episodes", POSITIVE),
        "seed": fields.get(params, PREFIX, "seed", NON_NEGATIVE, 0),
    }


def scripted_baselines(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """Play every world and pairing; write baselines.csv and baselines.png; return {"rows": ...}.
    A run takes seconds, so a resumed one simply plays again (the same seed gives the same rows)."""
    rows = []
    runs = [(w, hiders, seekers) for w in params["worlds"] for hiders, seekers in params["pairings"]]
    for world_id, hiders, seekers in tqdm(runs, desc="pairings", unit="pairing"):
        scenario = Scenario(**world(world_id).kwargs).check()
        stats = play_scripted(scenario, hiders, seekers, params["episodes"], params["seed"])
        rows.append(
            {"world": world_id, "hiders": hiders, "seekers": seekers, "episodes": params["episodes"]}
            | {name: stats[name] for name in EPISODE_STATS}
        )
    atomic.write_text(out_dir / "baselines.csv", csv_text(rows, COLUMNS))
    plot_baselines(rows, out_dir / "baselines.png", f"{out_dir.name}: scripted hide-and-seek baselines")
    return {"rows": rows}


scripted_baselines.check = check_params


def plot_baselines(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    figure, axes = panels(2, title)
    worlds = list(dict.fromkeys(row["world"] for row in rows))
    pairings = list(dict.fromkeys(f"{row['hiders']} v {row['seekers']}" for row in rows))
    width = 0.8 / len(worlds)
    for ax, column, name in zip(
        axes,
        ("hider_seen_fraction", "hider_reward"),
        ("share of post-preparation steps with a hider seen", "hiders' mean return"),
        strict=True,
    ):
        for i, world_id in enumerate(worlds):
            values = {f"{r['hiders']} v {r['seekers']}": r[column] for r in rows if r["world"] == world_id}
            ax.bar(
                [k + (i - (len(worlds) - 1) / 2) * width for k in range(len(pairings))],
                [values.get(p, 0.0) for p in pairings],
                width,
                label=world_id.removeprefix("gridworlds/"),
            )
        ax.set_xticks(range(len(pairings)), pairings, fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    axes[0].axhline(0.5, color="black", lw=0.8, ls="--")
    axes[0].legend(fontsize=7)
    save_png(figure, path)


# ---------------------------------------------------------------------------------------------
# Phases of self-play training

# phase -> (statistic, threshold it crosses upwards); a phase starts at the first report where the
# statistic's moving average over SMOOTHING reports reaches its threshold. Chasing is a rise of the
# seekers' return above where it started, the others absolute levels that random play stays under
# (random hiders fill 2% of the doors with a locked box; scripted forts fill 99%).
PHASES = {
    "seekers chase": ("seeker_reward", "rise", 10.0),
    "hiders build forts": ("doors_locked_prep", "level", 0.5),
    "seekers use ramps": ("ramp_move", "level", 2.0),
    "hiders lock ramps": ("ramps_locked_prep", "level", 0.5),
}
SMOOTHING = 10
RUN = Kind("a run directory holding metrics.csv (a string)", lambda v: isinstance(v, str) and v != "")


def detect_phases(steps: list[int], series: dict[str, list[float]]) -> dict[str, int | None]:
    """The step at which each phase of PHASES begins in the reported statistics (None: not yet)."""
    found: dict[str, int | None] = {}
    for phase, (name, kind, threshold) in PHASES.items():
        values = np.asarray(series.get(name, []), dtype=float)
        found[phase] = None
        if len(values) < SMOOTHING:
            continue
        smooth = np.convolve(values, np.ones(SMOOTHING) / SMOOTHING, mode="valid")
        level = smooth - smooth[0] if kind == "rise" else smooth
        hits = np.flatnonzero(level >= threshold)
        if len(hits):
            found[phase] = steps[hits[0] + SMOOTHING - 1]
    return found


def check_phases_params(params: dict[str, Any], fields: Fields) -> dict[str, Any]:
    fields.no_unknown_keys(params, PREFIX, ["run", "agent"])
    return {
        "run": fields.get(params, PREFIX, "run", RUN),
        "agent": fields.get(params, PREFIX, "agent", Kind("an agent label", lambda v: isinstance(v, str))),
    }


def phases(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """Read a self-play run's metrics.csv, find the phases, write phases.png (each team's return and
    the statistics against steps, the phases marked) and return {"rows": [{phase, step or None}]}."""
    metrics = Path(params["run"]) / "metrics.csv"
    if not metrics.is_file():
        raise ValueError(f"study.run: {metrics} does not exist; run the training experiment first")
    series: dict[str, dict[int, float]] = {}
    with metrics.open(newline="") as file:
        for row in csv.DictReader(file):
            if row["agent"] == params["agent"] and not row["metric"].startswith("eval/"):
                series.setdefault(row["metric"], {})[int(row["step"])] = float(row["value"])
    if "seeker_reward" not in series:
        raise ValueError(f"study.agent: {metrics} has no training rows of agent {params['agent']!r}")
    steps = sorted(series["seeker_reward"])
    values = {name: [points.get(step, np.nan) for step in steps] for name, points in series.items()}
    found = detect_phases(steps, values)
    plot_phases(steps, values, found, out_dir / "phases.png", f"{out_dir.name}: self-play phases")
    return {"rows": [{"phase": phase, "step": step} for phase, step in found.items()]}


phases.check = check_phases_params


def plot_phases(
    steps: list[int], values: dict[str, list[float]], found: dict[str, int | None], path: Path, title: str
) -> None:
    panels_shown = [
        ("team returns", ("hider_reward", "seeker_reward")),
        (
            "preparation: boxes",
            ("box_move_prep", "boxes_locked_prep", "doors_locked_prep", "door_locked_prep"),
        ),
        ("ramps", ("ramp_move", "ramps_locked_prep")),
        ("sight", ("hider_seen_fraction",)),
        ("start-state curriculum", ("staged_share",)),
    ]
    figure, axes = panels(len(panels_shown), title)
    for ax, (name, metrics) in zip(axes, panels_shown, strict=False):  # the grid may have spare axes
        for metric in metrics:
            if metric in values:
                ax.plot(steps, values[metric], lw=1, label=metric)
        for k, (phase, step) in enumerate(found.items()):
            if step is not None:
                ax.axvline(step, color=f"C{k + 4}", ls="--", lw=1, label=phase if ax is axes[0] else None)
        ax.set_xlabel("env steps")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save_png(figure, path)

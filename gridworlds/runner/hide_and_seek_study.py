"""The scripted hide-and-seek baselines against each other: do boxes in doors hide the hiders?

    gridworlds run experiments/hide-and-seek-scripted.toml

Plays whole episodes on the batched engine (`gridworlds.agents.hide_and_seek.play_scripted`) for
each world and each pairing of scripted team policies, and reports the per-episode statistics the
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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm import tqdm

from gridworlds import atomic
from gridworlds.agents.hide_and_seek import HIDER_POLICIES, SEEKER_POLICIES, play_scripted
from gridworlds.engines.hide_and_seek import EPISODE_STATS, Scenario
from gridworlds.registry import WORLDS, world
from gridworlds.runner.config import NON_NEGATIVE, POSITIVE, Fields, Kind
from gridworlds.runner.plots import panels, save_png
from gridworlds.tables import csv_text, format_table

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
    table = [("world", "hiders v seekers", "hider seen", "hider return", "boxes locked in prep")]
    table += [
        (
            row["world"].removeprefix("gridworlds/"),
            f"{row['hiders']} v {row['seekers']}",
            f"{row['hider_seen_fraction']:.1%}",
            f"{row['hider_reward']:+.1f}",
            f"{row['boxes_locked_prep']:.2f}",
        )
        for row in rows
    ]
    print(format_table(table, numbers=False))
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

"""What the fidelity study (`voxels_fidelity`) measures and writes: trajectory sets, the agreement
statistics, report.md, the plots and the drawings of the rollouts that disagree most."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from gridworlds import atomic
from gridworlds.engines import voxels as engine
from gridworlds.runner.plots import panels, save_png
from gridworlds.tables import csv_text

# A rollout to draw again: (unit, body index) -> (body, actions [T, A]).
RolloutOf = Callable[["Unit", int], tuple[np.ndarray, np.ndarray]]
SIMULATORS = ("ours", "evogym", "perturbed")  # "perturbed": EvoGym with every action moved by 1e-3


def frame_steps(horizon: int, frames: int) -> list[int]:
    """The steps drawn for a disagreeing rollout: `frames` evenly spaced, the last one the last step."""
    return sorted({round((k + 1) * horizon / frames) - 1 for k in range(frames)})


@dataclass
class Trajectories:
    """Rollouts of B bodies, padded to T steps with NaN past each episode's end."""

    robot: np.ndarray  # [B, T, 2] the robot's centre of mass after each step
    box: np.ndarray  # [B, T, 2] the box's (NaN throughout where the task has no box)
    reward: np.ndarray  # [B, T]
    length: np.ndarray  # int [B]: steps played (an episode that ended early is shorter)
    start: np.ndarray  # [B, 2] the robot's centre before the first step

    def returns(self) -> np.ndarray:
        return np.nansum(self.reward, axis=1)

    def displacement(self) -> np.ndarray:
        """How far each robot's centre moved along x by the end of its episode."""
        return self.robot[np.arange(len(self.length)), self.length - 1, 0] - self.start[:, 0]

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_{name}": getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_arrays(cls, arrays: Any, prefix: str) -> Trajectories:
        return cls(**{name: arrays[f"{prefix}_{name}"] for name in cls.__dataclass_fields__})


def from_evogym(runs: list[dict[str, Any]], horizon: int) -> Trajectories:
    """The worker's trajectories (one dict per body, the worker's docstring) as padded arrays."""
    shape = (len(runs), horizon)
    robot, box, reward = np.full((*shape, 2), np.nan), np.full((*shape, 2), np.nan), np.full(shape, np.nan)
    for b, run in enumerate(runs):
        steps = len(run["reward"])
        robot[b, :steps] = run["robot"]
        if run["box"] is not None:
            box[b, :steps] = run["box"]
        reward[b, :steps] = run["reward"]
    length = np.array([len(run["reward"]) for run in runs], np.int64)
    return Trajectories(robot, box, reward, length, np.array([run["start_robot"] for run in runs]))


@dataclass
class Unit:
    """The study's unit of work (and of resuming): every body of one family on one task under one
    controller, `horizon` control steps."""

    task: str
    family: str
    controller: str
    horizon: int

    @property
    def name(self) -> str:
        return f"{self.task}--{self.family}--{self.controller}"


@dataclass
class UnitResult:
    """A unit's three trajectory sets (ours, EvoGym's, EvoGym's perturbed) and, for its most
    disagreeing rollouts, EvoGym's recorded points at the drawn steps."""

    unit: Unit
    runs: dict[str, Trajectories]
    drawn: list[dict[str, Any]]  # {"body": index, "start_points": ..., "points": ...} (the worker's)


# --- statistics ---


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of a and b (NaN for fewer than 3 values or a constant one)."""
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def within_share(ours: np.ndarray, evogym: np.ndarray, perturbed: np.ndarray, factor: float) -> float:
    """The share of bodies whose value here is within `factor` times EvoGym's chaos spread of that
    body (how far EvoGym's perturbed rollout ended from its own) of EvoGym's value."""
    return float(np.mean(np.abs(ours - evogym) <= factor * np.abs(perturbed - evogym)))


def centre_gap(a: Trajectories, b: Trajectories) -> np.ndarray:
    """[B, T]: the distance between the two robots' centres after each step (NaN once either ended)."""
    return np.linalg.norm(a.robot - b.robot, axis=2)


SUMMARY_COLUMNS = (
    "task",
    "family",
    "controller",
    "bodies",
    "spearman_return",
    "spearman_displacement",
    "chaos_spearman_return",
    "chaos_spearman_displacement",
    "within_return",
    "within_displacement",
    "median_gap_displacement",
    "median_chaos_displacement",
    "ended_early_ours",
    "ended_early_evogym",
)


def summary_row(runs: dict[str, Trajectories], factor: float) -> dict[str, Any]:
    """The agreement statistics of one set of rollouts (SUMMARY_COLUMNS past the first three)."""
    ours, evogym, perturbed = (runs[name] for name in SIMULATORS)
    horizon = ours.reward.shape[1]
    values = {
        measure: {name: getattr(run, measure)() for name, run in runs.items()}
        for measure in ("returns", "displacement")
    }
    row: dict[str, Any] = {"bodies": len(ours.length)}
    for measure, label in (("returns", "return"), ("displacement", "displacement")):
        v = values[measure]
        row[f"spearman_{label}"] = spearman(v["ours"], v["evogym"])
        row[f"chaos_spearman_{label}"] = spearman(v["perturbed"], v["evogym"])
        row[f"within_{label}"] = within_share(v["ours"], v["evogym"], v["perturbed"], factor)
    moved = values["displacement"]
    row["median_gap_displacement"] = float(np.median(np.abs(moved["ours"] - moved["evogym"])))
    row["median_chaos_displacement"] = float(np.median(np.abs(moved["perturbed"] - moved["evogym"])))
    row["ended_early_ours"] = int((ours.length < horizon).sum())
    row["ended_early_evogym"] = int((evogym.length < horizon).sum())
    return row


def pooled(results: list[UnitResult]) -> dict[str, Trajectories]:
    """The units' rollouts as one set (same task and controller, so the same horizon)."""
    return {
        name: Trajectories(
            *(
                np.concatenate([getattr(r.runs[name], f) for r in results])
                for f in Trajectories.__dataclass_fields__
            )
        )
        for name in SIMULATORS
    }


# --- the report ---

ROLLOUT_COLUMNS = (
    "task",
    "family",
    "body",
    "controller",
    *(f"{measure}_{name}" for measure in ("return", "displacement", "steps") for name in SIMULATORS),
)


def write_report(
    results: list[UnitResult],
    rollout_of: RolloutOf,
    params: dict[str, Any],
    out_dir: Path,
    version: str,
) -> dict[str, Any]:
    """rollouts.csv, summary.csv, report.md and the plots; returns the summary."""
    rollout_rows = []
    for result in results:
        values = {name: (run.returns(), run.displacement(), run.length) for name, run in result.runs.items()}
        for b in range(len(result.runs["ours"].length)):
            row = {"task": result.unit.task, "family": result.unit.family, "body": b}
            row["controller"] = result.unit.controller
            for name, (returns, moved, steps) in values.items():
                row |= {
                    f"return_{name}": returns[b],
                    f"displacement_{name}": moved[b],
                    f"steps_{name}": steps[b],
                }
            rollout_rows.append(row)
    atomic.write_text(out_dir / "rollouts.csv", csv_text(rollout_rows, ROLLOUT_COLUMNS))

    rows, pooled_rows = [], []
    for task in params["tasks"]:
        for controller in params["controllers"]:
            mine = [r for r in results if (r.unit.task, r.unit.controller) == (task, controller)]
            for result in mine:
                key = {"task": task, "family": result.unit.family, "controller": controller}
                rows.append(key | summary_row(result.runs, params["within"]))
            pooled_rows.append(
                {"task": task, "family": "all", "controller": controller}
                | summary_row(pooled(mine), params["within"])
            )
    atomic.write_text(out_dir / "summary.csv", csv_text(rows + pooled_rows, SUMMARY_COLUMNS))
    plot_centre_gaps(results, params, out_dir / "com-error.png")
    plot_returns(results, params, out_dir / "returns.png")
    drawings = []
    for task in params["tasks"]:
        if params["worst"]:
            drawings.append(
                draw_disagreements(task, results, rollout_of, params, out_dir / f"disagreements-{task}.png")
            )
    atomic.write_text(out_dir / "report.md", report_text(rows, pooled_rows, params, version, drawings))
    return {"evogym": version, "rows": pooled_rows}


def report_text(
    rows: list[dict[str, Any]],
    pooled_rows: list[dict[str, Any]],
    params: dict[str, Any],
    version: str,
    drawings: list[str],
) -> str:
    within = params["within"]
    lines = [
        "# Voxel simulator against EvoGym",
        "",
        f"EvoGym {version}; bodies from EvoGym's sampler, seed {params['seed']}; EvoGym's chaos floor: "
        f"the same rollouts with every action moved by {params['perturbation']:g}.",
        "",
        "Columns: ρ, Spearman's rank correlation over the bodies of the returns (R) and final "
        "displacements (D), ours against EvoGym's; chaos ρ, EvoGym's perturbed run against EvoGym's; "
        f"within, the share of bodies whose value is within {within:g}x EvoGym's chaos spread of that body "
        "(|perturbed - EvoGym|); gap D and chaos D, the median |ours - EvoGym| and |perturbed - EvoGym| of "
        "the final displacement (metres); ended, episodes that ended early (ours / EvoGym's).",
        "",
    ]
    header = (
        "| task | controller | bodies | ρ R | ρ D | chaos ρ R | chaos ρ D | within R | within D "
        "| gap D | chaos D | ended |"
    )
    lines += ["## All body families pooled", "", header, "|" + "---|" * 12]
    lines += [table_line(row) for row in pooled_rows]
    lines += ["", "## By body family", "", header.replace("| task |", "| task | family |"), "|" + "---|" * 13]
    lines += [table_line(row, family=True) for row in rows]
    lines += [
        "",
        "## Plots",
        "",
        "- `com-error.png`: the distance between the robots' centres against time, median over bodies: ours "
        "against EvoGym (solid), EvoGym against itself perturbed (dashed).",
        "- `returns.png`: our return against EvoGym's, per rollout.",
        *(
            f"- `{name}`: the rollouts whose final displacement disagrees most, ours (top) and EvoGym's "
            "(below, drawn from its recorded points by the same viewer) at the same steps."
            for name in drawings
        ),
        "",
    ]
    return "\n".join(lines)


def table_line(row: dict[str, Any], family: bool = False) -> str:
    cells = [row["task"], *([row["family"]] if family else []), row["controller"], str(row["bodies"])]
    cells += [f"{row[c]:.2f}" for c in SUMMARY_COLUMNS[4:10]]
    cells += [f"{row['median_gap_displacement']:.3f}", f"{row['median_chaos_displacement']:.3f}"]
    cells.append(f"{row['ended_early_ours']} / {row['ended_early_evogym']}")
    return "| " + " | ".join(cells) + " |"


def plot_centre_gaps(results: list[UnitResult], params: dict[str, Any], path: Path) -> None:
    """Per task, the median over bodies of the centre-of-mass gap against time, per controller."""
    figure, axes = panels(
        len(params["tasks"]), "robot centre: ours vs EvoGym (solid), EvoGym vs perturbed (dashed)"
    )
    for ax, task in zip(axes, params["tasks"], strict=False):
        for k, controller in enumerate(params["controllers"]):
            mine = pooled([r for r in results if (r.unit.task, r.unit.controller) == (task, controller)])
            for name, style in (("ours", "-"), ("perturbed", "--")):
                gap = centre_gap(mine[name], mine["evogym"])
                steps = np.flatnonzero(np.isfinite(gap).any(axis=0))
                median = np.nanmedian(gap[:, steps], axis=0)
                ax.plot(steps, median, style, color=f"C{k}", label=controller if name == "ours" else None)
        ax.set_yscale("log")
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("control step")
        ax.set_ylabel("median centre gap (m)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save_png(figure, path)


def plot_returns(results: list[UnitResult], params: dict[str, Any], path: Path) -> None:
    """Per task, each rollout's return here against EvoGym's, coloured by controller."""
    figure, axes = panels(len(params["tasks"]), "returns: ours against EvoGym's")
    for ax, task in zip(axes, params["tasks"], strict=False):
        low, high = np.inf, -np.inf
        for k, controller in enumerate(params["controllers"]):
            mine = pooled([r for r in results if (r.unit.task, r.unit.controller) == (task, controller)])
            x, y = mine["evogym"].returns(), mine["ours"].returns()
            ax.scatter(x, y, s=8, alpha=0.6, color=f"C{k}", label=controller)
            low, high = min(low, x.min(), y.min()), max(high, x.max(), y.max())
        ax.plot([low, high], [low, high], color="grey", lw=0.8)
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("EvoGym's return")
        ax.set_ylabel("our return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save_png(figure, path)


def draw_disagreements(
    task: str,
    results: list[UnitResult],
    rollout_of: RolloutOf,
    params: dict[str, Any],
    path: Path,
) -> str:
    """The task's `worst` rollouts by final-displacement gap, ours above EvoGym's at the same steps,
    both drawn by our viewer (EvoGym's robot and box at its recorded points); returns the file name."""
    from matplotlib.figure import Figure

    from gridworlds.envs.voxels import VoxelEnv
    from gridworlds.viewer.voxels import VoxelRenderer

    candidates = []
    for result in results:
        if result.unit.task == task:
            gap = np.abs(result.runs["ours"].displacement() - result.runs["evogym"].displacement())
            candidates += [(float(gap[entry["body"]]), result, entry) for entry in result.drawn]
    chosen = sorted(candidates, key=lambda c: -c[0])[: params["worst"]]
    steps = frame_steps(chosen[0][1].unit.horizon, params["frames"]) if chosen else []
    figure = Figure(figsize=(3.2 * max(len(steps), 1), 2.2 * 2 * max(len(chosen), 1)), layout="constrained")
    figure.suptitle(f"{task}: the rollouts that disagree most, ours above EvoGym's")
    axes = figure.subplots(2 * max(len(chosen), 1), max(len(steps), 1), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    renderer = VoxelRenderer("rgb_array", 30)
    for row, (gap, result, entry) in enumerate(chosen):
        unit, b = result.unit, entry["body"]
        body, actions = rollout_of(unit, b)
        env = VoxelEnv(task, body, unit.horizon, render_mode="rgb_array")
        env.reset()
        evogym = result.runs["evogym"]
        played = 0  # our steps: our episode may end (unstable) before EvoGym's
        for t, action in enumerate(actions):
            if not env.episode_over:
                env.step(action)
                played = t + 1
            if t not in steps:
                continue
            column = steps.index(t)
            state = env.render_state()
            ours_title = f"ours: {unit.family}-{b}, {unit.controller}, step {t + 1}"
            if played == t + 1:
                axes[2 * row, column].imshow(renderer.render(state))
            else:
                ours_title = f"ours: {unit.family}-{b}, {unit.controller}, ended at step {played}"
            axes[2 * row, column].set_title(ours_title, fontsize=8)
            if str(t) in entry["points"]:  # EvoGym's robot (and box) moved into our last state
                theirs = evogym_state(
                    state,
                    env.worlds,
                    entry,
                    t,
                    float(np.nansum(evogym.reward[b, : t + 1])),
                    evogym.robot[b, t],
                )
                axes[2 * row + 1, column].imshow(renderer.render(theirs))
            axes[2 * row + 1, column].set_title(
                f"EvoGym, step {t + 1} (|gap| at end {gap:.2f} m)", fontsize=8
            )
        env.close()
    save_png(figure, path)
    return path.name


def evogym_state(
    state: dict[str, Any],
    worlds: engine.Worlds,
    entry: dict[str, Any],
    t: int,
    episode_return: float,
    centre: np.ndarray,
) -> dict[str, Any]:
    """Our viewer's state with the robot (and the box) moved to EvoGym's recorded points after step t.
    EvoGym numbers its points its own way: a point is matched to ours by where both started."""
    theirs = dict(state)
    theirs["pos"] = state["pos"].copy()
    pieces = {"robot": 0}
    if "box" in entry["start_points"]:
        pieces["box"] = int(np.flatnonzero(worlds.piece_kind[0] == engine.OBJECT)[0])
    for key, piece in pieces.items():
        first, last = worlds.piece_points[0, piece]
        ours_start = worlds.start_pos[0, first:last]
        their_start = np.array(entry["start_points"][key]).T
        their_index = {tuple(np.rint(p / engine.VOXEL).astype(int)): i for i, p in enumerate(their_start)}
        order = [their_index[tuple(np.rint(p / engine.VOXEL).astype(int))] for p in ours_start]
        theirs["pos"][first:last] = np.array(entry["points"][str(t)][key]).T[order]
    theirs |= {"task": f"EvoGym {state['task']}", "episode_return": episode_return, "robot_centre": centre}
    return theirs

"""Robot design: every design optimiser on the voxel-robot tasks with the same budget of env steps.

    gridworlds run experiments/robot-design.toml

For each task, optimiser and seed, a run asks the optimiser for `population` bodies a generation,
gives each its own open-loop periodic gait found by a small CEM (`voxel_controllers.optimise_gaits`:
the designs' populations roll out together on the batched simulator), tells the optimiser the return
each design earned with its best gait, and stops once the run has used `budget` env steps (every
rollout step of every controller counts). Fitness is the return of the design actually rolled out.

Parameters, the [study] table of the experiment file:

    tasks        voxel task names (Walker-v0, Pusher-v0, UpStepper-v0, Flipper-v0, ...)
    optimisers   names from OPTIMISERS: random, ga, cem, herd, and HERD's ablations herd-flat (no
                 hyperbolic embedding) and herd-one-depth (no coarse-to-fine)
    seeds        seeds; each seeds the optimiser and the gait search
    budget       env steps per run
    population   designs per generation
    gait         the gait search: GaitSearch fields (population, elites, generations, initial_sigma,
                 sigma_decay, min_sigma, horizon: None for the task's own)

Files under runs/<name>/: progress.csv (task, optimiser, seed, generation, env_steps, best,
generation_best), one <task>-<optimiser>-<seed>.json per finished run (resume skips those), the
best design of each run as <task>-<optimiser>-<seed>.txt (a body file: `gridworlds view
gridworlds/<task> --body FILE`), and best.png: best fitness against env steps per task, the mean
over seeds with its spread, one line per optimiser.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gridworlds import atomic
from gridworlds.agents.robot_design import (
    CEMDesigns,
    DesignOptimiser,
    GeneticDesigns,
    HERDDesigns,
    RandomDesigns,
)
from gridworlds.agents.voxel_controllers import GaitSearch, optimise_gaits
from gridworlds.engines.voxel_bodies import body_to_text
from gridworlds.engines.voxel_tasks import TASKS
from gridworlds.runner.config import POSITIVE, Fields, Kind
from gridworlds.runner.plots import panels, save_png
from gridworlds.tables import csv_text

PREFIX = "study."
COLUMNS = ("task", "optimiser", "seed", "generation", "env_steps", "best", "generation_best")


def make_optimiser(name: str, population: int, generations: int, seed: int) -> DesignOptimiser:
    """The optimiser `name` for runs of about `generations` generations of `population` designs."""
    if name == "random":
        return RandomDesigns(seed=seed)
    if name == "ga":
        return GeneticDesigns(population, generations, seed=seed)
    if name == "cem":
        return CEMDesigns(seed=seed)
    if name == "herd":
        return HERDDesigns(generations, seed=seed)
    if name == "herd-flat":  # ablation: the tree flattened into the tangent plane
        return HERDDesigns(generations, hyperbolic=False, seed=seed)
    if name == "herd-one-depth":  # ablation: no coarse-to-fine, the deepest level from the start
        return HERDDesigns(generations, coarse_to_fine=False, seed=seed)
    raise ValueError(f"unknown optimiser {name!r}; known: {list(OPTIMISERS)}")


OPTIMISERS = ("random", "ga", "cem", "herd", "herd-flat", "herd-one-depth")
TASK_NAMES = Kind(
    f"a non-empty array of task names from {sorted(TASKS)}",
    lambda v: isinstance(v, list) and v != [] and all(t in TASKS for t in v),
)
OPTIMISER_NAMES = Kind(
    f"a non-empty array of optimiser names from {list(OPTIMISERS)}",
    lambda v: isinstance(v, list) and v != [] and all(o in OPTIMISERS for o in v),
)
SEEDS = Kind(
    "a non-empty array of non-negative integers",
    lambda v: isinstance(v, list) and v != [] and all(isinstance(s, int) and s >= 0 for s in v),
)
GAIT_FIELDS = [f.name for f in fields(GaitSearch) if f.name != "seed"]
GAIT = Kind(
    f"a table with some of {GAIT_FIELDS}",
    lambda v: isinstance(v, dict) and set(v) <= set(GAIT_FIELDS),
)


def check_params(params: dict[str, Any], fields_: Fields) -> dict[str, Any]:
    """The [study] parameters, checked (config.py calls this)."""
    fields_.no_unknown_keys(params, PREFIX, ["tasks", "optimisers", "seeds", "budget", "population", "gait"])
    return {
        "tasks": fields_.get(params, PREFIX, "tasks", TASK_NAMES),
        "optimisers": fields_.get(params, PREFIX, "optimisers", OPTIMISER_NAMES),
        "seeds": fields_.get(params, PREFIX, "seeds", SEEDS),
        "budget": fields_.get(params, PREFIX, "budget", POSITIVE),
        "population": fields_.get(params, PREFIX, "population", POSITIVE),
        "gait": fields_.get(params, PREFIX, "gait", GAIT, {}),
    }


def design_run(task: str, optimiser_name: str, seed: int, params: dict[str, Any]) -> dict[str, Any]:
    """One run: generations until the budget is spent; returns its progress rows and best design."""
    population, budget = params["population"], params["budget"]
    gait = GaitSearch(**params["gait"], seed=seed)
    per_design = gait.population * gait.generations * (gait.horizon or TASKS[task].horizon)
    generations = max(1, budget // (population * per_design))
    optimiser = make_optimiser(optimiser_name, population, generations, seed)
    steps, best, best_body, rows = 0, -np.inf, None, []
    generation = 0
    while steps < budget:
        bodies = optimiser.ask(population)
        _, fitness, used = optimise_gaits(task, bodies, gait)
        optimiser.tell(bodies, fitness)
        steps += used
        top = int(np.argmax(fitness))
        if fitness[top] > best:
            best, best_body = float(fitness[top]), bodies[top]
        rows.append(
            {
                "task": task,
                "optimiser": optimiser_name,
                "seed": seed,
                "generation": generation,
                "env_steps": steps,
                "best": best,
                "generation_best": float(fitness[top]),
            }
        )
        generation += 1
    return {"rows": rows, "best": best, "body": body_to_text(best_body)}


def design_search(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """Every task x optimiser x seed run (finished ones are kept on resume); writes progress.csv,
    the best bodies and best.png; returns the best fitness of each run."""
    runs = [(t, o, s) for t in params["tasks"] for o in params["optimisers"] for s in params["seeds"]]
    results = {}
    for task, optimiser, seed in tqdm(runs, desc="design runs", unit="run"):
        name = f"{task}-{optimiser}-{seed}"
        path = out_dir / f"{name}.json"
        if resume and path.exists():
            results[name] = json.loads(path.read_text())
            continue
        result = design_run(task, optimiser, seed, params)
        atomic.write_text(out_dir / f"{name}.txt", result["body"])
        atomic.write_text(path, json.dumps(result))
        results[name] = result
    rows = [row for result in results.values() for row in result["rows"]]
    atomic.write_text(out_dir / "progress.csv", csv_text(rows, COLUMNS))
    plot_best(rows, params, out_dir / "best.png", f"{out_dir.name}: best fitness against env steps")
    summary_rows = [
        {
            "task": task,
            "optimiser": optimiser,
            "seed": seed,
            "generations": len(results[f"{task}-{optimiser}-{seed}"]["rows"]),
            "env_steps": results[f"{task}-{optimiser}-{seed}"]["rows"][-1]["env_steps"],
            "best": results[f"{task}-{optimiser}-{seed}"]["best"],
        }
        for task, optimiser, seed in runs
    ]
    return {
        "rows": summary_rows,
        "best": {name: result["best"] for name, result in results.items()},
        "gait": asdict(GaitSearch(**params["gait"])),
    }


design_search.check = check_params


def plot_best(rows: list[dict[str, Any]], params: dict[str, Any], path: Path, title: str) -> None:
    """Per task, the best fitness so far against env steps: the mean over seeds (on a common grid of
    steps) with its min-max band, one colour per optimiser."""
    figure, axes = panels(len(params["tasks"]), title)
    grid = np.linspace(0, params["budget"], 50)
    for ax, task in zip(axes, params["tasks"], strict=False):
        for optimiser in params["optimisers"]:
            curves, starts = [], []
            for seed in params["seeds"]:
                mine = [r for r in rows if (r["task"], r["optimiser"], r["seed"]) == (task, optimiser, seed)]
                if mine:
                    steps = [r["env_steps"] for r in mine]
                    curves.append(np.interp(grid, steps, [r["best"] for r in mine]))
                    starts.append(steps[0])
            if curves:
                shown = grid >= max(
                    starts
                )  # the best so far exists once every seed's first generation is done
                curves = np.array(curves)[:, shown]
                ax.plot(grid[shown], curves.mean(axis=0), label=optimiser)
                ax.fill_between(grid[shown], curves.min(axis=0), curves.max(axis=0), alpha=0.2)
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save_png(figure, path)

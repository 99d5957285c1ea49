"""Robot design: every design optimiser on the voxel-robot tasks with the same budget of env steps.

    gridworlds run experiments/voxels-design.toml

For each task, optimiser and seed, a run asks the optimiser for `population` bodies a generation,
finds each its controller, tells the optimiser the return each design earned with it, and stops once
the run has used `budget` env steps (every rollout step of every world counts, training included).
Fitness is the return of the design actually rolled out. The controller is one of

- "gait": each design gets its own open-loop periodic gait found by a small CEM
  (`controllers.optimise_gaits`: the designs' populations roll out together on the batched
  simulator); its fitness is the return of its best gait. With `inherit_gaits` (the default) each
  design's CEM starts from the best gait of the nearest design the run has scored so far (fewest
  voxels differing; `controllers.inherit_gait` carries each actuator's amplitude and phase
  over by cell), so that a design near a good one is scored with a gait near a good one: a small
  CEM from scratch gives the same design returns that differ as much between seeds as between
  designs, and a search cannot climb that. With `cluster_gaits` (the default) HERD's robots are
  driven cluster by cluster, as HERD controls a coarse robot by its components: the actuators of
  one cluster of the robot's level share an amplitude and a phase, so a coarse robot's CEM searches
  a few numbers rather than two per actuator, and a refinement starts from its parent's gait.
- "shared-ppo": one closed-loop policy for every design, as HERD trains it
  (`policy.SharedPPO`): each generation it trains for `ppo.steps_per_generation` env steps on
  the generation's designs, then each design's fitness is its return under the policy's mean action.
  The policy keeps learning, so designs an optimiser asks for again (HERD's elites) are scored anew.

Parameters, the [study] table of the experiment file:

    tasks        voxel task names (Walker-v0, Pusher-v0, UpStepper-v0, Flipper-v0, ...)
    optimisers   names from OPTIMISERS: random, ga, cem, herd, and HERD's ablations herd-flat (no
                 hyperbolic embedding), herd-one-depth (no coarse-to-fine) and herd-tree (HERD's
                 own look-up: the nearest robot in the whole tree, not the elite's subtree first)
    seeds        seeds; each seeds the optimiser and the controller
    budget       env steps per run
    population   designs per generation
    controller   "gait" (the default) or "shared-ppo"
    gait         the gait search: GaitSearch fields (population, elites, generations, initial_sigma,
                 sigma_decay, min_sigma, horizon: None for the task's own). A horizon shorter
                 than the task's scores designs on the first steps of their episodes, which buys
                 more generations for the same budget
    inherit_gaits  true (the default) or false: start each design's gait search from the nearest
                 scored design's gait, and the final search from the best design's
    cluster_gaits  true (the default) or false: HERD's robots get one amplitude and phase per
                 cluster of their level (the final gait search gives every actuator its own)
    gait_horizons  a table of task name -> the gait search's horizon for that task, over
                 gait.horizon (a task whose terrain starts after a flat run, UpStepper-v0, needs
                 the robot to reach it)
    final_gait   with "gait": the larger gait search (GaitSearch fields, default population 16,
                 generations 10, the task's own horizon) given to each run's best design once its
                 budget is spent: the run's "final" return, a full episode; these env steps are
                 outside the budget (the same for every run)
    ppo          the shared policy: SharedPPOConfig fields (worlds, rollout, learning_rate,
                 n_epochs, minibatches, gamma, gae_lambda, clip_range, ent_coef, value_coef,
                 max_grad_norm, width, heads, layers, horizon, tensorboard) and
                 steps_per_generation (default 50_000)

Files under runs/<name>/: progress.csv (task, optimiser, seed, generation, env_steps, best,
generation_best), final.csv (each run's best fitness and, with "gait", its final return), one
<task>-<optimiser>-<seed>.json per finished run (resume skips those; with "gait" it holds the best
design's gait parameters from the search, "gait", and the final search's, "final_gait"), the best
design of each run as <task>-<optimiser>-<seed>.txt (a body file: `gridworlds view
gridworlds/<task> --body FILE`), with "shared-ppo" the run's final policy in
<task>-<optimiser>-<seed>.policy/, an agent checkpoint that shows the run's best design (`gridworlds
view gridworlds/<task> --agent DIR`), best.png: best fitness against env steps per task, the mean
over seeds with its spread, one line per optimiser, and the comparison that decides which optimiser
finds fitter designs on each task (`voxels_statistics`: at least six seeds): comparison.csv (a
one-sided Mann-Whitney U test of each ordered pair of optimisers' best fitness over the seeds),
intervals.csv (each optimiser's mean with its 95% bootstrap interval) and report.md (the claims in
words). Every one of these files is written again from the runs' files on `--resume`.

The study `gait_noise` (experiments/voxels-gait-noise.toml) measures how much of that fitness is the gait
search's luck: random designs, each scored by the same gait search from scratch under several seeds.
Its [study] fields: tasks, gait and gait_horizons as above, designs (how many), design_seed (they are
drawn from it), seeds (the gait search's).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from gridworlds import atomic
from gridworlds.agents.voxels.controllers import GaitSearch, check_search, inherit_gait, optimise_gaits
from gridworlds.agents.voxels.design.optimisers import (
    CEMDesigns,
    DesignOptimiser,
    GeneticDesigns,
    HERDDesigns,
    RandomDesigns,
)
from gridworlds.engines.voxels.bodies import body_to_text, random_body
from gridworlds.engines.voxels.tasks import TASKS
from gridworlds.extras import require
from gridworlds.runner.config import NON_NEGATIVE, POSITIVE, TABLE, Fields, Kind
from gridworlds.runner.plots import panels, save_png
from gridworlds.studies.voxels_statistics import write_comparison
from gridworlds.tables import csv_text

if TYPE_CHECKING:
    from gridworlds.agents.voxels.policy import SharedPPO

PREFIX = "study."
COLUMNS = ("task", "optimiser", "seed", "generation", "env_steps", "best", "generation_best")
SUMMARY_COLUMNS = ("task", "optimiser", "seed", "generations", "env_steps", "best", "final")


def make_optimiser(
    name: str, population: int, generations: int, seed: int, reevaluate_elites: bool = False
) -> DesignOptimiser:
    """The optimiser `name` for runs of about `generations` generations of `population` designs.
    `reevaluate_elites`: HERD asks its elites again (for a controller whose fitness of a design
    changes as it learns; a fixed controller search would only repeat the same rollout)."""
    if name == "random":
        return RandomDesigns(seed=seed)
    if name == "ga":
        return GeneticDesigns(population, generations, seed=seed)
    if name == "cem":
        return CEMDesigns(seed=seed)
    if name == "herd":
        return HERDDesigns(generations, reevaluate_elites=reevaluate_elites, seed=seed)
    if name == "herd-flat":  # ablation: the tree flattened into the tangent plane
        return HERDDesigns(generations, hyperbolic=False, reevaluate_elites=reevaluate_elites, seed=seed)
    if name == "herd-one-depth":  # ablation: no coarse-to-fine, the finest level from the start
        return HERDDesigns(generations, coarse_to_fine=False, reevaluate_elites=reevaluate_elites, seed=seed)
    if name == "herd-tree":  # HERD's own read-out of a z, the nearest robot in the whole tree
        return HERDDesigns(generations, subtree_first=False, reevaluate_elites=reevaluate_elites, seed=seed)
    raise ValueError(f"unknown optimiser {name!r}; known: {list(OPTIMISERS)}")


OPTIMISERS = ("random", "ga", "cem", "herd", "herd-flat", "herd-one-depth", "herd-tree")
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
# Keyed by any task name, not only study.tasks: `--set study.tasks=[...]` narrows a run without
# editing the horizons of the tasks it leaves out.
GAIT_HORIZONS = Kind(
    f"a table of positive integers keyed by task names from {sorted(TASKS)}",
    lambda v: isinstance(v, dict) and set(v) <= set(TASKS) and all(map(POSITIVE.check, v.values())),
)
GAIT_FIELDS = [f.name for f in fields(GaitSearch) if f.name != "seed"]
GAIT = Kind(
    f"a table with some of {GAIT_FIELDS}",
    lambda v: isinstance(v, dict) and set(v) <= set(GAIT_FIELDS),
)
BOOLEAN = Kind("true or false", lambda v: isinstance(v, bool))
CONTROLLERS = ("gait", "shared-ppo")
CONTROLLER = Kind(f"one of {list(CONTROLLERS)}", lambda v: v in CONTROLLERS)
PPO_PREFIX = PREFIX + "ppo."
FINAL_GAIT = {"population": 16, "generations": 10}  # 160 rollouts: "a few hundred" for one design
STEPS_PER_GENERATION = 50_000  # the shared policy's training between two generations, by default


def check_params(params: dict[str, Any], fields_: Fields) -> dict[str, Any]:
    """The [study] parameters, checked (config.py calls this)."""
    fields_.no_unknown_keys(
        params,
        PREFIX,
        [
            "tasks",
            "optimisers",
            "seeds",
            "budget",
            "population",
            "controller",
            "inherit_gaits",
            "cluster_gaits",
            "gait",
            "gait_horizons",
            "final_gait",
            "ppo",
        ],
    )
    controller = fields_.get(params, PREFIX, "controller", CONTROLLER, "gait")
    ppo = fields_.get(params, PREFIX, "ppo", TABLE, {})
    gaits = {
        "gait": gait_table(params, fields_, "gait", {}),
        "final_gait": gait_table(params, fields_, "final_gait", FINAL_GAIT),
    }
    return {
        "tasks": fields_.get(params, PREFIX, "tasks", TASK_NAMES),
        "optimisers": fields_.get(params, PREFIX, "optimisers", OPTIMISER_NAMES),
        "seeds": fields_.get(params, PREFIX, "seeds", SEEDS),
        "budget": fields_.get(params, PREFIX, "budget", POSITIVE),
        "population": fields_.get(params, PREFIX, "population", POSITIVE),
        "controller": controller,
        "inherit_gaits": fields_.get(params, PREFIX, "inherit_gaits", BOOLEAN, True),
        "cluster_gaits": fields_.get(params, PREFIX, "cluster_gaits", BOOLEAN, True),
        **gaits,
        "gait_horizons": fields_.get(params, PREFIX, "gait_horizons", GAIT_HORIZONS, {}),
        "ppo": check_ppo(ppo, fields_) if controller == "shared-ppo" or ppo else ppo,
    }


def gait_table(
    params: dict[str, Any], fields_: Fields, name: str, defaults: dict[str, Any]
) -> dict[str, Any]:
    """study.<name>, a table of GaitSearch fields over `defaults`, checked by the search's own rules."""
    table = {**defaults, **fields_.get(params, PREFIX, name, GAIT, {})}
    try:
        check_search(GaitSearch(**table))
    except ValueError as error:
        raise ValueError(f"{fields_.source}: {PREFIX}{name}: {error}") from None
    return table


def check_ppo(table: dict[str, Any], fields_: Fields) -> dict[str, Any]:
    """The [study.ppo] table, each field checked by SharedPPOConfig's own rules, with
    steps_per_generation filled in."""
    policy = require("gridworlds.agents.voxels.policy", needed_by="study.controller = shared-ppo")

    names = [f.name for f in fields(policy.SharedPPOConfig)]
    fields_.no_renamed_settings(table, PPO_PREFIX)
    fields_.no_unknown_keys(table, PPO_PREFIX, [*names, "steps_per_generation"])
    steps = fields_.get(table, PPO_PREFIX, "steps_per_generation", POSITIVE, STEPS_PER_GENERATION)
    config = {name: value for name, value in table.items() if name != "steps_per_generation"}
    try:
        policy.SharedPPOConfig(**config)
    except ValueError as error:  # its message starts with the field's name
        raise ValueError(f"{fields_.source}: {PPO_PREFIX}{error}") from None
    return {**config, "steps_per_generation": steps}


# A controller for a run: (fitness of (bodies, their clusters or None) -> (returns [D], env steps
# used), the env steps of one generation, for the optimisers that plan their generations).
Controller = tuple[Callable[[list[np.ndarray], list[np.ndarray] | None], tuple[np.ndarray, int]], int]


def scoring_gait(task: str, params: dict[str, Any]) -> dict[str, Any]:
    """The gait search's fields for `task`: study.gait with the task's own gait_horizons entry."""
    horizon = params["gait_horizons"].get(task, params["gait"].get("horizon"))
    return {**params["gait"], "horizon": horizon}


class ScoredGaits:
    """Every design a run has scored, with the best gait its search found and the return it earned."""

    def __init__(self) -> None:
        self.bodies: list[np.ndarray] = []
        self.gaits: list[np.ndarray] = []
        self.returns: list[float] = []

    def add(self, bodies: list[np.ndarray], gaits: Sequence[np.ndarray], returns: Sequence[float]) -> None:
        self.bodies += bodies
        self.gaits += list(gaits)
        self.returns += [float(r) for r in returns]

    def gait_of(self, body: np.ndarray) -> np.ndarray:
        """The best gait of the nearest scored design (fewest voxels differing: `body` itself if it
        was scored; among equally near ones the fittest, then the earliest) carried over to `body`'s
        actuators. A design scored again (HERD's elites) so starts from its best gait so far."""
        differing = np.array([int((scored != body).sum()) for scored in self.bodies])
        nearest = np.flatnonzero(differing == differing.min())
        fittest = int(nearest[np.argmax(np.array(self.returns)[nearest])])
        return inherit_gait(self.bodies[fittest], self.gaits[fittest], body)


def gait_controller(task: str, seed: int, params: dict[str, Any]) -> tuple[Controller, ScoredGaits]:
    """The controller and the designs it has scored (each generation's start from them when
    `inherit_gaits`)."""
    gait = GaitSearch(**scoring_gait(task, params), seed=seed)
    per_design = gait.population * gait.generations * (gait.horizon or TASKS[task].horizon)
    scored = ScoredGaits()

    def fitness(bodies: list[np.ndarray], clusters: list[np.ndarray] | None) -> tuple[np.ndarray, int]:
        inherit = params["inherit_gaits"] and scored.bodies
        initial = [scored.gait_of(body) for body in bodies] if inherit else None
        gaits, returns, used = optimise_gaits(task, bodies, gait, initial=initial, groups=clusters)
        scored.add(bodies, gaits, returns)
        return returns, used

    return (fitness, params["population"] * per_design), scored


def shared_ppo_controller(task: str, seed: int, params: dict[str, Any]) -> tuple[Controller, SharedPPO]:
    """The controller and the SharedPPO behind it, whose policy learns on every generation."""
    policy = require("gridworlds.agents.voxels.policy", needed_by="study.controller = shared-ppo")
    settings = {name: value for name, value in params["ppo"].items() if name != "steps_per_generation"}
    ppo = policy.SharedPPO(f"gridworlds/{task}", seed=seed, **settings)
    training = params["ppo"]["steps_per_generation"]

    def fitness(bodies: list[np.ndarray], clusters: list[np.ndarray] | None) -> tuple[np.ndarray, int]:
        before = ppo.env_steps
        ppo.train(bodies, training)
        returns = ppo.evaluate(bodies)
        return returns, ppo.env_steps - before

    evaluation = params["population"] * (ppo.config.horizon or TASKS[task].horizon)
    return (fitness, training + evaluation), ppo


def design_run(
    task: str, optimiser_name: str, seed: int, params: dict[str, Any], policy_path: Path | None = None
) -> dict[str, Any]:
    """One run: generations until the budget is spent; returns its progress rows and best design.
    With the "shared-ppo" controller, the final policy is saved at `policy_path` (if given)."""
    population, budget = params["population"], params["budget"]
    ppo = None
    if params["controller"] == "gait":
        (fitness_of, per_generation), scored = gait_controller(task, seed, params)
    else:
        (fitness_of, per_generation), ppo = shared_ppo_controller(task, seed, params)
    generations = max(1, budget // per_generation)
    optimiser = make_optimiser(optimiser_name, population, generations, seed, ppo is not None)
    steps, best, best_body, rows = 0, -np.inf, None, []
    generation = 0
    while steps < budget:
        bodies = optimiser.ask(population)
        by_cluster = params["cluster_gaits"] and isinstance(optimiser, HERDDesigns)
        fitness, used = fitness_of(bodies, optimiser.asked_clusters if by_cluster else None)
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
    result = {"rows": rows, "best": best, "body": body_to_text(best_body)}
    if ppo is None:
        gait = scored.gait_of(best_body)
        initial = [gait] if params["inherit_gaits"] else None
        search = GaitSearch(**params["final_gait"], seed=seed)
        final_gait, final, used = optimise_gaits(task, [best_body], search, initial=initial)
        result |= {
            "final": float(final[0]),
            "final_env_steps": used,
            "gait": gait.tolist(),
            "final_gait": final_gait[0].tolist(),
        }
    elif policy_path is not None:
        ppo.save(policy_path, body=best_body)
    return result


def design_search(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """Every task x optimiser x seed run (finished ones are kept on resume); writes progress.csv,
    the best bodies, best.png and the comparison of the optimisers (voxels_statistics); returns the
    best fitness of each run."""
    runs = [(t, o, s) for t in params["tasks"] for o in params["optimisers"] for s in params["seeds"]]
    results = {}
    for task, optimiser, seed in tqdm(runs, desc="design runs", unit="run"):
        name = f"{task}-{optimiser}-{seed}"
        path = out_dir / f"{name}.json"
        if resume and path.exists():
            results[name] = json.loads(path.read_text())
            continue
        result = design_run(task, optimiser, seed, params, out_dir / f"{name}.policy")
        atomic.write_text(out_dir / f"{name}.txt", result["body"])
        atomic.write_text(path, json.dumps(result))
        results[name] = result
    rows = [row for result in results.values() for row in result["rows"]]
    atomic.write_text(out_dir / "progress.csv", csv_text(rows, COLUMNS))
    plot_best(rows, params, out_dir / "best.png", f"{out_dir.name}: best fitness against env steps")
    summary_rows = []
    for task, optimiser, seed in runs:
        result = results[f"{task}-{optimiser}-{seed}"]
        summary_rows.append(
            {
                "task": task,
                "optimiser": optimiser,
                "seed": seed,
                "generations": len(result["rows"]),
                "env_steps": result["rows"][-1]["env_steps"],
                "best": result["best"],
                "final": result.get("final", ""),
            }
        )
    atomic.write_text(out_dir / "final.csv", csv_text(summary_rows, SUMMARY_COLUMNS))
    write_comparison(summary_rows, params, out_dir)
    controller = (
        {"gait": {task: asdict(GaitSearch(**scoring_gait(task, params))) for task in params["tasks"]}}
        if params["controller"] == "gait"
        else {"ppo": params["ppo"]}
    )
    return {
        "rows": summary_rows,
        "best": {name: result["best"] for name, result in results.items()},
        "final": {name: result["final"] for name, result in results.items() if "final" in result},
        "controller": params["controller"],
        **controller,
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


AT_LEAST_TWO = Kind("an integer of at least 2", lambda v: POSITIVE.check(v) and v >= 2)
TWO_SEEDS = Kind(
    "an array of at least two distinct non-negative integers",
    lambda v: SEEDS.check(v) and len(set(v)) == len(v) >= 2,
)


def check_gait_noise_params(params: dict[str, Any], fields_: Fields) -> dict[str, Any]:
    """The [study] parameters of `gait_noise`, checked (a spread needs two designs and two seeds)."""
    fields_.no_unknown_keys(
        params, PREFIX, ["tasks", "designs", "design_seed", "seeds", "gait", "gait_horizons"]
    )
    return {
        "tasks": fields_.get(params, PREFIX, "tasks", TASK_NAMES),
        "designs": fields_.get(params, PREFIX, "designs", AT_LEAST_TWO),
        "design_seed": fields_.get(params, PREFIX, "design_seed", NON_NEGATIVE, 0),
        "seeds": fields_.get(params, PREFIX, "seeds", TWO_SEEDS),
        "gait": gait_table(params, fields_, "gait", {}),
        "gait_horizons": fields_.get(params, PREFIX, "gait_horizons", GAIT_HORIZONS, {}),
    }


def ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank from 0, tied values sharing the mean of their ranks."""
    _, group, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - counts + (counts - 1) / 2)[group]


def rank_agreement(scores: np.ndarray) -> float:
    """The mean over pairs of columns of `scores` [design, seed], two or more, of Spearman's rank
    correlation."""
    by_seed = [ranks(column) for column in scores.T]
    pairs = [np.corrcoef(a, b)[0, 1] for i, a in enumerate(by_seed) for b in by_seed[i + 1 :]]
    return float(np.mean(pairs))


def gait_noise(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """How much of a design's fitness is its gait search's luck: `designs` random valid bodies (drawn
    from `design_seed`), each scored by the design search's gait search from scratch under every
    seed of `seeds`. A row per task: the spread of the designs' mean scores ("between", a standard
    deviation), the spread of one design's scores over the seeds ("within", the root of the mean
    variance), how alike two seeds rank the designs ("rank_agreement", Spearman's correlation of
    their scores, the mean over pairs of seeds), and the lowest and highest score of the design
    with the best mean. Writes <task>.json per task (resume skips those) and scores.csv (task,
    design, seed, score)."""
    summary_rows, rows = [], []
    for task in params["tasks"]:
        path = out_dir / f"{task}.json"
        if resume and path.exists():
            scores = np.array(json.loads(path.read_text()))
        else:
            rng = np.random.default_rng(params["design_seed"])
            bodies = [random_body(rng) for _ in range(params["designs"])]
            gait = scoring_gait(task, params)
            scores = np.array(
                [optimise_gaits(task, bodies, GaitSearch(**gait, seed=seed))[1] for seed in params["seeds"]]
            ).T  # [design, seed]
            atomic.write_text(path, json.dumps(scores.tolist()))
        rows += [
            {"task": task, "design": d, "seed": seed, "score": float(scores[d, k])}
            for d in range(len(scores))
            for k, seed in enumerate(params["seeds"])
        ]
        best = scores[int(np.argmax(scores.mean(axis=1)))]
        summary_rows.append(
            {
                "task": task,
                "between": float(scores.mean(axis=1).std(ddof=1)),
                "within": float(np.sqrt(scores.var(axis=1, ddof=1).mean())),
                "rank_agreement": rank_agreement(scores),
                "best_low": float(best.min()),
                "best_high": float(best.max()),
            }
        )
    atomic.write_text(out_dir / "scores.csv", csv_text(rows, ("task", "design", "seed", "score")))
    return {"rows": summary_rows}


gait_noise.check = check_gait_noise_params

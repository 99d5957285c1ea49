"""Fidelity: how closely the voxel simulator follows EvoGym 2.0, body by body, on EvoGym's own tasks.

    export GRIDWORLDS_EVOGYM_PYTHON=/path/to/evogym-venv/bin/python
    gridworlds run experiments/voxels-fidelity.toml

Random valid bodies from EvoGym's own sampler (5x5, 7x7, thin 2x7 and 3x7 ones, and 5x5 ones with a
single-voxel neck) are driven by open-loop controllers (`CONTROLLERS`: sines of several periods and
phase patterns, random piecewise-constant actions), the same action sequence sent to both
simulators; per step both record the robot's centre of mass (and the box's where the task has one),
the reward and the episode's end. EvoGym also plays every rollout again with each action moved by
`perturbation` (1e-3): how far EvoGym drifts from itself is its chaos floor, the best agreement any
reimplementation could hope for.

EvoGym needs Python 3.10 and numpy < 2, so it runs in its own interpreter: the worker
`voxels_evogym_worker.py` (numpy, gymnasium and evogym only) answers JSON lines on a pipe (its
docstring gives the protocol). Set it up once:

    python3.10 -m venv ~/evogym-venv
    ~/evogym-venv/bin/pip install evogym==2.0.0
    export GRIDWORLDS_EVOGYM_PYTHON=~/evogym-venv/bin/python

Parameters, the [study] table:

    tasks          a table: task name -> {body family -> how many bodies}; families in FAMILIES
    controllers    names from CONTROLLERS
    horizons       a table: task name -> control steps per rollout (absent: the task's own)
    seed           seeds the body sampler (EvoGym's, per family) and the controllers' actions
    perturbation   the size of EvoGym's own perturbation (default 1e-3)
    within         the share of bodies whose gap to EvoGym is within this many times EvoGym's
                   chaos spread of that body is reported (default 3)
    worst          how many of each task's most disagreeing rollouts are drawn side by side (default 2)
    frames         how many steps of each are drawn (default 4)
    workers        EvoGym worker processes run side by side (default 1)
    evogym_python  the interpreter that has evogym 2.0 (default "": $GRIDWORLDS_EVOGYM_PYTHON)

Files under runs/<name>/: bodies.json (the sampled bodies by family; resume keeps them),
units/<task>--<family>--<controller>.npz (the three trajectory sets of one unit: ours, EvoGym's and
EvoGym's perturbed; resume skips finished units), rollouts.csv (a row per rollout: returns and final
displacements of all three), summary.csv and summary.json (per task, family and controller, and
pooled over families: Spearman rank correlations of returns and displacements against EvoGym's,
EvoGym's own against its perturbed run, and the shares within `within` times the chaos spread),
report.md (the pooled tables), com-error.png (the centre-of-mass gap against time, ours against
EvoGym's beside EvoGym against itself), returns.png (ours against EvoGym's, per task), and
disagreements-<task>.png (the rollouts that disagree most, ours and EvoGym's side by side at the
same steps, both drawn by this project's viewer, EvoGym's from its recorded points).

`record_regression` (experiments/voxels-fidelity-record.toml) writes EvoGym's trajectories of a few
fixed bodies as small JSON, the regression data of tests/test_voxels_evogym_regression.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gridworlds import atomic
from gridworlds.agents.voxels.controllers import controller_size, periodic_actions
from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import actuator_cells, check_body
from gridworlds.engines.voxels.tasks import TASKS
from gridworlds.envs.voxels import VoxelTask
from gridworlds.runner.config import NON_NEGATIVE, POSITIVE, STRING, Fields, Kind
from gridworlds.studies.voxels_evogym import EvoGymError, EvoGymPool, evogym_python
from gridworlds.studies.voxels_fidelity_report import (
    SIMULATORS,
    Trajectories,
    Unit,
    UnitResult,
    frame_steps,
    from_evogym,
    write_report,
)

PREFIX = "study."

# Body families: (shape, whether the body must have a single-voxel neck), sampled by EvoGym.
FAMILIES = {
    "5x5": ((5, 5), False),
    "7x7": ((7, 7), False),
    "2x7": ((2, 7), False),
    "3x7": ((3, 7), False),
    "neck-5x5": ((5, 5), True),
}
CONTROLLERS = ("sine-slow", "sine-fast", "sine-wave", "gait-random", "steps")


# --- parameters ---


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


TASK_BODIES = Kind(
    f"a non-empty table of task names from {sorted(TASKS)}, each a non-empty table of body families "
    f"from {list(FAMILIES)} -> a positive count",
    lambda v: (
        isinstance(v, dict)
        and v != {}
        and all(
            task in TASKS
            and isinstance(counts, dict)
            and counts != {}
            and all(family in FAMILIES and POSITIVE.check(n) for family, n in counts.items())
            for task, counts in v.items()
        )
    ),
)
CONTROLLER_NAMES = Kind(
    f"a non-empty array of distinct controller names from {list(CONTROLLERS)}",
    lambda v: isinstance(v, list) and v != [] and len(set(v)) == len(v) and all(c in CONTROLLERS for c in v),
)
HORIZONS = Kind(
    f"a table of positive integers keyed by task names from {sorted(TASKS)}",
    lambda v: isinstance(v, dict) and set(v) <= set(TASKS) and all(map(POSITIVE.check, v.values())),
)
PERTURBATION = Kind("a number in (0, 0.1]", lambda v: _is_number(v) and 0 < v <= 0.1)
FACTOR = Kind("a positive number", lambda v: _is_number(v) and v > 0)


def check_params(params: dict[str, Any], fields_: Fields) -> dict[str, Any]:
    """The [study] parameters of `fidelity`, checked, with their defaults (config.py calls this)."""
    known = ["tasks", "controllers", "horizons", "seed", "perturbation", "within", "worst", "frames"]
    fields_.no_unknown_keys(params, PREFIX, [*known, "workers", "evogym_python"])
    return {
        "tasks": fields_.get(params, PREFIX, "tasks", TASK_BODIES),
        "controllers": fields_.get(params, PREFIX, "controllers", CONTROLLER_NAMES),
        "horizons": fields_.get(params, PREFIX, "horizons", HORIZONS, {}),
        "seed": fields_.get(params, PREFIX, "seed", NON_NEGATIVE, 0),
        "perturbation": fields_.get(params, PREFIX, "perturbation", PERTURBATION, 1e-3),
        "within": fields_.get(params, PREFIX, "within", FACTOR, 3.0),
        "worst": fields_.get(params, PREFIX, "worst", NON_NEGATIVE, 2),
        "frames": fields_.get(params, PREFIX, "frames", POSITIVE, 4),
        "workers": fields_.get(params, PREFIX, "workers", POSITIVE, 1),
        "evogym_python": fields_.get(params, PREFIX, "evogym_python", STRING, ""),
    }


# --- the controllers: the same actions for both simulators ---


def controller_actions(controller: str, body: np.ndarray, horizon: int, seed: Sequence[int]) -> np.ndarray:
    """float64 [horizon, actuators]: the open-loop actions of `controller` for `body`, in [0.6, 1.6],
    drawn from `seed` (numpy's SeedSequence entropy). Actuators in row-major order, as both
    simulators take them.

    sine-slow    1 + 0.4 sin(2 pi t / 40), every actuator in phase
    sine-fast    1 + 0.4 sin(2 pi t / 10 + phase), each actuator a random phase
    sine-wave    1 + 0.5 sin(2 pi t / 25 - 2 pi column / width): a wave running forwards along the body
    gait-random  the design search's periodic gait (`controllers.periodic_actions`) with standard
                 normal parameters: a random period of 8 to 60 steps, amplitudes and phases
    steps        each actuator a uniform random action, held for 10 steps, then drawn again
    """
    rng = np.random.default_rng(list(seed))
    cells = actuator_cells(body)
    t = np.arange(horizon)[:, None]
    if controller == "sine-slow":
        actions = 1.0 + 0.4 * np.sin(2 * np.pi * t / 40) * np.ones(len(cells))
    elif controller == "sine-fast":
        actions = 1.0 + 0.4 * np.sin(2 * np.pi * t / 10 + rng.uniform(0, 2 * np.pi, len(cells)))
    elif controller == "sine-wave":
        actions = 1.0 + 0.5 * np.sin(2 * np.pi * t / 25 - 2 * np.pi * cells[:, 1] / body.shape[1])
    elif controller == "gait-random":
        params = rng.standard_normal((1, controller_size(len(cells))))
        actions = np.concatenate([periodic_actions(params, step) for step in range(horizon)])
    elif controller == "steps":
        held = rng.uniform(engine.ACTION_LOW, engine.ACTION_HIGH, (-(-horizon // 10), len(cells)))
        actions = np.repeat(held, 10, axis=0)[:horizon]
    else:
        raise ValueError(f"unknown controller {controller!r}; known: {list(CONTROLLERS)}")
    return np.clip(actions, engine.ACTION_LOW, engine.ACTION_HIGH)


def action_seed(seed: int, family: str, index: int, controller: str) -> list[int]:
    """The entropy of one rollout's actions: every (body, controller) pair its own stream."""
    return [seed, list(FAMILIES).index(family), index, CONTROLLERS.index(controller)]


# --- trajectories ---


def play_ours(task: str, bodies: list[np.ndarray], actions: list[np.ndarray]) -> Trajectories:
    """Every body on our simulator under its actions [T, A_b], all in one batch."""
    horizon = len(actions[0])
    core = VoxelTask(task, bodies, horizon)
    padded = np.ones((len(bodies), horizon, core.actuators))
    for b, body_actions in enumerate(actions):
        padded[b, :, : body_actions.shape[1]] = body_actions
    shape = (len(bodies), horizon)
    robot, box, reward = np.full((*shape, 2), np.nan), np.full((*shape, 2), np.nan), np.full(shape, np.nan)
    start = core.before.robot.copy()
    running = np.ones(len(bodies), np.bool_)
    length = np.zeros(len(bodies), np.int64)
    for t in range(horizon):
        step_reward, terminated, _, _ = core.step(padded[:, t])
        robot[running, t] = core.before.robot[running]
        if core.before.box is not None:
            box[running, t] = core.before.box[running]
        reward[running, t] = step_reward[running]
        length[running] += 1
        running &= ~terminated  # an ended world keeps stepping; nothing past its end is recorded
    return Trajectories(robot, box, reward, length, start)


# --- the EvoGym worker ---


def sample_bodies(pool: EvoGymPool, family: str, count: int, seed: int) -> list[np.ndarray]:
    """`count` bodies of `family` from EvoGym's sampler, checked by our rules too."""
    shape, neck = FAMILIES[family]
    answer = pool.ask(
        {"op": "sample", "shape": list(shape), "count": count, "seed": f"{seed}-{family}", "neck": neck}
    )
    bodies = []
    for index, body in enumerate(answer["bodies"]):
        try:
            bodies.append(check_body(np.array(body)))
        except ValueError as error:
            raise EvoGymError(
                f"EvoGym sampled {family} body {index} {body}, which ours refuses: {error}"
            ) from None
    return bodies


def play_evogym(
    pool: EvoGymPool,
    task: str,
    bodies: list[np.ndarray],
    actions: list[np.ndarray],
    perturbation: float,
    frames: list[int],
    names: list[str],
    answered: Callable[[], None] = lambda: None,
) -> list[dict[str, Any]]:
    """Each body's runs from EvoGym, {"evogym": trajectory, "perturbed": trajectory} (the worker's
    docstring); `answered()` after each. A refusal names the body (`names[b]`) and the task."""
    requests = [
        {
            "op": "rollout",
            "task": task,
            "body": body.tolist(),
            "actions": body_actions.tolist(),
            "perturbation": perturbation,
            "perturbation_seed": b,
            "frames": frames,
        }
        for b, (body, body_actions) in enumerate(zip(bodies, actions, strict=True))
    ]
    answers = []
    try:
        for answer in pool.map(requests):
            answers.append(answer["runs"])
            answered()
    except EvoGymError as error:
        b = len(answers)  # map answers in order: the first missing one failed
        raise EvoGymError(
            f"EvoGym failed on {task} with body {names[b]} {bodies[b].tolist()}: {error}"
        ) from None
    return answers


# --- units: one task, body family and controller ---


def units_of(params: dict[str, Any]) -> list[Unit]:
    return [
        Unit(task, family, controller, params["horizons"].get(task, TASKS[task].horizon))
        for task, counts in params["tasks"].items()
        for family in counts
        for controller in params["controllers"]
    ]


def unit_actions(unit: Unit, b: int, body: np.ndarray, seed: int) -> np.ndarray:
    """The actions of the unit's body b (both simulators get them)."""
    return controller_actions(
        unit.controller, body, unit.horizon, action_seed(seed, unit.family, b, unit.controller)
    )


def run_unit(
    unit: Unit, bodies: list[np.ndarray], params: dict[str, Any], pool: EvoGymPool, progress: tqdm
) -> UnitResult:
    """Every body of the unit on both simulators; EvoGym's drawn points kept for the `worst` ones."""
    actions = [unit_actions(unit, b, body, params["seed"]) for b, body in enumerate(bodies)]
    ours = play_ours(unit.task, bodies, actions)
    names = [f"{unit.family}-{b}" for b in range(len(bodies))]
    frames = frame_steps(unit.horizon, params["frames"])
    answers = play_evogym(
        pool, unit.task, bodies, actions, params["perturbation"], frames, names, progress.update
    )
    runs = {"ours": ours}
    for simulator in ("evogym", "perturbed"):
        runs[simulator] = from_evogym([answer[simulator] for answer in answers], unit.horizon)
    misplaced = np.flatnonzero(np.abs(ours.start - runs["evogym"].start).max(axis=1) > 1e-9)
    if len(misplaced):
        b = int(misplaced[0])
        raise EvoGymError(
            f"{unit.task}: EvoGym starts body {names[b]} {bodies[b].tolist()} with its centre at "
            f"{runs['evogym'].start[b].tolist()}, ours at {ours.start[b].tolist()}: the two worlds differ"
        )
    gap = np.abs(ours.displacement() - runs["evogym"].displacement())
    worst = np.argsort(-gap, kind="stable")[: params["worst"]]
    drawn = [
        {"body": int(b), **{key: answers[b]["evogym"][key] for key in ("start_points", "points")}}
        for b in worst
    ]
    return UnitResult(unit, runs, drawn)


def save_unit(result: UnitResult, directory: Path) -> None:
    """The arrays as .npz, then the .json that marks the unit finished (resume looks for it)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, **{k: v for name, run in result.runs.items() for k, v in run.arrays(name).items()}
    )
    atomic.write_bytes(directory / f"{result.unit.name}.npz", buffer.getvalue())
    atomic.write_text(
        directory / f"{result.unit.name}.json", json.dumps({**asdict(result.unit), "drawn": result.drawn})
    )


def load_unit(unit: Unit, directory: Path) -> UnitResult | None:
    """The unit's saved result, or None if it has not finished."""
    marker = directory / f"{unit.name}.json"
    if not marker.exists():
        return None
    with np.load(directory / f"{unit.name}.npz", allow_pickle=False) as arrays:
        runs = {name: Trajectories.from_arrays(arrays, name) for name in SIMULATORS}
    return UnitResult(unit, runs, json.loads(marker.read_text())["drawn"])


# --- the study ---


def fidelity(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """Every unit (task x body family x controller) on both simulators (finished ones are kept on
    resume, and a finished run's report can be rewritten without EvoGym); writes the files of the
    module docstring; returns the pooled rows."""
    pool: EvoGymPool | None = None

    def evogym() -> EvoGymPool:
        nonlocal pool
        if pool is None:
            pool = EvoGymPool(evogym_python(params["evogym_python"]), params["workers"])
        return pool

    units_dir = out_dir / "units"
    units_dir.mkdir(parents=True, exist_ok=True)
    try:
        bodies = study_bodies(params, out_dir / "bodies.json", resume, evogym)
        units = units_of(params)
        results = {unit.name: load_unit(unit, units_dir) if resume else None for unit in units}
        todo = [unit for unit in units if results[unit.name] is None]
        total = sum(params["tasks"][unit.task][unit.family] for unit in todo)
        with tqdm(total=total, desc="rollouts on both simulators", unit="rollout") as progress:
            for unit in todo:
                family_bodies = bodies[unit.family][: params["tasks"][unit.task][unit.family]]
                results[unit.name] = run_unit(unit, family_bodies, params, evogym(), progress)
                save_unit(results[unit.name], units_dir)
        version = evogym_version(out_dir, pool)
    finally:
        if pool is not None:
            pool.close()

    def rollout_of(unit: Unit, b: int) -> tuple[np.ndarray, np.ndarray]:
        body = bodies[unit.family][b]
        return body, unit_actions(unit, b, body, params["seed"])

    return write_report(list(results.values()), rollout_of, params, out_dir, version)


fidelity.check = check_params


def study_bodies(
    params: dict[str, Any], path: Path, resume: bool, evogym: Any
) -> dict[str, list[np.ndarray]]:
    """The bodies of every family (as many as the task that wants most), sampled by EvoGym once."""
    wanted: dict[str, int] = {}
    for counts in params["tasks"].values():
        for family, count in counts.items():
            wanted[family] = max(wanted.get(family, 0), count)
    if resume and path.exists():
        saved = {
            family: [np.array(b) for b in listed] for family, listed in json.loads(path.read_text()).items()
        }
        if all(len(saved.get(family, [])) >= count for family, count in wanted.items()):
            return saved
    bodies = {
        family: sample_bodies(evogym(), family, count, params["seed"]) for family, count in wanted.items()
    }
    atomic.write_text(
        path, json.dumps({family: [b.tolist() for b in listed] for family, listed in bodies.items()})
    )
    return bodies


def evogym_version(out_dir: Path, pool: EvoGymPool | None) -> str:
    """EvoGym's version as its worker reported it (kept in evogym.json for reports written on resume)."""
    path = out_dir / "evogym.json"
    workers = pool.idle if pool is not None else []
    if workers:
        atomic.write_text(path, json.dumps(workers[0].greeting))
    return json.loads(path.read_text())["evogym"] if path.exists() else "unknown"


# --- regression data: EvoGym's trajectories of a few fixed bodies, for tests without EvoGym ---

REGRESSION_FILE = "voxels_evogym_regression.json"
TASK_COUNTS = Kind(
    f"a non-empty table of task names from {sorted(TASKS)} -> a positive number of bodies",
    lambda v: isinstance(v, dict) and v != {} and all(t in TASKS and POSITIVE.check(n) for t, n in v.items()),
)


def check_record_params(params: dict[str, Any], fields_: Fields) -> dict[str, Any]:
    """The [study] parameters of `record_regression`, checked, with their defaults."""
    known = ["tasks", "controllers", "horizon", "every", "seed", "perturbation", "evogym_python"]
    fields_.no_unknown_keys(params, PREFIX, known)
    return {
        "tasks": fields_.get(params, PREFIX, "tasks", TASK_COUNTS),
        "controllers": fields_.get(params, PREFIX, "controllers", CONTROLLER_NAMES),
        "horizon": fields_.get(params, PREFIX, "horizon", POSITIVE),
        "every": fields_.get(params, PREFIX, "every", POSITIVE, 10),
        "seed": fields_.get(params, PREFIX, "seed", NON_NEGATIVE, 0),
        "perturbation": fields_.get(params, PREFIX, "perturbation", PERTURBATION, 1e-3),
        "evogym_python": fields_.get(params, PREFIX, "evogym_python", STRING, ""),
    }


def sampled_centres(run: Trajectories, b: int, every: int) -> list[list[float]]:
    """Body b's centre after every `every`-th step and after its last, rounded to a micrometre."""
    steps = sorted({*range(every - 1, run.length[b], every), run.length[b] - 1})
    return np.round(run.robot[b, steps], 6).tolist()


def record_rollouts(
    pool: EvoGymPool, task: str, controller: str, bodies: list[np.ndarray], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """The regression entries of `bodies` on `task` under `controller` (EvoGym's and its perturbed twin's)."""
    seeds = [action_seed(params["seed"], "5x5", b, controller) for b in range(len(bodies))]
    actions = [
        controller_actions(controller, body, params["horizon"], seed)
        for body, seed in zip(bodies, seeds, strict=True)
    ]
    names = [f"5x5-{b}" for b in range(len(bodies))]
    answers = play_evogym(pool, task, bodies, actions, params["perturbation"], [], names)
    runs = {
        name: from_evogym([a[name] for a in answers], params["horizon"]) for name in ("evogym", "perturbed")
    }
    rollouts = []
    for b, seed in enumerate(seeds):
        rollout = {"task": task, "controller": controller, "body": b, "action_seed": seed}
        for name, run in runs.items():
            rollout[name] = {
                "centre": sampled_centres(run, b, params["every"]),
                "return": round(float(run.returns()[b]), 6),
                "displacement": round(float(run.displacement()[b]), 6),
                "steps": int(run.length[b]),
            }
        rollouts.append(rollout)
    return rollouts


def record_regression(params: dict[str, Any], out_dir: Path, resume: bool) -> dict[str, Any]:
    """EvoGym's rollouts of the first `tasks[task]` 5x5 bodies of its sampler under each controller,
    `horizon` steps: per rollout its centre every `every` steps, its return and displacement, and
    the same of its perturbed twin (EvoGym's chaos floor), written as REGRESSION_FILE in the run
    directory, with the bodies. tests/test_voxels_evogym_regression.py reads a copy of it in
    tests/data/ (copy it there after recording). Resume: a finished file is kept."""
    path = out_dir / REGRESSION_FILE
    if not (resume and path.exists()):
        pool = EvoGymPool(evogym_python(params["evogym_python"]), 1)
        try:
            bodies = sample_bodies(pool, "5x5", max(params["tasks"].values()), params["seed"])
            rollouts = []
            for task, count in params["tasks"].items():
                for controller in params["controllers"]:
                    rollouts += record_rollouts(pool, task, controller, bodies[:count], params)
            version = pool.idle[0].greeting["evogym"]
        finally:
            pool.close()
        data = {
            "evogym": version,
            **{key: params[key] for key in ("horizon", "every", "seed", "perturbation")},
            "bodies": [body.tolist() for body in bodies],
            "rollouts": rollouts,
        }
        atomic.write_text(path, json.dumps(data, separators=(",", ":")))
    data = json.loads(path.read_text())
    rows = [
        {
            "task": task,
            "controller": controller,
            "rollouts": len(mine),
            "median_chaos_displacement": float(
                np.median([abs(r["perturbed"]["displacement"] - r["evogym"]["displacement"]) for r in mine])
            ),
        }
        for task in params["tasks"]
        for controller in params["controllers"]
        if (mine := [r for r in data["rollouts"] if (r["task"], r["controller"]) == (task, controller)])
    ]
    return {"evogym": data["evogym"], "file": str(path), "rows": rows}


record_regression.check = check_record_params

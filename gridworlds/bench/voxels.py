"""Voxel-robot benchmark: Walker-v0 env steps per second for one 5x5 robot through gymnasium, and
robot-steps per second of the simulator stepping 64 different 5x5 robots in one call (on one
thread, and spread over numba's threads as `step` does by default for batches), each against
EvoGym's speed, and memory.

EvoGym is measured in the same run where $GRIDWORLDS_EVOGYM_PYTHON names an interpreter that has
EvoGym 2.0 (it needs Python 3.10, so it runs in a worker process of its own, the fidelity study's:
`studies/voxels_evogym_worker.py`, whose `timing` request steps its Walker-v0 env with the solid 5x5
body under random actions). Else the ratios are against EvoGym's anchor in docs/voxels.md, about
480 Walker-v0 steps per second on one core of this project's machine."""

from __future__ import annotations

import os

import numpy as np

from gridworlds.bench import peak_rss_mib, rate
from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import body_from_text, random_body
from gridworlds.engines.voxels.tasks import TASKS
from gridworlds.studies.voxels_evogym import (
    EVOGYM_PYTHON_VARIABLE,
    EvoGymError,
    EvoGymUnavailable,
    EvoGymWorker,
    evogym_python,
)
from gridworlds.tables import format_table

EVOGYM_ANCHOR = 480.0  # Walker-v0 env steps per second on one core (docs/voxels.md, reference numbers)
SINGLE_TARGET, BATCH_TARGET = 4.0, 20.0  # times EvoGym, from the issue (29)
BATCH = 64
SOLID_5X5 = body_from_text("RRSRR\nSHHHS\nVSRSV\nVHSHV\nVV.VV\n")


def env_steps_per_second(body: np.ndarray, seconds: float) -> float:
    import gymnasium as gym

    import gridworlds  # noqa: F401  (registers the ids)

    env = gym.make("gridworlds/Walker-v0", body=body)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    actions = rng.uniform(0.6, 1.6, (1000, *env.action_space.shape))
    env.step(actions[0])  # compile outside the timing
    steps = 0

    def work() -> int:
        nonlocal steps
        for _ in range(50):
            _, _, terminated, truncated, _ = env.step(actions[steps % len(actions)])
            steps += 1
            if terminated or truncated:
                env.reset()
        return 50

    return rate(work, seconds)


def batch_robot_steps_per_second(seconds: float, parallel: bool) -> float:
    task = TASKS["Walker-v0"]
    rng = np.random.default_rng(0)
    layouts = [
        engine.layout([engine.Piece(random_body(rng), *task.robot_at, engine.ROBOT), *task.world()])
        for _ in range(BATCH)
    ]
    worlds = engine.stack(layouts)
    actions = rng.uniform(0.6, 1.6, (100, *worlds.actuator_voxels.shape))
    engine.step(worlds, actions[0], parallel)
    done = 0

    def work() -> int:
        nonlocal done
        for _ in range(5):
            unstable = engine.step(worlds, actions[done % len(actions)], parallel)
            done += 1
            if unstable.any() or done % 300 == 0:  # keep the robots on their terrain
                engine.reset(worlds, np.ones(BATCH, np.bool_))
        return 5 * BATCH

    return rate(work, seconds)


def evogym_steps_per_second(seconds: float) -> tuple[float, str]:
    """EvoGym's Walker-v0 steps per second with the solid 5x5 body, timed by the EvoGym worker, and
    where the number comes from; the anchor where no EvoGym is set up or it fails."""
    if not os.environ.get(EVOGYM_PYTHON_VARIABLE):
        return EVOGYM_ANCHOR, (
            f"the anchor in docs/voxels.md; to measure EvoGym here, set {EVOGYM_PYTHON_VARIABLE} "
            "to a Python 3.10 with evogym==2.0.0 (gridworlds/studies/voxels_fidelity.py says how)"
        )
    try:
        worker = EvoGymWorker(evogym_python(""))
        try:
            answer = worker.ask(
                {"op": "timing", "task": "Walker-v0", "body": SOLID_5X5.tolist(), "seconds": seconds}
            )
        finally:
            worker.close()
    except (EvoGymUnavailable, EvoGymError) as error:
        reason = str(error).split(";")[0].splitlines()[0]
        return EVOGYM_ANCHOR, f"the anchor in docs/voxels.md: EvoGym failed ({reason})"
    return answer["steps_per_second"], f"measured here, EvoGym {worker.greeting['evogym']} in its worker"


def run(quick: bool = False) -> None:
    seconds = 0.5 if quick else 3.0
    example = body_from_text("RRRRR\nSSSSS\nVH.HV\nVH.HV\nVH.HV\n")
    single = {
        "example walker": env_steps_per_second(example, seconds),
        "solid 5x5": env_steps_per_second(SOLID_5X5, seconds),
    }
    batch = {threads: batch_robot_steps_per_second(seconds, threads > 1) for threads in (1, 2)}
    peer, source = evogym_steps_per_second(seconds)
    rows = [("measure", "value", "note")]
    rows.append(("EvoGym Walker-v0, one 5x5 robot", f"{peer:.0f} steps/s", source))
    measured_rows = [
        (f"Walker-v0 env, {name}", "steps/s", rate_, SINGLE_TARGET) for name, rate_ in single.items()
    ]
    for threads, per_second in batch.items():
        name = f"simulator, {BATCH} random 5x5 robots, {threads} thread{'s' if threads > 1 else ''}"
        measured_rows.append((name, "robot-steps/s", per_second, BATCH_TARGET))
    for name, unit, per_second, target in measured_rows:
        ratio = per_second / peer
        verdict = "meets" if ratio >= target else "BELOW"
        rows.append(
            (name, f"{per_second:.0f} {unit}", f"{ratio:.1f}x EvoGym; {verdict} the {target:.0f}x target")
        )
    rows.append(("peak memory", f"{peak_rss_mib():.0f} MiB", "whole process"))
    print(format_table(rows, numbers=False))

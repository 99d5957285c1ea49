"""Voxel-robot benchmark: Walker-v0 env steps per second for one 5x5 robot through gymnasium, and
robot-steps per second of the simulator stepping 64 different 5x5 robots in one call (on one
thread, and spread over numba's threads as `step` does by default for batches), each against
EvoGym's speed on these machines (measured in the same run when `evogym` imports, else its anchor
in docs/voxels.md: about 480 Walker-v0 steps per second on one core), and memory."""

from __future__ import annotations

import numpy as np

from gridworlds.bench import peak_rss_mib, rate
from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import body_from_text, random_body
from gridworlds.engines.voxels.tasks import TASKS
from gridworlds.tables import format_table

EVOGYM_ANCHOR = 480.0  # Walker-v0 env steps per second on one core (docs/voxels.md, reference numbers)
SINGLE_TARGET, BATCH_TARGET = 2.0, 20.0  # times EvoGym, from the issue
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


def evogym_steps_per_second(seconds: float) -> float | None:
    """EvoGym's own Walker-v0 with its 5x5 walker, or None where evogym does not import."""
    try:
        import evogym.envs  # noqa: F401
        import gymnasium as gym
    except ImportError:
        return None
    env = gym.make("Walker-v0", body=SOLID_5X5, connections=None)
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def work() -> int:
        for _ in range(50):
            _, _, terminated, truncated, _ = env.step(rng.uniform(-0.4, 0.6, env.action_space.shape))
            if terminated or truncated:
                env.reset()
        return 50

    return rate(work, seconds)


def run(quick: bool = False) -> None:
    seconds = 0.5 if quick else 3.0
    example = body_from_text("RRRRR\nSSSSS\nVH.HV\nVH.HV\nVH.HV\n")
    single = {
        "example walker": env_steps_per_second(example, seconds),
        "solid 5x5": env_steps_per_second(SOLID_5X5, seconds),
    }
    batch = {threads: batch_robot_steps_per_second(seconds, threads > 1) for threads in (1, 2)}
    measured = evogym_steps_per_second(seconds)
    peer = measured if measured is not None else EVOGYM_ANCHOR
    source = "measured here" if measured is not None else "evogym not installed: the anchor in docs/voxels.md"
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

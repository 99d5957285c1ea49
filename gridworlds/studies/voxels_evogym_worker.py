"""The EvoGym side of the voxel fidelity study (`voxels_fidelity`): a worker that runs in EvoGym's own
Python (3.10, numpy < 2, `pip install evogym==2.0.0`) and answers requests on its standard input.

It imports only the standard library, numpy, gymnasium and evogym, never gridworlds, so that it runs
in an interpreter that cannot install this package. Start it as `python voxels_evogym_worker.py`.

The protocol is JSON lines: one request per line on stdin, one answer per line on stdout, in order.
The worker first writes a greeting, {"worker": "evogym", "evogym": <version>, "python": <version>},
then answers each request until stdin closes. A request that fails is answered with
{"error": "<message>"} and the worker goes on with the next one. The requests:

    {"op": "sample", "shape": [h, w], "count": n, "seed": s, "neck": false}
        -> {"bodies": [body, ...]}: n bodies from EvoGym's own sampler (`evogym.sample_robot`),
        Python's `random` seeded with s (the sampler draws from it). With "neck": only bodies that
        fall apart when one of their voxels is taken out (a single-voxel neck) are kept.
    {"op": "rollout", "task": "Walker-v0", "body": [[...]], "actions": [[...], ...],
     "perturbation": 1e-3, "perturbation_seed": s, "frames": [t, ...]}
        -> {"runs": {"evogym": trajectory, "perturbed": trajectory}}: the body on EvoGym's task
        driven by the actions (one row per control step, one value per actuator in EvoGym's order)
        until the episode ends or the actions run out; then the same with every action moved by
        "perturbation", up or down at random (seeded), and down where up would leave [0.6, 1.6]:
        the perturbed run measures how far EvoGym drifts from itself (its chaos floor).
    {"op": "timing", "task": "Walker-v0", "body": [[...]], "seconds": 3.0, "seed": 0}
        -> {"steps_per_second": r}: how fast EvoGym steps the body on the task here, through its
        gymnasium env, under uniformly random actions in [0.6, 1.6] (1000 drawn ahead, seeded, in
        turn), resetting where an episode ends, for at least "seconds" (after one step outside the
        timing), as `gridworlds bench` times ours.

A trajectory: "robot" and "box" (the box's, or null where the task has none) centre of mass after
each step, [[x, y], ...]; "reward" and "terminated" per step (its last entry is true when the
episode ended before the actions ran out); "start_robot" and "start_box" the centres before the
first step; "start_points", the points of the robot (and of the box, where there is one) before the
first step, {"robot": [[x...], [y...]], "box": ...}; and "points", the same after step t for each t
of "frames" that the episode reached, {"t": {"robot": ..., "box": ...}}. Lengths in metres.

EvoGym prints to stdout from C++ ("Using Evolution Gym Simulator", "SIMULATION UNSTABLE"), so the
protocol gets its own copy of stdout and everything else written there goes to stderr.
"""

import importlib.metadata
import json
import os
import platform
import random
import sys
import time

import gymnasium as gym
import numpy as np

ACTION_LOW, ACTION_HIGH = 0.6, 1.6  # EvoGym's benchmark envs clip actions to this range themselves


def protocol_stream():
    """A text stream on the real stdout for the protocol; fd 1 (C++'s printf, Python's print) goes
    to stderr from now on."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return answers


def falls_apart_without_one_voxel(body):
    """Whether removing some single voxel splits the body's 4-connected voxels in two."""
    cells = [(r, c) for r, c in zip(*np.nonzero(body), strict=True)]
    for removed in cells:
        rest = set(cells) - {removed}
        start = next(iter(rest), None)
        if start is None:
            continue
        seen, frontier = {start}, [start]
        while frontier:
            r, c = frontier.pop()
            for near in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if near in rest and near not in seen:
                    seen.add(near)
                    frontier.append(near)
        if len(seen) < len(rest):
            return True
    return False


def sample(request):
    from evogym import sample_robot

    random.seed(request["seed"])
    shape = tuple(request["shape"])
    bodies = []
    while len(bodies) < request["count"]:
        body, _ = sample_robot(shape)
        if request.get("neck") and not falls_apart_without_one_voxel(body):
            continue
        bodies.append(body.astype(int).tolist())
    return {"bodies": bodies}


def make_env(task, body):
    import evogym.envs  # noqa: F401 (registers EvoGym's tasks with gymnasium)
    from evogym import has_actuator, is_connected

    if task not in gym.registry or not gym.registry[task].entry_point.startswith("evogym"):
        raise ValueError(f"EvoGym has no task {task!r}")
    # EvoGym's simulator exits the whole process on a body it cannot read: check it first.
    structure = np.array(body, dtype=float)
    if structure.ndim != 2 or not is_connected(structure) or not has_actuator(structure):
        raise ValueError(f"EvoGym refuses the body {body}: it must be connected and hold an actuator")
    try:
        return gym.make(task, body=structure)
    except Exception as error:  # EvoGym's own refusal (a body it cannot place, a bad structure)
        raise ValueError(
            f"EvoGym refused the body {body} on {task}: {type(error).__name__}: {error}"
        ) from None


def points(env, name):
    """The points of object `name` now, [[x...], [y...]] in metres (the env's units, as its rewards
    read them; the simulator's own are voxels)."""
    return env.unwrapped.object_pos_at_time(env.unwrapped.get_time(), name)


def centre(env, name):
    return np.mean(points(env, name), axis=1).tolist()


def shapes(env, has_box):
    """The robot's points, and the box's where there is one."""
    names = {"robot": "robot", "box": "package"} if has_box else {"robot": "robot"}
    return {key: points(env, name).tolist() for key, name in names.items()}


def play(env, actions, frames):
    """One episode of `env` under `actions` [T, A]: the trajectory described in the module docstring."""
    env.reset()
    has_box = "package" in env.unwrapped.world.objects
    trajectory = {
        "robot": [],
        "box": [] if has_box else None,
        "reward": [],
        "terminated": [],
        "start_robot": centre(env, "robot"),
        "start_box": centre(env, "package") if has_box else None,
        "start_points": shapes(env, has_box),
        "points": {},
    }
    for t, action in enumerate(actions):
        _, reward, terminated, _, _ = env.step(np.array(action, dtype=float))
        trajectory["robot"].append(centre(env, "robot"))
        if has_box:
            trajectory["box"].append(centre(env, "package"))
        trajectory["reward"].append(float(reward))
        trajectory["terminated"].append(bool(terminated))
        if t in frames:
            trajectory["points"][str(t)] = shapes(env, has_box)
        if terminated:
            break
    return trajectory


def perturbed(actions, size, seed):
    """`actions` each moved by `size`, up or down at random, and down where up leaves the range
    (so that the simulator's clipping never swallows the perturbation)."""
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=actions.shape)
    moved = actions + size * signs
    outside = (moved > ACTION_HIGH) | (moved < ACTION_LOW)
    return np.where(outside, actions - size * signs, moved)


def rollout(request):
    env = make_env(request["task"], request["body"])
    actions = np.array(request["actions"], dtype=float)
    expected = env.action_space.shape[0]
    if actions.ndim != 2 or actions.shape[1] != expected:
        raise ValueError(
            f"the actions for {request['task']} must have {expected} columns (the body's actuators), "
            f"got shape {actions.shape}"
        )
    frames = set(request.get("frames", []))
    runs = {"evogym": play(env, actions, frames)}
    if request.get("perturbation"):
        shaken = perturbed(actions, request["perturbation"], request["perturbation_seed"])
        runs["perturbed"] = play(env, shaken, frames)
    env.close()
    return {"runs": runs}


def timing(request):
    env = make_env(request["task"], request["body"])
    rng = np.random.default_rng(request.get("seed", 0))
    env.reset(seed=request.get("seed", 0))
    actions = rng.uniform(ACTION_LOW, ACTION_HIGH, (1000, *env.action_space.shape))
    env.step(actions[0])
    steps, start = 0, time.perf_counter()
    while True:
        for _ in range(50):
            _, _, terminated, truncated, _ = env.step(actions[steps % len(actions)])
            steps += 1
            if terminated or truncated:
                env.reset()
        elapsed = time.perf_counter() - start
        if elapsed >= request["seconds"]:
            env.close()
            return {"steps_per_second": steps / elapsed}


OPERATIONS = {"sample": sample, "rollout": rollout, "timing": timing}


def main():
    answers = protocol_stream()
    import evogym  # noqa: F401 (fails here, before the greeting, where evogym is not installed)

    greeting = {"worker": "evogym", "evogym": importlib.metadata.version("evogym")}
    answers.write(json.dumps({**greeting, "python": platform.python_version()}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            operation = OPERATIONS.get(request.get("op"))
            if operation is None:
                raise ValueError(f"unknown op {request.get('op')!r}; known: {sorted(OPERATIONS)}")
            answer = operation(request)
        except Exception as error:  # answered, so that the study can name what failed
            answer = {
                "error": f"{type(error).__name__}: {error}"
                if not isinstance(error, ValueError)
                else str(error)
            }
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()

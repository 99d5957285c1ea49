"""Our simulator against EvoGym 2.0's own point positions, point for point, over the first 20 control
steps: the start must agree to rounding, not just on average.

At the start every robot corner sits exactly on a terrain voxel's top edge, so which contacts exist
is decided by exact ties: EvoGym's start coordinates (an ulp off the grid, `building`), touching boxes
counting as contact, and neighbouring voxels of one robot tested against each other (`contacts`).
Get any of these wrong and the robot is kicked by 1e-3 m in the first control step, a different gait
follows, and this test fails by nine orders of magnitude. On BridgeWalker-v0 the robot stands on a
soft deck hanging from fixed pillars, whose tops EvoGym lets give within an RK4 step (`physics`);
without that the points part after a few steps.

tests/data/voxels_evogym_start.json holds EvoGym's robot points after control steps 1, 5 and
20 (`STEPS`) of `CASES` (the example walker and a 1x2 stack of horizontal actuators) under the
actions of `actions`. Record it again (needs EvoGym 2.0 in a Python 3.10 of its own, see
gridworlds/studies/voxels_fidelity.py):

    GRIDWORLDS_EVOGYM_PYTHON=~/evogym-venv/bin/python python tests/test_voxels_evogym_start.py
"""

import json
from pathlib import Path

import numpy as np
import pytest

from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import actuator_cells, body_from_text
from gridworlds.engines.voxels.tasks import TASKS

DATA = Path(__file__).parent / "data" / "voxels_evogym_start.json"
BODIES = {
    "example walker": body_from_text("RRRRR\nSSSSS\nVH.HV\nVH.HV\nVH.HV\n"),
    "1x2 stack": body_from_text("H\nH\n"),
}
CASES = [("Walker-v0", "example walker"), ("Walker-v0", "1x2 stack"), ("BridgeWalker-v0", "example walker")]
STEPS = (1, 5, 20)  # control steps after which EvoGym's points were recorded
LARGEST_GAP = 1e-12  # metres; measured: at most 1.6e-15


def actions(body: np.ndarray) -> np.ndarray:
    """[20, actuators]: a sine per actuator, phases apart, rounded to eighths so that both
    interpreters' numpy builds make the very same numbers."""
    t = np.arange(max(STEPS))[:, None]
    phase = np.arange(len(actuator_cells(body)))[None, :]
    return np.round(8 * (1 + 0.4 * np.sin(2 * np.pi * t / 10 + phase))) / 8


def our_points(task_name: str, body: np.ndarray) -> dict[int, np.ndarray]:
    """Our robot's points [2, n] after each step of STEPS (numbered as EvoGym numbers them)."""
    task = TASKS[task_name]
    worlds = engine.build([engine.Piece(body, *task.robot_at, engine.ROBOT), *task.world()])
    robot = slice(*worlds.piece_points[0, 0])
    points = {}
    for t, action in enumerate(actions(body), start=1):
        assert not engine.step(worlds, action[None])[0]
        if t in STEPS:
            points[t] = worlds.pos[0, robot].T.copy()
    return points


@pytest.mark.parametrize(("task", "name"), CASES)
def test_the_first_steps_follow_evogym_point_for_point(task, name):
    recorded = json.loads(DATA.read_text())[f"{task}/{name}"]
    ours = our_points(task, BODIES[name])
    for t in STEPS:
        theirs = np.array(recorded[str(t)])
        assert theirs.shape == ours[t].shape
        gap = np.abs(ours[t] - theirs).max()
        assert gap < LARGEST_GAP, f"{task}, {name}: {gap:.1e} m from EvoGym's points after step {t}"


def record() -> None:
    """Ask EvoGym (through the fidelity study's worker) for its points and write DATA."""
    from gridworlds.studies.voxels_evogym import EvoGymWorker, evogym_python

    worker = EvoGymWorker(evogym_python(""))
    recorded = {}
    for task, name in CASES:
        body = BODIES[name]
        frames = [t - 1 for t in STEPS]  # the worker counts steps from 0
        answer = worker.ask(
            {
                "op": "rollout",
                "task": task,
                "body": body.tolist(),
                "actions": actions(body).tolist(),
                "frames": frames,
            }
        )
        run = answer["runs"]["evogym"]
        recorded[f"{task}/{name}"] = {str(t): run["points"][str(t - 1)]["robot"] for t in STEPS}
    worker.close()
    DATA.write_text(json.dumps(recorded) + "\n")
    print(f"wrote {DATA} ({DATA.stat().st_size} bytes)")


if __name__ == "__main__":
    record()

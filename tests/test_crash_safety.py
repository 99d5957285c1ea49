"""Runs survive being killed: `gridworlds run` processes are killed with SIGKILL at random moments
and resumed, and every resumed run must end exactly as the uninterrupted one (the n-tuple learner
is deterministic: the same weights, bit for bit, and the same metrics.csv rows, each once). Also:
the leftovers of killed writes go when a run resumes, the workers of a run over seeds end with it,
and a second run on a run directory in use is refused.

A kill lands at a random time after the start, or when the run is seen doing something a crash
could tear apart: writing a checkpoint (its temporary directory appears), replacing one (the old
version is moved aside), writing a file atomically, or logging a report.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gridworlds.agents import MANIFEST
from gridworlds.runner import run_experiment

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc and sends SIGKILL")

# A small n-tuple network (two 5-cell patterns: 8 MiB of weights) trained for 4,000 games with a
# checkpoint after every 1,000, then greedy, which only plays: a whole run takes a few seconds.
EXPERIMENT = """
name = "crash"
world = "gridworlds/2048-v0"
seeds = [0]

[[agents]]
name = "ntuple"
label = "td"
params = {{ patterns = ["01234", "45678"], alpha = 0.1 }}

[[agents]]
name = "greedy"

[train]
budget = {budget}
eval_every = 2000
eval_episodes = 10
checkpoint_every = 1000

[eval]
episodes = 20
"""
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}


def write_experiment(directory: Path, budget: int = 4000) -> Path:
    path = directory / "crash.toml"
    path.write_text(EXPERIMENT.format(budget=budget))
    return path


def start(experiment: Path, runs: Path, *options: str) -> subprocess.Popen:
    log = (runs.parent / "run.log").open("ab")  # not a pipe: a full pipe would stall the run
    return subprocess.Popen(
        [sys.executable, "-m", "gridworlds.cli", "run", str(experiment), "--runs-dir", str(runs), *options],
        stdout=log,
        stderr=log,
        env=ENV,
    )


def finish(experiment: Path, runs: Path, *options: str) -> None:
    process = start(experiment, runs, *options)
    assert process.wait(timeout=300) == 0, (runs.parent / "run.log").read_text()[-3000:]


# --- what a run ends with -------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _timeless(value: Any) -> Any:
    """`value` without what depends on the clock: training time and speeds."""
    if isinstance(value, dict):
        return {
            key: _timeless(item)
            for key, item in value.items()
            if key != "train_time" and "per_second" not in key
        }
    return value


def outcome(root: Path) -> dict[str, Any]:
    """What an interrupted and resumed run must share with the uninterrupted one: every checkpoint
    file (but the manifest, which holds training times), the manifests' weights and progress
    steps, metrics.csv row for row (times and speeds aside), and both summaries."""
    seed_dir = root / "0"
    checkpoints = {}
    for checkpoint in sorted(seed_dir.glob("checkpoint-*")):
        manifest = json.loads((checkpoint / MANIFEST).read_text())
        checkpoints[checkpoint.name] = {
            "files": {
                file.name: _sha256(file) for file in sorted(checkpoint.iterdir()) if file.name != MANIFEST
            },
            "listed": manifest["files"],
            "steps": manifest["progress"]["steps"],
        }
    with (seed_dir / "metrics.csv").open(newline="") as file:
        rows = [
            (
                row["agent"],
                row["step"],
                row["metric"],
                None if "per_second" in row["metric"] else row["value"],
            )
            for row in csv.DictReader(file)
        ]
    return {
        "checkpoints": checkpoints,
        "metrics": rows,
        "seed summary": _timeless(json.loads((seed_dir / "summary.json").read_text())),
        "summary": _timeless(json.loads((root / "summary.json").read_text())),
    }


def leftovers(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob(".*") if p.name.endswith((".tmp", ".old")))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, dict[str, Any], float]:
    """The experiment file, what its uninterrupted run ends with, and how long that run took."""
    directory = tmp_path_factory.mktemp("uninterrupted")
    experiment = write_experiment(directory)
    started = time.monotonic()
    finish(experiment, directory / "runs")
    seconds = time.monotonic() - started
    result = outcome(directory / "runs" / "crash")
    assert result["checkpoints"]["checkpoint-td"]["steps"] == 4000
    assert len({row[:3] for row in result["metrics"]}) == len(result["metrics"])  # each row once
    return experiment, result, seconds


# --- kills ----------------------------------------------------------------------------------------

Trigger = Callable[[], bool]


def _new_names(seed_dir: Path, matches: Callable[[str], bool]) -> Trigger:
    """True once the seed directory holds an entry matching `matches` that was not there at the start
    (a killed run's temporaries stay until the resumed run clears them: they do not count)."""

    def names() -> set[str]:
        try:
            return {entry.name for entry in os.scandir(seed_dir) if matches(entry.name)}
        except FileNotFoundError:
            return set()

    before = names()
    return lambda: bool(names() - before)


def _rows_logged(seed_dir: Path, count: int) -> Trigger:
    def logged() -> bool:
        try:
            return (seed_dir / "metrics.csv").read_text().count("\n") > count
        except FileNotFoundError:
            return False

    return logged


def random_trigger(rng: random.Random, seed_dir: Path, run_seconds: float) -> tuple[str, Trigger]:
    kind = rng.choice(["time", "time", "checkpoint", "checkpoint", "replace", "file", "report"])
    if kind == "time":
        deadline = time.monotonic() + rng.uniform(0, run_seconds)
        return kind, lambda: time.monotonic() >= deadline
    if kind == "checkpoint":
        return kind, _new_names(
            seed_dir, lambda name: name.startswith(".checkpoint-") and name.endswith(".tmp")
        )
    if kind == "replace":
        return kind, _new_names(seed_dir, lambda name: name.endswith(".old"))
    if kind == "file":
        return kind, _new_names(
            seed_dir, lambda name: not name.startswith(".checkpoint-") and name.endswith(".tmp")
        )
    return kind, _rows_logged(seed_dir, rng.randrange(60))


def kill_when(process: subprocess.Popen, trigger: Trigger) -> bool:
    """SIGKILL the process once `trigger` holds; False if it ended first."""
    while process.poll() is None:
        if trigger():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.001)
    assert process.returncode == 0
    return False


def kill_and_resume(uninterrupted, tmp_path: Path, kills: int, seed: int) -> list[str]:
    """Start the run, kill it `kills` times (each time resuming it), let it finish, and check it
    against the uninterrupted run; returns what each kill was waiting for."""
    experiment, expected, seconds = uninterrupted
    runs = tmp_path / "runs"
    seed_dir = runs / "crash" / "0"
    rng = random.Random(seed)
    history = []
    for attempt in range(kills):
        process = start(experiment, runs, *(["--resume"] if attempt else []))
        kind, trigger = random_trigger(rng, seed_dir, seconds)
        history.append(kind if kill_when(process, trigger) else f"{kind} (ended first)")
    finish(experiment, runs, "--resume")
    assert leftovers(runs) == [], history
    assert outcome(runs / "crash") == expected, history
    return history


def test_a_run_killed_at_random_moments_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path):
    kill_and_resume(uninterrupted, tmp_path, kills=7, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 6))
def test_many_kills_at_random_moments(uninterrupted, tmp_path, seed):
    kill_and_resume(uninterrupted, tmp_path, kills=15, seed=seed)


# --- leftovers, workers, the lock -----------------------------------------------------------------


BASELINES = """
name = "tiny"
world = "gridworlds/2048-v0"

[[agents]]
name = "random"

[[agents]]
name = "greedy"

[eval]
episodes = 2
"""


def test_resuming_removes_what_killed_writes_left(tmp_path):
    experiment = tmp_path / "tiny.toml"
    experiment.write_text(BASELINES)
    run_experiment(experiment, runs_dir=tmp_path / "runs")
    root = tmp_path / "runs" / "tiny"
    seed_dir = root / "0"
    # A checkpoint and a file being written, a replaced checkpoint not yet deleted, and a checkpoint
    # moved aside whose new version never arrived.
    (seed_dir / ".checkpoint-greedy.x1y2z3.tmp").mkdir()
    (seed_dir / ".checkpoint-greedy.x1y2z3.tmp" / "weights.npy").write_bytes(b"\0" * 1000)
    (seed_dir / ".metrics.csv.a1b2c3.tmp").write_text("agent,step")
    (root / ".summary.json.q1w2e3.tmp").write_text("{")
    (seed_dir / "checkpoint-greedy").rename(seed_dir / ".checkpoint-greedy.old")
    (seed_dir / "checkpoint-random").rename(seed_dir / ".checkpoint-random.old")
    (seed_dir / "checkpoint-random").mkdir()
    (seed_dir / "checkpoint-random" / "agent.json").write_text("{}")
    before = json.loads((seed_dir / "summary.json").read_text())

    run_experiment(experiment, resume=True, runs_dir=tmp_path / "runs")
    assert leftovers(root) == []
    assert json.loads((seed_dir / "checkpoint-greedy" / MANIFEST).read_text())["name"] == "greedy"
    assert json.loads((seed_dir / "checkpoint-random" / MANIFEST).read_text()) == {}  # the newer one stays
    assert json.loads((seed_dir / "summary.json").read_text()) == before


def descendants(pid: int) -> set[int]:
    """The processes below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever inherited it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        time.sleep(0.05)


def training(seed_dir: Path) -> Callable[[], bool]:
    """Whether the seed's run has logged a training report."""
    return lambda: (seed_dir / "metrics.csv").is_file() and "\ntd," in (seed_dir / "metrics.csv").read_text()


def test_the_workers_of_a_killed_run_over_seeds_end_with_it(tmp_path):
    experiment = write_experiment(tmp_path, budget=10**7)
    runs = tmp_path / "runs"
    process = start(experiment, runs, "--seeds", "0-1")
    workers: set[int] = set()
    try:
        for seed in ("0", "1"):
            wait_for(training(runs / "crash" / seed), 120, f"training report of seed {seed}")
        workers = descendants(process.pid)
        assert len(workers) >= 2
        process.send_signal(signal.SIGKILL)
        process.wait()
        wait_for(lambda: not any(alive(pid) for pid in workers), 5, "end of the workers")
    finally:
        process.kill()
        for pid in filter(alive, workers):  # what the test would otherwise leave running
            os.kill(pid, signal.SIGKILL)


def test_a_second_run_on_a_run_directory_in_use_is_refused(tmp_path):
    import fcntl

    experiment = write_experiment(tmp_path, budget=10**7)
    runs = tmp_path / "runs"
    process = start(experiment, runs)
    try:
        wait_for(training(runs / "crash" / "0"), 120, "training report")
        for options in (["--resume"], []):
            second = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gridworlds.cli",
                    "run",
                    str(experiment),
                    "--runs-dir",
                    str(runs),
                    *options,
                ],
                capture_output=True,
                text=True,
                env=ENV,
                timeout=120,
            )
            assert second.returncode == 2
            assert (
                f"{runs / 'crash'} is in use by another gridworlds run (process {process.pid})"
                in second.stderr
            )
        assert process.poll() is None  # the first goes on
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    # The OS released the killed run's lock.
    with (runs / ".crash.lock").open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

"""Run an experiment: for each seed, train and evaluate every agent, with logs, checkpoints and plots.

What a run writes under runs/<name>/:

    summary.json, evaluation.png   per agent, mean and std over the seeds of every final number
    <seed>/config.toml             the resolved experiment, for this seed
    <seed>/metrics.csv             the training log (below)
    <seed>/tensorboard/<label>/    each learner's TensorBoard events: its reports' metrics (and, for
                                   the SB3 learners, SB3's own scalars), written as it trains
    <seed>/checkpoint-<label>/     each agent's latest checkpoint (agent.save), its manifest holding
                                   the run's progress at that checkpoint: steps, training time and
                                   training metrics
    <seed>/summary.json            per agent: final evaluation, steps, training time, final training
                                   metrics; an agent in it is finished
    <seed>/evaluation.png          final evaluation, a bar per agent
    <seed>/training.png            training curves, when some agent was trained

metrics.csv is in long format, `agent,step,time,metric,value`, one row per metric of each report,
so a metric that appears late never changes the columns. step is the agent's cumulative budget:
environment steps, or what the agent counts instead (its `budget_unit`, e.g. games); time its
seconds of training wall time (summed over resumes, periodic evaluations included); periodic
evaluations log their metrics with an `eval/` prefix.

A run killed at any point resumes with `--resume` and ends as the uninterrupted run would (the
same weights, bit for bit, where training is deterministic, and the same metrics.csv rows, each
once):

- every file is written atomically, and a checkpoint and the progress it stands for are one
  directory, committed by one rename: there is no moment at which one is newer than the other;
- a resumed agent continues from its checkpoint's progress, and metrics.csv is cut back to the
  checkpoint's step, so the rows after it are logged again exactly once; finished agents (those
  in summary.json) are skipped;
- the temporaries that killed writes left behind are deleted when the run resumes;
- a run holds a lock on its directory (runs/.<name>.lock, released by the OS however the process
  ends), so a second run on it, or a --resume while it runs, is refused, naming the process;
- the worker processes of a run over several seeds end with it, even when it is killed.

A study (an experiment file with a [study] table, see config.py) runs in this process instead,
without seeds to fan out over (it seeds itself from its parameters):

    config.toml      the resolved study
    summary.json     what the study function returned, under "name" and "function"
    ...              whatever the study writes itself

The function is called as function(params, out_dir, resume) -> dict. It writes its files under
out_dir through gridworlds.atomic and, with resume, skips the parts whose files are already
there. The dict it returns holds "rows": a list of dicts with the same keys, printed as a table.
A resumed study must have the same config as the interrupted one, as a resumed seed must.
"""

from __future__ import annotations

import csv
import ctypes
import dataclasses
import json
import math
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from tqdm import tqdm

from gridworlds import atomic
from gridworlds.agents import MANIFEST, Agent, agent_class, load_agent, make_agent, open_checkpoint
from gridworlds.extras import require
from gridworlds.registry import load, make
from gridworlds.runner.config import AgentSpec, Experiment, Study, load_experiment, parse_seeds, validate
from gridworlds.runner.evaluate import evaluate
from gridworlds.runner.plots import plot_evaluation, plot_training
from gridworlds.tables import csv_text, format_table

try:
    import fcntl
except ImportError:  # Windows: run directories are not locked
    fcntl = None

CONFIG, METRICS, SUMMARY = "config.toml", "metrics.csv", "summary.json"
COLUMNS = ("agent", "step", "time", "metric", "value")
PR_SET_PDEATHSIG = 1  # Linux's prctl option: the signal a process gets when its parent ends


def run_experiment(
    path: str | Path,
    overrides: Iterable[str] = (),
    seeds: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    runs_dir: str | Path = "runs",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """`gridworlds run`: run every seed of an experiment file and return the summary over seeds;
    run a study's function and return its summary.

    overrides: "key=value" strings (`--set`); seeds: "0-3" or "0,2,5", replacing the file's seeds;
    ray_address: run each seed as a Ray task on that cluster ("auto", "local", "ray://host:port")
    instead of in local processes.
    """
    experiment = load_experiment(path, overrides)
    if isinstance(experiment, Study) and (seeds is not None or ray_address is not None):
        raise ValueError(
            f"{path} is a study: it runs in one process, seeded by its own parameters; "
            "--seeds and --ray apply to agent experiments only"
        )
    if seeds is not None:
        experiment = dataclasses.replace(experiment, seeds=parse_seeds(seeds))
    if resume and overwrite:
        raise ValueError("--resume and --overwrite contradict each other; pass one of them")
    root = Path(runs_dir) / experiment.name
    with _holding(root):
        if root.is_dir() and any(root.iterdir()):
            if overwrite:
                shutil.rmtree(root)
            elif resume:
                atomic.remove_leftovers(root)  # what killed writes left; no one else writes here now
            else:
                raise ValueError(
                    f"{root} already holds results; pass --resume to continue them or --overwrite to "
                    "delete them"
                )
        start = time.perf_counter()
        if isinstance(experiment, Study):
            return _run_study(experiment, root, resume, start)
        if ray_address is None:
            results = _run_locally(experiment, root, resume)
        else:
            results = _run_on_ray(experiment, root, resume, ray_address)
        return _report(experiment, root, results, start)


@contextmanager
def _holding(root: Path) -> Iterator[None]:
    """Hold the run directory `root` for the length of the block: a lock file beside it, locked
    with flock and holding this process's id. A second run on `root` is refused, naming the process
    that holds it; the OS releases the lock when that process ends, however it ends, so a killed
    run never leaves its directory locked."""
    if fcntl is None:
        yield
        return
    lock = root.with_name(f".{root.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a+") as file:  # "a+": created if missing, never emptied by opening
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            raise ValueError(
                f"{root} is in use by another gridworlds run (process {holder}); wait for it to end, "
                "or give this run another --runs-dir"
            ) from None
        file.truncate(0)
        file.write(f"{os.getpid()}\n")
        file.flush()
        yield


def _report(
    experiment: Experiment, root: Path, results: list[dict[str, Any]], start: float
) -> dict[str, Any]:
    """Write and print the summary over the seeds; returns it."""
    summary = _aggregate(experiment, results)
    atomic.write_text(root / SUMMARY, json.dumps(summary, indent=2))
    plot_evaluation(
        {label: _section(stats, "eval/", "mean") for label, stats in summary["agents"].items()},
        {label: _section(stats, "eval/", "std") for label, stats in summary["agents"].items()},
        root / "evaluation.png",
        f"{experiment.name}: final evaluation, mean and std over seeds {experiment.seeds}",
    )

    spread = " ± std" if len(experiment.seeds) > 1 else ""
    print(f"\n{experiment.name} on {experiment.world}: mean{spread} over seeds {experiment.seeds}")
    print(_table(summary))
    print(f"\ndone in {time.perf_counter() - start:.1f} s; results in {root}/")
    print("  summary.json, evaluation.png  over the seeds")
    print("  <seed>/                       config.toml, metrics.csv, summary.json, checkpoint-<label>/,")
    print("                                evaluation.png, training.png, tensorboard/<label>/")
    return summary


def _run_study(study: Study, root: Path, resume: bool, start: float) -> dict[str, Any]:
    config = study.to_dict()
    if resume and (root / CONFIG).is_file():
        _check_same_config(root / CONFIG, config)
    atomic.write_text(root / CONFIG, tomli_w.dumps(config))
    result = load(study.function)(study.params, root, resume)
    summary = {"name": study.name, "function": study.function, **result}
    atomic.write_text(root / SUMMARY, json.dumps(summary, indent=2))

    rows = result["rows"]
    print(f"\n{study.name} ({study.function})")
    if rows:
        print(format_table([list(rows[0]), *([_format_cell(v) for v in row.values()] for row in rows)]))
    print(f"\ndone in {time.perf_counter() - start:.1f} s; results in {root}/")
    return summary


def _format_cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def run_seed(
    experiment: Experiment, seed: int, run_dir: Path, resume: bool, bars: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Train and evaluate every agent of the experiment with one seed; returns that seed's summary.

    bars: keyword arguments (position, leave) for this seed's tqdm bars; None hides them.
    """
    run_dir = Path(run_dir)
    config = dataclasses.replace(experiment, seeds=[seed]).to_dict()
    if resume and (run_dir / CONFIG).is_file():
        _check_same_config(run_dir / CONFIG, config)
    atomic.write_text(run_dir / CONFIG, tomli_w.dumps(config))

    run = _SeedRun(experiment, seed, run_dir, MetricsLog(run_dir / METRICS), bars)
    summary_file = run_dir / SUMMARY
    earlier = json.loads(summary_file.read_text())["agents"] if resume and summary_file.is_file() else {}
    summary = {"seed": seed, "agents": earlier}
    for spec in experiment.agents:
        if spec.label in earlier:
            tqdm.write(f"seed {seed} {spec.label}: finished earlier, skipped")
            continue
        summary["agents"][spec.label] = run.agent(spec, resume)
        atomic.write_text(summary_file, json.dumps(summary, indent=2))

    rows = run.log.rows()
    if rows:
        units = {agent_class(spec.name, experiment.world).budget_unit for spec in experiment.agents}
        unit = "training " + " or ".join(sorted(units)) + "s"
        plot_training(rows, run_dir / "training.png", f"{experiment.name}, seed {seed}: training", unit)
    evaluations = {label: entry["eval"] for label, entry in summary["agents"].items()}
    counts = {spec.eval_episodes or experiment.eval.episodes for spec in experiment.agents}
    episodes = f"{counts.pop()} episodes" if len(counts) == 1 else "episodes per agent"
    plot_evaluation(
        evaluations,
        {label: {"return_mean": metrics["return_std"]} for label, metrics in evaluations.items()},
        run_dir / "evaluation.png",
        f"{experiment.name}, seed {seed}: final evaluation, {episodes} (error bars: std of the return)",
    )
    return summary


@dataclasses.dataclass
class _SeedRun:
    experiment: Experiment
    seed: int
    run_dir: Path
    log: MetricsLog
    bars: dict[str, Any] | None

    def agent(self, spec: AgentSpec, resume: bool) -> dict[str, Any]:
        """Train what remains of one agent's budget (all of it, or from its checkpoint when
        resuming), checkpoint it, evaluate it: its summary entry."""
        checkpoint = self.run_dir / f"checkpoint-{spec.label}"
        resumed = resume and (checkpoint / MANIFEST).is_file()
        tensorboard = self.tensorboard(spec)
        if resumed:
            steps, train_time, train_metrics = _progress(checkpoint)
            agent = load_agent(checkpoint, tensorboard=tensorboard)
        else:
            settings = spec.params if tensorboard is None else {**spec.params, "tensorboard": tensorboard}
            try:
                agent = make_agent(spec.name, self.experiment.world, seed=self.seed, **settings)
            except ValueError as error:
                raise ValueError(f"agent {spec.label!r}: {error}") from None
            steps, train_time, train_metrics = 0, 0.0, {}
        # Its rows after the checkpoint (all of them, without one) are logged again as it goes on.
        self.log.drop_after(spec.label, steps if resumed else -1)
        # Its checkpoints then say which world arguments it plays with (eval and view read them).
        agent.env_kwargs = dict(self.experiment.env)
        if steps < self.experiment.train.budget:
            steps, train_time, train_metrics = self.train(agent, spec, checkpoint, steps, train_time)
        # With its progress, before the evaluation: a crash during it resumes without training again.
        agent.save(checkpoint, _progress_record(steps, train_time, train_metrics))

        episodes = spec.eval_episodes or self.experiment.eval.episodes
        bar = False if self.bars is None else {**self.bars, "desc": f"seed {self.seed} {spec.label} evaluate"}
        evaluation = self.evaluate(agent, episodes, progress=bar)
        if self.experiment.eval.record:
            self.record(agent, spec)
        tqdm.write(
            f"seed {self.seed} {spec.label}: return {evaluation['return_mean']:.6g} ± "
            f"{evaluation['return_std']:.3g} over {episodes} episodes after {steps} training "
            f"{agent.budget_unit}s"
        )
        return {"steps": steps, "train_time": train_time, "train": train_metrics, "eval": evaluation}

    def tensorboard(self, spec: AgentSpec) -> str | None:
        """Where a learner writes its TensorBoard scalars: tensorboard/<label>/ in the seed's
        directory, its own, into which a resumed run writes on; None for an agent that writes none.
        Its checkpoints do not keep it, so that a checkpoint never names this run's directory."""
        cls = agent_class(spec.name, self.experiment.world)
        if "tensorboard" not in (field.name for field in dataclasses.fields(cls.Config)):
            return None
        return str(self.run_dir / "tensorboard" / spec.label)

    def train(
        self, agent: Agent, spec: AgentSpec, checkpoint: Path, steps: int, train_time: float
    ) -> tuple[int, float, dict[str, float]]:
        """agent.learn over the rest of the budget; returns (steps, training time, final training metrics)."""
        train = self.experiment.train
        env = make(self.experiment.world, **self.experiment.env)
        bar = tqdm(
            total=train.budget,
            initial=steps,
            unit=agent.budget_unit,
            desc=f"seed {self.seed} {spec.label}",
            disable=self.bars is None,
            **(self.bars or {}),
        )
        start = time.perf_counter() - train_time  # the clock goes on from the checkpoint's time
        last_step = steps
        next_eval = _next_multiple(steps, train.eval_every)
        next_checkpoint = _next_multiple(steps, train.checkpoint_every)

        def callback(step: int, metrics: dict[str, float]) -> None:
            nonlocal last_step, next_eval, next_checkpoint
            elapsed = time.perf_counter() - start
            last_step = step
            self.log.write(spec.label, step, elapsed, metrics)
            bar.update(step - bar.n)
            bar.set_postfix({name: f"{value:.4g}" for name, value in metrics.items()}, refresh=False)
            if step >= next_eval:
                evaluation = self.evaluate(agent, train.eval_episodes)
                self.log.write(spec.label, step, elapsed, {f"eval/{k}": v for k, v in evaluation.items()})
                next_eval = _next_multiple(step, train.eval_every)
            if step >= next_checkpoint:
                agent.save(checkpoint, _progress_record(step, elapsed, metrics))
                next_checkpoint = _next_multiple(step, train.checkpoint_every)

        try:
            final_metrics = agent.learn(env, train.budget - steps, callback)
        finally:
            bar.close()
            env.close()
        # A learner's last report can fall short of its budget, and a learner may not report at all.
        return max(last_step, train.budget), time.perf_counter() - start, dict(final_metrics)

    def evaluate(
        self, agent: Agent, episodes: int, progress: bool | dict[str, Any] = False
    ) -> dict[str, float]:
        experiment = self.experiment
        return evaluate(
            agent,
            experiment.world,
            experiment.env,
            episodes,
            self.evaluation_seed(),
            experiment.eval.max_steps,
            progress,
        )

    def evaluation_seed(self) -> int:
        """The seed of the first game of every evaluation (game k is reset with it + k). Every agent
        of a seed plays the same games, a paired comparison; each seed has its own games."""
        return 1_000_000 * (self.seed + 1)

    def record(self, agent: Agent, spec: AgentSpec) -> None:
        """[eval] record: the first game of the agent's evaluations as <label>.gif in the seed's
        directory (at most max_steps moves, or the recorder's default)."""
        from gridworlds.viewer.record import record_episode  # pygame and imageio, only if asked for

        experiment = self.experiment
        record_episode(
            experiment.world,
            experiment.env,
            agent,
            self.run_dir / f"{spec.label}.gif",
            steps=experiment.eval.max_steps or None,
            seed=self.evaluation_seed(),
        )


def _next_multiple(step: int, every: int) -> float:
    """The first multiple of `every` after `step`; never, when every is 0."""
    return (step // every + 1) * every if every else math.inf


class MetricsLog:
    """metrics.csv: `agent,step,time,metric,value` rows, appended as they come."""

    def __init__(self, path: Path):
        self.path = path
        if not path.is_file():
            atomic.write_text(path, ",".join(COLUMNS) + "\n")

    def write(self, agent: str, step: int, time: float, metrics: dict[str, float]) -> None:
        # Opened per report and closed at once, so every row is on disk before training goes on.
        with self.path.open("a", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerows(
                [agent, step, f"{time:.3f}", name, repr(float(value))] for name, value in metrics.items()
            )

    def rows(self) -> list[dict[str, str]]:
        with self.path.open(newline="") as file:
            # A crash in the middle of a write can leave a last row cut short.
            return [row for row in csv.DictReader(file) if None not in row.values()]

    def drop_after(self, agent: str, step: int) -> None:
        """Drop the agent's rows after `step`, its checkpoint: the resumed agent logs them again."""
        kept = [row for row in self.rows() if row["agent"] != agent or int(row["step"]) <= step]
        atomic.write_text(self.path, csv_text(kept, COLUMNS))


def _progress_record(steps: int, train_time: float, train_metrics: dict[str, float]) -> dict[str, Any]:
    """What a checkpoint's manifest records of the run at the moment it was saved."""
    return {"steps": steps, "train_time": train_time, "train_metrics": dict(train_metrics)}


def _progress(checkpoint: Path) -> tuple[int, float, dict[str, float]]:
    """(steps, training time, training metrics) that the checkpoint of a run stands for."""
    manifest = open_checkpoint(checkpoint).manifest
    progress = manifest.get("progress")
    try:
        return int(progress["steps"]), float(progress["train_time"]), dict(progress["train_metrics"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise ValueError(
            f"{checkpoint / MANIFEST}: cannot resume from it: its progress must hold steps, train_time "
            f"and train_metrics (a run writes them), got {progress!r}"
        ) from None


def _check_same_config(path: Path, config: dict[str, Any]) -> None:
    """A ValueError unless the config a run wrote at `path` is the resolved `config`; it is resolved
    again first, so that a field added since with a default (eval.record, say) is no change."""
    try:
        written = validate(tomllib.loads(path.read_text()), str(path), default_name=path.parent.name)
    except ValueError as error:
        raise ValueError(f"cannot resume: {error}; pass --overwrite to start over") from None
    changed = _changed_fields(written.to_dict(), config)
    if changed:
        raise ValueError(
            f"cannot resume: {', '.join(changed)} changed since {path} was written; resume with the "
            "same experiment and --set options, or pass --overwrite to start over"
        )


def _changed_fields(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = dict.fromkeys([*old, *new])
        return [
            field for key in keys for field in _changed_fields(old.get(key), new.get(key), f"{prefix}{key}.")
        ]
    return [] if old == new else [prefix.rstrip(".")]


def _run_locally(experiment: Experiment, root: Path, resume: bool) -> list[dict[str, Any]]:
    seeds = experiment.seeds
    if len(seeds) == 1:
        return [run_seed(experiment, seeds[0], root / str(seeds[0]), resume, bars={})]
    # spawn, not fork: forking a process whose numba or tqdm threads are running can deadlock.
    context = multiprocessing.get_context("spawn")
    workers = min(len(seeds), os.cpu_count() or 1)
    # One lock shared by all processes keeps their stacked tqdm bars from overwriting each other.
    with ProcessPoolExecutor(
        workers, context, initializer=_start_worker, initargs=(context.RLock(),)
    ) as pool:
        futures = [
            pool.submit(run_seed, experiment, seed, root / str(seed), resume, {"position": i, "leave": False})
            for i, seed in enumerate(seeds)
        ]
        return [future.result() for future in futures]


def _start_worker(bars_lock: Any) -> None:
    """Set up a worker process of a local run over seeds: its bars share `bars_lock`, and it ends
    with the run."""
    tqdm.set_lock(bars_lock)
    _end_with_parent()


def _end_with_parent() -> None:
    """End this process when the process that started it ends, however that ends: the workers of a
    killed run must not go on writing its directories. On Linux the kernel kills it at once
    (prctl PR_SET_PDEATHSIG; the pool starts its workers from the thread that runs the run, which
    lives as long as the run); elsewhere a thread waits for the parent and then ends the process."""
    parent = multiprocessing.parent_process()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
            if not parent.is_alive():  # it ended before the request took effect
                os._exit(1)
            return
    threading.Thread(target=_exit_after, args=(parent,), daemon=True).start()


def _exit_after(parent: BaseProcess) -> None:
    parent.join()
    os._exit(1)


def _run_on_ray(experiment: Experiment, root: Path, resume: bool, address: str) -> list[dict[str, Any]]:
    ray = require("ray", needed_by="--ray", extra="ray")
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address)
        except ConnectionError as error:
            raise ValueError(f"cannot reach a Ray cluster at {address!r}: {error}") from None
    try:
        task = ray.remote(run_seed)
        # Workers may run in other directories or on other machines: they get an absolute path, which
        # on a cluster of several machines must be on a file system they share.
        pending = {
            task.remote(experiment, seed, root.resolve() / str(seed), resume, None): seed
            for seed in experiment.seeds
        }
        results = {}
        with tqdm(total=len(pending), desc="seeds", unit="seed") as bar:
            while pending:
                [done], _ = ray.wait(list(pending))
                results[pending.pop(done)] = ray.get(done)
                bar.update()
        return [results[seed] for seed in experiment.seeds]
    finally:
        if started_here:
            ray.shutdown()


def _aggregate(experiment: Experiment, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per agent, the mean and std over seeds of each number of the seeds' summaries."""
    agents = {}
    for spec in experiment.agents:
        per_seed = [_flatten(result["agents"][spec.label]) for result in results]
        keys = dict.fromkeys(key for entry in per_seed for key in entry)
        agents[spec.label] = {
            key: _mean_std([entry[key] for entry in per_seed if key in entry]) for key in keys
        }
    return {"name": experiment.name, "world": experiment.world, "seeds": experiment.seeds, "agents": agents}


def _flatten(entry: dict[str, Any]) -> dict[str, float]:
    return {
        "steps": entry["steps"],
        "train_time": entry["train_time"],
        **{f"eval/{name}": value for name, value in entry["eval"].items()},
        **{f"train/{name}": value for name, value in entry["train"].items()},
    }


def _mean_std(values: list[float]) -> dict[str, float]:
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "std": std}


def _section(stats: dict[str, dict[str, float]], prefix: str, statistic: str) -> dict[str, float]:
    return {
        key.removeprefix(prefix): stat[statistic] for key, stat in stats.items() if key.startswith(prefix)
    }


def _table(summary: dict[str, Any]) -> str:
    labels = list(summary["agents"])
    keys = dict.fromkeys(key for label in labels for key in summary["agents"][label])
    several = len(summary["seeds"]) > 1

    def cell(stat: dict[str, float] | None) -> str:
        if stat is None:
            return "-"
        return f"{stat['mean']:.6g} ± {stat['std']:.2g}" if several else f"{stat['mean']:.6g}"

    rows = [("metric", *labels)]
    rows += [(key, *(cell(summary["agents"][label].get(key)) for label in labels)) for key in keys]
    return format_table(rows)

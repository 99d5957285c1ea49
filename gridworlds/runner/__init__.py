"""Experiment files in, results out: run, log, checkpoint, resume, fan out over seeds, plot, evaluate.

    run_experiment("experiments/2048-baselines.toml", seeds="0-3")   # `gridworlds run`
    evaluate_command("gridworlds/2048-v0", "greedy", episodes=100)    # `gridworlds eval`
    evaluate(agent, "gridworlds/2048-v0", {}, episodes=100, seed=0)   # -> dict of metrics

The file format is in config.py, the files a run writes in run.py.
"""

from gridworlds.runner.evaluate import evaluate, evaluate_command
from gridworlds.runner.run import run_experiment

__all__ = ["evaluate", "evaluate_command", "run_experiment"]

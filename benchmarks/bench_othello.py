"""Othello throughput and memory: `python benchmarks/bench_othello.py [--quick]`.

Same as `gridworlds bench gridworlds/Othello-v0`; measures OpenSpiel and Pgx in the same run when they
are installed.
"""

import sys

from gridworlds.bench import run_world_bench

if __name__ == "__main__":
    run_world_bench("gridworlds/Othello-v0", quick="--quick" in sys.argv)

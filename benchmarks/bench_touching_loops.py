"""Touching-loops throughput and memory: `python benchmarks/bench_touching_loops.py [--quick]`.

Same as `gridworlds bench gridworlds/TouchingLoops-v0`; no peer is named for this world.
"""

import sys

from gridworlds.bench import run_world_bench

if __name__ == "__main__":
    run_world_bench("gridworlds/TouchingLoops-v0", quick="--quick" in sys.argv)

"""2048 throughput and memory: `python benchmarks/bench_2048.py [--quick]`.

Same as `gridworlds bench gridworlds/2048-v0`; measures Pgx in the same run when it is installed.
"""

import sys

from gridworlds.bench import run_world_bench

if __name__ == "__main__":
    run_world_bench("gridworlds/2048-v0", quick="--quick" in sys.argv)

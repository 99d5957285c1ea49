"""Voxel-robot throughput and memory: `python benchmarks/bench_voxels.py [--quick]`.

Same as `gridworlds bench gridworlds/Walker-v0`; the peer is EvoGym (measured where it imports).
"""

import sys

from gridworlds.bench import run_world_bench

if __name__ == "__main__":
    run_world_bench("gridworlds/Walker-v0", quick="--quick" in sys.argv)

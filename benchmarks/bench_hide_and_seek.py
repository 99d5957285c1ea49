"""Hide-and-seek throughput and memory: `python benchmarks/bench_hide_and_seek.py [--quick]`.

Same as `gridworlds bench gridworlds/HideAndSeek-v0`: both hide-and-seek worlds, engine and
pettingzoo env. No peer is measured (OpenAI's worlds need MuJoCo); the spec's reference is printed.
"""

import sys

from gridworlds.bench import run_world_bench

if __name__ == "__main__":
    run_world_bench("gridworlds/HideAndSeek-v0", quick="--quick" in sys.argv)

"""n-tuple TD training speed and learning on 2048: `python benchmarks/bench_ntuple.py [GAMES] [PATTERNS]`.

Trains a fresh network with afterstate TD(0) (alpha 0.1 split over the features, 1-ply greedy) and
prints, per 1,000 games, the average score, the share reaching 2048 and the training moves/s.
The issue's speed target for 4x6 is 2.5M moves/s on one core (the authors' C++: 2.9M).
"""

import sys
import time

import numpy as np

from gridworlds.bench import peak_rss_mib
from gridworlds.engines import ntuple as nt
from gridworlds.engines.rng import seed_state


def main(games: int = 10_000, patterns: str = "4x6") -> None:
    cells = nt.parse_patterns(patterns)
    shifts, stages = nt.compile_patterns(cells), np.array([0], dtype=np.int64)
    weights = nt.new_weights(cells, 1)
    unused = np.ones((1, 1, 1), dtype=np.float32)
    rng, chunk = seed_state(0), 1000
    scores, tops = np.zeros(chunk, dtype=np.int64), np.zeros(chunk, dtype=np.int64)
    total_moves, total_time = 0, 0.0
    print(f"{'games':>8} {'average':>9} {'2048 rate':>9} {'moves/s':>9}")
    for done in range(chunk, games + 1, chunk):
        start = time.perf_counter()
        rng, moves = nt.train_games(
            weights, unused, unused, shifts, stages, 0.1, False, chunk, rng, scores, tops
        )
        elapsed = time.perf_counter() - start
        total_moves, total_time = total_moves + moves, total_time + elapsed
        rate = (tops >= 11).mean()  # exponent 11 is the 2048 tile
        print(f"{done:>8} {scores.mean():>9.0f} {rate:>9.1%} {moves / elapsed / 1e6:>8.2f}M")
    speed = total_moves / total_time / 1e6
    print(f"overall {speed:.2f}M training moves/s; peak memory {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main(*(int(a) if a.isdigit() else a for a in sys.argv[1:]))

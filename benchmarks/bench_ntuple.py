"""n-tuple TD training speed and learning on 2048:
`python benchmarks/bench_ntuple.py [GAMES] [PATTERNS] [THREADS]`.

Trains a fresh `ntuple` agent with afterstate TD(0) (alpha 0.1 split over the features, 1-ply
greedy) and prints, per 1,000 games, the average score, the share reaching 2048 and the training
moves/s. With THREADS > 1 the threads train the one network together (shared weights, no locks).
The issue's speed target for 4x6 is 2.5M moves/s on one core (the authors' C++: 2.9M, and 4.3M
with 2 threads).
"""

import sys

from gridworlds.agents import make_agent
from gridworlds.bench import peak_rss_mib


def main(games: int = 10_000, patterns: str = "4x6", threads: int = 1) -> None:
    agent = make_agent("ntuple", "gridworlds/2048-v0", seed=0, patterns=patterns, threads=threads)
    moves, seconds = 0.0, 0.0

    def report(done: int, metrics: dict[str, float]) -> None:
        nonlocal moves, seconds
        chunk = metrics["moves_mean"] * 1000
        moves, seconds = moves + chunk, seconds + chunk / metrics["moves_per_second"]
        print(
            f"{done:>8} {metrics['score_mean']:>9.0f} {metrics['reached_2048']:>9.1%} "
            f"{metrics['moves_per_second'] / 1e6:>8.2f}M",
            flush=True,
        )

    print(f"{patterns}, {threads} thread(s)")
    print(f"{'games':>8} {'average':>9} {'2048 rate':>9} {'moves/s':>9}")
    agent.learn(None, games, report)
    print(f"overall {moves / seconds / 1e6:.2f}M training moves/s; peak memory {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main(*(int(a) if a.isdigit() else a for a in sys.argv[1:]))

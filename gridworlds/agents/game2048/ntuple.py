"""n-tuple network agents for 2048: the TD / TC learner of Guei, Chen and Wu, and expectimax over it.

`ntuple` learns by playing its own games in the engine (the world's rules, without an env per
move): every move is the 1-ply greedy choice and teaches the previous afterstate. Its parameters
give the paper's learners:

    TD       v_init = 0                  OTD      v_init = 320000
    TC       tc_after = 0                OTC      v_init = 320000, tc_after = 0
    OTD+TC   v_init = 320000, tc_after = 1000000 (TD for the first million games, then TC)

The budget of `learn` counts training games. Every 1,000 games it reports the average score of
those games, the share reaching 2048 ... 32768 (the paper's learning curve), their average length
in moves and the training moves per second. With `threads` > 1, that many threads train the one
network at once (shared weights, no locks: faster on two cores, no longer bit-reproducible); for
independent runs on both cores, run two seeds (`gridworlds run ... --seeds 0-1`).

`expectimax` plays a trained `ntuple` checkpoint with a deeper search and learns nothing.

Checkpoints: the weights as .npy beside agent.json (and, during TC, its two accumulator tables), so
a 4x6 network is a 256 MiB file; loading reads each table once into its final array, after checking
its SHA-256, and refuses a table holding NaN or infinity. training.json holds the games played and
the training threads' generator states, so that a resumed run learns exactly what an uninterrupted
one does.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from gridworlds.agents import reporting
from gridworlds.agents.base import AgentBase, Callback, CheckpointReader, CheckpointWriter, open_checkpoint
from gridworlds.agents.game2048 import ntuple_network as nt
from gridworlds.agents.game2048.greedy import observation_to_board
from gridworlds.agents.simple import UntrainedAgent
from gridworlds.engines.rng import seed_state
from gridworlds.envs.checks import check_int_range, check_non_negative_number

WORLD_ID = "gridworlds/2048-v0"
# Each ply of expectimax multiplies its search by the moves or the tile spawns (4, or up to 30; the
# transposition cache makes it about 4x a ply on an opening board): depth 6 takes about 0.07 s a move
# there, and a game is thousands of moves. A deeper search would not finish an evaluation.
MAX_SEARCH_DEPTH = 6
MAX_THREADS = 256  # each thread keeps its own generator and games; more threads than that is a typo
# The weights (stages x patterns x 16^k float32) live in memory, and TC keeps two more tables of that
# size: the paper's largest network, 8 patterns of 6 cells over 2 stages, is 1 GiB.
MAX_TABLE_BYTES = 16 << 30
REPORT_EVERY = 1000  # training games per learning-curve point
MILESTONES = (2048, 4096, 8192, 16384, 32768)
WEIGHTS, SUMS, MAGNITUDES, TRAINING = "weights.npy", "tc_sums.npy", "tc_magnitudes.npy", "training.json"


def _tile_exponent(name: str, tile: Any) -> int:
    if isinstance(tile, bool) or not isinstance(tile, int) or tile < 4 or tile & (tile - 1):
        raise ValueError(f"{name} must hold tile values (powers of two from 4 to 32768), got {tile!r}")
    return int(math.log2(tile))


def network_shape(patterns: Any, stages: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    """The cells (patterns, k) of `patterns` and the stage exponents (0 first) of `stages`, or a
    ValueError naming the field: for a Config, and for the patterns a checkpoint names."""
    cells = nt.parse_patterns(patterns)
    if not isinstance(stages, list | tuple):
        raise ValueError(f"stages must be a list of tile values, e.g. [16384], got {stages!r}")
    exponents = [_tile_exponent("stages", tile) for tile in stages]
    if exponents != sorted(set(exponents)):
        raise ValueError(f"stages must be ascending and distinct, got {list(stages)}")
    count, k = cells.shape
    table_bytes = (len(exponents) + 1) * count * 16**k * np.dtype(np.float32).itemsize
    if table_bytes > MAX_TABLE_BYTES:
        raise ValueError(
            f"patterns must make tables of at most {MAX_TABLE_BYTES >> 30} GiB over all stages, got "
            f"{len(exponents) + 1} stages x {count} patterns of {k} cells: {table_bytes / 2**30:.0f} GiB"
        )
    return cells, (0, *exponents)


def _check_playing(config: NTupleConfig | ExpectimaxConfig) -> None:
    """The settings of how a network plays, which both n-tuple agents have."""
    check_int_range("depth", config.depth, 1, MAX_SEARCH_DEPTH)
    if not isinstance(config.downgrading, bool):
        raise ValueError(f"downgrading must be true or false, got {config.downgrading!r}")
    check_int_range("threads", config.threads, 1, MAX_THREADS)


def _check_world(world_id: str) -> None:
    if world_id != WORLD_ID:
        raise ValueError(f"n-tuple agents play {WORLD_ID}, not {world_id}")


def game_metrics(scores: np.ndarray, tops: np.ndarray) -> dict[str, float]:
    """Average and best score and the share of games reaching each milestone tile."""
    metrics = {"score_mean": float(scores.mean()), "score_max": float(scores.max())}
    for tile in MILESTONES:
        metrics[f"reached_{tile}"] = float((tops >= int(math.log2(tile))).mean())
    return metrics


@dataclass(frozen=True)
class NTupleConfig:
    patterns: str | list[str] = "4x6"  # a preset ("4x6" ... "8x6") or hex cell strings, all one length
    stages: list[int] | tuple[int, ...] = ()  # tiles at which a new weight set takes over; () for one
    alpha: float = 0.1  # the TD learning rate, split evenly over the features a board looks up
    v_init: float = 0.0  # optimistic initialisation: the value every board starts with
    tc_after: int | None = None  # training games before TD gives way to TC (0: TC at once; None: never)
    tc_alpha: float = 1.0  # the TC learning rate, split the same way
    threads: int = 1  # threads training the one network together, or playing evaluation games
    depth: int = 1  # expectimax plies when playing (1 is greedy)
    downgrading: bool = False  # tile-downgrading for boards holding a 32768, when playing
    tensorboard: str | None = None  # a directory for the learning curve's TensorBoard scalars, or None

    def __post_init__(self) -> None:
        network_shape(self.patterns, self.stages)
        for name in ("alpha", "v_init", "tc_alpha"):
            check_non_negative_number(name, getattr(self, name))
        tc_after = self.tc_after
        if tc_after is not None and (
            isinstance(tc_after, bool) or not isinstance(tc_after, int) or tc_after < 0
        ):
            raise ValueError(f"tc_after must be None or a non-negative number of games, got {tc_after!r}")
        _check_playing(self)


class NTupleAgent(AgentBase):
    """An n-tuple network valuing 2048 afterstates, trained by (optimistic) TD(0) and/or TC.

    Parameters, the NTupleConfig fields:
        patterns: a preset ("4x6", "5x6", "6x6", "7x6", "8x6") or a list of hex cell strings
            ("012345", cells row-major 0..f), all the same length.
        stages: tiles at which a new weight set takes over (multistage), e.g. [16384]; [] for one.
        alpha: the TD learning rate, split evenly over the features a board looks up (paper: 0.1).
        v_init: optimistic initialisation, the value every board starts with (paper: 320000).
        tc_after: training games after which learning switches from TD to TC (0: TC from the start;
            None: never).
        tc_alpha: the TC learning rate, split the same way (paper: 1.0).
        threads: threads training the one network together.
        depth, downgrading: how it plays (act and evaluation): expectimax plies (1 is greedy) and
            tile-downgrading for boards holding a 32768.
        tensorboard: a directory for the learning curve (every report's metrics) as TensorBoard
            scalars, counted in games; `gridworlds run` gives each agent its own; None: none.
    """

    name = "ntuple"
    budget_unit = "game"
    Config = NTupleConfig
    plays_in_engine = True

    def __init__(self, world_id: str = WORLD_ID, seed: int | None = None, **settings: Any):
        _check_world(world_id)
        super().__init__(world_id, seed, **settings)
        c = self.config
        patterns, stages = self._build_tables(c.patterns, c.stages, seed)
        # Floats, so that the learning kernels are compiled for one type of rate
        self.config = replace(
            c,
            patterns=patterns,
            stages=stages,
            alpha=float(c.alpha),
            v_init=float(c.v_init),
            tc_alpha=float(c.tc_alpha),
        )

    def _build_tables(
        self, patterns: str | list[str], stages: list[int] | tuple[int, ...], seed: int | None
    ) -> tuple[str | list[str], list[int]]:
        """Set up the network's shape, kernels and training state for these patterns and stages
        (checked: a checkpoint names them too); returns them as a checkpoint records them."""
        c = self.config
        self.cells, self.stage_exponents = network_shape(patterns, stages)
        self.kernels = nt.kernels(self.cells, self.stage_exponents)
        # The tables are allocated on first use, so that loading a checkpoint never holds two.
        self.weights: np.ndarray | None = None
        self.sums: np.ndarray | None = None  # TC's accumulators, from the switch to TC on
        self.magnitudes: np.ndarray | None = None
        self.games = 0
        # One engine generator per training thread: thread t starts from seed_state(1000 * seed + t).
        base = 1000 * (seed if seed is not None else int(np.random.default_rng().integers(2**31)))
        self.rngs = [seed_state(base + t) for t in range(c.threads)]
        return (patterns if isinstance(patterns, str) else list(patterns)), list(stages)

    def table_shape(self) -> tuple[int, int, int]:
        """(stages, patterns, 16^k): the shape of the weights, and of TC's accumulators."""
        count, k = self.cells.shape
        return len(self.stage_exponents), count, 16**k

    def network(self) -> np.ndarray:
        if self.weights is None:
            self.weights = nt.new_weights(self.cells, len(self.stage_exponents), self.config.v_init)
        return self.weights

    # --- playing ---

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        board = observation_to_board(observation)
        c = self.config
        if c.depth == 1:
            action = self.kernels.best_move(self.network(), board, c.downgrading)[0]
        else:
            expectimax_move, _ = self.kernels.search
            action, _ = expectimax_move(self.network(), board, c.depth, c.downgrading)
        return max(int(action), 0)  # a finished game has no legal move; any action does

    def play_episodes(self, seeds: np.ndarray) -> dict[str, np.ndarray]:
        """Whole games in the engine, game k seeded as the env's reset(seed=seeds[k]) seeds it, so an
        evaluation gets the games it would get through the env: arrays return, length, and the
        last info's score and max_tile. The games are split over `threads`."""
        rngs = np.array([seed_state(int(s)) for s in seeds], dtype=np.uint64)
        n = len(rngs)
        scores, tops, lengths = (np.zeros(n, dtype=np.int64) for _ in range(3))
        weights = self.network()
        c = self.config

        def play(span: slice) -> None:
            if c.depth == 1:
                self.kernels.play_games(
                    weights, rngs[span], c.downgrading, scores[span], tops[span], lengths[span]
                )
            else:
                _, search_games = self.kernels.search
                search_games(
                    weights, rngs[span], c.depth, c.downgrading, scores[span], tops[span], lengths[span]
                )

        spans = _spans(n, c.threads)
        with ThreadPoolExecutor(len(spans)) as pool:
            list(pool.map(play, spans))
        # Its moves are all legal, so the return is the score.
        return {"return": scores, "length": lengths, "score": scores, "max_tile": np.left_shift(1, tops)}

    # --- learning ---

    def learn(self, env_or_data: Any, budget: int, callback: Callback | None = None) -> dict[str, float]:
        """Train for `budget` games; returns the last 1,000 games' metrics."""
        weights = self.network()
        metrics: dict[str, float] = {}
        end = self.games + budget
        tc_after = self.config.tc_after
        with (
            ThreadPoolExecutor(self.config.threads) as pool,
            reporting(self.config.tensorboard, callback) as report,
        ):
            while self.games < end:
                games = min(REPORT_EVERY - self.games % REPORT_EVERY, end - self.games)
                coherence = tc_after is not None and self.games >= tc_after
                if tc_after is not None and not coherence:
                    games = min(games, tc_after - self.games)  # a chunk never crosses the switch
                if coherence and self.sums is None:
                    self.sums, self.magnitudes = np.zeros_like(weights), np.zeros_like(weights)
                scores, tops, moves, seconds = self._train_chunk(pool, weights, games, coherence)
                self.games += games
                metrics = {
                    **game_metrics(scores, tops),
                    "moves_mean": moves / games,
                    "moves_per_second": moves / seconds,
                }
                at_report = self.games % REPORT_EVERY == 0 or self.games == end
                if at_report and not report(self.games, metrics):
                    break
        return metrics

    def _train_chunk(
        self, pool: ThreadPoolExecutor, weights: np.ndarray, games: int, coherence: bool
    ) -> tuple[np.ndarray, np.ndarray, int, float]:
        scores, tops = np.zeros(games, dtype=np.int64), np.zeros(games, dtype=np.int64)
        sums = self.sums if coherence else _UNUSED
        magnitudes = self.magnitudes if coherence else _UNUSED
        alpha = self.config.tc_alpha if coherence else self.config.alpha

        def train(t: int, span: slice) -> int:
            self.rngs[t], moves = self.kernels.train_games(
                weights,
                sums,
                magnitudes,
                alpha,
                coherence,
                span.stop - span.start,
                self.rngs[t],
                scores[span],
                tops[span],
            )
            return moves

        start = time.perf_counter()
        spans = _spans(games, self.config.threads)
        moves = sum(pool.map(train, range(len(spans)), spans))
        return scores, tops, moves, time.perf_counter() - start

    # --- checkpoints ---

    def store(self, files: CheckpointWriter) -> None:
        files.array(WEIGHTS, self.network())
        if self.sums is not None:
            files.array(SUMS, self.sums)
            files.array(MAGNITUDES, self.magnitudes)
        files.json(TRAINING, {"games": self.games, "rngs": [int(r) for r in self.rngs]})

    def restore(self, checkpoint: CheckpointReader) -> None:
        shape = self.table_shape()
        self.weights = checkpoint.array(WEIGHTS, np.float32, shape)
        if checkpoint.has(SUMS):
            self.sums = checkpoint.array(SUMS, np.float32, shape)
            self.magnitudes = checkpoint.array(MAGNITUDES, np.float32, shape)
        state = checkpoint.json(TRAINING)
        self.games = state["games"]
        self.rngs = [np.uint64(r) for r in state["rngs"]]


_UNUSED = np.zeros((1, 1, 1), dtype=np.float32)  # the TC tables train_games is passed during TD


def _spans(count: int, parts: int) -> list[slice]:
    """`count` games as at most `parts` contiguous, non-empty slices, one per thread."""
    bounds = [count * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


@dataclass(frozen=True)
class ExpectimaxConfig:
    network: str  # the checkpoint directory of an `ntuple` agent
    depth: int = 2  # expectimax plies
    downgrading: bool = True  # tile-downgrading for boards holding a 32768
    threads: int = 1  # games played at once in evaluations

    def __post_init__(self) -> None:
        # Whether the directory holds a network is checked when the agent is built: an experiment
        # may name the checkpoint of a run that has not been made yet.
        if not isinstance(self.network, str) or not self.network:
            raise ValueError(
                f"network must be the checkpoint directory of an ntuple agent, got {self.network!r}"
            )
        _check_playing(self)


class ExpectimaxAgent(NTupleAgent):
    """A trained `ntuple` network played with a `depth`-ply expectimax over afterstates (with a
    transposition cache) and, by default, tile-downgrading. It learns nothing.

    Parameters, the ExpectimaxConfig fields: network, the checkpoint directory of an `ntuple` agent;
    depth; downgrading; threads (games played at once in evaluations).
    """

    name = "expectimax"
    Config = ExpectimaxConfig

    def __init__(self, world_id: str = WORLD_ID, seed: int | None = None, **settings: Any):
        _check_world(world_id)
        AgentBase.__init__(self, world_id, seed, **settings)  # not NTupleAgent's: no training settings
        network = self.config.network
        if not Path(network).is_dir():
            raise ValueError(f"network must be the checkpoint directory of an ntuple agent, got {network!r}")
        trained = open_checkpoint(network)
        if trained.manifest["name"] != NTupleAgent.name:
            raise ValueError(
                f"network {network!r} holds a {trained.manifest['name']!r} agent, not an ntuple one"
            )
        params = trained.manifest["params"]
        if not {"patterns", "stages"} <= set(params):
            raise ValueError(f"{trained.manifest_file}: params lack the network's patterns and stages")
        self._build_tables(params["patterns"], params["stages"], seed)
        self.weights = trained.array(WEIGHTS, np.float32, self.table_shape())

    # An untrained agent's: learning does nothing, and a checkpoint holds only the parameters (the
    # weights stay in the network's own checkpoint).
    learn = UntrainedAgent.learn
    store = AgentBase.store
    restore = AgentBase.restore

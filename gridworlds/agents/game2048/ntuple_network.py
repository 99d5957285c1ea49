"""n-tuple networks for 2048: isomorphic pattern tables, afterstate TD(0) and TC learning.

After Guei, Chen, Wu, "Optimistic Temporal Difference Learning for 2048" (IEEE ToG 2022); the
rules and learners are in docs/2048.md.

A network is a list of patterns (tuples of board cells, row-major 0..15); pattern t owns one table
of 16^k float32 weights, indexed by the k cells' tile exponents (cell j of the pattern in bits
[4j, 4j+4) of the index). The value of a board sums, over the 8 symmetries of the board and over
the patterns, the looked-up weights: all symmetries share one table per pattern. With several
stages (multistage), each stage has its own tables; the stage thresholds are tile exponents, the
first one 0, and a board's stage is the last threshold its largest tile reaches.

Weights live in one array `weights[stage, pattern, 16^k]`, so a 4x6 network is one 256 MiB block.
The network kernels are compiled once per network shape (`kernels(patterns, stage_exponents)`),
with the shape as constants; kernels that take a board carry explicit signatures, so a Python int
board arrives as uint64.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numba
import numpy as np

from gridworlds.engines import game2048 as board_engine

PRESETS = {
    "4x6": ("012345", "456789", "012456", "45689a"),
    "5x6": ("012345", "456789", "89abcd", "012456", "45689a"),
    "6x6": ("012456", "456789", "012345", "234569", "01259a", "345678"),
    "7x6": ("012456", "456789", "012345", "234569", "01259a", "345678", "134567"),
    "8x6": ("012456", "456789", "012345", "234569", "01259a", "345678", "134567", "01489a"),
}
SYMMETRIES = 8

_MIRROR = (
    np.uint64(0x000F000F000F000F),
    np.uint64(0x00F000F000F000F0),
    np.uint64(0x0F000F000F000F00),
    np.uint64(0xF000F000F000F000),
)
_U4, _U12, _U16, _U48 = np.uint64(4), np.uint64(12), np.uint64(16), np.uint64(48)
_ROW0, _ROW1 = np.uint64(0xFFFF), np.uint64(0xFFFF0000)


def parse_patterns(patterns: str | list[str] | tuple[str, ...]) -> np.ndarray:
    """A preset name ("4x6" ... "8x6") or a list of hex cell strings ("012345") as an int64 array
    (patterns, k). Every pattern has the same length k, 1..8, of distinct cells."""
    cells = PRESETS.get(patterns, patterns) if isinstance(patterns, str) else patterns
    if isinstance(cells, str) or not cells:
        raise ValueError(
            f"patterns must be one of {sorted(PRESETS)} or a list of hex cell strings, got {patterns!r}"
        )
    rows = []
    for pattern in cells:
        if not isinstance(pattern, str) or any(ch not in "0123456789abcdef" for ch in pattern.lower()):
            raise ValueError(f"pattern {pattern!r} must be a string of hex cells 0..f, e.g. '012345'")
        row = [int(ch, 16) for ch in pattern.lower()]
        if len(set(row)) != len(row):
            raise ValueError(f"pattern {pattern!r} repeats a cell")
        rows.append(row)
    if len({len(row) for row in rows}) != 1 or not 1 <= len(rows[0]) <= 8:
        raise ValueError(f"patterns must all have the same length from 1 to 8 cells, got {list(cells)}")
    return np.array(rows, dtype=np.int64)


def new_weights(patterns: np.ndarray, stages: int, v_init: float = 0.0) -> np.ndarray:
    """Tables for every stage and pattern; optimistic initialisation spreads `v_init` evenly over
    the features a board looks up (patterns x 8 symmetries), so every board starts valued v_init."""
    count, k = patterns.shape
    weights = np.empty((stages, count, 16**k), dtype=np.float32)
    weights.fill(v_init / (count * SYMMETRIES))
    return weights


@numba.njit("u8(u8)", cache=True)
def mirror(board):
    """Reverse the columns: cell (r, c) goes to (r, 3 - c)."""
    return (
        ((board & _MIRROR[0]) << _U12)
        | ((board & _MIRROR[1]) << _U4)
        | ((board & _MIRROR[2]) >> _U4)
        | ((board & _MIRROR[3]) >> _U12)
    )


@numba.njit("u8(u8)", cache=True)
def flip(board):
    """Reverse the rows: cell (r, c) goes to (3 - r, c)."""
    return ((board & _ROW0) << _U48) | ((board & _ROW1) << _U16) | ((board >> _U16) & _ROW1) | (board >> _U48)


@numba.njit("UniTuple(u8, 8)(u8)", cache=True)
def symmetries(board):
    """The 8 boards of the dihedral group: identity, mirror, flip, both, and each transposed."""
    t = board_engine.transpose(board)
    return board, mirror(board), flip(board), mirror(flip(board)), t, mirror(t), flip(t), mirror(flip(t))


def pattern_runs(patterns: np.ndarray) -> tuple:
    """The patterns as the kernels read them: each pattern as runs of cells that are consecutive
    both in the pattern and on the board, one (board shift, mask, index shift) triple per run,
    padded with empty runs to the longest. An index is then a few shift-and-mask steps per pattern
    (for 4x6, 6 runs per board rather than 24 cells)."""
    count, k = patterns.shape
    runs = [[] for _ in range(count)]
    for t, cells in enumerate(patterns.tolist()):
        j = 0
        while j < k:
            length = 1
            while j + length < k and cells[j + length] == cells[j] + length:
                length += 1
            runs[t].append((4 * cells[j], (1 << (4 * length)) - 1, 4 * j))
            j += length
    longest = max(len(r) for r in runs)
    return tuple(tuple(r + [(0, 0, 0)] * (longest - len(r))) for r in runs)


@numba.njit(cache=True, inline="always")  # inlined: a call per lookup costs the kernels 20%
def stage_of(board, stages):
    """The board's stage: the index of the last threshold (tile exponents, ascending, the first 0)
    that its largest tile reaches."""
    if len(stages) == 1:
        return 0
    top = board_engine.max_exponent(board)
    stage = 0
    for s in range(1, len(stages)):
        if top >= stages[s]:
            stage = s
    return stage


DOWNGRADE_FROM = 15  # the exponent of 32768


@numba.njit("u8(u8)", cache=True)
def downgrade(board):
    """Tile-downgrading: once the board holds a tile of 32768 or more, find the smallest tile value
    missing below the largest tile and lower every larger tile one rank, so the network sees a board
    like those it learned on. Other boards (and boards missing no value) come back unchanged."""
    top = board_engine.max_exponent(board)
    if top < DOWNGRADE_FROM:
        return board
    present = 0
    for i in range(16):
        present |= 1 << np.int64((board >> np.uint64(4 * i)) & np.uint64(15))
    missing = 1
    while missing < top and (present >> missing) & 1:
        missing += 1
    if missing >= top:
        return board
    out = np.uint64(0)
    for i in range(16):
        shift = np.uint64(4 * i)
        e = (board >> shift) & np.uint64(15)
        if e > np.uint64(missing):
            e -= np.uint64(1)
        out |= e << shift
    return out


# --- the network, written once over `runs`; `Kernels` compiles it with the runs as constants ---


@numba.njit(inline="always")
def _index(board, runs, t):
    index = np.uint64(0)
    for r in range(len(runs[t])):
        shift, mask, out = runs[t][r]
        index |= ((board >> np.uint64(shift)) & np.uint64(mask)) << np.uint64(out)
    return np.int64(index)


@numba.njit(inline="always")
def _value(weights, runs, stages, board):
    stage = stage_of(board, stages)
    total = np.float32(0.0)
    for symmetric in symmetries(board):
        # One partial sum per board keeps the chain of dependent float adds short.
        partial = np.float32(0.0)
        for t in range(len(runs)):
            partial += weights[stage, t, _index(symmetric, runs, t)]
        total += partial
    return np.float64(total)


@numba.njit(inline="always")
def _td_update(weights, runs, stages, board, step):
    stage, delta = stage_of(board, stages), np.float32(step)
    for symmetric in symmetries(board):
        for t in range(len(runs)):
            weights[stage, t, _index(symmetric, runs, t)] += delta


@numba.njit(inline="always")
def _tc_update(weights, sums, magnitudes, runs, stages, board, alpha, error):
    stage = stage_of(board, stages)
    for symmetric in symmetries(board):
        for t in range(len(runs)):
            i = _index(symmetric, runs, t)
            b = magnitudes[stage, t, i]
            coherence = abs(sums[stage, t, i]) / b if b > 0 else 1.0
            weights[stage, t, i] += alpha * error * coherence
            sums[stage, t, i] += error
            magnitudes[stage, t, i] += abs(error)


@numba.njit(inline="always")
def _best_move(weights, runs, stages, board, downgrading):
    best, best_action, best_after, best_reward = -np.inf, -1, board, 0
    for a in range(4):
        after, reward = board_engine.move(board, a)
        if after == board:
            continue
        leaf = downgrade(after) if downgrading else after
        v = reward + _value(weights, runs, stages, leaf)
        if v > best:
            best, best_action, best_after, best_reward = v, a, after, reward
    return best_action, best_after, best_reward, best


@numba.njit(inline="always")
def _learn(weights, sums, magnitudes, runs, stages, afterstate, target, step, coherence):
    error = target - _value(weights, runs, stages, afterstate)
    if coherence:
        _tc_update(weights, sums, magnitudes, runs, stages, afterstate, step, error)
    else:
        _td_update(weights, runs, stages, afterstate, step * error)


@numba.njit(inline="always")
def _train_games(weights, sums, magnitudes, runs, stages, alpha, coherence, games, rng, scores, tops):
    step = alpha / (len(runs) * SYMMETRIES)
    moves = 0
    for g in range(games):
        board, rng = board_engine.new_game(rng)
        previous, have_previous, score = board, False, 0
        while True:
            action, after, reward, target = _best_move(weights, runs, stages, board, False)
            if action < 0:
                break
            if have_previous:
                _learn(weights, sums, magnitudes, runs, stages, previous, target, step, coherence)
            previous, have_previous = after, True
            score += reward
            moves += 1
            board, rng = board_engine.spawn(after, rng)
        if have_previous:
            _learn(weights, sums, magnitudes, runs, stages, previous, 0.0, step, coherence)
        scores[g] = score
        tops[g] = board_engine.max_exponent(board)
    return rng, moves


@numba.njit(inline="always")
def _play_games(weights, runs, stages, rngs, downgrading, scores, tops, lengths):
    for g in range(rngs.shape[0]):
        board, rng = board_engine.new_game(rngs[g])
        score, length = 0, 0
        while True:
            action, after, reward, _ = _best_move(weights, runs, stages, board, downgrading)
            if action < 0:
                break
            score += reward
            length += 1
            board, rng = board_engine.spawn(after, rng)
        scores[g], tops[g], lengths[g] = score, board_engine.max_exponent(board), length


_WEIGHTS = "f4[:, :, ::1]"
_SIGNATURES = {
    "value": f"f8({_WEIGHTS}, u8)",
    "td_update": f"void({_WEIGHTS}, u8, f8)",
    "tc_update": f"void({_WEIGHTS}, {_WEIGHTS}, {_WEIGHTS}, u8, f8, f8)",
    "best_move": f"Tuple((i8, u8, i8, f8))({_WEIGHTS}, u8, b1)",
    "train_games": (f"Tuple((u8, i8))({_WEIGHTS}, {_WEIGHTS}, {_WEIGHTS}, f8, b1, i8, u8, i8[::1], i8[::1])"),
    "play_games": f"void({_WEIGHTS}, u8[::1], b1, i8[::1], i8[::1], i8[::1])",
}
_CACHE_KEY = numba.types.UniTuple(numba.types.uint64, 2)  # (afterstate, plies left)


class Kernels:
    """The kernels of one network shape (pattern runs and stage thresholds), compiled with that shape
    as constants: LLVM then folds every index into a few fixed shifts and masks, which trains about
    4x faster than reading the runs from an array. numba caches closures like module functions (the
    constants are part of the cache key). The search kernels are recursive, which the cache cannot
    hold, so they are compiled on first use (a few seconds). Every kernel releases the GIL.

    value(weights, board) -> V(board), summed over the 8 symmetries and the patterns
    td_update(weights, board, step): add `step` to every weight the board looks up (a weight hit by
        two symmetries gets it twice)
    tc_update(weights, sums, magnitudes, board, alpha, error): temporal coherence; each weight moves
        by alpha * error * |A| / B, A the sum of the errors it received and B the sum of their sizes
        (ratio 1 while B is 0)
    best_move(weights, board, downgrading) -> (action maximising reward + V(afterstate), that
        afterstate, its reward, that value); action -1 when no move is legal
    train_games(weights, sums, magnitudes, alpha, coherence, games, rng, scores, tops) -> (rng,
        moves): play greedily and learn online from every move, TD(0) on afterstates or TC when
        `coherence`; alpha is split evenly over the features a board looks up. Threads may train
        one shared network at once.
    play_games(weights, rngs, downgrading, scores, tops, lengths): greedy 1-ply games, game g
        started from generator state rngs[g], learning nothing
    search: (expectimax_move, search_games), see there.
    """

    def __init__(self, runs: tuple, stages: tuple) -> None:
        self.runs, self.stages = runs, stages

        def value(weights, board):
            return _value(weights, runs, stages, board)

        def td_update(weights, board, step):
            _td_update(weights, runs, stages, board, step)

        def tc_update(weights, sums, magnitudes, board, alpha, error):
            _tc_update(weights, sums, magnitudes, runs, stages, board, alpha, error)

        def best_move(weights, board, downgrading):
            return _best_move(weights, runs, stages, board, downgrading)

        def train_games(weights, sums, magnitudes, alpha, coherence, games, rng, scores, tops):
            return _train_games(
                weights, sums, magnitudes, runs, stages, alpha, coherence, games, rng, scores, tops
            )

        def play_games(weights, rngs, downgrading, scores, tops, lengths):
            _play_games(weights, runs, stages, rngs, downgrading, scores, tops, lengths)

        def jit(function):
            return numba.njit(_SIGNATURES[function.__name__], cache=True, nogil=True)(function)

        self.value, self.td_update, self.tc_update = jit(value), jit(td_update), jit(tc_update)
        self.best_move, self.train_games = jit(best_move), jit(train_games)
        self.play_games = jit(play_games)

    @functools.cached_property
    def search(self) -> tuple[Callable, Callable]:
        """(expectimax_move, search_games), compiled on first use.

        expectimax_move(weights, board, depth, downgrading) -> (action, value): the move of a
        `depth`-ply expectimax over afterstates (1-ply is the greedy choice) with the network at the
        leaves, after tile-downgrading if asked; action -1 when no move is legal. Max nodes take the
        best reward plus the value below, a finished game is worth 0; chance nodes (afterstates)
        average over every empty cell and new tile (2: 0.9, 4: 0.1), remembered per (afterstate,
        plies left) for the whole move.
        search_games(weights, rngs, depth, downgrading, scores, tops, lengths): play_games with it.
        """
        runs, stages = self.runs, self.stages

        @numba.njit
        def node(weights, board, depth, downgrading, chance, cache):
            # (action, value) of a max node, (-1, value) of a chance node; one self-recursive
            # function because numba cannot compile closures that call each other recursively.
            other = not chance  # a variable, not a literal, keeps every call on one specialisation
            if chance:
                key = (board, np.uint64(depth))
                if key in cache:
                    return -1, cache[key]
                total, empty = 0.0, 0
                for i in range(16):
                    shift = np.uint64(4 * i)
                    if (board >> shift) & np.uint64(15):
                        continue
                    empty += 1
                    for tile, p in ((np.uint64(1), 0.9), (np.uint64(2), 0.1)):
                        spawned = board | (tile << shift)
                        total += p * node(weights, spawned, depth, downgrading, other, cache)[1]
                result = total / empty if empty else 0.0
                cache[key] = result
                return -1, result
            best, best_action = -np.inf, -1
            for a in range(4):
                after, reward = board_engine.move(board, a)
                if after == board:
                    continue
                if depth == 1:
                    leaf = downgrade(after) if downgrading else after
                    v = reward + _value(weights, runs, stages, leaf)
                else:
                    v = reward + node(weights, after, depth - 1, downgrading, other, cache)[1]
                if v > best:
                    best, best_action = v, a
            return best_action, (best if best_action >= 0 else 0.0)

        @numba.njit(f"Tuple((i8, f8))({_WEIGHTS}, u8, i8, b1)", nogil=True)
        def expectimax_move(weights, board, depth, downgrading):
            cache = numba.typed.Dict.empty(key_type=_CACHE_KEY, value_type=numba.types.float64)
            chance = False
            return node(weights, board, depth, downgrading, chance, cache)

        @numba.njit(f"void({_WEIGHTS}, u8[::1], i8, b1, i8[::1], i8[::1], i8[::1])", nogil=True)
        def search_games(weights, rngs, depth, downgrading, scores, tops, lengths):
            for g in range(rngs.shape[0]):
                board, rng = board_engine.new_game(rngs[g])
                score, length = 0, 0
                while True:
                    action, _ = expectimax_move(weights, board, depth, downgrading)
                    if action < 0:
                        break
                    after, reward = board_engine.move(board, action)
                    score += reward
                    length += 1
                    board, rng = board_engine.spawn(after, rng)
                scores[g], tops[g], lengths[g] = score, board_engine.max_exponent(board), length

        return expectimax_move, search_games


@functools.cache
def _kernels_for(runs: tuple, stages: tuple) -> Kernels:
    return Kernels(runs, stages)


def kernels(patterns: np.ndarray, stage_exponents: tuple[int, ...] = (0,)) -> Kernels:
    """The compiled kernels of a pattern set (from `parse_patterns`) and stage thresholds (tile
    exponents, ascending, the first 0), built once per process."""
    stages = tuple(int(e) for e in stage_exponents)
    if not stages or stages[0] != 0 or list(stages) != sorted(set(stages)):
        raise ValueError(f"stage thresholds must be ascending tile exponents starting at 0, got {stages}")
    return _kernels_for(pattern_runs(np.asarray(patterns)), stages)

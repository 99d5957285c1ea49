"""The n-tuple network engine: symmetries, isomorphic values, TD / TC updates, OI, stages, learning."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridworlds.agents.game2048 import ntuple_network as nt
from gridworlds.engines import game2048 as board_engine
from gridworlds.engines.rng import seed_state

SMALL = ("0123", "4567", "0145", "1256")  # 4-cell patterns: 65,536 weights each, quick to train
boards = st.integers(min_value=0, max_value=2**64 - 1)


def grid(board):
    out = np.empty((4, 4), dtype=np.int8)
    board_engine.board_to_grid(board, out)
    return out


def random_network(patterns=SMALL, stages=(0,), seed=0):
    cells = nt.parse_patterns(patterns)
    weights = nt.new_weights(cells, len(stages))
    weights[:] = np.random.default_rng(seed).normal(size=weights.shape).astype(np.float32)
    return cells, nt.kernels(cells, stages), weights


def reference_value(weights, cells, board, stage=0):
    """Sum over the 8 dihedral transforms of the grid and over the patterns, from numpy grids."""
    g = grid(board)
    total = 0.0
    for transposed in (g, g.T):
        for variant in (transposed, transposed[:, ::-1], transposed[::-1], transposed[::-1, ::-1]):
            flat = variant.ravel()
            for t, pattern in enumerate(cells):
                index = sum(int(flat[c]) << (4 * j) for j, c in enumerate(pattern))
                total += float(weights[stage, t, index])
    return total


def test_presets_and_bad_patterns():
    assert nt.parse_patterns("4x6").shape == (4, 6)
    assert nt.parse_patterns("8x6").shape == (8, 6)
    assert nt.parse_patterns(["012", "345"]).tolist() == [[0, 1, 2], [3, 4, 5]]
    for bad, message in [
        ("9x6", "one of"),
        (["01g"], "hex cells"),
        (["001"], "repeats"),
        (["01", "012"], "same length"),
    ]:
        with pytest.raises(ValueError, match=message):
            nt.parse_patterns(bad)


@settings(max_examples=200)
@given(board=boards)
def test_symmetric_boards_are_the_eight_dihedral_transforms(board):
    out = nt.symmetries(board)
    g = grid(board)
    expected = {v.tobytes() for base in (g, g.T) for v in (base, base[:, ::-1], base[::-1], base[::-1, ::-1])}
    assert {grid(b).tobytes() for b in out} == expected
    assert (grid(nt.mirror(board)) == g[:, ::-1]).all() and (grid(nt.flip(board)) == g[::-1]).all()


@pytest.mark.parametrize("patterns", [SMALL, ("5410", "fa98", "0fc3")])  # runs of cells, and none
@settings(max_examples=100)
@given(board=boards)
def test_value_is_the_same_for_all_eight_symmetric_boards_and_matches_a_slow_reference(patterns, board):
    cells, kernels, weights = random_network(patterns)
    value = kernels.value(weights, board)
    assert value == pytest.approx(reference_value(weights, cells, board), rel=1e-5, abs=1e-4)
    for other in nt.symmetries(board):
        assert kernels.value(weights, other) == pytest.approx(value, rel=1e-5, abs=1e-4)


def test_pattern_runs_group_cells_consecutive_in_the_pattern_and_on_the_board():
    runs = nt.pattern_runs(nt.parse_patterns(["012456", "01259a"]))
    assert runs == (
        ((0, 0xFFF, 0), (16, 0xFFF, 12), (0, 0, 0)),  # padded to the longest
        ((0, 0xFFF, 0), (20, 0xF, 12), (36, 0xFF, 16)),
    )


def test_td_update_moves_every_looked_up_weight_by_the_step():
    # One 1-cell pattern on cell 0: the 8 transforms put each of the 4 corners there twice.
    cells = nt.parse_patterns(["0"])
    kernels, weights = nt.kernels(cells), nt.new_weights(cells, 1)
    board = board_engine.grid_to_board(np.array([[1, 0, 0, 2], [0] * 4, [0] * 4, [3, 0, 0, 1]]))
    kernels.td_update(weights, board, 0.5)
    # Corner exponents 1, 2, 3, 1: exponent 1 is looked up 4 times, 2 and 3 twice each.
    assert weights[0, 0, :4].tolist() == [0.0, 2.0, 1.0, 1.0]
    assert kernels.value(weights, board) == 4 * 2.0 + 2 * 1.0 + 2 * 1.0


def test_one_td_step_by_hand():
    """V(a) += alpha/features * (target - V(a)): with a zero network and target 64, every looked-up
    weight gains alpha * 64 / 8 for each time it is looked up."""
    cells = nt.parse_patterns(["0"])
    kernels, weights = nt.kernels(cells), nt.new_weights(cells, 1)
    board = board_engine.grid_to_board(np.array([[1, 0, 0, 1], [0] * 4, [0] * 4, [1, 0, 0, 1]]))
    alpha, target = 0.1, 64.0
    error = target - kernels.value(weights, board)
    kernels.td_update(weights, board, alpha / 8 * error)
    assert weights[0, 0, 1] == pytest.approx(8 * alpha / 8 * 64.0)  # all 8 lookups hit exponent 1
    assert kernels.value(weights, board) == pytest.approx(8 * 6.4)


def test_tc_first_step_equals_td_and_later_steps_shrink_when_errors_disagree():
    cells = nt.parse_patterns(["0"])
    kernels = nt.kernels(cells)
    board = board_engine.grid_to_board(np.array([[1, 0, 0, 1], [0] * 4, [0] * 4, [1, 0, 0, 1]]))
    weights = nt.new_weights(cells, 1)
    sums, magnitudes = np.zeros_like(weights), np.zeros_like(weights)
    kernels.tc_update(weights, sums, magnitudes, board, 0.125, 8.0)
    # First ratio |A| / B = 1: each of the 8 lookups adds 0.125 * 8 = 1, and A = B = 8 * 8.
    assert weights[0, 0, 1] == pytest.approx(8.0)
    assert sums[0, 0, 1] == magnitudes[0, 0, 1] == 64.0
    kernels.tc_update(weights, sums, magnitudes, board, 0.125, -8.0)
    # Hand-worked: lookup n (n = 1..8) of the second update sees A = 64 - 8(n-1), B = 64 + 8(n-1),
    # and steps by 0.125 * -8 * |A| / B.
    expected = 8.0 + sum(-1.0 * (64 - 8 * n) / (64 + 8 * n) for n in range(8))
    assert weights[0, 0, 1] == pytest.approx(expected, rel=1e-5)
    assert (sums[0, 0, 1], magnitudes[0, 0, 1]) == (0.0, 128.0)


def test_optimistic_initialisation_values_every_board_at_v_init():
    cells = nt.parse_patterns(SMALL)
    weights = nt.new_weights(cells, 2, v_init=320_000.0)
    kernels = nt.kernels(cells, (0, 11))
    assert weights[0, 0, 0] == 320_000 / (4 * 8)  # spread over 4 patterns x 8 symmetries
    rng = seed_state(0)
    for _ in range(20):
        board, rng = board_engine.new_game(rng)
        assert kernels.value(weights, board) == pytest.approx(320_000.0, rel=1e-6)


def test_stages_switch_at_their_tile():
    stages = (0, 11, 13)  # new tables from 2048, and again from 8192
    for top, stage in [(10, 0), (11, 1), (12, 1), (13, 2), (15, 2)]:
        board = board_engine.grid_to_board(np.array([[top, 1, 0, 0], [0] * 4, [0] * 4, [0] * 4]))
        assert nt.stage_of(board, stages) == stage
    cells, kernels, weights = random_network(stages=stages)
    board = board_engine.grid_to_board(np.array([[11, 1, 0, 0], [0] * 4, [0] * 4, [0] * 4]))
    assert kernels.value(weights, board) == pytest.approx(
        reference_value(weights, cells, board, stage=1), rel=1e-5, abs=1e-4
    )
    kernels.td_update(weights, board, 1.0)  # learning on a stage-1 board leaves stage 0 alone
    assert kernels.value(weights, board) == pytest.approx(
        reference_value(weights, cells, board, stage=1), rel=1e-5, abs=1e-4
    )
    for bad in [(11,), (0, 13, 11), (0, 11, 11)]:
        with pytest.raises(ValueError, match="stage thresholds"):
            nt.kernels(cells, bad)


def test_short_td_training_beats_random_play_and_is_deterministic():
    cells = nt.parse_patterns(SMALL)
    kernels = nt.kernels(cells)
    unused = np.ones((1, 1, 1), dtype=np.float32)

    def train(seed):
        weights = nt.new_weights(cells, 1)
        scores, tops = np.zeros(1500, dtype=np.int64), np.zeros(1500, dtype=np.int64)
        kernels.train_games(weights, unused, unused, 0.1, False, 1500, seed_state(seed), scores, tops)
        return weights, scores

    weights, scores = train(0)
    again, scores_again = train(0)
    assert (scores == scores_again).all() and np.array_equal(weights, again)
    trained = np.zeros(200, dtype=np.int64)
    tops, lengths = np.zeros(200, dtype=np.int64), np.zeros(200, dtype=np.int64)
    rngs = np.array([seed_state(99 + k) for k in range(200)], dtype=np.uint64)
    kernels.play_games(weights, rngs, False, trained, tops, lengths)
    # Random play averages about 1,100 (experiments/2048-baselines.toml); learning is well past it.
    assert trained.mean() > 3 * 1100 and scores[-300:].mean() > scores[:300].mean()


def test_downgrade_lowers_the_tiles_above_the_first_missing_value():
    # 32768 16384 8 2 / 4 . . . : 16 (exponent 4) is the smallest value missing below 32768.
    board = board_engine.grid_to_board(np.array([[15, 14, 3, 1], [2, 0, 0, 0], [0] * 4, [0] * 4]))
    assert grid(nt.downgrade(board)).tolist() == [[14, 13, 3, 1], [2, 0, 0, 0], [0] * 4, [0] * 4]
    small = board_engine.grid_to_board(np.array([[14, 12, 3, 1], [0] * 4, [0] * 4, [0] * 4]))
    assert nt.downgrade(small) == small  # no 32768: nothing to do
    full = board_engine.grid_to_board(np.arange(1, 17).clip(max=15).reshape(4, 4))
    assert nt.downgrade(full) == full  # every value below the top is there: nothing is missing


def reference_expectimax(weights, kernels, board, depth, downgrading):
    """The recursion of docs/2048.md written plainly, without the cache."""

    def leaf(b):
        return kernels.value(weights, nt.downgrade(b) if downgrading else b)

    def max_node(b, d):
        values = []
        for a in range(4):
            after, reward = board_engine.move(b, a)
            if after != b:
                values.append(reward + (leaf(after) if d == 1 else chance(after, d - 1)))
        return max(values) if values else 0.0

    def chance(after, d):
        cells = [i for i in range(16) if not (int(after) >> (4 * i)) & 15]
        total = sum(
            p * max_node(np.uint64(int(after) | (tile << (4 * i))), d)
            for i in cells
            for tile, p in ((1, 0.9), (2, 0.1))
        )
        return total / len(cells)

    return max_node(board, depth)


@pytest.mark.parametrize("downgrading", [False, True])
def test_expectimax_matches_brute_force_and_its_first_ply_is_greedy(downgrading):
    cells, kernels, weights = random_network(seed=2)
    expectimax_move, _ = kernels.search
    rng = seed_state(5)
    for trial in range(4):
        board, rng = board_engine.new_game(rng)
        for _ in range(8 * trial):  # from the opening to a fuller board
            after, _ = board_engine.move(board, int(trial % 4))
            board, rng = board_engine.spawn(after if after != board else board, rng)
        if downgrading:
            board = np.uint64(int(board) | (15 << 60))  # a 32768 in the last cell
        action, greedy_value = expectimax_move(weights, board, 1, downgrading)
        best = kernels.best_move(weights, board, downgrading)
        assert (action, greedy_value) == (best[0], pytest.approx(best[3]))
        _, searched = expectimax_move(weights, board, 2, downgrading)
        assert searched == pytest.approx(reference_expectimax(weights, kernels, board, 2, downgrading))

"""The 2048 engine against hand-worked boards and against a plain-Python reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridworlds.engines import game2048 as engine
from gridworlds.engines.rng import next_below, next_float, seed_state

UP, RIGHT, DOWN, LEFT = engine.UP, engine.RIGHT, engine.DOWN, engine.LEFT


def board_of(rows):
    """A board from a 4x4 list of tile values (0 = empty)."""
    grid = np.array([[0 if v == 0 else int(v).bit_length() - 1 for v in row] for row in rows])
    return engine.grid_to_board(grid)


def tiles_of(board):
    grid = np.empty((4, 4), dtype=np.int8)
    engine.board_to_grid(board, grid)
    return [[0 if e == 0 else 1 << int(e) for e in row] for row in grid]


# --- a plain-Python reference of the rules, written from docs/2048.md, independent of the tables ---


def reference_slide_left(row):
    tiles = [t for t in row if t]
    out, reward, i = [], 0, 0
    while i < len(tiles):
        if i + 1 < len(tiles) and tiles[i] == tiles[i + 1] and tiles[i] < 15:
            out.append(tiles[i] + 1)
            reward += 2 ** (tiles[i] + 1)
            i += 2
        else:
            out.append(tiles[i])
            i += 1
    return out + [0] * (4 - len(out)), reward


def reference_move(grid, action):
    """grid: 4x4 exponents. Rotate so the move is a slide left, slide, rotate back."""
    g = np.array(grid)
    turns = {LEFT: 0, UP: 1, RIGHT: 2, DOWN: 3}[action]  # np.rot90 turns counter-clockwise
    g = np.rot90(g, turns)
    reward, rows = 0, []
    for row in g:
        slid, r = reference_slide_left(list(row))
        rows.append(slid)
        reward += r
    return np.rot90(np.array(rows), -turns), reward


boards = st.integers(min_value=0, max_value=2**64 - 1)
sparse_boards = st.lists(st.integers(0, 4), min_size=16, max_size=16).map(
    lambda cells: engine.grid_to_board(np.array(cells).reshape(4, 4))
)


# --- hand-worked boards ---


def test_action_order_is_up_right_down_left():
    board = board_of([[0, 0, 0, 0], [0, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    expected = {
        UP: [[0, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        RIGHT: [[0, 0, 0, 0], [0, 0, 0, 2], [0, 0, 0, 0], [0, 0, 0, 0]],
        DOWN: [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 2, 0, 0]],
        LEFT: [[0, 0, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    }
    for action, tiles in expected.items():
        after, reward = engine.move(board, action)
        assert tiles_of(after) == tiles, engine.ACTION_NAMES[action]
        assert reward == 0


@pytest.mark.parametrize(
    "row, action, expected, reward",
    [
        ([2, 2, 2, 2], LEFT, [4, 4, 0, 0], 8),  # two merges, each pair once
        ([2, 2, 4, 0], LEFT, [4, 4, 0, 0], 4),  # the new 4 does not merge again in the same move
        ([2, 2, 2, 0], LEFT, [4, 2, 0, 0], 4),  # the pair nearest the wall merges first
        ([2, 2, 2, 0], RIGHT, [0, 0, 2, 4], 4),
        ([4, 0, 4, 8], LEFT, [8, 8, 0, 0], 8),  # gaps close before merging
        ([8, 4, 4, 8], RIGHT, [0, 8, 8, 8], 8),
        ([2, 4, 8, 16], LEFT, [2, 4, 8, 16], 0),  # nothing moves: illegal
        ([32768, 32768, 0, 0], LEFT, [32768, 32768, 0, 0], 0),  # the 4-bit board cannot hold 65536
    ],
)
def test_row_moves(row, action, expected, reward):
    board = board_of([row, [0] * 4, [0] * 4, [0] * 4])
    after, got = engine.move(board, action)
    assert tiles_of(after)[0] == expected
    assert got == reward


def test_column_moves_merge_towards_the_wall():
    board = board_of([[2, 0, 0, 0], [2, 0, 0, 0], [2, 0, 0, 0], [4, 0, 0, 0]])
    up, reward_up = engine.move(board, UP)
    down, reward_down = engine.move(board, DOWN)
    assert [row[0] for row in tiles_of(up)] == [4, 2, 4, 0]
    assert [row[0] for row in tiles_of(down)] == [0, 2, 4, 4]
    assert reward_up == reward_down == 4


def test_game_over_board_has_no_legal_move():
    board = board_of([[2, 4, 2, 4], [4, 2, 4, 2], [2, 4, 2, 4], [4, 2, 4, 2]])
    assert engine.legal_bits(board) == 0
    after, rng, reward, moved, legal = engine.step(board, seed_state(0), LEFT)
    assert after == board and not moved and reward == 0 and legal == 0


def test_illegal_step_spawns_nothing_and_keeps_the_generator():
    board = board_of([[2, 4, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    rng = seed_state(3)
    after, rng_after, reward, moved, _ = engine.step(board, rng, LEFT)
    assert (after, rng_after, reward, moved) == (board, rng, 0, False)


def test_legal_step_spawns_exactly_one_tile():
    board = board_of([[2, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    after, _, reward, moved, _ = engine.step(board, seed_state(3), LEFT)
    afterstate, _ = engine.move(board, LEFT)
    assert moved and reward == 4
    changed = [
        (new, old)
        for new, old in zip(np.ravel(tiles_of(after)), np.ravel(tiles_of(afterstate)), strict=True)
        if new != old
    ]
    assert len(changed) == 1
    new, old = changed[0]
    assert old == 0 and new in (2, 4)


def test_new_game_has_two_tiles():
    for seed in range(50):
        board, _ = engine.new_game(seed_state(seed))
        assert engine.count_empty(board) == 14


def test_spawn_frequencies():
    """A 4 one time in ten, and every empty cell equally likely."""
    rng = seed_state(0)
    empty = board_of([[2, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    fours, cells, n = 0, np.zeros(16), 20000
    for _ in range(n):
        board, rng = engine.spawn(empty, rng)
        new = board ^ empty
        cell = (int(new).bit_length() - 1) // 4
        cells[cell] += 1
        fours += (int(new) >> (4 * cell)) == 2
    assert abs(fours / n - 0.1) < 0.01
    assert cells[0] == 0
    assert np.all(np.abs(cells[1:] / n - 1 / 15) < 0.01)


def test_afterstates_and_legal_bits_agree():
    board = board_of([[2, 0, 0, 0], [4, 0, 0, 0], [8, 0, 0, 0], [16, 0, 0, 0]])
    afters, rewards, legal = engine.afterstates(board)
    assert legal.tolist() == [False, True, False, False]
    assert engine.legal_bits(board) == 1 << RIGHT
    assert afters[LEFT] == board and rewards.tolist() == [0, 0, 0, 0]


# --- the tables and bit tricks against the reference, on many boards ---


@settings(max_examples=400)
@given(board=boards)
def test_transpose_matches_numpy(board):
    grid = np.empty((4, 4), dtype=np.int8)
    engine.board_to_grid(board, grid)
    transposed = np.empty((4, 4), dtype=np.int8)
    engine.board_to_grid(engine.transpose(board), transposed)
    assert (transposed == grid.T).all()


@settings(max_examples=400)
@given(board=st.one_of(boards, sparse_boards), action=st.integers(0, 3))
def test_moves_match_reference(board, action):
    grid = np.empty((4, 4), dtype=np.int8)
    engine.board_to_grid(board, grid)
    expected_grid, expected_reward = reference_move(grid.astype(int), action)
    after, reward = engine.move(board, action)
    got = np.empty((4, 4), dtype=np.int8)
    engine.board_to_grid(after, got)
    assert (got == expected_grid).all()
    assert reward == expected_reward
    assert bool((engine.legal_bits(board) >> action) & 1) == (not (expected_grid == grid).all())


@settings(max_examples=100)
@given(board=boards)
def test_grid_round_trip(board):
    grid = np.empty((4, 4), dtype=np.int8)
    engine.board_to_grid(board, grid)
    assert engine.grid_to_board(grid) == board


def test_batched_step_equals_single_steps():
    n, steps = 64, 200
    rngs = np.array([seed_state(i) for i in range(n)], dtype=np.uint64)
    boards = np.zeros(n, dtype=np.uint64)
    legal = np.zeros(n, dtype=np.uint8)
    engine.new_game_batch(boards, rngs, legal)
    singles = [engine.new_game(seed_state(i)) for i in range(n)]
    actions = np.random.default_rng(0).integers(0, 4, size=(steps, n))
    rewards, moved = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    for t in range(steps):
        restart = legal == 0
        engine.step_batch(boards, rngs, actions[t], restart, rewards, moved, legal)
        for i in range(n):
            board, rng = singles[i]
            if restart[i]:
                board, rng = engine.new_game(rng)
                expected = (board, rng, 0, False, engine.legal_bits(board))
            else:
                expected = engine.step(board, rng, actions[t, i])
            singles[i] = expected[:2]
            assert (boards[i], rngs[i], rewards[i], moved[i], legal[i]) == expected


def test_random_play_finishes_games_and_stays_valid():
    n = 16
    rngs = np.array([seed_state(i) for i in range(n)], dtype=np.uint64)
    boards = np.zeros(n, dtype=np.uint64)
    engine.new_game_batch(boards, rngs, np.zeros(n, dtype=np.uint8))
    finished = engine.play_random_batch(boards, rngs, 2000)
    # Random play ends a game in about a hundred-odd moves.
    assert 16 * 2000 / 400 < finished < 16 * 2000 / 50
    assert all(engine.count_empty(b) < 16 for b in boards)


def test_generator_is_deterministic_and_in_range():
    assert seed_state(7) == seed_state(7) and seed_state(7) != seed_state(8)
    state, values = seed_state(1), []
    for _ in range(1000):
        state, k = next_below(state, 5)
        state, u = next_float(state)
        values.append(k)
        assert 0.0 <= u < 1.0
    assert set(values) == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError, match="seed"):
        seed_state(-1)

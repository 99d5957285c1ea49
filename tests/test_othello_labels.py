"""OthelloGPT position labels: hand-made stability positions, plain-Python references of both
stability computations, every label against the engine along real random games, and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from othello_boards import bitboard, squares_of

from gridworlds.engines import othello as engine
from gridworlds.engines import othello_labels as labels
from gridworlds.engines.rng import seed_state

LINES = [(0, 1), (1, 0), (1, 1), (1, -1)]  # horizontal, vertical, the two diagonals (one way each)
NEIGHBOURS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def random_games(count, seed):
    """(tokens uint8 [count, 60], lengths uint8 [count], squares int8 [count, 60]) of random games."""
    squares = np.empty((count, engine.MAX_MOVES), dtype=np.int8)
    lengths, _ = engine.random_games(count, seed_state(seed), squares)
    tokens = np.where(squares >= 0, engine.SQUARE_TO_TOKEN[squares], engine.PAD_TOKEN).astype(np.uint8)
    return tokens, lengths.astype(np.uint8), squares


def replayed(squares, length):
    """engine.replay of one game: black [length], white [length], movers [length]."""
    black = np.zeros(length, dtype=np.uint64)
    white = np.zeros(length, dtype=np.uint64)
    movers = np.zeros(length, dtype=np.int8)
    assert engine.replay(squares.astype(np.int64), length, black, white, movers) == length
    return black, white, movers


# --- plain-Python references on an 8x8 grid of 0 empty, 1 black, 2 white ---


def grid_of(black, white):
    grid = [[0] * 8 for _ in range(8)]
    for s in squares_of(black):
        grid[s // 8][s % 8] = 1
    for s in squares_of(white):
        grid[s // 8][s % 8] = 2
    return grid


def on_board(r, c):
    return 0 <= r < 8 and 0 <= c < 8


def reference_stable_rule(black, white):
    """The rule straight from its definition, grown one disc at a time until nothing changes."""
    grid = grid_of(black, white)
    stable = [[False] * 8 for _ in range(8)]

    def line_is_full(r, c, dr, dc):
        for sign in (1, -1):
            rr, cc = r + sign * dr, c + sign * dc
            while on_board(rr, cc):
                if grid[rr][cc] == 0:
                    return False
                rr, cc = rr + sign * dr, cc + sign * dc
        return True

    def protected_by_a_neighbour(r, c, dr, dc):
        for sign in (1, -1):
            rr, cc = r + sign * dr, c + sign * dc
            if not on_board(rr, cc) or (stable[rr][cc] and grid[rr][cc] == grid[r][c]):
                return True
        return False

    changed = True
    while changed:
        changed = False
        for r in range(8):
            for c in range(8):
                if grid[r][c] == 0 or stable[r][c]:
                    continue
                if all(line_is_full(r, c, *d) or protected_by_a_neighbour(r, c, *d) for d in LINES):
                    stable[r][c] = True
                    changed = True
    return [8 * r + c for r in range(8) for c in range(8) if stable[r][c]]


def othellosae_stability_map(black, white):
    """OthelloSAE's compute_stability_maps for one board, step by step as published (x is the row),
    its interior step included."""
    board = grid_of(black, white)
    stable = [[0] * 8 for _ in range(8)]
    for x, y in [(0, 0), (0, 7), (7, 0), (7, 7)]:
        if board[x][y] != 0:
            stable[x][y] = 1
    for x in (0, 7):
        for y in range(8):
            if board[x][y] != 0 and ((y > 0 and stable[x][y - 1]) or (y < 7 and stable[x][y + 1])):
                stable[x][y] = 1
    for y in (0, 7):
        for x in range(8):
            if board[x][y] != 0 and ((x > 0 and stable[x - 1][y]) or (x < 7 and stable[x + 1][y])):
                stable[x][y] = 1
    for x in range(1, 7):
        for y in range(1, 7):
            if board[x][y] != 0 and all(stable[x + dx][y + dy] for dx, dy in NEIGHBOURS):
                stable[x][y] = 1
    return [8 * x + y for x in range(8) for y in range(8) if stable[x][y]]


# --- hand-made positions ---

A1, B1, C1, F1, G1, H1 = 0, 1, 2, 5, 6, 7
A2, B2, A3 = 8, 9, 16
A6, A7, A8, H8 = 40, 48, 56, 63
TOP_ROW = list(range(8))
EDGES = sorted({s for s in range(64) if s // 8 in (0, 7) or s % 8 in (0, 7)})


@pytest.mark.parametrize(
    "black, white, rule, heuristic",
    [
        pytest.param(TOP_ROW[::2], TOP_ROW[1::2], TOP_ROW, TOP_ROW, id="full top row, mixed colours"),
        pytest.param([], [H8], [H8], [H8], id="lone corner"),
        pytest.param([B1], [], [], [], id="lone edge disc"),
        pytest.param([A1, B1], [], [A1, B1], [A1, B1], id="edge disc beside its own corner"),
        pytest.param([B1], [A1], [A1], [A1, B1], id="edge disc beside the opponent's corner"),
        pytest.param(
            [A1, B1, C1, A2, B2, A3],
            [],
            [A1, B1, C1, A2, B2, A3],
            [A1, B1, C1, A2, A3],
            id="interior disc held by stable discs on every line",
        ),
        pytest.param(
            [A1, B1, C1, F1, G1, H1],
            [],
            [A1, B1, C1, F1, G1, H1],
            [A1, B1, C1, G1, H1],
            id="heuristic grows a row rightwards only",
        ),
        pytest.param([A6, A7, A8], [], [A6, A7, A8], [A7, A8], id="heuristic grows a column downwards only"),
        pytest.param(
            [s for s in range(64) if (s // 8 + s % 8) % 3 == 0],
            [s for s in range(64) if (s // 8 + s % 8) % 3 != 0],
            list(range(64)),
            EDGES,
            id="full board: every line full; the heuristic never marks an interior square",
        ),
    ],
)
def test_hand_made_positions(black, white, rule, heuristic):
    black, white = bitboard(black), bitboard(white)
    assert squares_of(labels.stable_by_rule(black, white)) == rule
    assert squares_of(labels.stable_by_heuristic(black | white)) == heuristic
    assert reference_stable_rule(black, white) == rule
    assert othellosae_stability_map(black, white) == heuristic


def test_an_opponent_disc_on_the_line_does_not_protect():
    # White b2 between black a1 (stable) and the empty c3 along the diagonal: a black move on c3 flips it.
    black, white = bitboard([A1]), bitboard([B1, A2, B2])
    assert squares_of(labels.stable_by_rule(black, white)) == [A1]


# --- both stability computations against their references on a few hundred positions ---


def sample_positions():
    """Boards of every kind: along random games, and random fillings from nearly empty to full."""
    tokens, lengths, squares = random_games(20, seed=11)
    positions = []
    for game in range(20):
        black, white, _ = replayed(squares[game], lengths[game])
        positions += list(zip(black[::6], white[::6], strict=True))
    rng = np.random.default_rng(12)
    for empty_share in np.linspace(0.0, 0.9, 200):
        cells = rng.choice(3, size=64, p=[empty_share, (1 - empty_share) / 2, (1 - empty_share) / 2])
        positions.append((bitboard(np.flatnonzero(cells == 1)), bitboard(np.flatnonzero(cells == 2))))
    return positions


def test_stability_matches_the_references():
    positions = sample_positions()
    assert len(positions) > 300
    rule_counts = []
    for black, white in positions:
        expected = reference_stable_rule(black, white)
        assert squares_of(labels.stable_by_rule(black, white)) == expected
        assert squares_of(labels.stable_by_heuristic(black | white)) == othellosae_stability_map(black, white)
        rule_counts.append(len(expected))
    # The positions exercise the rule: some have no stable disc, some a great many.
    assert min(rule_counts) == 0 and max(rule_counts) >= 40


# --- every label along real games ---


def test_labels_follow_a_game_with_a_pass():
    tokens, lengths, squares = random_games(50, seed=3)
    # A game in which one player moves twice in a row: the other passed in between.
    game = next(i for i in range(50) if (np.diff(replayed(squares[i], lengths[i])[2]) == 0).any())
    length = int(lengths[game])
    black, white, movers = replayed(squares[game], length)
    got = labels.board_labels(tokens[game : game + 1], lengths[game : game + 1])
    got = labels.BoardLabels(*(array[0] for array in got))  # the one game
    before_black, before_white = engine.START_BLACK, engine.START_WHITE
    for t in range(length):
        mover, square = movers[t], int(squares[game, t])
        if t + 1 < length:
            next_player = movers[t + 1]
        else:  # nobody can move: "mine" alternates as usual
            assert engine.game_over(black[t], white[t])
            next_player = 1 - mover
        assert got.next_player[t] == next_player
        mine, theirs = (black[t], white[t]) if next_player == engine.BLACK else (white[t], black[t])
        assert np.flatnonzero(got.relative[t] == labels.MINE).tolist() == squares_of(mine)
        assert np.flatnonzero(got.relative[t] == labels.THEIRS).tolist() == squares_of(theirs)
        assert np.flatnonzero(got.colour[t] == labels.BLACK_DISC).tolist() == squares_of(black[t])
        assert np.flatnonzero(got.colour[t] == labels.WHITE_DISC).tolist() == squares_of(white[t])
        me, opp = (before_black, before_white) if mover == engine.BLACK else (before_white, before_black)
        assert np.flatnonzero(got.flipped[t]).tolist() == squares_of(engine.flips(me, opp, square))
        assert np.flatnonzero(got.placed[t]).tolist() == [square]
        legal = engine.legal_moves(mine, theirs) if t + 1 < length else 0
        assert np.flatnonzero(got.legal_next[t]).tolist() == squares_of(legal)
        before_black, before_white = black[t], white[t]
    assert got.valid.tolist() == [t < length for t in range(engine.MAX_MOVES)]
    # After a pass "mine" stays with the player who moved, so it does not alternate there.
    passes = np.flatnonzero(np.diff(movers) == 0)
    assert (got.next_player[passes] == movers[passes]).all()
    assert (got.next_player[: length - 1] != movers[: length - 1]).sum() == length - 1 - len(passes)


def test_rows_past_the_end_are_empty_and_values_fit_their_classes():
    tokens, lengths, _ = random_games(30, seed=5)
    lengths[:10] = lengths[:10] // 2  # truncated games are positions too
    lengths[10] = 0
    got = labels.board_labels(tokens, lengths)
    assert got.valid.sum() == lengths.sum()
    assert got.next_player.dtype == np.int8 and not got.next_player[~got.valid].any()
    for name, classes in labels.LABEL_CLASSES.items():
        array = getattr(got, name)
        assert array.shape == (30, engine.MAX_MOVES, 64)
        assert array.dtype == (np.int8 if classes > 2 else np.bool_)
        assert array.min() >= 0 and array.max() == classes - 1
        assert not array[~got.valid].any()
    assert set(labels.LABEL_CLASSES) == set(labels.BoardLabels._fields) - {"valid", "next_player"}


def test_next_move_masks_are_legal_next():
    tokens, lengths, _ = random_games(200, seed=6)
    masks = labels.next_move_masks(tokens, lengths)
    got = labels.board_labels(tokens, lengths)
    assert masks.dtype == np.uint64 and masks.shape == (200, engine.MAX_MOVES)
    bits = (masks[..., None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    assert (bits.astype(bool) == got.legal_next).all()
    last = lengths.astype(np.int64) - 1
    assert (masks[np.arange(200), last] == 0).all()  # the games are played to the end
    assert (masks[~got.valid] == 0).all()


@settings(max_examples=15)
@given(seed=st.integers(0, 2**32))
def test_provably_stable_discs_never_flip(seed):
    tokens, lengths, _ = random_games(20, seed)
    got = labels.board_labels(tokens, lengths)
    occupied = got.colour != labels.EMPTY
    assert not (got.stable_rule & ~got.stable_final).any()
    assert not ((got.stable_rule | got.stable_heuristic | got.stable_final) & ~occupied).any()
    # stable_final, read from the colours alone: a disc keeps its colour at every later position.
    for game in range(20):
        colours = got.colour[game, : lengths[game]]
        unchanged_from_here = np.logical_and.accumulate((colours == colours[-1])[::-1], axis=0)[::-1]
        assert (
            got.stable_final[game, : lengths[game]] == (occupied[game, : lengths[game]] & unchanged_from_here)
        ).all()


# --- bad input ---


def test_illegal_games_raise_naming_the_game_and_the_move():
    tokens, lengths, squares = random_games(3, seed=7)
    bad = tokens.copy()
    bad[1, 0] = engine.SQUARE_TO_TOKEN[0]  # a1 is not a legal first move
    with pytest.raises(ValueError, match=r"game 1: move 1 \(token 1, square 0\) is not a legal move"):
        labels.next_move_masks(bad, lengths)
    bad = tokens.copy()
    bad[2, 9] = engine.PAD_TOKEN
    with pytest.raises(ValueError, match="game 2: move 10 is the padding token 0"):
        labels.board_labels(bad, lengths)
    bad = tokens.copy()
    bad[0, 20] = bad[0, 12]  # an occupied square
    with pytest.raises(ValueError, match="game 0: move 21"):
        labels.board_labels(bad, lengths)


def test_moving_after_the_end_is_illegal():
    tokens, lengths, squares = random_games(200, seed=8)
    game = int(np.flatnonzero(lengths < engine.MAX_MOVES)[0])  # a game that ends with empty squares left
    empty = sorted(set(engine.PLAYABLE.tolist()) - set(squares[game, : lengths[game]].tolist()))
    tokens, lengths = tokens[game : game + 1].copy(), lengths[game : game + 1].copy()
    tokens[0, lengths[0]] = engine.SQUARE_TO_TOKEN[empty[0]]
    lengths[0] += 1
    with pytest.raises(ValueError, match=f"game 0: move {lengths[0]} "):
        labels.next_move_masks(tokens, lengths)


@pytest.mark.parametrize(
    "tokens, lengths, message",
    [
        (np.zeros((2, 59), dtype=np.uint8), np.zeros(2), "tokens must be an integer array of shape"),
        (np.zeros((2, 60), dtype=np.float32), np.zeros(2), "tokens must be an integer array of shape"),
        (np.zeros((2, 60), dtype=np.uint8), np.zeros(3, dtype=np.uint8), "lengths must be an integer array"),
        (np.full((2, 60), 61, dtype=np.uint8), np.zeros(2, dtype=np.uint8), "tokens must lie in 0..60"),
        (np.zeros((2, 60), dtype=np.int64), np.array([0, 61]), "lengths must lie in 0..60"),
    ],
)
def test_malformed_input_raises(tokens, lengths, message):
    with pytest.raises(ValueError, match=message):
        labels.next_move_masks(tokens, lengths)


def test_no_games_and_games_of_no_moves():
    no_tokens, no_lengths = np.zeros((0, 60), dtype=np.uint8), np.zeros(0, dtype=np.uint8)
    assert labels.next_move_masks(no_tokens, no_lengths).shape == (0, 60)
    assert labels.board_labels(no_tokens, no_lengths).colour.shape == (0, 60, 64)
    got = labels.board_labels(np.zeros((1, 60), dtype=np.uint8), np.zeros(1, dtype=np.uint8))
    assert not got.valid.any() and not got.colour.any()

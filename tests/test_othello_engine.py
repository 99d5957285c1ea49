"""The Othello engine: perft, hand-made positions, and a plain-Python reference on random games."""

import numpy as np
import pytest
from othello_boards import bitboard, squares_of

from gridworlds.engines import othello as engine
from gridworlds.engines.rng import seed_state

DIRECTIONS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


# --- a plain-Python reference of the rules on an 8x8 list, written from the rules (docs/othello.md) ---


def reference_flips(me, opp, square):
    r0, c0 = divmod(square, 8)
    if (int(me) | int(opp)) >> square & 1:
        return set()
    flipped = set()
    for dr, dc in DIRECTIONS:
        line, r, c = [], r0 + dr, c0 + dc
        while 0 <= r < 8 and 0 <= c < 8 and (int(opp) >> (8 * r + c)) & 1:
            line.append(8 * r + c)
            r, c = r + dr, c + dc
        if line and 0 <= r < 8 and 0 <= c < 8 and (int(me) >> (8 * r + c)) & 1:
            flipped.update(line)
    return flipped


def reference_legal(me, opp):
    return [s for s in range(64) if reference_flips(me, opp, s)]


def test_start_position_and_first_moves():
    assert squares_of(engine.START_BLACK) == [28, 35]  # e4, d5
    assert squares_of(engine.START_WHITE) == [27, 36]  # d4, e5
    assert squares_of(engine.legal_moves(engine.START_BLACK, engine.START_WHITE)) == [19, 26, 37, 44]


def test_perft_matches_published_counts():
    expected = [4, 12, 56, 244, 1396, 8200, 55092, 390216]
    got = [engine.perft(engine.START_BLACK, engine.START_WHITE, d) for d in range(1, 9)]
    assert got == expected


def test_a_move_flips_every_bracketed_line_in_all_eight_directions():
    centre = 8 * 3 + 3  # d4
    opp = [8 * (3 + dr) + 3 + dc for dr, dc in DIRECTIONS]
    me = [8 * (3 + 2 * dr) + 3 + 2 * dc for dr, dc in DIRECTIONS]
    after_me, after_opp = engine.play(bitboard(me), bitboard(opp), centre)
    assert squares_of(after_me) == sorted(me + opp + [centre])
    assert after_opp == 0


def test_unbracketed_lines_do_not_flip():
    # d4 to play; an opponent run to the east ends on an empty square, one to the south on the edge.
    me = bitboard([3 * 8 + 0])  # a4: brackets the westward line only
    opp = bitboard([3 * 8 + 1, 3 * 8 + 2, 3 * 8 + 4, 3 * 8 + 5, 4 * 8 + 3, 5 * 8 + 3, 6 * 8 + 3, 7 * 8 + 3])
    assert squares_of(engine.flips(me, opp, 3 * 8 + 3)) == [3 * 8 + 1, 3 * 8 + 2]


def test_lines_do_not_wrap_round_the_board_edge():
    # h1 to play: a2 lies right after h1 in square order, but east of h1 is off the board.
    me, opp = bitboard([9]), bitboard([8])  # b2 mine, a2 theirs
    assert engine.flips(me, opp, 7) == 0
    assert 7 not in squares_of(engine.legal_moves(me, opp))
    me, opp = bitboard([14]), bitboard([15])  # g2 mine, h2 theirs: west of a3 is off the board too
    assert engine.flips(me, opp, 16) == 0


def test_pass_and_game_end():
    # Black's b2 is walled in by white discs on the edge: black cannot move; white can (c3 takes b2).
    black, white = bitboard([9]), bitboard([0, 1, 2, 8])
    assert engine.legal_moves(black, white) == 0
    assert squares_of(engine.legal_moves(white, black)) == [10, 16, 17, 18]
    assert not engine.game_over(black, white)
    me, opp, over = engine.step(black, white, engine.PASS)
    assert (me, opp, over) == (white, black, False)
    # Neither side can bracket anything: the game is over.
    assert engine.game_over(bitboard([0]), bitboard([63]))


def test_engine_matches_reference_on_random_games():
    rng = np.random.default_rng(0)
    positions = 0
    for _ in range(40):
        me, opp = engine.START_BLACK, engine.START_WHITE
        while not engine.game_over(me, opp):
            legal = squares_of(engine.legal_moves(me, opp))
            assert legal == reference_legal(me, opp)
            for square in legal:
                assert set(squares_of(engine.flips(me, opp, square))) == reference_flips(me, opp, square)
            if legal:
                me, opp = engine.play(me, opp, int(rng.choice(legal)))
            me, opp = opp, me
            positions += 1
    assert positions > 40 * 55


def test_random_games_replay_and_statistics():
    n = 3000
    squares = np.zeros((n, engine.MAX_MOVES), dtype=np.int8)
    lengths, _ = engine.random_games(n, seed_state(0), squares)
    assert abs(lengths.mean() - 59.97) < 0.2
    black = np.zeros(60, dtype=np.uint64)
    white = np.zeros(60, dtype=np.uint64)
    movers = np.zeros(60, dtype=np.int8)
    for i in range(0, n, 30):
        assert engine.replay(squares[i], lengths[i], black, white, movers) == lengths[i]
        assert (squares[i, lengths[i] :] == -1).all()
        last = lengths[i] - 1
        assert engine.game_over(black[last], white[last])
    # The same seed gives the same games; a broken game replays only up to its first bad move.
    again = np.zeros_like(squares)
    engine.random_games(n, seed_state(0), again)
    assert (again == squares).all()
    broken = squares[0].copy()
    broken[5] = broken[4]  # an occupied square
    assert engine.replay(broken, lengths[0], black, white, movers) == 5


def test_token_tables_cover_the_playable_squares():
    assert engine.SQUARE_TO_TOKEN[list(engine.CENTRE)].tolist() == [0, 0, 0, 0]
    tokens = engine.SQUARE_TO_TOKEN[engine.PLAYABLE]
    assert sorted(tokens.tolist()) == list(range(1, 61))
    assert (engine.TOKEN_TO_SQUARE[tokens] == engine.PLAYABLE).all()


@pytest.mark.parametrize("kind", [engine.RANDOM, engine.GREEDY, engine.ALPHABETA])
def test_built_in_players_choose_legal_moves(kind):
    rng = seed_state(1)
    me, opp = engine.START_BLACK, engine.START_WHITE
    while not engine.game_over(me, opp):
        if engine.legal_moves(me, opp):
            square, rng = engine.opponent_move(me, opp, kind, 3, rng)
            assert (int(engine.legal_moves(me, opp)) >> square) & 1
            me, opp = engine.play(me, opp, square)
        me, opp = opp, me


def test_greedy_flips_the_most():
    # Black at a1 and a8; white runs of 1 towards b1 and of 2 towards a2..a3... greedy takes the longer.
    me = bitboard([0, 56])
    opp = bitboard([1, 8 * 6 + 0, 8 * 5 + 0])  # b1; a7 and a6
    square, _ = engine.greedy_move(me, opp, seed_state(0))
    assert square == 8 * 4 + 0  # a5 flips a6 and a7 (2) rather than c1 flipping b1 (1)


def test_alphabeta_takes_a_corner_when_offered():
    # Black (c1, d4) can take the a1 corner (flipping b1) or play d2 (flipping d3).
    me, opp = bitboard([2, 27]), bitboard([1, 19])
    assert squares_of(engine.legal_moves(me, opp)) == [0, 11]
    square, _ = engine.alphabeta_move(me, opp, 1, seed_state(0))
    assert square == 0

"""Per-position labels of OthelloGPT games, the targets that linear probes and sparse autoencoders
are scored against.

A game is a row of OthelloGPT tokens (engine.TOKEN_TO_SQUARE; PAD_TOKEN 0 fills the row after the
game's `length` moves; passes are implicit). Position t (0-based) is the board after move t + 1, which
is what the model's residual stream at sequence index t has seen. Every label is computed from the
board at that position:

    colour            0 empty, 1 black, 2 white (EMPTY, BLACK_DISC, WHITE_DISC).
    relative          0 empty, 1 mine, 2 theirs (EMPTY, MINE, THEIRS), seen from the player to move
                      next: passes are resolved, so when the player after the mover has no legal move
                      the mover moves again and "mine" stays the mover's colour. At a game's last
                      position nobody can move; "mine" is then the player who did not make the last
                      move, so it alternates as on any other move.
    flipped           the discs that move t + 1 flipped (the placed disc is not among them).
    placed            the square move t + 1 was played on (one-hot).
    legal_next        the legal squares of the player to move next; none once the game is over.
    stable_heuristic  the colour-blind one-pass heuristic of Du et al., "How GPT learns layer by
                      layer" (code: github.com/ALT-JS/OthelloSAE, stability.py,
                      compute_stability_maps); see stable_by_heuristic for its exact pass order.
    stable_rule       the conservative rule-based stability of Othello programs: a disc is stable when,
                      along each of the 4 line directions, its line is full or one of its two neighbours
                      along it is off the board or a stable disc of its own colour (stable_by_rule).
                      Such a disc can never be flipped.
    stable_final      the disc does not flip during the rest of the moves given for this game (a
                      truncated game is judged on the moves it has).

`next_move_masks` computes legal_next alone, as bitboards, fast enough to run on every training batch.
"""

from typing import NamedTuple

import numba
import numpy as np

from gridworlds.engines import othello as engine

EMPTY, BLACK_DISC, WHITE_DISC = 0, 1, 2  # values of `colour`
MINE, THEIRS = 1, 2  # values of `relative` (0 is EMPTY)

# The number of classes of each per-square label of BoardLabels, for code that loops over labels.
LABEL_CLASSES = {
    "colour": 3,
    "relative": 3,
    "flipped": 2,
    "placed": 2,
    "legal_next": 2,
    "stable_heuristic": 2,
    "stable_rule": 2,
    "stable_final": 2,
}

_LAST_TOKEN = len(engine.PLAYABLE)  # tokens are 0 (padding) and 1..60
_ONE = np.uint64(1)
_EVERY_SQUARE = np.uint64(0xFFFFFFFFFFFFFFFF)
_CORNERS = (0, 7, 56, 63)
# engine.shift's directions come in opposite pairs (2k, 2k + 1): the 4 lines are horizontal,
# vertical, the a1-h8 diagonal and the h1-a8 diagonal. Per line, the squares that have a neighbour on
# both sides along it; every other square touches the board's edge along that line.
_HAS_BOTH_NEIGHBOURS = np.array(
    [engine.shift(_EVERY_SQUARE, 2 * line) & engine.shift(_EVERY_SQUARE, 2 * line + 1) for line in range(4)],
    dtype=np.uint64,
)


class BoardLabels(NamedTuple):
    """Labels of n games at their 60 positions; rows t >= the game's length are zeros / False."""

    valid: np.ndarray  # bool [n, 60]: t < length
    next_player: np.ndarray  # int8 [n, 60]: engine.BLACK or engine.WHITE, the player "mine" refers to
    colour: np.ndarray  # int8 [n, 60, 64]
    relative: np.ndarray  # int8 [n, 60, 64]
    flipped: np.ndarray  # bool [n, 60, 64]
    placed: np.ndarray  # bool [n, 60, 64]
    legal_next: np.ndarray  # bool [n, 60, 64]
    stable_heuristic: np.ndarray  # bool [n, 60, 64]
    stable_rule: np.ndarray  # bool [n, 60, 64]
    stable_final: np.ndarray  # bool [n, 60, 64]


def next_move_masks(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The legal squares of the player to move next at every position, as uint64 bitboards [n, 60].

    tokens: integer [n, 60] OthelloGPT tokens; lengths: integer [n] move counts. Entry [i, t] is the
    bitboard (bit s = square s) of the moves legal after move t + 1 of game i, passes resolved; 0 once
    the game is over and for t >= lengths[i]. Raises ValueError when a game is not legal Othello.
    """
    tokens, lengths = _checked_games(tokens, lengths)
    return _replay(tokens, lengths).legal_next


def board_labels(tokens: np.ndarray, lengths: np.ndarray) -> BoardLabels:
    """Every label of the module docstring for n games (tokens [n, 60], lengths [n]) at every position.

    Takes about 8 * 3,840 bytes per game (2,000 games: 61 MB). Raises ValueError when a game is not
    legal Othello.
    """
    tokens, lengths = _checked_games(tokens, lengths)
    boards = _replay(tokens, lengths)
    n = len(lengths)
    valid = np.arange(engine.MAX_MOVES)[None, :] < lengths[:, None]
    per_square = (n, engine.MAX_MOVES, 64)
    labels = BoardLabels(
        valid=valid,
        next_player=boards.next_player,
        colour=np.zeros(per_square, dtype=np.int8),
        relative=np.zeros(per_square, dtype=np.int8),
        flipped=np.zeros(per_square, dtype=np.bool_),
        placed=np.zeros(per_square, dtype=np.bool_),
        legal_next=np.zeros(per_square, dtype=np.bool_),
        stable_heuristic=np.zeros(per_square, dtype=np.bool_),
        stable_rule=np.zeros(per_square, dtype=np.bool_),
        stable_final=np.zeros(per_square, dtype=np.bool_),
    )
    _fill_labels(
        tokens,
        lengths,
        *boards,
        labels.colour,
        labels.relative,
        labels.flipped,
        labels.placed,
        labels.legal_next,
        labels.stable_heuristic,
        labels.stable_rule,
        labels.stable_final,
    )
    return labels


@numba.njit("b1(u8, i8)", cache=True, inline="always")
def _has(board, square):
    return ((board >> np.uint64(square)) & _ONE) != 0


@numba.njit("u8(u8, i8)", cache=True)
def _full_lines(occupied, direction):
    """The squares whose whole line along `direction` (and its opposite, direction + 1) is occupied."""
    reaches_empty = ~occupied
    for _ in range(7):  # spreading each empty square 7 steps both ways covers its whole line
        reaches_empty |= engine.shift(reaches_empty, direction) | engine.shift(reaches_empty, direction + 1)
    return ~reaches_empty


@numba.njit("u8(u8)", cache=True)
def stable_by_heuristic(occupied):
    """Du et al.'s colour-blind stability heuristic on an occupancy bitboard; returns a bitboard.

    A transcription of OthelloSAE's compute_stability_maps (stability.py, stability_funcs.py), one
    pass in this order, each step seeing the squares marked before it:
      1. the 4 corners, when occupied;
      2. squares 0..7, then 56..63 (top and bottom rows), in increasing order: an occupied square
         with a marked left or right neighbour;
      3. squares 0, 8, ..., 56, then 7, 15, ..., 63 (columns a and h), in increasing order: an
         occupied square with a marked neighbour above or below.
    A run along an edge is therefore marked all the way from a left or top corner, but only one
    square away from a right or bottom corner. The published code ends with a fourth step (an
    occupied interior square whose 8 neighbours are all marked, rows in order) that can never mark
    anything: every interior square has an interior neighbour, and the first interior square visited
    finds all of its interior neighbours unmarked, and so on. It is left out; interior squares are
    never heuristic-stable.
    """
    stable = np.uint64(0)
    for corner in _CORNERS:
        stable |= occupied & (_ONE << np.uint64(corner))
    for row in (0, 7):
        for column in range(8):
            square = 8 * row + column
            beside = (column > 0 and _has(stable, square - 1)) or (column < 7 and _has(stable, square + 1))
            if beside and _has(occupied, square):
                stable |= _ONE << np.uint64(square)
    for column in (0, 7):
        for row in range(8):
            square = 8 * row + column
            beside = (row > 0 and _has(stable, square - 8)) or (row < 7 and _has(stable, square + 8))
            if beside and _has(occupied, square):
                stable |= _ONE << np.uint64(square)
    return stable


@numba.njit("u8(u8, u8)", cache=True)
def stable_by_rule(black, white):
    """The discs that no sequence of moves can flip, by the conservative rule; returns a bitboard.

    Grows from nothing to a fixed point: a disc is stable when, along each of the 4 lines through it,
    the line is full (it can never again hold the empty square a flip along it needs) or one of its
    two neighbours along it is off the board or a stable disc of its own colour (a flip along the line
    would have to flip that neighbour too, or bracket from beyond the edge).
    """
    occupied = black | white
    full = (
        _full_lines(occupied, 0),
        _full_lines(occupied, 2),
        _full_lines(occupied, 4),
        _full_lines(occupied, 6),
    )
    stable = np.uint64(0)
    while True:
        grown = np.uint64(0)
        for discs in (black, white):
            own_stable = stable & discs
            candidates = discs
            for line in range(4):
                candidates &= (
                    full[line]
                    | ~_HAS_BOTH_NEIGHBOURS[line]
                    | engine.shift(own_stable, 2 * line)
                    | engine.shift(own_stable, 2 * line + 1)
                )
            grown |= candidates
        # Each round can only add discs (more stable discs protect more), so this ends.
        if grown == stable:
            return stable
        stable = grown


class _Replayed(NamedTuple):
    """Bitboards per position [n, 60]; zero for t >= length."""

    black: np.ndarray  # uint64
    white: np.ndarray  # uint64
    flipped: np.ndarray  # uint64
    next_player: np.ndarray  # int8
    legal_next: np.ndarray  # uint64


def _replay(tokens: np.ndarray, lengths: np.ndarray) -> _Replayed:
    n = len(lengths)
    boards = _Replayed(
        black=np.zeros((n, engine.MAX_MOVES), dtype=np.uint64),
        white=np.zeros((n, engine.MAX_MOVES), dtype=np.uint64),
        flipped=np.zeros((n, engine.MAX_MOVES), dtype=np.uint64),
        next_player=np.zeros((n, engine.MAX_MOVES), dtype=np.int8),
        legal_next=np.zeros((n, engine.MAX_MOVES), dtype=np.uint64),
    )
    game, move = _replay_games(tokens, lengths, *boards)
    if game >= 0:
        token = int(tokens[game, move])
        if token == engine.PAD_TOKEN:
            what = f"is the padding token {engine.PAD_TOKEN}, but the game's length is {lengths[game]}"
        else:
            what = f"(token {token}, square {engine.TOKEN_TO_SQUARE[token]}) is not a legal move"
        raise ValueError(f"game {game}: move {move + 1} {what}")
    return boards


@numba.njit(cache=True)
def _replay_games(tokens, lengths, black, white, flipped, next_player, legal_next):
    """Play every game, filling the per-position bitboards. Returns (game, move index) of the first
    illegal move, (-1, -1) when every game is legal.

    Unlike engine.replay, this resolves the pass after each move and keeps the next player's legal
    moves, which also check the next move: one legal_moves call per move in the usual case."""
    for game in range(tokens.shape[0]):
        me, opp, mover = engine.START_BLACK, engine.START_WHITE, engine.BLACK
        moves = engine.legal_moves(me, opp)
        for t in range(lengths[game]):
            square = engine.TOKEN_TO_SQUARE[tokens[game, t]]  # -1 for the padding token
            if square < 0 or not _has(moves, square):
                return game, t
            played_me, played_opp = engine.play(me, opp, square)
            flipped[game, t] = opp & ~played_opp
            their_moves = engine.legal_moves(played_opp, played_me)
            my_moves = engine.legal_moves(played_me, played_opp) if their_moves == 0 else np.uint64(0)
            if my_moves:  # the other player passes: the mover moves again
                me, opp, moves = played_me, played_opp, my_moves
            else:  # the other player moves next, or the game is over (moves is then 0)
                me, opp, mover, moves = played_opp, played_me, 1 - mover, their_moves
            black[game, t], white[game, t] = (me, opp) if mover == engine.BLACK else (opp, me)
            next_player[game, t] = mover
            legal_next[game, t] = moves
    return -1, -1


@numba.njit(cache=True)
def _fill_labels(
    tokens,
    lengths,
    black,
    white,
    flipped_boards,
    next_player,
    legal_next_boards,
    colour,
    relative,
    flipped,
    placed,
    legal_next,
    stable_heuristic,
    stable_rule,
    stable_final,
):
    """Spread the replayed bitboards into the per-square label arrays (which arrive zeroed)."""
    for game in range(tokens.shape[0]):
        # Walked backwards, so that the discs flipped by the later moves are known at each position.
        flipped_later = np.uint64(0)
        for t in range(lengths[game] - 1, -1, -1):
            b, w = black[game, t], white[game, t]
            mine = b if next_player[game, t] == engine.BLACK else w
            heuristic = stable_by_heuristic(b | w)
            rule = stable_by_rule(b, w)
            final = (b | w) & ~flipped_later
            flipped_later |= flipped_boards[game, t]
            placed[game, t, engine.TOKEN_TO_SQUARE[tokens[game, t]]] = True
            for square in range(64):
                if _has(b | w, square):
                    colour[game, t, square] = BLACK_DISC if _has(b, square) else WHITE_DISC
                    relative[game, t, square] = MINE if _has(mine, square) else THEIRS
                flipped[game, t, square] = _has(flipped_boards[game, t], square)
                legal_next[game, t, square] = _has(legal_next_boards[game, t], square)
                stable_heuristic[game, t, square] = _has(heuristic, square)
                stable_rule[game, t, square] = _has(rule, square)
                stable_final[game, t, square] = _has(final, square)


def _checked_games(tokens: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tokens as uint8 [n, 60] and lengths as int64 [n], or a ValueError saying what is wrong."""
    tokens, lengths = np.asarray(tokens), np.asarray(lengths)
    if tokens.ndim != 2 or tokens.shape[1] != engine.MAX_MOVES or not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(
            f"tokens must be an integer array of shape [n, {engine.MAX_MOVES}], "
            f"got {tokens.dtype} {tokens.shape}"
        )
    if lengths.shape != tokens.shape[:1] or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(
            f"lengths must be an integer array of shape [{len(tokens)}], got {lengths.dtype} {lengths.shape}"
        )
    if tokens.size and (tokens.min() < 0 or tokens.max() > _LAST_TOKEN):
        raise ValueError(f"tokens must lie in 0..{_LAST_TOKEN}, got {tokens.min()}..{tokens.max()}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > engine.MAX_MOVES):
        raise ValueError(f"lengths must lie in 0..{engine.MAX_MOVES}, got {lengths.min()}..{lengths.max()}")
    return np.ascontiguousarray(tokens, dtype=np.uint8), np.ascontiguousarray(lengths, dtype=np.int64)

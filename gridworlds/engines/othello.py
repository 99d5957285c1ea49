"""Othello on two 64-bit bitboards: legal moves, flips, passes, game end, opponents, random games.

Squares are row-major from a1 at the top-left: a1 = 0, h1 = 7, a8 = 56, h8 = 63 (column letter,
row number counted downwards), so square = 8 * (row - 1) + column. Action 64 is a pass, as in
OpenSpiel and Pgx. Start: white on d4 and e5, black on d5 and e4; black moves first.

Most kernels are written from the mover's side: `me` holds the discs of the player to move, `opp`
the other player's. A move that brackets no opponent line is illegal; a player without a legal
move passes; the game ends when neither player can move.

Token convention of OthelloGPT (datasets): the 60 playable squares (all but the centre four) are
tokens 1..60 in square order; 0 is padding; passes are implicit (a player who cannot move is skipped).
"""

import numba
import numpy as np

from gridworlds.engines.rng import next_below

PASS = 64
NUM_ACTIONS = 65
BLACK, WHITE = 0, 1
START_BLACK = np.uint64((1 << 35) | (1 << 28))  # d5, e4
START_WHITE = np.uint64((1 << 27) | (1 << 36))  # d4, e5
CENTRE = (27, 28, 35, 36)
PLAYABLE = np.array([s for s in range(64) if s not in CENTRE], dtype=np.int64)
SQUARE_TO_TOKEN = np.zeros(64, dtype=np.int64)
SQUARE_TO_TOKEN[PLAYABLE] = np.arange(1, 61)
TOKEN_TO_SQUARE = np.concatenate([[-1], PLAYABLE]).astype(np.int64)
PAD_TOKEN = 0
MAX_MOVES = 60

RANDOM, GREEDY, ALPHABETA = 0, 1, 2  # built-in opponents

_NOT_A = np.uint64(0xFEFEFEFEFEFEFEFE)  # every square but column a (after a shift towards h)
_NOT_H = np.uint64(0x7F7F7F7F7F7F7F7F)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
# The 8 directions as (shift, towards higher squares?, mask that drops discs wrapped round an edge).
_SHIFTS = np.array([1, 1, 8, 8, 9, 9, 7, 7], dtype=np.uint64)
_UPWARD = np.array([True, False, True, False, True, False, True, False])
_MASKS = np.array([_NOT_A, _NOT_H, _ALL, _ALL, _NOT_A, _NOT_H, _NOT_H, _NOT_A], dtype=np.uint64)
_ONE = np.uint64(1)

# Disc-square weights for alpha-beta's evaluation: corners good, squares next to them bad.
_WEIGHTS = np.array(
    [
        [100, -20, 10, 5, 5, 10, -20, 100],
        [-20, -50, -2, -2, -2, -2, -50, -20],
        [10, -2, 1, 1, 1, 1, -2, 10],
        [5, -2, 1, 0, 0, 1, -2, 5],
        [5, -2, 1, 0, 0, 1, -2, 5],
        [10, -2, 1, 1, 1, 1, -2, 10],
        [-20, -50, -2, -2, -2, -2, -50, -20],
        [100, -20, 10, 5, 5, 10, -20, 100],
    ],
    dtype=np.int64,
).ravel()
_WIN = 1_000_000


@numba.njit("u8(u8, i8)", cache=True, inline="always")
def shift(discs, direction):
    if _UPWARD[direction]:
        return (discs << _SHIFTS[direction]) & _MASKS[direction]
    return (discs >> _SHIFTS[direction]) & _MASKS[direction]


@numba.njit("i8(u8)", cache=True)
def popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit("i8(u8)", cache=True)
def lowest_square(x):
    """The index of the lowest set bit of a non-zero board."""
    return popcount((x & (~x + _ONE)) - _ONE)


@numba.njit("u8(u8, u8)", cache=True)
def legal_moves(me, opp):
    """The squares where the player to move can play, as a bitboard."""
    empty = ~(me | opp)
    moves = np.uint64(0)
    for d in range(8):
        run = shift(me, d) & opp
        for _ in range(5):  # a bracketed line holds at most 6 opponent discs
            run |= shift(run, d) & opp
        moves |= shift(run, d) & empty
    return moves


@numba.njit("u8(u8, u8, i8)", cache=True)
def flips(me, opp, square):
    """The opponent discs that a disc placed on `square` would flip (0 if the move is illegal)."""
    flipped = np.uint64(0)
    for d in range(8):
        line = np.uint64(0)
        cursor = shift(_ONE << np.uint64(square), d)
        while cursor & opp:
            line |= cursor
            cursor = shift(cursor, d)
        if cursor & me:
            flipped |= line
    return flipped


@numba.njit("UniTuple(u8, 2)(u8, u8, i8)", cache=True)
def play(me, opp, square):
    """Place the mover's disc on a legal square; return (me, opp) after the flips."""
    flipped = flips(me, opp, square)
    return me | flipped | (_ONE << np.uint64(square)), opp & ~flipped


@numba.njit("b1(u8, u8)", cache=True)
def game_over(me, opp):
    return legal_moves(me, opp) == 0 and legal_moves(opp, me) == 0


@numba.njit("i8(u8, u8)", cache=True)
def disc_difference(me, opp):
    return popcount(me) - popcount(opp)


@numba.njit("Tuple((u8, u8, b1))(u8, u8, i8)", cache=True)
def step(me, opp, action):
    """The mover plays `action` (a square, or PASS when it has no move); return the next mover's
    (me, opp) and whether the game is over. The caller has checked that the action is legal."""
    if action != PASS:
        me, opp = play(me, opp, action)
    return opp, me, game_over(opp, me)


@numba.njit("i8(u8, u8, i8)", cache=True)
def perft(me, opp, depth):
    """Leaf count of the game tree to `depth` plies; a pass is a ply, a finished game one leaf."""
    if depth == 0:
        return 1
    moves = legal_moves(me, opp)
    if moves == 0:
        if legal_moves(opp, me) == 0:
            return 1
        return perft(opp, me, depth - 1)
    total = 0
    while moves:
        square = lowest_square(moves)
        moves &= moves - _ONE
        after_me, after_opp = play(me, opp, square)
        total += perft(after_opp, after_me, depth - 1)
    return total


@numba.njit("Tuple((i8, u8))(u8, u8)", cache=True)
def random_move(moves, rng):
    """A uniformly random square of a non-empty move bitboard; returns (square, rng)."""
    rng, k = next_below(rng, popcount(moves))
    for _ in range(k):
        moves &= moves - _ONE
    return lowest_square(moves), rng


@numba.njit("Tuple((i8, u8))(u8, u8, u8)", cache=True)
def greedy_move(me, opp, rng):
    """The legal square that flips the most discs, ties broken at random; returns (square, rng)."""
    moves = legal_moves(me, opp)
    best_count, best = -1, np.uint64(0)
    scan = moves
    while scan:
        square = lowest_square(scan)
        scan &= scan - _ONE
        count = popcount(flips(me, opp, square))
        if count > best_count:
            best_count, best = count, np.uint64(0)
        if count == best_count:
            best |= _ONE << np.uint64(square)
    return random_move(best, rng)


@numba.njit("i8(u8, u8)", cache=True)
def evaluate(me, opp):
    """Heuristic value for the mover: disc-square weights plus mobility."""
    score = 0
    for square in range(64):
        bit = _ONE << np.uint64(square)
        if me & bit:
            score += _WEIGHTS[square]
        elif opp & bit:
            score -= _WEIGHTS[square]
    return score + 5 * (popcount(legal_moves(me, opp)) - popcount(legal_moves(opp, me)))


@numba.njit("i8(u8, u8, i8, i8, i8)", cache=True)
def negamax(me, opp, depth, alpha, beta):
    """Alpha-beta value of the position for the mover, searched `depth` plies."""
    moves = legal_moves(me, opp)
    if moves == 0:
        if legal_moves(opp, me) == 0:
            diff = disc_difference(me, opp)
            return _WIN * np.sign(diff) + diff
        if depth == 0:
            return evaluate(me, opp)
        return -negamax(opp, me, depth - 1, -beta, -alpha)
    if depth == 0:
        return evaluate(me, opp)
    while moves:
        square = lowest_square(moves)
        moves &= moves - _ONE
        after_me, after_opp = play(me, opp, square)
        value = -negamax(after_opp, after_me, depth - 1, -beta, -alpha)
        if value > alpha:
            alpha = value
            if alpha >= beta:
                break
    return alpha


@numba.njit("Tuple((i8, u8))(u8, u8, i8, u8)", cache=True)
def alphabeta_move(me, opp, depth, rng):
    """The best square by a `depth`-ply alpha-beta search, ties broken at random; (square, rng)."""
    moves = legal_moves(me, opp)
    best_value, best = -(_WIN * 2), np.uint64(0)
    scan = moves
    while scan:
        square = lowest_square(scan)
        scan &= scan - _ONE
        after_me, after_opp = play(me, opp, square)
        # Searching with a window one wider than the best so far still finds every tie.
        value = -negamax(after_opp, after_me, depth - 1, -(_WIN * 2), -best_value + 1)
        if value > best_value:
            best_value, best = value, np.uint64(0)
        if value == best_value:
            best |= _ONE << np.uint64(square)
    return random_move(best, rng)


@numba.njit("Tuple((i8, u8))(u8, u8, i8, i8, u8)", cache=True)
def opponent_move(me, opp, kind, depth, rng):
    """A built-in player's square for the mover (who must have a legal move); returns (square, rng)."""
    if kind == GREEDY:
        return greedy_move(me, opp, rng)
    if kind == ALPHABETA:
        return alphabeta_move(me, opp, depth, rng)
    return random_move(legal_moves(me, opp), rng)


@numba.njit("Tuple((i8[:], u8))(i8, u8, i1[:, :])", cache=True)
def random_games(count, rng, squares):
    """Play `count` games of uniformly random legal moves; write each game's squares into the int8
    array squares[i, :] (-1 after its end) and return (lengths, rng). Passes are implicit: a player
    without a move is skipped."""
    lengths = np.zeros(count, dtype=np.int64)
    for i in range(count):
        me, opp = START_BLACK, START_WHITE
        n = 0
        while True:
            moves = legal_moves(me, opp)
            if moves == 0:
                if legal_moves(opp, me) == 0:
                    break
                me, opp = opp, me
                continue
            square, rng = random_move(moves, rng)
            squares[i, n] = square
            n += 1
            me, opp = play(me, opp, square)
            me, opp = opp, me
        squares[i, n:] = -1
        lengths[i] = n
    return lengths, rng


# Squares to tokens for random_games' int8 squares: square -1, which marks the end of a game, picks
# the last entry, the padding token.
_TOKEN_OF_SQUARE = np.append(SQUARE_TO_TOKEN, PAD_TOKEN).astype(np.uint8)


def random_game_tokens(count: int, rng: np.uint64) -> tuple[np.ndarray, np.ndarray, np.uint64]:
    """`count` random games as OthelloGPT tokens: (tokens uint8 [count, 60], lengths uint8 [count],
    the generator state after them)."""
    squares = np.empty((count, MAX_MOVES), dtype=np.int8)
    lengths, rng = random_games(count, np.uint64(rng), squares)
    return _TOKEN_OF_SQUARE[squares], lengths.astype(np.uint8), rng


@numba.njit(cache=True)
def replay(squares, length, black, white, movers):
    """Rebuild the boards of one game from its squares (implicit passes): black[t], white[t] are the
    discs after move t, movers[t] who made it (BLACK or WHITE). Returns the number of moves that
    replayed legally; less than `length` means the game is not a legal Othello game."""
    me, opp, mover = START_BLACK, START_WHITE, BLACK
    for t in range(length):
        if legal_moves(me, opp) == 0:
            me, opp, mover = opp, me, 1 - mover
        square = squares[t]
        if square < 0 or square > 63 or not (legal_moves(me, opp) >> np.uint64(square)) & _ONE:
            return t
        me, opp = play(me, opp, square)
        black[t], white[t] = (me, opp) if mover == BLACK else (opp, me)
        movers[t] = mover
        me, opp, mover = opp, me, 1 - mover
    return length


# --- playing against a built-in opponent: `me` is the learning agent, `opp` the built-in player ---

COLOUR_BLACK, COLOUR_WHITE, COLOUR_RANDOM = 0, 1, 2


@numba.njit("Tuple((u8, u8, u8, i8))(u8, u8, u8, i8, i8)", cache=True)
def opponent_turns(me, opp, rng, kind, depth):
    """The opponent moves (again while the agent must pass) until the agent can move or the game is
    over; returns (me, opp, rng, the opponent's last square or -1)."""
    last = -1
    while legal_moves(opp, me):
        last, rng = opponent_move(opp, me, kind, depth, rng)
        opp, me = play(opp, me, last)
        if legal_moves(me, opp):
            break
    return me, opp, rng, last


@numba.njit("Tuple((u8, u8, u8, b1, i8))(u8, i8, i8, i8)", cache=True)
def vs_new_game(rng, colour, kind, depth):
    """A new game with the agent's colour chosen by `colour` (COLOUR_RANDOM draws it); the opponent
    opens when the agent is white. Returns (me, opp, rng, agent is white, opponent's last square)."""
    white = colour == COLOUR_WHITE
    if colour == COLOUR_RANDOM:
        rng, k = next_below(rng, 2)
        white = k == 1
    if not white:
        return START_BLACK, START_WHITE, rng, False, -1
    me, opp, rng, last = opponent_turns(START_WHITE, START_BLACK, rng, kind, depth)
    return me, opp, rng, True, last


@numba.njit("Tuple((u8, u8, u8, b1, i8, i8))(u8, u8, u8, i8, i8, i8)", cache=True)
def vs_step(me, opp, rng, square, kind, depth):
    """The agent plays a legal square, then the opponent replies. Returns (me, opp, rng, game over,
    reward: +1 win, -1 loss, 0 draw or not over, opponent's last square or -1)."""
    me, opp = play(me, opp, square)
    me, opp, rng, last = opponent_turns(me, opp, rng, kind, depth)
    if game_over(me, opp):
        return me, opp, rng, True, np.int64(np.sign(disc_difference(me, opp))), last
    return me, opp, rng, False, 0, last


@numba.njit(cache=True)
def vs_step_batch(me, opp, rngs, white, squares, restart, illegal, colour, kind, depth, rewards, over, last):
    """vs_step on N games at once (arrays updated in place). Games with restart[i] start anew instead;
    games with illegal[i] are lost on the spot (reward -1, board unchanged)."""
    for i in range(me.shape[0]):
        if restart[i]:
            me[i], opp[i], rngs[i], white[i], last[i] = vs_new_game(rngs[i], colour, kind, depth)
            rewards[i], over[i] = 0, False
        elif illegal[i]:
            rewards[i], over[i], last[i] = -1, True, -1
        else:
            me[i], opp[i], rngs[i], over[i], rewards[i], last[i] = vs_step(
                me[i], opp[i], rngs[i], squares[i], kind, depth
            )


@numba.njit(cache=True)
def legal_masks(me, opp, masks):
    """masks[i, s] = whether square s is legal for me[i] against opp[i] (a (N, 64) bool array)."""
    for i in range(me.shape[0]):
        moves = legal_moves(me[i], opp[i])
        for s in range(64):
            masks[i, s] = (moves >> np.uint64(s)) & _ONE

"""2048 on a 64-bit board: moves, spawns, afterstates and batched play as numba kernels.

Board layout: cell i (row-major, 0..15, row 0 on top) holds log2 of its tile in bits [4i, 4i+4);
0 is an empty cell, so the largest tile is 2**15 = 32768. Two 32768 tiles do not merge (the 4-bit
board cannot hold 65536); learners handle such boards with tile-downgrading.

Actions: 0 up, 1 right, 2 down, 3 left.

A move that changes nothing is illegal. Kernels report it through the returned board being equal
to the input; they never spawn after it. Rewards are the sum of the merged tiles' new values.

Scalar kernels take and return values (board, generator state); their explicit signatures make a
Python int board arrive as uint64 whatever its size. Batched kernels work on arrays with a leading
environment axis and update them in place, which is what makes a batch one call.
"""

import numba
import numpy as np

from gridworlds.engines.rng import next_below, next_float

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
ACTION_NAMES = ("up", "right", "down", "left")
NUM_ACTIONS = 4
MAX_EXPONENT = 15

_U12 = np.uint64(12)
_U24 = np.uint64(24)
_NIBBLE = np.uint64(0xF)
_ROW = np.uint64(0xFFFF)


@numba.njit(cache=True)
def _build_row_tables():
    """Slide-left and slide-right results and the reward for every 16-bit row.

    Cell c of a row sits in bits [4c, 4c+4), so sliding left moves tiles towards the low nibble.
    """
    left = np.zeros(65536, dtype=np.uint16)
    right = np.zeros(65536, dtype=np.uint16)
    reward = np.zeros(65536, dtype=np.uint32)
    tiles = np.zeros(4, dtype=np.int64)
    for row in range(65536):
        n = 0
        for c in range(4):
            t = (row >> (4 * c)) & 0xF
            if t:
                tiles[n] = t
                n += 1
        out, gained, c, i = 0, 0, 0, 0
        while i < n:
            if i + 1 < n and tiles[i] == tiles[i + 1] and tiles[i] < MAX_EXPONENT:
                out |= (tiles[i] + 1) << (4 * c)
                gained += 1 << (tiles[i] + 1)
                i += 2
            else:
                out |= tiles[i] << (4 * c)
                i += 1
            c += 1
        left[row] = out
        reward[row] = gained
    # Sliding right is sliding the mirrored row left. Merges happen only inside runs of equal tiles
    # and a run of length L gives L // 2 merges either way, so one reward table serves both.
    for row in range(65536):
        right[row] = _mirror_row(left[_mirror_row(row)])
    return left, right, reward


@numba.njit(cache=True)
def _mirror_row(row):
    return ((row & 0xF) << 12) | ((row & 0xF0) << 4) | ((row >> 4) & 0xF0) | (row >> 12)


ROW_LEFT, ROW_RIGHT, ROW_REWARD = _build_row_tables()


@numba.njit("u8(u8)", cache=True)
def transpose(board):
    """Swap rows and columns: cell (r, c) goes to (c, r)."""
    a1 = board & np.uint64(0xF0F00F0FF0F00F0F)
    a2 = board & np.uint64(0x0000F0F00000F0F0)
    a3 = board & np.uint64(0x0F0F00000F0F0000)
    a = a1 | (a2 << _U12) | (a3 >> _U12)
    b1 = a & np.uint64(0xFF00FF0000FF00FF)
    b2 = a & np.uint64(0x00FF00FF00000000)
    b3 = a & np.uint64(0x00000000FF00FF00)
    return b1 | (b2 >> _U24) | (b3 << _U24)


@numba.njit(cache=True)
def _slide_rows(board, table):
    """Apply a row table to the 4 rows; return (new board, reward)."""
    out = np.uint64(0)
    reward = 0
    for r in range(4):
        shift = np.uint64(16 * r)
        row = (board >> shift) & _ROW
        out |= np.uint64(table[row]) << shift
        reward += ROW_REWARD[row]
    return out, reward


@numba.njit("Tuple((u8, i8))(u8, i8)", cache=True)
def move(board, action):
    """Slide the board; return (afterstate, reward). The move was legal iff afterstate != board."""
    if action == LEFT:
        return _slide_rows(board, ROW_LEFT)
    if action == RIGHT:
        return _slide_rows(board, ROW_RIGHT)
    # Columns become rows under transposition, with row 0 in the row's low nibble: up is left.
    table = ROW_LEFT if action == UP else ROW_RIGHT
    after, reward = _slide_rows(transpose(board), table)
    return transpose(after), reward


@numba.njit("Tuple((u8[:], i8[:], b1[:]))(u8)", cache=True)
def afterstates(board):
    """All four moves at once: (afterstates uint64[4], rewards int64[4], legal bool[4])."""
    boards = np.empty(4, dtype=np.uint64)
    rewards = np.empty(4, dtype=np.int64)
    legal = np.empty(4, dtype=np.bool_)
    for a in range(4):
        boards[a], rewards[a] = move(board, a)
        legal[a] = boards[a] != board
    return boards, rewards, legal


@numba.njit("i8(u8)", cache=True)
def legal_bits(board):
    """Bit a of the result is set iff action a is legal."""
    bits = 0
    t = transpose(board)
    for r in range(4):
        shift = np.uint64(16 * r)
        row = (board >> shift) & _ROW
        col = (t >> shift) & _ROW
        if ROW_LEFT[row] != row:
            bits |= 1 << LEFT
        if ROW_RIGHT[row] != row:
            bits |= 1 << RIGHT
        if ROW_LEFT[col] != col:
            bits |= 1 << UP
        if ROW_RIGHT[col] != col:
            bits |= 1 << DOWN
    return bits


@numba.njit("i8(u8)", cache=True)
def count_empty(board):
    n = 0
    for i in range(16):
        if (board >> np.uint64(4 * i)) & _NIBBLE == 0:
            n += 1
    return n


@numba.njit("i8(u8)", cache=True)
def max_exponent(board):
    m = 0
    for i in range(16):
        m = max(m, np.int64((board >> np.uint64(4 * i)) & _NIBBLE))
    return m


@numba.njit("UniTuple(u8, 2)(u8, u8)", cache=True)
def spawn(board, rng):
    """Put a 2 (p=0.9) or a 4 (p=0.1) on a uniformly chosen empty cell; return (board, rng).

    A full board is returned unchanged, without drawing from the generator.
    """
    empty = count_empty(board)
    if empty == 0:
        return board, rng
    rng, k = next_below(rng, empty)
    rng, u = next_float(rng)
    exponent = np.uint64(2) if u < 0.1 else np.uint64(1)
    for i in range(16):
        shift = np.uint64(4 * i)
        if (board >> shift) & _NIBBLE == 0:
            if k == 0:
                return board | (exponent << shift), rng
            k -= 1
    return board, rng


@numba.njit("UniTuple(u8, 2)(u8)", cache=True)
def new_game(rng):
    """An empty board with two spawned tiles; return (board, rng)."""
    board, rng = spawn(np.uint64(0), rng)
    return spawn(board, rng)


@numba.njit("Tuple((u8, u8, i8, b1, i8))(u8, u8, i8)", cache=True)
def step(board, rng, action):
    """One move and its spawn: (board, rng, reward, moved, legal_bits of the new board).

    An illegal action (moved = False) leaves board and rng as they were. The game is over when the
    returned legal_bits is 0.
    """
    after, reward = move(board, action)
    if after == board:
        return board, rng, 0, False, legal_bits(board)
    after, rng = spawn(after, rng)
    return after, rng, reward, True, legal_bits(after)


@numba.njit("void(u8, i1[:, :])", cache=True)
def board_to_grid(board, grid):
    """Write the 4x4 exponent grid of a board into an int8 array."""
    for i in range(16):
        grid[i // 4, i % 4] = (board >> np.uint64(4 * i)) & _NIBBLE


@numba.njit(cache=True)
def grid_to_board(grid):
    board = np.uint64(0)
    for i in range(16):
        board |= np.uint64(grid[i // 4, i % 4]) << np.uint64(4 * i)
    return board


@numba.njit(cache=True)
def step_batch(boards, rngs, actions, restart, rewards, moved, legal):
    """Step N boards at once; boards and rngs are updated in place, the other outputs filled.

    Boards with restart[i] set start a new game instead of moving (a vector env's autoreset).
    """
    for i in range(boards.shape[0]):
        if restart[i]:
            boards[i], rngs[i] = new_game(rngs[i])
            rewards[i], moved[i], legal[i] = 0, False, legal_bits(boards[i])
        else:
            boards[i], rngs[i], rewards[i], moved[i], legal[i] = step(boards[i], rngs[i], actions[i])


@numba.njit(cache=True)
def new_game_batch(boards, rngs, legal):
    for i in range(boards.shape[0]):
        boards[i], rngs[i] = new_game(rngs[i])
        legal[i] = legal_bits(boards[i])


@numba.njit(cache=True)
def boards_to_grids(boards, grids):
    for i in range(boards.shape[0]):
        board_to_grid(boards[i], grids[i])


@numba.njit("Tuple((i8, u8))(u8, u8)", cache=True)
def random_legal_action(board, rng):
    """A uniformly random legal action, or -1 when there is none; returns (action, rng)."""
    bits = legal_bits(board)
    n = 0
    for a in range(4):
        n += (bits >> a) & 1
    if n == 0:
        return -1, rng
    rng, k = next_below(rng, n)
    for a in range(4):
        if (bits >> a) & 1:
            if k == 0:
                return a, rng
            k -= 1
    return -1, rng


@numba.njit(cache=True)
def play_random_batch(boards, rngs, num_moves):
    """Random legal play on every board for num_moves moves each, restarting finished games.

    Returns the number of games finished. This is the engine-throughput benchmark's kernel.
    """
    finished = 0
    for i in range(boards.shape[0]):
        board, rng = boards[i], rngs[i]
        moves = 0
        while moves < num_moves:
            action, rng = random_legal_action(board, rng)
            if action < 0:
                board, rng = new_game(rng)
                finished += 1
                continue
            after, _ = move(board, action)
            board, rng = spawn(after, rng)
            moves += 1
        boards[i], rngs[i] = board, rng
    return finished

"""Bitboards written as square lists, for the Othello tests."""

import numpy as np


def bitboard(squares):
    board = 0
    for s in squares:
        board |= 1 << s
    return np.uint64(board)


def squares_of(board):
    return sorted(s for s in range(64) if (int(board) >> s) & 1)

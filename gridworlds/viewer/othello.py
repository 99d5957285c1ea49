"""Drawing Othello: text boards, RGB frames of a green board, a window, and mouse moves.

`OthelloRenderer` draws the state dict that both Othello envs' `render_state()` return:
`{"black": bitboard, "white": bitboard, "to_move": "black" | "white", "legal": bitboard of the mover's
legal squares, "last_move": square, 64 (a pass) or None, "game_over": bool}`, where square
s = 8 * row + column (a1 = 0 at the top-left) is bit s of a bitboard.

For the `gridworlds view` app, `action_from_event` turns a left click on a square into that square
and the p key into a pass; the app ignores moves the action mask forbids, so p passes only when
the mover has no square to play. pygame is imported on first use, so importing this module (and
rendering "ansi") needs no display and no pygame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridworlds.engines import othello as engine
from gridworlds.viewer.renderer import Renderer, draw_text, to_frame

CELL = 60  # side of a square, pixels
MARGIN = 28  # room around the board for the coordinates
BAR = 56  # height of the status bar under the board
WIDTH = 2 * MARGIN + 8 * CELL
HEIGHT = WIDTH + BAR
DISC_RADIUS = CELL * 2 // 5
DOT_RADIUS = CELL // 9

PAGE = (24, 64, 40)
BOARD_COLOUR = (34, 139, 74)
LAST_MOVE = (92, 178, 112)
GRID = (16, 78, 40)
LABEL = (205, 228, 210)
DISC_COLOURS = {"black": (22, 22, 22), "white": (242, 242, 236)}
# A legal square's dot is the mover's colour faded into the board, so it never looks like a disc.
DOT_COLOURS = {"black": (20, 88, 48), "white": (160, 212, 172)}
SYMBOLS = {"black": "X", "white": "O"}


def has(bitboard: int, square: int) -> bool:
    """Whether bit `square` of `bitboard` is set."""
    return bool(bitboard >> square & 1)


def circle(surface: Any, x: int, y: int, radius: int, colour: tuple[int, int, int]) -> None:
    """A filled circle with an anti-aliased edge (a plain filled circle's edge is a staircase)."""
    from pygame import gfxdraw

    gfxdraw.filled_circle(surface, x, y, radius, colour)
    gfxdraw.aacircle(surface, x, y, radius, colour)


def square_rect(square: int) -> tuple[int, int, int, int]:
    """(x, y, width, height) in frame pixels of a square."""
    row, col = divmod(square, 8)
    return MARGIN + col * CELL, MARGIN + row * CELL, CELL, CELL


def square_at(x: int, y: int) -> int | None:
    """The square under frame pixel (x, y), or None off the board; the inverse of `square_rect`."""
    col, row = (x - MARGIN) // CELL, (y - MARGIN) // CELL
    return 8 * row + col if 0 <= row < 8 and 0 <= col < 8 else None


def status(state: dict[str, Any]) -> str:
    """Whose turn it is, or the result of a finished game."""
    black, white = state["black"].bit_count(), state["white"].bit_count()
    if state["game_over"]:
        if black == white:
            return f"draw {black}-{white}"
        return f"{'black' if black > white else 'white'} wins {max(black, white)}-{min(black, white)}"
    mover = state["to_move"]
    if state["legal"] == 0:
        return f"{mover} must pass: press p"
    if state["last_move"] == engine.PASS:
        return f"{'white' if mover == 'black' else 'black'} passed, {mover} to move"
    return f"{mover} to move"


def ansi(state: dict[str, Any]) -> str:
    """The board as text: X black, O white, * a legal square of the mover, . empty; then counts and turn."""

    def symbol(square: int) -> str:
        for colour in ("black", "white"):
            if has(state[colour], square):
                return SYMBOLS[colour]
        return "*" if has(state["legal"], square) else "."

    lines = ["  " + " ".join("abcdefgh")]
    for row in range(8):
        lines.append(f"{row + 1} " + " ".join(symbol(8 * row + col) for col in range(8)))
    counts = "  ".join(f"{SYMBOLS[c]} {c} {state[c].bit_count()}" for c in ("black", "white"))
    lines.append(f"{counts}  {status(state)}")
    return "\n".join(lines)


def action_from_event(event: Any, frame_size: tuple[int, int]) -> int | None:
    """The move a pygame event asks for: a left click on a square plays it, p passes; else None.

    Othello frames always have the same size, so `frame_size` (part of the app's interface) is unused.
    """
    import pygame

    if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
        return square_at(*event.pos)
    if event.type == pygame.KEYDOWN and event.key == pygame.K_p:
        return engine.PASS
    return None


class OthelloRenderer(Renderer):
    """Draws Othello states in the three render modes (see `Renderer`) for both Othello worlds.

    `render(state)` takes the state dict of the module docstring and returns a str ("ansi"), a
    (HEIGHT, WIDTH, 3) uint8 array ("rgb_array"), or None ("human").
    """

    size = (WIDTH, HEIGHT)
    title = "gridworlds: Othello"

    def ansi(self, state: dict[str, Any]) -> str:
        return ansi(state)

    def frame(self, state: dict[str, Any]) -> np.ndarray:
        """The state drawn as a (HEIGHT, WIDTH, 3) uint8 array, off-screen."""
        import pygame

        surface = pygame.Surface((WIDTH, HEIGHT))
        surface.fill(PAGE)
        board = pygame.Rect(MARGIN, MARGIN, 8 * CELL, 8 * CELL)
        pygame.draw.rect(surface, BOARD_COLOUR, board)
        if state["last_move"] not in (None, engine.PASS):
            pygame.draw.rect(surface, LAST_MOVE, square_rect(state["last_move"]))
        for i in range(9):
            x = y = MARGIN + i * CELL
            pygame.draw.line(surface, GRID, (x, board.top), (x, board.bottom), 2)
            pygame.draw.line(surface, GRID, (board.left, y), (board.right, y), 2)
        for i in range(8):
            draw_text(surface, "abcdefgh"[i], 24, LABEL, center=(board.left + (i + 0.5) * CELL, MARGIN // 2))
            draw_text(surface, str(i + 1), 24, LABEL, center=(MARGIN // 2, board.top + (i + 0.5) * CELL))
        dot = DOT_COLOURS[state["to_move"]]
        for square in range(64):
            x, y = pygame.Rect(square_rect(square)).center
            colour = next((c for c in ("black", "white") if has(state[c], square)), None)
            if colour is not None:
                circle(surface, x, y, DISC_RADIUS, DISC_COLOURS[colour])
            elif has(state["legal"], square):
                circle(surface, x, y, DOT_RADIUS, dot)
        self._status_bar(surface, state)
        return to_frame(surface)

    def _status_bar(self, surface: Any, state: dict[str, Any]) -> None:
        """Under the board: each side's disc and count, then whose turn it is or the result."""
        y = (MARGIN + 8 * CELL + HEIGHT) // 2  # midway between the board's bottom edge and the frame's
        x = MARGIN + CELL // 4
        for colour in ("black", "white"):
            circle(surface, x, y, 14, DISC_COLOURS[colour])
            draw_text(surface, str(state[colour].bit_count()), 32, LABEL, midleft=(x + 22, y))
            x += 100
        draw_text(surface, status(state), 30, LABEL, midright=(WIDTH - MARGIN, y))

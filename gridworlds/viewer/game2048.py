"""Drawing 2048: text grids, RGB frames in the game's classic colours, and a window.

`Game2048Renderer` draws the state dict of `Game2048Env.render_state()`. `KEY_ACTIONS` maps pygame
keys to moves for the `gridworlds view` app. pygame is imported on first use, so importing this
module (and rendering "ansi") needs no display and no pygame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridworlds.engines import game2048 as engine
from gridworlds.viewer.renderer import Renderer, draw_text, to_frame

TILE = 100  # side of a cell, pixels
GAP = 12  # space between cells and around the board
BAR = 72  # height of the score bar above the board
BOARD = 4 * TILE + 5 * GAP
WIDTH = BOARD + 2 * GAP
HEIGHT = BAR + BOARD + GAP

PAGE = (250, 248, 239)
BOARD_COLOUR = (187, 173, 160)
EMPTY = (205, 193, 180)
DARK_TEXT = (119, 110, 101)
LIGHT_TEXT = (249, 246, 242)
# exponent -> (tile colour, number colour), as in the original game; larger tiles share the last.
TILE_COLOURS = {
    1: ((238, 228, 218), DARK_TEXT),
    2: ((237, 224, 200), DARK_TEXT),
    3: ((242, 177, 121), LIGHT_TEXT),
    4: ((245, 149, 99), LIGHT_TEXT),
    5: ((246, 124, 95), LIGHT_TEXT),
    6: ((246, 94, 59), LIGHT_TEXT),
    7: ((237, 207, 114), LIGHT_TEXT),
    8: ((237, 204, 97), LIGHT_TEXT),
    9: ((237, 200, 80), LIGHT_TEXT),
    10: ((237, 197, 63), LIGHT_TEXT),
    11: ((237, 194, 46), LIGHT_TEXT),
    12: ((60, 58, 50), LIGHT_TEXT),
}
# digits in the number -> font size, so that 5-digit tiles still fit their cell.
NUMBER_SIZES = {1: 72, 2: 72, 3: 60, 4: 48, 5: 40}


def board_grid(board: int) -> np.ndarray:
    """The (4, 4) int8 grid of tile exponents (0 = empty, row 0 on top) of a 64-bit board."""
    grid = np.empty((4, 4), dtype=np.int8)
    engine.board_to_grid(board, grid)
    return grid


def cell_rect(row: int, col: int) -> tuple[int, int, int, int]:
    """(x, y, width, height) in frame pixels of the cell at (row, col)."""
    board_left, board_top = GAP, BAR
    step = TILE + GAP
    return board_left + GAP + col * step, board_top + GAP + row * step, TILE, TILE


def ansi(state: dict[str, Any]) -> str:
    """The board as text: tile values in right-aligned columns, "." for empty, under a score line."""
    grid = board_grid(state["board"])
    lines = [f"score {state['score']}" + ("  game over" if state["game_over"] else "")]
    for row in grid:
        lines.append(" ".join(f"{1 << int(e) if e else '.':>5}" for e in row))
    return "\n".join(lines)


def __getattr__(name: str) -> Any:
    """Build `KEY_ACTIONS` on first access: its keys are pygame constants, and pygame loads lazily."""
    if name != "KEY_ACTIONS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pygame

    keys = {
        engine.UP: (pygame.K_UP, pygame.K_w),
        engine.RIGHT: (pygame.K_RIGHT, pygame.K_d),
        engine.DOWN: (pygame.K_DOWN, pygame.K_s),
        engine.LEFT: (pygame.K_LEFT, pygame.K_a),
    }
    globals()["KEY_ACTIONS"] = {key: action for action, pair in keys.items() for key in pair}
    return globals()["KEY_ACTIONS"]


class Game2048Renderer(Renderer):
    """Draws 2048 states in the three render modes (see `Renderer`).

    `render(state)` takes `{"board": int, "score": int, "game_over": bool}` and returns a str
    ("ansi"), a (HEIGHT, WIDTH, 3) uint8 array ("rgb_array"), or None ("human").
    """

    size = (WIDTH, HEIGHT)
    title = "gridworlds: 2048"

    def ansi(self, state: dict[str, Any]) -> str:
        return ansi(state)

    def frame(self, state: dict[str, Any]) -> np.ndarray:
        """The state drawn as a (HEIGHT, WIDTH, 3) uint8 array, off-screen."""
        import pygame

        surface = pygame.Surface((WIDTH, HEIGHT))
        surface.fill(PAGE)
        draw_text(surface, "2048", 56, DARK_TEXT, midleft=(GAP, BAR // 2))
        draw_text(surface, f"score {state['score']}", 40, DARK_TEXT, midright=(WIDTH - GAP, BAR // 2))
        pygame.draw.rect(surface, BOARD_COLOUR, (GAP, BAR, BOARD, BOARD), border_radius=6)
        for (row, col), exponent in np.ndenumerate(board_grid(state["board"])):
            rect = pygame.Rect(cell_rect(row, col))
            if exponent == 0:
                pygame.draw.rect(surface, EMPTY, rect, border_radius=3)
                continue
            colour, text_colour = TILE_COLOURS[min(int(exponent), max(TILE_COLOURS))]
            pygame.draw.rect(surface, colour, rect, border_radius=3)
            number = str(1 << int(exponent))
            draw_text(surface, number, NUMBER_SIZES[len(number)], text_colour, center=rect.center)
        if state["game_over"]:
            veil = pygame.Surface((BOARD, BOARD), pygame.SRCALPHA)
            veil.fill((*PAGE, 160))
            surface.blit(veil, (GAP, BAR))
            draw_text(surface, "Game over!", 72, DARK_TEXT, center=(WIDTH // 2, BAR + BOARD // 2))
        return to_frame(surface)

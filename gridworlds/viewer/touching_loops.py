"""Drawing touching loops: the field as text, as RGB frames that show loops forming, and in a window.

`TouchingLoopsRenderer` draws the state dict that both touching-loops envs' `render_state()` return:
`{"field": (n, n) int8 0/1, "valid": (n, n) bool (the cells the rule accepts), "step": env steps,
"sweeps": CA sweeps, "stable": every cell valid, "tiles": "touching" | "non-touching" | "custom",
"last_cell": (row, col) of the last edited cell or None}`.

Text ("ansi"): a status line, then one row of symbols per field row: `#` a valid path cell, `.` a
valid empty cell, `x` a path cell the rule rejects, `?` an empty cell the rule rejects.

Frames ("rgb_array", "human"): valid path cells take their loop's colour (`engine.loop_labels`
numbers the orthogonally connected groups of path cells, and the colours cycle through PALETTE,
which has no reds); red marks what the rule rejects, strong for a path cell and pale for an empty
one; valid empty cells are white. A thick frame stands for the field's constant-0 border and turns
green once the pattern is stable; the last edited cell is outlined in black. The status bar under
the board gives steps, sweeps, valid cells, density, and the loops once the pattern is stable.

Frames fit any n from 3 to MAX_N: `layout(n)` picks the cell size, and a frame's width tells its n,
which is how `action_from_event` turns a left click on a cell into the action that flips it in
TouchingLoops-v0 (`Discrete(n * n)`, cell r * n + c). pygame is imported on first use, so importing
this module (and rendering "ansi") needs no display and no pygame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gridworlds.engines import touching_loops as engine
from gridworlds.viewer.renderer import Renderer, draw_text, to_frame

FRAME_BASE = 560  # a frame is FRAME_BASE + n pixels wide, so that its width tells its n
MARGIN = 24  # the least room on each side of the board, where the border is drawn
BORDER = 6  # thickness of the frame drawn for the field's constant-0 border
BAR = 64  # height of the status bar under the board: two lines of text
OUTLINE = 3  # width of the last edited cell's outline: over the grid lines and 2 pixels into the cell

PAGE = (244, 242, 236)
GRID = (214, 211, 204)  # the 1-pixel lines between cells
EMPTY = (255, 255, 255)
INVALID_PATH = (196, 30, 45)
INVALID_EMPTY = (248, 198, 198)
LAST_CELL = (20, 20, 20)
BORDER_COLOURS = {False: (72, 76, 88), True: (46, 139, 87)}  # by stable
TEXT = (50, 52, 60)
# Loop colours: Tableau 10 without its red and pink, which would read as "invalid".
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (148, 103, 189),
    (140, 86, 75),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
SYMBOLS = {(1, True): "#", (0, True): ".", (1, False): "x", (0, False): "?"}  # by (cell, valid)


@dataclass(frozen=True)
class Layout:
    """Where the cells of an n x n field lie in a frame of `size` = (width, height) pixels."""

    n: int
    cell: int  # side of a cell, pixels, its grid line included
    left: int  # frame pixel of the board's top-left corner
    top: int
    size: tuple[int, int]

    def cell_rect(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) in frame pixels of cell (row, col), its grid line included."""
        return self.left + col * self.cell, self.top + row * self.cell, self.cell, self.cell

    def cell_at(self, x: int, y: int) -> int | None:
        """The index row * n + col of the cell under frame pixel (x, y), or None off the board;
        the inverse of `cell_rect`."""
        col, row = (x - self.left) // self.cell, (y - self.top) // self.cell
        return row * self.n + col if 0 <= row < self.n and 0 <= col < self.n else None


def layout(n: int) -> Layout:
    """The layout of frames of an n x n field.

    A frame is FRAME_BASE + n pixels wide and BAR taller than wide: a square with the board at its
    centre, over the status bar. Cells are as large as fit with MARGIN on each side, which keeps the
    board between 513 and 572 pixels wide for every n from 3 to MAX_N. A board of fixed width would
    look the same, but then frames of different n would have the same size, and a click could not
    tell which cell it hit.
    """
    n = engine.check_n(n)
    width = FRAME_BASE + n
    cell = (width - 2 * MARGIN) // n
    offset = (width - n * cell) // 2
    return Layout(n, cell, offset, offset, (width, width + BAR))


def frame_layout(frame_size: tuple[int, int]) -> Layout:
    """The layout of a frame of `frame_size` = (width, height): the inverse of `layout(n).size`."""
    width, height = frame_size
    n = width - FRAME_BASE
    if not 3 <= n <= engine.MAX_N or height != width + BAR:
        raise ValueError(f"{frame_size} is not the size of a touching-loops frame")
    return layout(n)


def loops(field: np.ndarray) -> tuple[np.ndarray, int]:
    """(labels, count): each path cell's group number 1..count (0 for empty cells), where a group is
    an orthogonally connected set of path cells, which in a stable pattern is one loop."""
    labels = np.zeros(field.shape, dtype=np.int64)
    count = engine.loop_labels(np.ascontiguousarray(field, dtype=np.int8), labels)
    return labels, int(count)


def status(state: dict[str, Any], loop_count: int) -> tuple[str, str]:
    """(the counts, the outcome): steps, sweeps, valid cells and density; then the tile set, and
    the number of loops once the pattern is stable (before that a group of path cells need not be
    a loop, so the count would mislead)."""
    field = state["field"]
    counts = (
        f"step {state['step']}  sweeps {state['sweeps']}  valid {int(state['valid'].sum())}/{field.size}"
        f"  density {field.mean():.2f}"
    )
    outcome = f"{state['tiles']} tiles: "
    outcome += f"stable, {loop_count} loop{'s' * (loop_count != 1)}" if state["stable"] else "forming"
    return counts, outcome


def ansi(state: dict[str, Any]) -> str:
    """The status line, then the field as symbols (see the module docstring)."""
    field, valid = state["field"], state["valid"]
    _, count = loops(field)
    lines = ["  ".join(status(state, count))]
    for cells, oks in zip(field, valid, strict=True):
        lines.append(" ".join(SYMBOLS[int(cell), bool(ok)] for cell, ok in zip(cells, oks, strict=True)))
    return "\n".join(lines)


def cell_colour(cell: int, valid: bool, label: int) -> tuple[int, int, int]:
    """A cell's fill: its loop's colour if it is a valid path cell, red if the rule rejects it."""
    if not valid:
        return INVALID_PATH if cell else INVALID_EMPTY
    return PALETTE[(label - 1) % len(PALETTE)] if cell else EMPTY


def action_from_event(event: Any, frame_size: tuple[int, int]) -> int | None:
    """The action a pygame event asks for: a left click on a cell flips it (r * n + c); else None.

    `frame_size` = (width, height) of the frame clicked on, which tells the field's n (see `layout`).
    """
    import pygame

    if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
        return frame_layout(frame_size).cell_at(*event.pos)
    return None


class TouchingLoopsRenderer(Renderer):
    """Draws touching-loops states in the three render modes (see `Renderer`) for both worlds.

    `render(state)` takes the state dict of the module docstring and returns a str ("ansi"), a
    (height, width, 3) uint8 array of `layout(n).size` ("rgb_array"), or None ("human").
    """

    size = (0, 0)  # set by each frame: it depends on the field's n
    title = "gridworlds: touching loops"

    def ansi(self, state: dict[str, Any]) -> str:
        return ansi(state)

    def frame(self, state: dict[str, Any]) -> np.ndarray:
        """The state drawn as a (height, width, 3) uint8 array, off-screen."""
        import pygame

        field, valid = state["field"], state["valid"]
        where = layout(field.shape[0])
        if where.size != self.size:
            self.close()  # a window shows frames of one size: a field of another n needs a new one
            self.size = where.size
        width, height = where.size
        surface = pygame.Surface((width, height))
        surface.fill(PAGE)
        # The board is filled with grid colour and each cell drawn 1 pixel short of its neighbours,
        # so the lines between cells, and around the outer cells, stay visible.
        span = where.n * where.cell + 1
        board = pygame.Rect(where.left - 1, where.top - 1, span, span)
        border = BORDER_COLOURS[bool(state["stable"])]
        pygame.draw.rect(surface, border, board.inflate(2 * BORDER, 2 * BORDER))
        pygame.draw.rect(surface, GRID, board)
        labels, count = loops(field)
        for (row, col), cell in np.ndenumerate(field):
            x, y, side, _ = where.cell_rect(row, col)
            colour = cell_colour(int(cell), bool(valid[row, col]), int(labels[row, col]))
            pygame.draw.rect(surface, colour, (x, y, side - 1, side - 1))
        if state["last_cell"] is not None:
            x, y, side, _ = where.cell_rect(*state["last_cell"])
            pygame.draw.rect(surface, LAST_CELL, (x - 1, y - 1, side + 1, side + 1), OUTLINE)
        counts, outcome = status(state, count)
        middle = width + BAR // 2  # the bar's midline; the board's square ends at y = width
        draw_text(surface, counts, 26, TEXT, midleft=(MARGIN, middle - 14))
        draw_text(surface, outcome, 26, TEXT, midleft=(MARGIN, middle + 14))
        return to_frame(surface)

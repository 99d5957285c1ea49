"""Drawing hide-and-seek: text grids, RGB frames with what each team sees, a window, keys for a person.

`HideAndSeekRenderer` draws the state dict of `HideAndSeekEnv.render_state()`: `{"walls": (g, g)
uint8, "doors": [(row, col), ...], "agents": [{"name", "row", "col", "facing" (0 up .. 7 up-left,
clockwise), "team" (0 hiders, 1 seekers), "return"}, ...], "objects": [{"row", "col" (a box's
top-left cell), "length", "vertical", "ramp", "lock" (0, or 1 + the locking team)}, ...], "visible":
bool [A, A + O] (who sees which agent, then which object), "seen_cells": bool [A, g, g] (the cells
each agent sees), "t", "prep_steps", "horizon"}`. The grid
is g = size + 2 cells a side: its outermost ring lies outside the play area's outer walls.

Text ("ansi"): a status line (phase, step / horizon, whether a seeker sees a hider, each team's
mean return), then two characters a cell: `##` a wall, `. ` floor, `: ` the ring outside the play
area, `+ ` a door (a gap in a room wall), `B ` a box and `R ` a ramp (`Bh` / `Rh` locked by the
hiders, `Bs` / `Rs` by the seekers), `h0` hider 0 (`H0` while a seeker sees it), `s0` seeker 0
(`S0` while it sees a hider); an agent standing on a ramp hides it. Then a line per agent: its
name, cell, facing, and whether it stands on a ramp, is outside the play area, is seen or sees.

Frames ("rgb_array", "human"): floor in light sand, the outside ring in grey-blue, walls dark,
doors as a darker patch of floor; boxes as brown rectangles (an elongated box one rectangle over its
cells), ramps as green wedges; a locked object is outlined in the locking team's colour. Agents are
circles in their team's colour (hiders blue, seekers red) with a tick towards their facing and their
number in the cell's corner; the cells a team sees (within an agent's 135 degree cone and in its
line of sight, as the engine decides) are shaded in the team's colour. A hider that some
seeker sees turns gold inside a gold halo. The status bar under the grid shows the phase
(preparation, then seeking), step / horizon with a timeline whose preparation part is shaded, and
each team's mean return. Frames of a g-cell grid are `layout(g).size`: cells shrink as grids grow.

Keys for a person playing one agent in the `gridworlds view` app (`action_from_event` returns the
agent's action, move, turn, grab, lock; `KEY_ACTIONS` holds the plain keys):

- arrows: move up, right, down, left;
- shift + arrow, or an arrow while g is held down: move holding the object in the facing cell
  (push, pull or drag it);
- z / x: turn left (anticlockwise) / right (clockwise) by 45 degrees;
- l: lock the object in the facing cell; u: unlock it;
- . (period): stay still for a step.

pygame is imported on first use, so importing this module (and rendering "ansi") needs no display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridworlds.engines import hide_and_seek as engine
from gridworlds.viewer.renderer import Renderer, draw_text, to_frame

BOARD_TARGET = 640  # the grid's side in pixels that cells are sized to approach
MIN_CELL, MAX_CELL = 8, 44  # cell side limits, pixels
MARGIN = 12  # room around the grid
BAR = 68  # height of the status bar under the grid
SIGHT_ALPHA = 48  # opacity of a team's shade on the cells it sees (0-255)

PAGE = (34, 36, 42)
FLOOR = (238, 234, 222)
FLOOR_LINE = (224, 219, 205)
OUTSIDE = (128, 138, 154)
OUTSIDE_LINE = (118, 128, 144)
WALL = (66, 70, 84)
DOOR = (218, 204, 172)
BOX = (184, 132, 76)
BOX_EDGE = (118, 80, 42)
RAMP = (104, 168, 112)
RAMP_EDGE = (52, 108, 62)
AGENT_EDGE = (24, 24, 28)
TEAM_COLOURS = {engine.HIDERS: (46, 118, 222), engine.SEEKERS: (216, 62, 52)}
TEAM_TEXT = {engine.HIDERS: (126, 176, 250), engine.SEEKERS: (250, 136, 124)}  # readable on PAGE
SEEN = (255, 206, 0)  # the body and halo of a hider a seeker sees
TEXT = (236, 236, 240)
TIMELINE = (84, 88, 100)
TIMELINE_PREP = (120, 112, 84)
TIMELINE_DONE = (200, 200, 210)

TEAM_NAMES = {engine.HIDERS: "hiders", engine.SEEKERS: "seekers"}
TEAM_LETTERS = {engine.HIDERS: "h", engine.SEEKERS: "s"}
FACING_NAMES = ("up", "up-right", "right", "down-right", "down", "down-left", "left", "up-left")


@dataclass(frozen=True)
class Layout:
    """Where the cells of a g x g grid lie in a frame of `size` = (width, height) pixels."""

    g: int
    cell: int  # side of a cell, pixels
    size: tuple[int, int]

    def cell_rect(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) in frame pixels of cell (row, col)."""
        return MARGIN + col * self.cell, MARGIN + row * self.cell, self.cell, self.cell

    def centre(self, row: int, col: int) -> tuple[int, int]:
        """The frame pixel (x, y) at the centre of cell (row, col)."""
        x, y, side, _ = self.cell_rect(row, col)
        return x + side // 2, y + side // 2


def layout(g: int) -> Layout:
    """The layout of frames of a g x g grid: square cells of about BOARD_TARGET / g pixels (within
    MIN_CELL and MAX_CELL) with MARGIN around them, over a BAR high status bar."""
    cell = max(MIN_CELL, min(MAX_CELL, BOARD_TARGET // g))
    width = g * cell + 2 * MARGIN
    return Layout(g, cell, (width, width + BAR))


def object_cells(obj: dict[str, Any]) -> list[tuple[int, int]]:
    """The cells an object covers: `length` cells from its anchor, down if vertical, else right."""
    return [
        (obj["row"] + k, obj["col"]) if obj["vertical"] else (obj["row"], obj["col"] + k)
        for k in range(obj["length"])
    ]


def is_outside(g: int, row: int, col: int) -> bool:
    """Whether (row, col) lies on the ring outside the play area."""
    return row in (0, g - 1) or col in (0, g - 1)


def sight(state: dict[str, Any]) -> tuple[list[bool], list[bool]]:
    """(for each agent: a hider that some seeker sees; a seeker that sees some hider)."""
    agents, visible = state["agents"], np.asarray(state["visible"])
    hiders = [i for i, a in enumerate(agents) if a["team"] == engine.HIDERS]
    seekers = [i for i, a in enumerate(agents) if a["team"] == engine.SEEKERS]
    seen = [i in hiders and any(visible[s, i] for s in seekers) for i in range(len(agents))]
    sees = [i in seekers and any(visible[i, h] for h in hiders) for i in range(len(agents))]
    return seen, sees


def team_returns(state: dict[str, Any]) -> dict[int, float]:
    """Each team's mean return so far."""
    returns: dict[int, list[float]] = {engine.HIDERS: [], engine.SEEKERS: []}
    for agent in state["agents"]:
        returns[agent["team"]].append(agent["return"])
    return {team: float(np.mean(values)) if values else 0.0 for team, values in returns.items()}


def phase(state: dict[str, Any]) -> str:
    return "preparation" if state["t"] < state["prep_steps"] else "seeking"


def status(state: dict[str, Any]) -> str:
    """Phase, step / horizon, whether a hider is seen, and each team's mean return."""
    seen, _ = sight(state)
    returns = team_returns(state)
    spotted = "hider seen" if any(seen) else "hiders hidden"
    scores = "  ".join(f"{TEAM_NAMES[team]} {value:+g}" for team, value in returns.items())
    return f"{phase(state)}  step {state['t']} / {state['horizon']}  {spotted}  {scores}"


def agent_symbols(state: dict[str, Any]) -> list[str]:
    """Each agent's two characters: team letter (upper case if seen / seeing) and number in its team."""
    seen, sees = sight(state)
    counts = {engine.HIDERS: 0, engine.SEEKERS: 0}
    symbols = []
    for i, agent in enumerate(state["agents"]):
        letter = TEAM_LETTERS[agent["team"]]
        symbols.append(f"{letter.upper() if seen[i] or sees[i] else letter}{counts[agent['team']] % 10}")
        counts[agent["team"]] += 1
    return symbols


def ansi(state: dict[str, Any]) -> str:
    """The status line, the grid two characters a cell, then a line per agent (see the module docstring)."""
    walls = np.asarray(state["walls"])
    g = walls.shape[0]
    cells = [[": " if is_outside(g, r, c) else ". " for c in range(g)] for r in range(g)]
    for r, c in zip(*np.nonzero(walls), strict=True):
        cells[r][c] = "##"
    for r, c in state["doors"]:
        cells[r][c] = "+ "
    ramps = set()
    for obj in state["objects"]:
        mark = " hs"[obj["lock"]]
        for r, c in object_cells(obj):
            cells[r][c] = ("R" if obj["ramp"] else "B") + mark
            if obj["ramp"]:
                ramps.add((r, c))
    symbols = agent_symbols(state)
    seen, sees = sight(state)
    notes = []
    for i, agent in enumerate(state["agents"]):
        r, c = agent["row"], agent["col"]
        cells[r][c] = symbols[i]
        extra = [
            flag
            for flag, on in (
                ("on a ramp", (r, c) in ramps),
                ("outside the play area", is_outside(g, r, c)),
                ("seen", seen[i]),
                ("sees a hider", sees[i]),
            )
            if on
        ]
        note = f"{symbols[i]} {agent['name']} at ({r}, {c}) facing {FACING_NAMES[agent['facing']]}"
        notes.append(", ".join([note, *extra]))
    lines = [status(state)]
    lines += ["".join(row).rstrip() for row in cells]
    return "\n".join(lines + notes)


def facing_vector(facing: int) -> tuple[float, float]:
    """The unit vector (x right, y down) of a facing."""
    dx, dy = float(engine.FACING_COL[facing]), float(engine.FACING_ROW[facing])
    norm = math.hypot(dx, dy)
    return dx / norm, dy / norm


def __getattr__(name: str) -> Any:
    """Build `KEY_ACTIONS` on first access: its keys are pygame constants, and pygame loads lazily."""
    if name != "KEY_ACTIONS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return key_actions()


def key_actions() -> dict[int, tuple[int, int, int, int]]:
    """`KEY_ACTIONS`: pygame key -> (move, turn, grab, lock) for the keys that need no modifier."""
    if "KEY_ACTIONS" in globals():
        return globals()["KEY_ACTIONS"]
    import pygame

    moves = {pygame.K_UP: engine.UP, pygame.K_RIGHT: engine.RIGHT, pygame.K_DOWN: engine.DOWN}
    moves[pygame.K_LEFT] = engine.LEFT
    keys: dict[int, tuple[int, int, int, int]] = {key: (move, 0, 0, 0) for key, move in moves.items()}
    keys[pygame.K_z] = (engine.STAY, engine.TURN_LEFT, 0, engine.NO_LOCK)
    keys[pygame.K_x] = (engine.STAY, engine.TURN_RIGHT, 0, engine.NO_LOCK)
    keys[pygame.K_l] = (engine.STAY, engine.NO_TURN, 0, engine.LOCK)
    keys[pygame.K_u] = (engine.STAY, engine.NO_TURN, 0, engine.UNLOCK)
    keys[pygame.K_PERIOD] = keys[pygame.K_KP_PERIOD] = (engine.STAY, engine.NO_TURN, 0, engine.NO_LOCK)
    globals()["KEY_ACTIONS"] = keys
    return keys


_held: set[int] = set()  # the keys held down that change other keys' meaning (g), seen by action_from_event


def action_from_event(event: Any, frame_size: tuple[int, int]) -> np.ndarray | None:
    """The action (move, turn, grab, lock) a pygame event asks for, or None (see the module docstring).

    Whether g is held is followed from the g key's press and release events, so every event should
    pass through here. `frame_size` (part of the app's interface) is unused: keys need no pixels.
    """
    import pygame

    if event.type == pygame.KEYUP:
        _held.discard(event.key)
        return None
    if event.type != pygame.KEYDOWN:
        return None
    if event.key == pygame.K_g:
        _held.add(pygame.K_g)
        return None
    action = key_actions().get(event.key)
    if action is None:
        return None
    move, turn, grab, lock = action
    if move != engine.STAY and (getattr(event, "mod", 0) & pygame.KMOD_SHIFT or pygame.K_g in _held):
        grab = 1
    return np.array([move, turn, grab, lock], dtype=np.int64)


class HideAndSeekRenderer(Renderer):
    """Draws hide-and-seek states in the three render modes (see `Renderer`) for both worlds.

    `render(state)` takes the state dict of the module docstring and returns a str ("ansi"), a
    (height, width, 3) uint8 array of `layout(g).size` ("rgb_array"), or None ("human").
    """

    size = (0, 0)  # set by each frame: it depends on the grid's side
    title = "gridworlds: hide and seek"

    def ansi(self, state: dict[str, Any]) -> str:
        return ansi(state)

    def frame(self, state: dict[str, Any]) -> np.ndarray:
        """The state drawn as a (height, width, 3) uint8 array, off-screen."""
        import pygame

        walls = np.asarray(state["walls"])
        where = layout(walls.shape[0])
        if where.size != self.size:
            self.close()  # a window shows frames of one size: a grid of another side needs a new one
            self.size = where.size
        surface = pygame.Surface(where.size)
        surface.fill(PAGE)
        self._floor(surface, where, walls, state["doors"])
        self._sight(surface, where, state)
        for r, c in zip(*np.nonzero(walls), strict=True):
            pygame.draw.rect(surface, WALL, where.cell_rect(r, c))
        for obj in state["objects"]:
            self._object(surface, where, obj)
        seen, _ = sight(state)
        numbers = agent_symbols(state)
        for i, agent in enumerate(state["agents"]):
            self._agent(surface, where, agent, seen[i], numbers[i][1])
        self._status_bar(surface, where, state)
        return to_frame(surface)

    def _floor(self, surface: Any, where: Layout, walls: np.ndarray, doors: list) -> None:
        """The outside ring in its own shade, the play area's floor with faint lines between cells."""
        import pygame

        g, cell = where.g, where.cell
        pygame.draw.rect(surface, OUTSIDE, (MARGIN, MARGIN, g * cell, g * cell))
        inner = pygame.Rect(MARGIN + cell, MARGIN + cell, (g - 2) * cell, (g - 2) * cell)
        pygame.draw.rect(surface, FLOOR_LINE if cell >= 12 else FLOOR, inner)
        if cell >= 12:  # each cell 1 pixel short of its neighbours leaves the lines between them
            for r in range(1, g - 1):
                for c in range(1, g - 1):
                    if not walls[r, c]:
                        x, y, _, _ = where.cell_rect(r, c)
                        pygame.draw.rect(surface, FLOOR, (x + 1, y + 1, cell - 1, cell - 1))
        for r, c in doors:
            x, y, _, _ = where.cell_rect(r, c)
            inset = max(1, cell // 8)
            pygame.draw.rect(surface, DOOR, (x + inset, y + inset, cell - 2 * inset, cell - 2 * inset))

    def _sight(self, surface: Any, where: Layout, state: dict[str, Any]) -> None:
        """The cells each team sees (cone and line of sight), shaded in its colour."""
        import pygame

        seen_cells = np.asarray(state["seen_cells"])
        for team, colour in TEAM_COLOURS.items():
            members = [i for i, agent in enumerate(state["agents"]) if agent["team"] == team]
            cells = seen_cells[members].any(axis=0)
            layer = pygame.Surface(where.size, pygame.SRCALPHA)
            for r, c in zip(*np.nonzero(cells), strict=True):
                pygame.draw.rect(layer, (*colour, SIGHT_ALPHA), where.cell_rect(r, c))
            surface.blit(layer, (0, 0))

    def _object(self, surface: Any, where: Layout, obj: dict[str, Any]) -> None:
        """A box as one rectangle over its cells, a ramp as a wedge; a lock outlines it in its team's
        colour."""
        import pygame

        cell = where.cell
        x, y, _, _ = where.cell_rect(obj["row"], obj["col"])
        width, height = (cell, cell * obj["length"]) if obj["vertical"] else (cell * obj["length"], cell)
        inset = max(1, cell // 10)
        rect = pygame.Rect(x + inset, y + inset, width - 2 * inset, height - 2 * inset)
        lock = TEAM_COLOURS[obj["lock"] - 1] if obj["lock"] else None
        edge = max(2, cell // 9)
        if obj["ramp"]:
            # A wedge seen from the side: the slope rising from the cell's bottom-left to its top-right.
            points = [rect.bottomleft, rect.bottomright, rect.topright]
            pygame.draw.polygon(surface, RAMP, points)
            pygame.draw.polygon(surface, lock or RAMP_EDGE, points, edge if lock else max(1, edge // 2))
            return
        pygame.draw.rect(surface, BOX, rect, border_radius=max(1, cell // 10))
        pygame.draw.rect(
            surface, lock or BOX_EDGE, rect, edge if lock else max(1, edge // 2), max(1, cell // 10)
        )

    def _agent(self, surface: Any, where: Layout, agent: dict[str, Any], seen: bool, number: str) -> None:
        """A circle in the team's colour (gold in a gold halo for a seen hider), a facing tick, its number."""
        import pygame
        from pygame import gfxdraw

        cell = where.cell
        x, y = where.centre(agent["row"], agent["col"])
        radius = max(3, round(cell * 0.34))
        colour = TEAM_COLOURS[agent["team"]]
        if seen:
            gfxdraw.filled_circle(surface, x, y, radius + max(2, cell // 8), SEEN)
            gfxdraw.aacircle(surface, x, y, radius + max(2, cell // 8), SEEN)
        gfxdraw.filled_circle(surface, x, y, radius, AGENT_EDGE)
        inner = radius - max(1, cell // 16)
        gfxdraw.filled_circle(surface, x, y, inner, SEEN if seen else colour)
        gfxdraw.aacircle(surface, x, y, radius, AGENT_EDGE)
        if seen:  # a team-coloured ring keeps a gold hider a hider
            pygame.draw.circle(surface, colour, (x, y), inner, max(1, cell // 12))
        dx, dy = facing_vector(agent["facing"])
        start = (x + dx * radius * 0.45, y + dy * radius * 0.45)
        end = (x + dx * radius * 1.35, y + dy * radius * 1.35)
        pygame.draw.line(surface, AGENT_EDGE, start, end, max(2, cell // 10))
        if cell >= 24:
            left, top, _, _ = where.cell_rect(agent["row"], agent["col"])
            draw_text(surface, number, max(12, cell * 2 // 5), AGENT_EDGE, topleft=(left + 2, top + 1))

    def _status_bar(self, surface: Any, where: Layout, state: dict[str, Any]) -> None:
        """Under the grid: a timeline, then the phase and step, then each team's mean return."""
        import pygame

        width, height = where.size
        top = height - BAR
        line = pygame.Rect(MARGIN, top + 2, width - 2 * MARGIN, 6)
        horizon = max(state["horizon"], 1)
        pygame.draw.rect(surface, TIMELINE, line)
        prep = line.width * min(state["prep_steps"], horizon) // horizon
        pygame.draw.rect(surface, TIMELINE_PREP, (line.left, line.top, prep, line.height))
        done = line.width * min(state["t"], horizon) // horizon
        pygame.draw.rect(surface, TIMELINE_DONE, (line.left, line.top + 2, done, line.height - 4))
        first, second = top + 24, top + 50
        seen, _ = sight(state)
        draw_text(surface, phase(state), 28, TEXT, midleft=(MARGIN, first))
        spotted = "hider seen" if any(seen) else "hiders hidden"
        draw_text(surface, spotted, 24, SEEN if any(seen) else TEXT, center=(width // 2, first))
        draw_text(
            surface, f"step {state['t']} / {state['horizon']}", 28, TEXT, midright=(width - MARGIN, first)
        )
        returns = team_returns(state)
        draw_text(
            surface,
            f"{TEAM_NAMES[engine.HIDERS]} {returns[engine.HIDERS]:+g}",
            28,
            TEAM_TEXT[engine.HIDERS],
            midleft=(MARGIN, second),
        )
        draw_text(
            surface,
            f"{TEAM_NAMES[engine.SEEKERS]} {returns[engine.SEEKERS]:+g}",
            28,
            TEAM_TEXT[engine.SEEKERS],
            midright=(width - MARGIN, second),
        )

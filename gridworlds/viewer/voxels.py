"""Drawing voxel robots: RGB frames of the deformed voxels, seen by a camera that follows the robot.

`VoxelRenderer` draws the state dict of `VoxelEnv.render_state()`: `{"pos": float64 [P, 2] point
positions (x right, y up, metres; a voxel is 0.1), "corners": [V, 4] each voxel's point indices,
top-left, top-right, bottom-left, bottom-right, "material": [V] (`voxels.bodies`: 1 rigid, 2 soft,
3 horizontal actuator, 4 vertical actuator, 5 fixed), "piece_kind": [V] (0 robot, 1 terrain, 2 free
object), "actuator_voxels": [A] voxel indices in action order, "action": [A] the last action (0.6 to
1.6, 1.0 at rest), "robot_centre": [2], "step", "episode_return", "task"}`.

Frames ("rgb_array", "human"), WIDTH x HEIGHT pixels at a fixed SCALE of pixels per metre: every
voxel is its quadrilateral as the simulator has deformed it, filled by material in EvoGym's colours
(rigid near-black, soft light grey, horizontal actuators orange, vertical actuators light blue,
fixed terrain grey-brown) with a thin outline. Free objects (boxes) take purple shades of their
material, so they never read as part of the robot. An actuator's colour follows its last action:
at rest (1.0) its material's colour, darker and deeper as it contracts towards 0.6, paler as it
extends towards 1.6, so a gait shows as colour waves. Terrain is drawn first, then objects, then the
robot; the ground line y = 0 lies over soil-coloured ground, with faint vertical lines and labels
every metre so that motion shows against them.

The camera keeps the robot's centre at the frame's centre column. Vertically it rests with the ground
line GROUND_ROW pixels from the top while the robot is low, follows the robot up once its centre
rises above the frame's middle, and follows it down once it sinks more than FALL metres below.
The status bar under the scene gives the task, step, episode return and the robot's x.

Text ("ansi", for completeness: the voxel envs render frames): the status line. pygame is imported
on first use, so importing this module needs no display and no pygame.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import FIXED, H_ACT, RIGID, SOFT, V_ACT
from gridworlds.viewer.renderer import Renderer, draw_text, to_frame

SCALE = 250  # pixels per metre: a voxel (0.1 m) is 25 pixels
WIDTH = 800
SCENE = 440  # height of the scene above the status bar
BAR = 40  # height of the status bar
HEIGHT = SCENE + BAR
GROUND_ROW = 360  # the pixel row of y = 0 while the robot is low
REST_CAMERA_Y = (GROUND_ROW - SCENE / 2) / SCALE  # the height at the scene's middle row then, metres
FALL = 0.6  # metres the robot's centre may sink below the scene's middle before the camera follows
MARGIN = 12  # room left of the status text
REST_ACTION = 1.0

PAGE = (247, 247, 243)
SOIL = (226, 218, 204)
GRID = (230, 230, 224)  # the vertical lines every metre
GRID_TEXT = (150, 140, 126)
GROUND = (96, 84, 70)  # the line y = 0
OUTLINE = (28, 28, 30)  # robot and object voxels
TERRAIN_OUTLINE = (78, 70, 62)
BAR_COLOUR = (60, 58, 50)
TEXT = (249, 246, 242)
# EvoGym's palette, by material.
MATERIAL_COLOURS = {
    RIGID: (38, 38, 38),
    SOFT: (191, 191, 191),
    H_ACT: (253, 142, 62),
    V_ACT: (109, 175, 214),
    FIXED: (122, 108, 94),
}
# Free objects, by material (others fall back to MATERIAL_COLOURS).
OBJECT_COLOURS = {RIGID: (104, 58, 140), SOFT: (196, 168, 222), FIXED: (104, 58, 140)}
# The tints an actuator shades towards: fully contracted (ACTION_LOW) and fully extended (ACTION_HIGH).
CONTRACTED = {H_ACT: (178, 58, 10), V_ACT: (22, 84, 160)}
EXTENDED = {H_ACT: (255, 222, 188), V_ACT: (214, 238, 252)}
GROUND_LINE = 2  # width of the ground line, pixels


def mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    """The colour a fraction t of the way from a to b (t clipped to [0, 1]), rounded."""
    t = min(max(t, 0.0), 1.0)
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def actuator_colour(material: int, action: float) -> tuple[int, int, int]:
    """An actuator's fill for its last action: its material's colour at rest, towards CONTRACTED
    below 1.0 and towards EXTENDED above it."""
    base = MATERIAL_COLOURS[material]
    if action < REST_ACTION:
        return mix(base, CONTRACTED[material], (REST_ACTION - action) / (REST_ACTION - engine.ACTION_LOW))
    return mix(base, EXTENDED[material], (action - REST_ACTION) / (engine.ACTION_HIGH - REST_ACTION))


def voxel_colour(material: int, kind: int, action: float = REST_ACTION) -> tuple[int, int, int]:
    """A voxel's fill by its material, its piece's kind, and (for a robot's actuator) its action."""
    if kind == engine.OBJECT:
        return OBJECT_COLOURS.get(material, MATERIAL_COLOURS[material])
    if kind == engine.ROBOT and material in (H_ACT, V_ACT):
        return actuator_colour(material, action)
    return MATERIAL_COLOURS[material]


def voxel_actions(state: dict[str, Any]) -> np.ndarray:
    """Each voxel's last action: its actuator's, or 1.0 (rest) for a voxel that is no actuator."""
    actions = np.full(len(state["material"]), REST_ACTION)
    actions[np.asarray(state["actuator_voxels"])] = np.asarray(state["action"], dtype=np.float64)
    return actions


def camera(state: dict[str, Any]) -> tuple[float, float]:
    """The point (x, y) in metres drawn at the scene's centre (see the module docstring)."""
    x, y = (float(v) for v in state["robot_centre"])
    return x, min(max(REST_CAMERA_Y, y), y + FALL)


def to_pixels(points: np.ndarray, view: tuple[float, float]) -> np.ndarray:
    """Points [..., 2] in metres as int64 frame pixels (column, row) for the camera at `view`."""
    points = np.asarray(points, dtype=np.float64)
    column = WIDTH / 2 + (points[..., 0] - view[0]) * SCALE
    row = SCENE / 2 - (points[..., 1] - view[1]) * SCALE
    return np.rint(np.stack([column, row], axis=-1)).astype(np.int64)


def status(state: dict[str, Any]) -> str:
    """The task, step, episode return and the robot's x."""
    return (
        f"{state['task']}   step {state['step']}   return {state['episode_return']:+.3f}"
        f"   x {float(state['robot_centre'][0]):.2f} m"
    )


class VoxelRenderer(Renderer):
    """Draws voxel-robot states in the three render modes (see `Renderer`).

    `render(state)` takes the state dict of the module docstring and returns a str ("ansi"), a
    (HEIGHT, WIDTH, 3) uint8 array ("rgb_array"), or None ("human").
    """

    size = (WIDTH, HEIGHT)
    title = "gridworlds: voxel robots"

    def ansi(self, state: dict[str, Any]) -> str:
        return status(state)

    def frame(self, state: dict[str, Any]) -> np.ndarray:
        """The state drawn as a (HEIGHT, WIDTH, 3) uint8 array, off-screen."""
        import pygame

        surface = pygame.Surface((WIDTH, HEIGHT))
        surface.fill(PAGE)
        view = camera(state)
        surface.set_clip(pygame.Rect(0, 0, WIDTH, SCENE))
        ground = int(to_pixels(np.array([0.0, 0.0]), view)[1])
        if ground < SCENE:
            pygame.draw.rect(surface, SOIL, (0, max(ground, 0), WIDTH, SCENE - max(ground, 0)))
        self._metres(surface, view, ground)
        self._voxels(surface, state, view)
        pygame.draw.line(surface, GROUND, (0, ground), (WIDTH - 1, ground), GROUND_LINE)
        surface.set_clip(None)
        pygame.draw.rect(surface, BAR_COLOUR, (0, SCENE, WIDTH, BAR))
        draw_text(surface, status(state), 26, TEXT, midleft=(MARGIN, SCENE + BAR // 2))
        return to_frame(surface)

    def _metres(self, surface: Any, view: tuple[float, float], ground: int) -> None:
        """A faint vertical line above the ground at every whole metre in view, labelled below it."""
        import pygame

        half = WIDTH / 2 / SCALE
        label_row = min(max(ground + 14, 12), SCENE - 12)
        for metre in range(math.floor(view[0] - half), math.ceil(view[0] + half) + 1):
            column = int(to_pixels(np.array([metre, 0.0]), view)[0])
            if 0 <= column < WIDTH:
                pygame.draw.line(surface, GRID, (column, 0), (column, min(ground, SCENE)))
                draw_text(surface, f"{metre} m", 20, GRID_TEXT, center=(column, label_row))

    def _voxels(self, surface: Any, state: dict[str, Any], view: tuple[float, float]) -> None:
        """Every voxel in view as its filled quadrilateral with an outline: terrain, objects, robot."""
        import pygame

        corners = np.asarray(state["corners"])
        material, kind = np.asarray(state["material"]), np.asarray(state["piece_kind"])
        actions = voxel_actions(state)
        # Corners in order round each quadrilateral: top-left, top-right, bottom-right, bottom-left.
        quads = to_pixels(np.asarray(state["pos"])[corners[:, [0, 1, 3, 2]]], view)
        low, high = quads.min(axis=1), quads.max(axis=1)
        shown = (high[:, 0] >= 0) & (low[:, 0] < WIDTH) & (high[:, 1] >= 0) & (low[:, 1] < SCENE)
        for piece_kind in (engine.TERRAIN, engine.OBJECT, engine.ROBOT):
            outline = TERRAIN_OUTLINE if piece_kind == engine.TERRAIN else OUTLINE
            for v in np.flatnonzero(shown & (kind == piece_kind)):
                points = quads[v].tolist()
                pygame.draw.polygon(surface, voxel_colour(int(material[v]), piece_kind, actions[v]), points)
                pygame.draw.polygon(surface, outline, points, 1)

"""What every world's renderer shares: the three render modes, text in cached fonts, surfaces as frames.

A world's renderer subclasses `Renderer` and only says how to draw one state as text and as a frame.
pygame is imported on first use, so importing this module (and rendering "ansi") needs no display.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridworlds.viewer.window import Window

RENDER_MODES = ("ansi", "rgb_array", "human")

_fonts: dict[int, Any] = {}


def font(size: int) -> Any:
    """pygame's default font at `size` pixels, made once per size."""
    import pygame

    # pygame.font.quit() (pygame.quit() too) invalidates every font made before it.
    if not pygame.font.get_init():
        pygame.font.init()
        _fonts.clear()
    if size not in _fonts:
        _fonts[size] = pygame.font.Font(None, size)
    return _fonts[size]


def draw_text(surface: Any, text: str, size: int, colour: tuple[int, int, int], **anchor: Any) -> None:
    """Draw `text` in the default font, placed by one pygame.Rect anchor (center=, midleft=, ...)."""
    image = font(size).render(text, True, colour)
    surface.blit(image, image.get_rect(**anchor))


def to_frame(surface: Any) -> np.ndarray:
    """A pygame surface as a (height, width, 3) uint8 array (surfarray indexes pixels as [x, y])."""
    import pygame

    return np.ascontiguousarray(pygame.surfarray.array3d(surface).swapaxes(0, 1))


class Renderer:
    """Draws a world's states as "ansi" text, "rgb_array" frames or in a "human" window paced at `fps`.

    Subclasses set `size` (width, height of every frame) and `title`, and define `ansi(state) -> str`
    and `frame(state) -> (height, width, 3) uint8 array`, both depending on the state alone.
    `render(state)` returns the text, the frame, or None (the window). Once the person closes the
    human window, rendering draws nothing.
    """

    size: tuple[int, int]
    title: str

    def __init__(self, render_mode: str, fps: float):
        if render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode must be one of {list(RENDER_MODES)}, got {render_mode!r}")
        self.render_mode = render_mode
        self.fps = fps
        self._window: Window | None = None

    def ansi(self, state: dict[str, Any]) -> str:
        raise NotImplementedError

    def frame(self, state: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def render(self, state: dict[str, Any]) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return self.ansi(state)
        frame = self.frame(state)
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = Window(self.size, self.title)
        self._window.events()  # keeps the window responsive and notices the close button
        self._window.show(frame)
        self._window.tick(self.fps)
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None

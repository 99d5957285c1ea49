"""A pygame window that shows RGB frames: the one piece of screen code every world's viewer shares.

pygame is imported when a window opens, not when this module is imported, so code that only
produces "ansi" or "rgb_array" output never pays for a display.
"""

from __future__ import annotations

import numpy as np


class Window:
    """A window of a fixed size that shows (height, width, 3) uint8 frames.

    Closing it, from code with `close()` or by the person with the window's close button (seen
    by `events()`), is final: afterwards `show` does nothing and `events` returns no events.
    """

    def __init__(self, size: tuple[int, int], title: str):
        """Open a window `size` = (width, height) pixels with `title` in its title bar."""
        import pygame

        self._pygame = pygame
        pygame.display.init()
        self.size = (int(size[0]), int(size[1]))
        self._screen = pygame.display.set_mode(self.size)
        pygame.display.set_caption(title)
        self._clock = pygame.time.Clock()
        self.closed = False

    def show(self, frame: np.ndarray) -> None:
        """Draw a (height, width, 3) uint8 frame of the window's size and bring it on screen."""
        if self.closed:
            return
        width, height = self.size
        if frame.shape != (height, width, 3):
            raise ValueError(f"frame must have shape {(height, width, 3)}, got {frame.shape}")
        # surfarray indexes pixels as [x, y]; frames are [row, column].
        self._pygame.surfarray.blit_array(self._screen, frame.swapaxes(0, 1))
        self._pygame.display.flip()

    def events(self) -> list:
        """The pygame events since the last call. A QUIT event (the close button) closes the window."""
        if self.closed:
            return []
        events = self._pygame.event.get()
        if any(event.type == self._pygame.QUIT for event in events):
            self.close()
        return events

    def tick(self, fps: float) -> float:
        """Wait so that calls come at most `fps` times a second (0: no wait).

        Returns the seconds since the previous call.
        """
        return self._clock.tick(fps) / 1000.0

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._pygame.display.quit()

"""The render hook every env shares: draw `render_state()` with the world's registered viewer.

The env names its world id, never a viewer module: the registry's `viewer` string is resolved on
the first render, so an env module imports no pygame.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from gridworlds.registry import load, world


class ViewerRendering:
    """Mix into an env that sets `world_id`, `render_mode`, `metadata["render_fps"]` and defines
    `render_state() -> dict` (what the world's viewer draws)."""

    world_id: str
    render_mode: str | None
    _renderer: Any = None

    def render_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def render(self):
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= when making the env")
            return None
        if self._renderer is None:
            viewer = load(world(self.world_id).viewer)
            self._renderer = viewer(self.render_mode, self.metadata["render_fps"])
        return self._renderer.render(self.render_state())

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_renderer"] = None  # a pygame window does not pickle; a copy opens its own
        return state

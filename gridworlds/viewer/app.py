"""The `gridworlds view` app: play a world with the keyboard (or mouse), or watch an agent play it.

The world draws itself as "rgb_array" frames; the app shows them in a `Window` with a status line
underneath (score, speed, whose turn) and turns events into moves. How an event becomes a move is
the world's business, found in its viewer module (the module of the registry's `viewer` entry):

- `action_from_event(event, frame_size) -> action | None`, if the module defines it (for worlds
  played with the mouse: `frame_size` = (width, height) of the world's frame, which sits at the
  window's top-left corner, so `event.pos` is in frame pixels); otherwise
- `KEY_ACTIONS`, a dict from pygame key to action.

App keys come first: Esc or q quits, r restarts, space pauses the agent, + and - change its speed.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gridworlds import registry
from gridworlds.agents import load_agent, make_agent, read_manifest
from gridworlds.viewer.window import Window

FRAME_RATE = 30  # screen refreshes a second; the agent's moves are paced separately, by fps
STATUS_HEIGHT = 32
SPEED_RANGE = (0.25, 1000.0)  # agent moves a second that + and - stay within
RESTART_PAUSE_S = 1.5  # how long a finished game stays on screen before an agent starts the next
STATUS_BACKGROUND = (60, 58, 50)
STATUS_TEXT = (249, 246, 242)

EventToAction = Callable[[Any, tuple[int, int]], Any]


def view(
    world_id: str,
    agent: str | None = None,
    fps: float = 4.0,
    seed: int | None = None,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Open a window on a world and play until the window closes, q / Esc, or `max_steps` env steps.

    `agent` is None (a person plays), a registered agent name, or a checkpoint directory (anything
    that exists on disk). `fps` is the agent's moves a second; `seed` seeds the first game and the
    agent. Returns `{"steps": env steps taken, "episodes": games that ended, "score": the return
    of the last game so far}`.
    """
    spec = registry.world(world_id)
    if spec.kind != registry.GYMNASIUM:
        raise ValueError(f"view plays single-agent (gymnasium) worlds so far; {world_id} is {spec.kind}")
    if spec.viewer is None:
        raise ValueError(f"{world_id} has no viewer")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    player, name, env_kwargs = _player(agent, world_id, seed)
    env = registry.make(world_id, render_mode="rgb_array", **env_kwargs)
    try:
        return _App(env, world_id, player, name, fps, seed, max_steps).run()
    finally:
        env.close()


def _player(agent: str | None, world_id: str, seed: int | None) -> tuple[Any, str, dict[str, Any]]:
    """(agent or None, the name the status line shows for whoever plays, the world's arguments).

    A checkpoint plays the world as it learned it (e.g. with onehot observations).
    """
    if agent is None:
        return None, "you", {}
    if not Path(agent).exists():
        return make_agent(agent, world_id, seed=seed), agent, {}
    player = load_agent(agent)
    if player.world_id != world_id:
        raise ValueError(f"checkpoint {agent} plays {player.world_id}, not {world_id}")
    return player, f"{player.name} ({Path(agent).name})", read_manifest(agent)["env"]


def _event_to_action(world_id: str) -> EventToAction:
    """The world's way of turning a pygame event into an action (None: the event is no move)."""
    module = importlib.import_module(registry.world(world_id).viewer.partition(":")[0])
    if hasattr(module, "action_from_event"):
        return module.action_from_event
    import pygame

    keys = getattr(module, "KEY_ACTIONS", {})
    return lambda event, frame_size: keys.get(event.key) if event.type == pygame.KEYDOWN else None


class _App:
    """One viewing session: the env, who plays it, the window, and the counts `view` returns."""

    def __init__(
        self,
        env: Any,
        world_id: str,
        agent: Any,
        name: str,
        fps: float,
        seed: int | None,
        max_steps: int | None,
    ):
        import pygame

        self.pygame = pygame
        self.env = env
        self.world_id = world_id
        self.agent = agent
        self.name = name
        self.fps = float(fps)
        self.max_steps = max_steps
        self.to_action = _event_to_action(world_id)
        self.steps = 0
        self.episodes = 0
        self.paused = False
        self.quit = False
        self.owed = 0.0  # agent moves due but not yet made
        self.restart_at = 0.0  # time.monotonic() when an agent's finished game gives way to the next
        self._reset(seed)
        pygame.font.init()
        self.font = pygame.font.Font(None, 24)

    def run(self) -> dict[str, Any]:
        height, width, _ = self.frame.shape
        window = Window((width, height + STATUS_HEIGHT), f"gridworlds: {self.world_id}")
        try:
            while not self.quit:
                for event in window.events():
                    self._handle(event)
                if window.closed:
                    break
                seconds = window.tick(FRAME_RATE)
                if self.agent is not None:
                    self._agent_turn(seconds)
                window.show(np.concatenate([self.frame, self._status(width)]))
        finally:
            window.close()
        return {"steps": self.steps, "episodes": self.episodes, "score": self.score}

    def _reset(self, seed: int | None = None) -> None:
        self.observation, self.info = self.env.reset(seed=seed)
        self.score = 0.0
        self.over = False
        self.owed = 0.0
        self.frame = self.env.render()

    def _step(self, action: Any) -> None:
        self.observation, reward, terminated, truncated, self.info = self.env.step(action)
        self.score += float(reward)
        self.steps += 1
        self.frame = self.env.render()
        if terminated or truncated:
            self.over = True
            self.episodes += 1
            self.restart_at = time.monotonic() + RESTART_PAUSE_S
        if self.max_steps is not None and self.steps >= self.max_steps:
            self.quit = True

    def _handle(self, event: Any) -> None:
        """Act on one event: an app key, else (when a person plays) the world's move for it."""
        pg = self.pygame
        if event.type == pg.KEYDOWN:
            if event.key in (pg.K_ESCAPE, pg.K_q):
                self.quit = True
                return
            if event.key == pg.K_r:
                self._reset()
                return
            if self.agent is not None:
                if event.key == pg.K_SPACE:
                    self.paused = not self.paused
                # + needs shift on most keyboards, so the = key beside it counts as + too.
                elif event.key in (pg.K_PLUS, pg.K_EQUALS, pg.K_KP_PLUS):
                    self.fps = min(self.fps * 2, max(SPEED_RANGE))
                elif event.key in (pg.K_MINUS, pg.K_KP_MINUS):
                    self.fps = max(self.fps / 2, min(SPEED_RANGE))
                return
        if self.agent is None and not self.over and not self.quit:
            height, width, _ = self.frame.shape
            action = self.to_action(event, (width, height))
            if action is not None:
                self._step(action)

    def _agent_turn(self, seconds: float) -> None:
        """Make the agent's moves that fell due in the last `seconds`, or restart a finished game."""
        if self.paused:
            return
        if self.over:
            if time.monotonic() >= self.restart_at:
                self._reset()
            return
        # A cap on the moves owed keeps a slow agent or a stalled window from causing a burst.
        self.owed = min(self.owed + seconds * self.fps, 1 + self.fps / FRAME_RATE)
        while self.owed >= 1 and not self.over and not self.quit:
            self._step(self.agent.act(self.observation, self.info))
            self.owed -= 1

    def _status(self, width: int) -> np.ndarray:
        """The status line under the world's frame, as a (STATUS_HEIGHT, width, 3) uint8 array."""
        parts = [f"playing: {self.name}", f"score {self.score:.10g}"]
        if self.agent is not None:
            parts.append(f"speed {self.fps:g}/s")
        if self.over:
            parts.append("game over" if self.agent is not None else "game over: r plays again")
        elif self.paused:
            parts.append("paused")
        surface = self.pygame.Surface((width, STATUS_HEIGHT))
        surface.fill(STATUS_BACKGROUND)
        image = self.font.render("   ".join(parts), True, STATUS_TEXT)
        surface.blit(image, image.get_rect(midleft=(8, STATUS_HEIGHT // 2)))
        return self.pygame.surfarray.array3d(surface).swapaxes(0, 1)

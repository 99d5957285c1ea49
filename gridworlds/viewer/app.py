"""The `gridworlds view` app: play a world with the keyboard or the mouse, or watch agents play it.

Every seat of a world is played by an agent or by the person at the window. A gymnasium world has
one seat; a pettingzoo AEC world (turn-based, like Othello) has one per agent of `possible_agents`.
The agents given fill the seats in that order, and the person plays every seat left over or given
as "human" (`["human", "alphabeta"]` puts the person on the first seat). A world whose registry
entry names a `view_opponent_kwarg` has a built-in opponent: there the one agent named becomes that
opponent and the person plays (`view("gridworlds/OthelloVs-v0", agent="alphabeta")`), unless
`env_kwargs` already chooses the opponent.

The world draws itself as "rgb_array" frames; the app shows them in a `Window` with a status line
underneath (who plays, score, speed, whose turn) and turns events into moves. How an event becomes a
move is the world's business, found in its viewer module (the module of the registry's `viewer` entry):

- `action_from_event(event, frame_size) -> action | None`, if the module defines it (for worlds
  played with the mouse: `frame_size` = (width, height) of the world's frame, which sits at the
  window's top-left corner, so `event.pos` is in frame pixels); otherwise
- `KEY_ACTIONS`, a dict from pygame key to action.

A person's move that the world's action space or action mask forbids is ignored: the world's rule
for illegal actions (losing the game, an error) is meant for learners, not for a slip of the hand.

App keys come first: Esc or q quits, r restarts, space pauses the agents, + and - change their
speed. A finished game waits for r, or gives way to the next by itself when only agents play.
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
from gridworlds.agents.simple import action_mask
from gridworlds.viewer.renderer import draw_text, to_frame
from gridworlds.viewer.window import Window

FRAME_RATE = 30  # screen refreshes a second; the agents' moves are paced separately, by fps
STATUS_HEIGHT = 32
SPEED_RANGE = (0.25, 1000.0)  # agent moves a second that + and - stay within
RESTART_PAUSE_S = 1.5  # how long a finished game stays on screen before agents start the next
STATUS_BACKGROUND = (60, 58, 50)
STATUS_TEXT = (249, 246, 242)
HUMAN = "human"  # the agent spec that leaves a seat to the person
PERSON = "you"  # how the status line names the person

EventToAction = Callable[[Any, tuple[int, int]], Any]


def view(
    world_id: str,
    agent: str | list[str] | None = None,
    fps: float = 4.0,
    seed: int | None = None,
    max_steps: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open a window on a world and play until the window closes, q / Esc, or `max_steps` env steps.

    `agent` is None (the person plays every seat), or one agent spec or a list of them, one per
    seat in order (see the module docstring); a spec is a registered agent name, "human", or a
    checkpoint directory (anything that exists on disk). `fps` is the agents' moves a second;
    `seed` seeds the first game and the agents (the agent on seat i with seed + i). `env_kwargs`
    are the world's arguments, over those a checkpoint learned with.

    Returns `{"steps": env steps taken, "episodes": games that ended, "score": the return of the
    last game so far}`, the score being a float for a gymnasium world and a dict from seat to
    return for a pettingzoo one.
    """
    spec = registry.world(world_id)
    if spec.kind not in (registry.GYMNASIUM, registry.PETTINGZOO_AEC):
        raise ValueError(f"view plays gymnasium and pettingzoo AEC worlds; {world_id} is {spec.kind}")
    if spec.viewer is None:
        raise ValueError(f"{world_id} has no viewer")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    specs = [] if agent is None else [agent] if isinstance(agent, str) else list(agent)
    env_kwargs = dict(env_kwargs or {})
    person = PERSON
    # One agent name (not a checkpoint) in a world with a built-in opponent names that opponent, and
    # the person plays it; when env_kwargs has chosen the opponent already, the agent plays instead.
    opponent = spec.view_opponent_kwarg
    if (
        opponent
        and opponent not in env_kwargs
        and len(specs) == 1
        and specs[0] != HUMAN
        and not Path(specs[0]).exists()
    ):
        env_kwargs[opponent] = specs.pop()
        person = f"{PERSON} against {env_kwargs[opponent]}"
    players, names, learned = _players(specs, world_id, seed)
    env = _make(world_id, {**learned, **env_kwargs})
    try:
        game = _AecGame(env) if spec.kind == registry.PETTINGZOO_AEC else _GymGame(env)
        seats = len(game.seats)
        if len(players) > seats:
            raise ValueError(
                f"{world_id} has {seats} seat(s) ({', '.join(game.seats)}), got {len(players)} agents"
            )
        players += [None] * (seats - len(players))
        names += [person] * (seats - len(names))
        return _App(env, game, world_id, players, names, fps, seed, max_steps).run()
    finally:
        env.close()


def _players(
    specs: list[str], world_id: str, seed: int | None
) -> tuple[list[Any], list[str], dict[str, Any]]:
    """(agents, with None for the person; the names the status line shows; the world's arguments).

    A checkpoint plays the world as it learned it (e.g. with onehot observations), so checkpoints
    that learned on differently made worlds cannot share one.
    """
    players, names, learned = [], [], {}
    for i, agent in enumerate(specs):
        if agent == HUMAN:
            players.append(None)
            names.append(PERSON)
            continue
        if not Path(agent).exists():
            players.append(make_agent(agent, world_id, seed=None if seed is None else seed + i))
            names.append(agent)
            continue
        player = load_agent(agent)
        if player.world_id != world_id:
            raise ValueError(f"checkpoint {agent} plays {player.world_id}, not {world_id}")
        for key, value in read_manifest(agent)["env"].items():
            if learned.setdefault(key, value) != value:
                raise ValueError(
                    f"the checkpoints learned with different {key}: {learned[key]!r} and {value!r}"
                )
        players.append(player)
        names.append(f"{player.name} ({Path(agent).name})")
    return players, names, learned


def _make(world_id: str, kwargs: dict[str, Any]) -> Any:
    try:
        return registry.make(world_id, render_mode="rgb_array", **kwargs)
    except TypeError as error:  # an argument the world does not take, e.g. a typo in --env
        raise ValueError(f"{world_id}: bad arguments {sorted(kwargs)}: {error}") from None


def _event_to_action(world_id: str) -> EventToAction:
    """The world's way of turning a pygame event into an action (None: the event is no move)."""
    module = importlib.import_module(registry.world(world_id).viewer.partition(":")[0])
    if hasattr(module, "action_from_event"):
        return module.action_from_event
    import pygame

    keys = getattr(module, "KEY_ACTIONS", {})
    return lambda event, frame_size: keys.get(event.key) if event.type == pygame.KEYDOWN else None


def _allowed(action: Any, space: Any, observation: Any, info: dict[str, Any]) -> bool:
    """Whether a person's move is one the world takes: in its action space and its action mask."""
    if action is None or not space.contains(action):
        return False
    mask = action_mask(observation, info)
    return mask is None or bool(mask[action])


class _GymGame:
    """A gymnasium env as a game with one seat."""

    seats = ("player",)

    def __init__(self, env: Any):
        self.env = env

    def reset(self, seed: int | None) -> None:
        self.observation, self.info = self.env.reset(seed=seed)
        self.seat = 0
        self.score = 0.0
        self.over = False

    def step(self, action: Any) -> None:
        self.observation, reward, terminated, truncated, self.info = self.env.step(action)
        self.score += float(reward)
        self.over = terminated or truncated

    def allows(self, action: Any) -> bool:
        return _allowed(action, self.env.action_space, self.observation, self.info)

    def status(self, names: list[str]) -> list[str]:
        return [f"playing: {names[0]}", f"score {self.score:.10g}"]


class _AecGame:
    """A pettingzoo AEC env as a game with one seat per agent, played in turns."""

    def __init__(self, env: Any):
        self.env = env
        self.seats = tuple(env.possible_agents)

    def reset(self, seed: int | None) -> None:
        self.env.reset(seed=seed)
        self.score = dict.fromkeys(self.seats, 0.0)
        self._observe()

    def step(self, action: Any) -> None:
        self.env.step(action)
        # env.rewards holds every agent's reward for this one step, so their sums are the returns.
        for seat, reward in self.env.rewards.items():
            self.score[seat] += float(reward)
        self._observe()

    def allows(self, action: Any) -> bool:
        space = self.env.action_space(self.seats[self.seat])
        return _allowed(action, space, self.observation, self.info)

    def _observe(self) -> None:
        """Take the observation, info and game end of the agent whose turn it is now."""
        self.observation, _, terminated, truncated, self.info = self.env.last()
        self.seat = self.seats.index(self.env.agent_selection)
        self.over = terminated or truncated

    def status(self, names: list[str]) -> list[str]:
        if self.over:
            return ["  ".join(f"{seat} {score:+.10g}" for seat, score in self.score.items())]
        return [f"{self.seats[self.seat]} to move: {names[self.seat]}"]


class _App:
    """One viewing session: the game, who plays each seat, the window, and the counts `view` returns."""

    def __init__(
        self,
        env: Any,
        game: _GymGame | _AecGame,
        world_id: str,
        players: list[Any],
        names: list[str],
        fps: float,
        seed: int | None,
        max_steps: int | None,
    ):
        import pygame

        self.pygame = pygame
        self.env = env
        self.game = game
        self.world_id = world_id
        self.players = players
        self.names = names
        self.agents_play = any(player is not None for player in players)
        self.watching = all(player is not None for player in players)
        self.fps = float(fps)
        self.max_steps = max_steps
        self.to_action = _event_to_action(world_id)
        self.steps = 0
        self.episodes = 0
        self.paused = False
        self.quit = False
        self.owed = 0.0  # agent moves due but not yet made
        self.restart_at = 0.0  # time.monotonic() when the agents' finished game gives way to the next
        self._reset(seed)

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
                if self.agents_play:
                    self._agent_turns(seconds)
                window.show(np.concatenate([self.frame, self._status(width)]))
        finally:
            window.close()
        return {"steps": self.steps, "episodes": self.episodes, "score": self.game.score}

    def _reset(self, seed: int | None = None) -> None:
        self.game.reset(seed)
        self.owed = 0.0
        self.frame = self.env.render()

    def _step(self, action: Any) -> None:
        self.game.step(action)
        self.steps += 1
        self.frame = self.env.render()
        if self.game.over:
            self.episodes += 1
            self.restart_at = time.monotonic() + RESTART_PAUSE_S
        if self.max_steps is not None and self.steps >= self.max_steps:
            self.quit = True

    def _persons_turn(self) -> bool:
        return self.players[self.game.seat] is None and not self.game.over

    def _handle(self, event: Any) -> None:
        """Act on one event: an app key, else (on the person's turn) the world's move for it."""
        pg = self.pygame
        if event.type == pg.KEYDOWN:
            if event.key in (pg.K_ESCAPE, pg.K_q):
                self.quit = True
                return
            if event.key == pg.K_r:
                self._reset()
                return
            if self.agents_play:
                if event.key == pg.K_SPACE:
                    self.paused = not self.paused
                    return
                # + needs shift on most keyboards, so the = key beside it counts as + too.
                if event.key in (pg.K_PLUS, pg.K_EQUALS, pg.K_KP_PLUS):
                    self.fps = min(self.fps * 2, max(SPEED_RANGE))
                    return
                if event.key in (pg.K_MINUS, pg.K_KP_MINUS):
                    self.fps = max(self.fps / 2, min(SPEED_RANGE))
                    return
        if self._persons_turn() and not self.quit:
            height, width, _ = self.frame.shape
            action = self.to_action(event, (width, height))
            if self.game.allows(action):
                self._step(action)

    def _agent_turns(self, seconds: float) -> None:
        """Make the agents' moves that fell due in the last `seconds`, or restart a finished game."""
        if self.paused:
            return
        if self.game.over:
            if self.watching and time.monotonic() >= self.restart_at:
                self._reset()
            return
        if self._persons_turn():
            self.owed = 0.0  # so that an agent answers the person's move 1 / fps seconds after it
            return
        # A cap on the moves owed keeps a slow agent or a stalled window from causing a burst.
        self.owed = min(self.owed + seconds * self.fps, 1 + self.fps / FRAME_RATE)
        while self.owed >= 1 and not self.game.over and not self.quit and not self._persons_turn():
            self._step(self.players[self.game.seat].act(self.game.observation, self.game.info))
            self.owed -= 1

    def _status(self, width: int) -> np.ndarray:
        """The status line under the world's frame, as a (STATUS_HEIGHT, width, 3) uint8 array."""
        parts = self.game.status(self.names)
        if self.agents_play:
            parts.append(f"speed {self.fps:g}/s")
        if self.game.over:
            parts.append("game over" if self.watching else "game over: r plays again")
        elif self.paused:
            parts.append("paused")
        surface = self.pygame.Surface((width, STATUS_HEIGHT))
        surface.fill(STATUS_BACKGROUND)
        draw_text(surface, "   ".join(parts), 24, STATUS_TEXT, midleft=(8, STATUS_HEIGHT // 2))
        return to_frame(surface)

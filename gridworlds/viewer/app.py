"""The `gridworlds view` app: play a world with the keyboard or the mouse, or watch agents play it.

Every seat of a world is played by an agent or by the person at the window. A gymnasium world has
one seat; a pettingzoo world, AEC (turn-based, like Othello) or parallel (every agent acts at once,
like hide-and-seek), has one per agent of `possible_agents`. The agents given fill the seats in
that order, and the person plays every seat left over or given as "human" (`["human", "alphabeta"]`
puts the person on the first seat). A world whose registry entry names a `view_opponent_kwarg` has
a built-in opponent: there the one agent named becomes that opponent and the person plays
(`view("gridworlds/OthelloVs-v0", agent="alphabeta")`), unless `env_kwargs` already chooses the
opponent. Every agent is bound to the env once, `bind(env, seat)` with its seat's name, before the
first game (agents that read the whole world, not just their observation, need it).

A parallel world pads a shorter list of agents by repeating its last one (`agent="scripted"` plays
every seat, `["human", "random"]` puts the person on the first seat and random agents on the rest),
and with no agent at all the person plays the first seat and random agents the rest. All seats act
at once: while the person plays some seat, the world waits for the person's move (on each of the
person's seats in turn), then takes every agent's action at that moment and steps; when only agents
play, steps come at `fps`.

The world draws itself as "rgb_array" frames; the app shows them in a `Window` with a status line
underneath (who plays, score, speed, whose turn) and turns events into moves. How an event becomes a
move is the world's business, found in its viewer module (the module of the registry's `viewer` entry):

- `action_from_event(event, frame_size) -> action | None`, if the module defines it (for worlds
  played with the mouse: `frame_size` = (width, height) of the world's frame, which sits at the
  window's top-left corner, so `event.pos` is in frame pixels); otherwise
- `KEY_ACTIONS`, a dict from pygame key to action.

A world whose robot is built from a body (the voxel-robot worlds, whose env takes a `body`
argument) can be given one from a body file: `view(..., body="walker.txt")` (`gridworlds view ...
--body FILE`) reads the file (text or JSON, see `gridworlds.engines.voxels.bodies`) and makes the
world with it; for any other world it is an error.

A person's move that the world's action space or action mask forbids is ignored: the world's rule
for illegal actions (losing the game, an error) is meant for learners, not for a slip of the hand.

App keys come first: Esc or q quits, r restarts, space pauses the agents, + and - change their
speed. A finished game waits for r, or gives way to the next by itself when only agents play.

Agents can also play one game with no window, written as a GIF or a video (`gridworlds view ...
--record FILE`): see record.py, which seats them with `seat_players` as `view` does.
"""

from __future__ import annotations

import importlib
import inspect
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gridworlds import registry
from gridworlds.agents import names_checkpoint, player
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
PARALLEL_DEFAULT = "random"  # who plays a parallel world's other seats when no agent is named

EventToAction = Callable[[Any, tuple[int, int]], Any]


def view(
    world_id: str,
    agent: str | list[str] | None = None,
    fps: float = 4.0,
    seed: int | None = None,
    max_steps: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    body: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Open a window on a world and play until the window closes, q / Esc, or `max_steps` env steps.

    `agent` is None (the person plays every seat; in a parallel world the first, random agents the
    rest), or one agent spec or a list of them, one per seat in order (a parallel world repeats the
    last for the seats left over; see the module docstring); a spec is a registered agent name,
    "human", or a checkpoint directory (anything that exists on disk). `fps` is the agents' moves a second;
    `seed` seeds the first game and the agents (the agent on seat i with seed + i). `env_kwargs`
    are the world's arguments, over those a checkpoint learned with. `body` is the path of a body
    file for a world that takes a `body` argument (see the module docstring).

    Returns `{"steps": env steps taken, "episodes": games that ended, "score": the return of the
    last game so far}`, the score being a float for a gymnasium world and a dict from seat to
    return for a pettingzoo one.
    """
    spec = registry.world(world_id)
    if spec.kind not in (registry.GYMNASIUM, registry.PETTINGZOO_AEC, registry.PETTINGZOO_PARALLEL):
        raise ValueError(f"view plays gymnasium and pettingzoo worlds; {world_id} is {spec.kind}")
    if spec.viewer is None:
        raise ValueError(f"{world_id} has no viewer")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    specs = [] if agent is None else [agent] if isinstance(agent, str) else list(agent)
    parallel = spec.kind == registry.PETTINGZOO_PARALLEL
    if parallel and not specs:
        specs = [HUMAN, PARALLEL_DEFAULT]
    env_kwargs = dict(env_kwargs or {})
    if body is not None:
        env_kwargs["body"] = read_body(world_id, body, env_kwargs)
    person = PERSON
    # One agent name (not a checkpoint) in a world with a built-in opponent names that opponent, and
    # the person plays it; when env_kwargs has chosen the opponent already, the agent plays instead.
    opponent = spec.view_opponent_kwarg
    if (
        opponent
        and opponent not in env_kwargs
        and len(specs) == 1
        and specs[0] != HUMAN
        and not names_checkpoint(specs[0])
    ):
        env_kwargs[opponent] = specs.pop()
        person = f"{PERSON} against {env_kwargs[opponent]}"
    seating = seat_players(world_id, specs, seed, env_kwargs)
    game, env = seating.game, seating.game.env
    try:
        left_over = len(game.seats) - len(seating.players)  # the person's seats
        players = seating.players + [None] * left_over
        names = seating.names + [person] * left_over
        bind_players(game, players)
        return _App(env, game, world_id, players, names, fps, seed, max_steps).run()
    finally:
        env.close()


@dataclass
class Seating:
    """A world made for its players: the game (its env is `game.env`), the agent on each seat from
    the first on (None: the person), the names the status line shows, and the world's arguments."""

    game: _Game
    players: list[Any]
    names: list[str]
    env_kwargs: dict[str, Any]


def seat_players(
    world_id: str,
    specs: list[str],
    seed: int | None,
    env_kwargs: dict[str, Any],
    render_mode: str | None = "rgb_array",
) -> Seating:
    """Make the world and the agents of `specs` (agent specs, "human" for the person) for its seats
    in order: the world with a checkpoint's arguments and `env_kwargs` over them; in a parallel world
    the last spec plays the seats left over too. Other worlds' seats left over are not in `players`:
    the caller fills them (view: with the person). More specs than seats is a ValueError. The agents
    are not bound yet (bind_players binds them)."""
    kind = registry.world(world_id).kind
    players, names, learned = _players(specs, world_id, seed)
    env_kwargs = {**learned, **env_kwargs}
    env = make_world(world_id, env_kwargs, render_mode)
    try:
        game = new_game(env, kind)
        seats = len(game.seats)
        if len(players) > seats:
            raise ValueError(
                f"{world_id} has {seats} seat(s) ({', '.join(game.seats)}), got {len(players)} agents"
            )
        if kind == registry.PETTINGZOO_PARALLEL and 0 < len(specs) < seats:
            more, more_names, _ = _players([specs[-1]] * (seats - len(specs)), world_id, seed, len(specs))
            players += more
            names += more_names
    except BaseException:
        env.close()
        raise
    return Seating(game, players, names, env_kwargs)


def bind_players(game: _Game, players: list[Any]) -> None:
    """Give every seat of `game` its player (None: the person), each agent bound to its seat."""
    for seat, agent in zip(game.seats, players, strict=True):
        if agent is not None:
            agent.bind(game.env, seat)
    game.players = players


def _players(
    specs: list[str], world_id: str, seed: int | None, first: int = 0
) -> tuple[list[Any], list[str], dict[str, Any]]:
    """(agents, with None for the person; the names the status line shows; the world's arguments)
    for the seats from `first` on.

    A checkpoint plays the world as it learned it (e.g. with onehot observations), so checkpoints
    that learned on differently made worlds cannot share one.
    """
    players, names, learned = [], [], {}
    for i, spec in enumerate(specs, start=first):
        if spec == HUMAN:
            players.append(None)
            names.append(PERSON)
            continue
        agent, env_kwargs = player(spec, world_id, seed=None if seed is None else seed + i)
        for key, value in env_kwargs.items():
            if learned.setdefault(key, value) != value:
                raise ValueError(
                    f"the checkpoints learned with different {key}: {learned[key]!r} and {value!r}"
                )
        players.append(agent)
        names.append(f"{agent.name} ({Path(spec).name})" if names_checkpoint(spec) else spec)
    return players, names, learned


def read_body(world_id: str, path: str | os.PathLike, env_kwargs: dict[str, Any]) -> Any:
    """The body in the file at `path`, for a world whose env takes a `body` argument."""
    entry_point = registry.load(registry.world(world_id).entry_point)
    if "body" not in inspect.signature(entry_point).parameters:
        raise ValueError(f"{world_id} takes no body: --body is for the voxel-robot worlds")
    if "body" in env_kwargs:
        raise ValueError("the body is given twice: by --body and by --env body=...")
    from gridworlds.engines.voxels.bodies import read_body

    try:
        return read_body(path)
    except FileNotFoundError as error:
        raise ValueError(str(error)) from None


def make_world(world_id: str, kwargs: dict[str, Any], render_mode: str | None = "rgb_array") -> Any:
    """The world made with `kwargs`; an argument it does not take is a ValueError naming them all."""
    try:
        return registry.make(world_id, render_mode=render_mode, **kwargs)
    except TypeError as error:  # an argument the world does not take, e.g. a typo in --env
        raise ValueError(f"{world_id}: bad arguments {sorted(kwargs)}: {error}") from None


def new_game(env: Any, kind: str) -> _Game:
    """The game for an env of a world of `kind` (a registry kind)."""
    if kind == registry.PETTINGZOO_PARALLEL:
        return _ParallelGame(env)
    return _AecGame(env) if kind == registry.PETTINGZOO_AEC else _GymGame(env)


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


class _Game:
    """What the app asks of a game: `seats`, `players` (the agent of each seat, None for the person),
    `reset`, `step`, `allows`, `status`, and `seat` (whose move it is), `over`, `score`, which
    `reset` and `step` keep up to date. Turn-based games move one seat at a time."""

    env: Any
    seats: tuple[str, ...]
    players: list[Any]
    seat: int
    over: bool
    score: Any
    simultaneous = False  # all seats act at once: the agents wait for the person's move
    observation: Any
    info: dict[str, Any]

    def reset(self, seed: int | None) -> None:
        raise NotImplementedError

    def step(self, action: Any) -> None:
        raise NotImplementedError

    def allows(self, action: Any) -> bool:
        raise NotImplementedError

    def status(self, names: list[str]) -> list[str]:
        raise NotImplementedError

    def person_move(self, action: Any) -> Any:
        """The person's allowed `action` on seat `seat`; returns what `step` takes, or None while
        the world waits for more of the person's moves."""
        return action

    def agent_move(self) -> Any:
        """The agents' move, for `step`, when it is their turn."""
        return self.players[self.seat].act(self.observation, self.info)


class _GymGame(_Game):
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


class _AecGame(_Game):
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


def short_seat(seat: str) -> str:
    """A seat's short name: its first letter and its number (hider_0 -> h0), or the name itself."""
    prefix, _, number = seat.rpartition("_")
    return f"{prefix[0]}{number}" if prefix and number.isdigit() else seat


class _ParallelGame(_Game):
    """A pettingzoo ParallelEnv as a game with one seat per agent, all acting at once.

    `seat` is the person's seat whose move the world waits for (the first of the person's seats not
    chosen yet), or 0 when the person plays no seat. Once the person has chosen a move for each of
    their seats, every agent acts on the observation of that moment and the world steps.
    """

    simultaneous = True

    def __init__(self, env: Any):
        self.env = env
        self.seats = tuple(env.possible_agents)
        self.players = [None] * len(self.seats)

    def reset(self, seed: int | None) -> None:
        self.observations, self.infos = self.env.reset(seed=seed)
        self.score = dict.fromkeys(self.seats, 0.0)
        self.over = False
        self.chosen: dict[str, Any] = {}
        self.seat = self._waiting_seat()

    def _waiting_seat(self) -> int:
        for i, seat in enumerate(self.seats):
            if self.players[i] is None and seat not in self.chosen:
                return i
        return 0

    def step(self, actions: dict[str, Any]) -> None:
        self.observations, rewards, terminations, truncations, self.infos = self.env.step(actions)
        for seat, reward in rewards.items():
            self.score[seat] += float(reward)
        self.over = not self.env.agents or all(terminations[s] or truncations[s] for s in terminations)
        self.chosen = {}
        self.seat = self._waiting_seat()

    def allows(self, action: Any) -> bool:
        seat = self.seats[self.seat]
        return _allowed(action, self.env.action_space(seat), self.observations[seat], self.infos[seat])

    def person_move(self, action: Any) -> dict[str, Any] | None:
        self.chosen[self.seats[self.seat]] = action
        if any(p is None and s not in self.chosen for s, p in zip(self.seats, self.players, strict=True)):
            self.seat = self._waiting_seat()
            return None
        return self.agent_move()

    def agent_move(self) -> dict[str, Any]:
        """Every seat's action: the person's chosen ones, the agents' taken now."""
        actions = {}
        for seat, agent in zip(self.seats, self.players, strict=True):
            if seat in self.env.agents:
                mine = agent is None
                actions[seat] = (
                    self.chosen[seat] if mine else agent.act(self.observations[seat], self.infos[seat])
                )
        return actions

    def status(self, names: list[str]) -> list[str]:
        """Who plays which seats (short names), whose move the person makes, each team's mean return."""
        plays: dict[str, list[str]] = {}
        for seat, name in zip(self.seats, names, strict=True):
            plays.setdefault(name, []).append(short_seat(seat))
        parts = ["  ".join(f"{name} {' '.join(seats)}" for name, seats in plays.items())]
        persons = sum(player is None for player in self.players)
        if persons > 1 and not self.over:
            parts.append(f"{PERSON}: {short_seat(self.seats[self.seat])} to move")
        teams: dict[str, list[float]] = {}
        for seat, score in self.score.items():
            teams.setdefault(seat.rpartition("_")[0] or seat, []).append(score)
        parts.append("  ".join(f"{team}s {sum(s) / len(s):+.4g}" for team, s in teams.items()))
        return parts


class _App:
    """One viewing session: the game, who plays each seat, the window, and the counts `view` returns."""

    def __init__(
        self,
        env: Any,
        game: _Game,
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
        self.watching = all(player is not None for player in players)
        # Whether agents move by themselves, at fps: in a simultaneous game with a person seat they
        # move when the person does.
        self.agents_play = any(player is not None for player in players) and (
            self.watching or not game.simultaneous
        )
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
        if self.quit:
            return
        height, width, _ = self.frame.shape
        # Every event goes to the world's reader, which may follow keys held down (hide-and-seek's g).
        action = self.to_action(event, (width, height))
        if self._persons_turn() and self.game.allows(action):
            move = self.game.person_move(action)
            if move is not None:
                self._step(move)

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
            self._step(self.game.agent_move())
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

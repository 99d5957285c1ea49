"""Recordings: one game played by agents, headless, written as a GIF or an MP4 video.

    gridworlds view gridworlds/2048-v0 --agent greedy --record greedy.gif --max-steps 200
    record_episode("gridworlds/2048-v0", {}, agent, "greedy.gif", steps=200, seed=0)   # from code

Every world draws itself as "rgb_array" frames, so a recording opens no window and needs no display.
A recording is one game from `reset(seed)`: its first frame, then one after every move, until the
game ends or `steps` moves are made (steps moves, steps + 1 frames). imageio writes the frames at
`fps` frames a second: a GIF through pillow (which merges identical frames in a row into one that
shows longer), an MP4 through ffmpeg, which the `imageio-ffmpeg` package brings.

The agents are given as in `view` (agent specs, one per seat in order, a parallel world repeating
the last) by `record`, the `gridworlds view ... --record FILE` command; `record_episode` takes agents
already made, as `evaluate` does: one agent (a shared policy on every seat) or a list, one per seat.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gridworlds import atomic, registry
from gridworlds.agents import Agent
from gridworlds.viewer.app import HUMAN, bind_players, make_world, new_game, read_body, seat_players

RECORD_STEPS = 1000  # a recording's moves when none are given: frames stay in memory until written
FORMATS = (".gif", ".mp4")
# GIF delays are whole hundredths of a second, and most viewers show a delay under 2 as 10.
GIF_MAX_FPS = 50
FFMPEG_MISSING = (
    "recording an .mp4 needs ffmpeg, which the imageio-ffmpeg package brings: "
    "pip install imageio-ffmpeg (or record a .gif)"
)


def check_recording(path: str | os.PathLike, fps: float) -> Path:
    """The recording's path, once its format, frame rate and directory are known to work: a
    ValueError otherwise, before any game is played."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"a recording is a {' or '.join(FORMATS)} file, got {str(path)!r}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    if suffix == ".gif" and fps > GIF_MAX_FPS:
        raise ValueError(
            f"a GIF shows at most {GIF_MAX_FPS} frames a second, got fps {fps:g}: record an .mp4"
        )
    if suffix == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401  (imageio's ffmpeg plugin needs it)
        except ImportError:
            raise ValueError(FFMPEG_MISSING) from None
    if not path.parent.is_dir():
        raise ValueError(f"cannot record to {path}: {path.parent} is not a directory")
    return path


def record(
    world_id: str,
    path: str | os.PathLike,
    agent: str | list[str],
    fps: float = 4.0,
    seed: int | None = None,
    max_steps: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    body: str | os.PathLike | None = None,
) -> dict[str, int]:
    """`gridworlds view WORLD --agent A ... --record FILE`: the agents of the specs `agent` (as in
    `view`; every seat needs one, "human" none) play one game of at most `max_steps` moves
    (RECORD_STEPS when None) from seed `seed`, written to `path` at `fps` frames a second.
    Returns what `record_game` returns."""
    path = check_recording(path, fps)
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    specs = [agent] if isinstance(agent, str) else list(agent)
    if not specs or HUMAN in specs:
        raise ValueError("a recording has no person to play: name an agent for every seat with --agent")
    env_kwargs = dict(env_kwargs or {})
    if body is not None:
        env_kwargs["body"] = read_body(world_id, body, env_kwargs)
    seating = seat_players(world_id, specs, seed, env_kwargs)
    game = seating.game
    try:
        if len(seating.players) < len(game.seats):
            raise ValueError(
                f"{world_id} has {len(game.seats)} seats ({', '.join(game.seats)}): "
                f"a recording needs an agent for each, got {len(seating.players)}"
            )
        bind_players(game, seating.players)
        return record_game(game, path, max_steps or RECORD_STEPS, seed, fps)
    finally:
        game.env.close()


def record_episode(
    world_id: str,
    env_kwargs: dict[str, Any],
    agents: Agent | Sequence[Agent],
    path: str | os.PathLike,
    steps: int | None = None,
    seed: int | None = None,
    fps: float = 4.0,
) -> dict[str, int]:
    """Record one game of `gridworlds.make(world_id, **env_kwargs)` to `path`, at most `steps` moves
    (RECORD_STEPS when None), reset with `seed`. `agents` is one agent (in a multi-agent world a
    shared policy on every seat, bound to the world with no seat) or a list, one per seat in the
    world's order, each bound to its seat. Returns what `record_game` returns."""
    path = check_recording(path, fps)
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    env = make_world(world_id, env_kwargs)
    try:
        game = new_game(env, registry.world(world_id).kind)
        if isinstance(agents, Sequence):
            if len(agents) != len(game.seats):
                raise ValueError(
                    f"{world_id} has {len(game.seats)} seats ({', '.join(game.seats)}), "
                    f"got {len(agents)} agents"
                )
            bind_players(game, list(agents))
        else:
            game.players = [agents.bind(env)] * len(game.seats)
        return record_game(game, path, steps or RECORD_STEPS, seed, fps)
    finally:
        env.close()


def record_game(game: Any, path: Path, steps: int, seed: int | None, fps: float) -> dict[str, int]:
    """Play `game` (a viewer game whose every seat has its bound agent) from reset(seed) until it
    ends or `steps` moves, and write its frames to `path`. Returns {"steps": moves made, "frames":
    frames written}."""
    game.reset(seed)
    frames = [game.env.render()]
    while not game.over and len(frames) <= steps:
        game.step(game.agent_move())
        frames.append(game.env.render())
    write_frames(path, frames, fps)
    return {"steps": len(frames) - 1, "frames": len(frames)}


def write_frames(path: Path, frames: list[np.ndarray], fps: float) -> None:
    """Write (height, width, 3) uint8 frames to `path` (.gif or .mp4) at `fps` frames a second, all
    at once, so that an interrupted recording leaves no half-written file."""
    import imageio.v3 as iio

    if path.suffix.lower() == ".gif":
        # loop=0: play for ever; pillow takes the delay of each frame in milliseconds.
        data = iio.imwrite("<bytes>", np.stack(frames), extension=".gif", duration=1000 / fps, loop=0)
    else:
        # H.264's usual pixel format needs even sides; ffmpeg's default block of 16 would resize most frames.
        frames = np.stack(frames)
        data = iio.imwrite("<bytes>", frames, extension=".mp4", plugin="FFMPEG", fps=fps, macro_block_size=2)
    atomic.write_bytes(path, data)

"""The 2048 viewer (text, frames, window) and the `gridworlds view` app, headless."""

# ruff: noqa: E402  (the SDL drivers must be chosen before the imports)

import os

# Before anything imports pygame: no screen or sound card is needed.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pygame
import pytest

import gridworlds  # noqa: F401  (registers the gymnasium ids)
from gridworlds.agents import make_agent
from gridworlds.engines import game2048 as engine
from gridworlds.envs.game2048 import Game2048Env
from gridworlds.viewer import game2048 as viewer
from gridworlds.viewer.app import view
from gridworlds.viewer.window import Window

WORLD = "gridworlds/2048-v0"

# Exponents: 2, 4 and 2048 on the top row, 32768 in a corner, the rest empty.
GRID = np.array([[1, 2, 11, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 15]], dtype=np.int8)


def state(grid=GRID, score=1234, game_over=False):
    return {"board": int(engine.grid_to_board(grid)), "score": score, "game_over": game_over}


def rgb(frame, row, col):
    """The colour inside the cell (row, col), off its corner and clear of the number in its middle."""
    x, y, _, _ = viewer.cell_rect(row, col)
    return tuple(frame[y + 12, x + 12])


def test_board_grid_decodes_the_engine_layout():
    np.testing.assert_array_equal(viewer.board_grid(state()["board"]), GRID)


def test_ansi_shows_each_tile_in_its_cell_and_the_score():
    text = viewer.Game2048Renderer("ansi", 0).render(state())
    lines = text.splitlines()
    assert lines[0] == "score 1234"
    assert [line.split() for line in lines[1:]] == [
        ["2", "4", "2048", "."],
        [".", ".", ".", "."],
        [".", ".", ".", "."],
        [".", ".", ".", "32768"],
    ]
    assert len({len(line) for line in lines[1:]}) == 1, "columns are aligned"
    assert "game over" in viewer.ansi(state(game_over=True))


def test_rgb_array_is_a_deterministic_frame_of_the_state():
    renderer = viewer.Game2048Renderer("rgb_array", 0)
    frame = renderer.render(state())
    assert frame.shape == (viewer.HEIGHT, viewer.WIDTH, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, viewer.Game2048Renderer("rgb_array", 0).render(state()))
    assert not np.array_equal(frame, renderer.render(state(GRID[::-1].copy())))
    assert not np.array_equal(frame, renderer.render(state(score=1236)))
    assert not np.array_equal(frame, renderer.render(state(game_over=True)))


def test_rgb_array_colours_cells_by_their_tile():
    frame = viewer.Game2048Renderer("rgb_array", 0).render(state())
    assert rgb(frame, 1, 1) == viewer.EMPTY
    assert rgb(frame, 0, 0) == viewer.TILE_COLOURS[1][0]
    assert len({rgb(frame, 0, 0), rgb(frame, 0, 1), rgb(frame, 0, 2), rgb(frame, 1, 1)}) == 4


def test_renderer_rejects_unknown_modes():
    with pytest.raises(ValueError, match="render_mode"):
        viewer.Game2048Renderer("video", 0)


@pytest.mark.parametrize("mode", Game2048Env.metadata["render_modes"])
def test_env_renders_in_every_mode(mode):
    env = gym.make(WORLD, render_mode=mode)
    env.reset(seed=0)
    first = env.render()
    env.step(int(np.flatnonzero(env.unwrapped.action_masks())[0]))
    second = env.render()
    env.close()
    if mode == "ansi":
        assert isinstance(first, str) and first != second
    elif mode == "rgb_array":
        assert first.shape == (viewer.HEIGHT, viewer.WIDTH, 3) and not np.array_equal(first, second)
    else:
        assert first is None and second is None


def test_render_without_a_render_mode_warns_and_returns_none():
    env = Game2048Env()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_key_actions_cover_arrows_and_wasd():
    keys = viewer.KEY_ACTIONS
    assert keys[pygame.K_UP] == keys[pygame.K_w] == engine.UP
    assert keys[pygame.K_RIGHT] == keys[pygame.K_d] == engine.RIGHT
    assert keys[pygame.K_DOWN] == keys[pygame.K_s] == engine.DOWN
    assert keys[pygame.K_LEFT] == keys[pygame.K_a] == engine.LEFT


def test_importing_the_viewer_does_not_import_pygame():
    code = "import sys, gridworlds.viewer.game2048, gridworlds.viewer.app; assert 'pygame' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_window_shows_frames_and_closes_on_quit():
    window = Window((8, 6), "test")
    window.show(np.zeros((6, 8, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="shape"):
        window.show(np.zeros((8, 6, 3), dtype=np.uint8))
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert any(event.type == pygame.QUIT for event in window.events())
    assert window.closed and window.events() == []
    window.show(np.zeros((6, 8, 3), dtype=np.uint8))  # a closed window ignores frames


def test_view_with_an_agent_stops_after_max_steps():
    summary = view(WORLD, agent="random", fps=1000, seed=0, max_steps=30)
    assert summary["steps"] == 30 and summary["episodes"] == 0 and summary["score"] > 0


def test_view_loads_an_agent_from_a_checkpoint(tmp_path):
    make_agent("random", WORLD, seed=0).save(tmp_path / "random")
    assert view(WORLD, agent=str(tmp_path / "random"), fps=1000, max_steps=5)["steps"] == 5


def test_view_rejects_unknown_agents_and_bad_speeds():
    with pytest.raises(ValueError, match="unknown agent"):
        view(WORLD, agent="no-such-agent", max_steps=1)
    with pytest.raises(ValueError, match="fps"):
        view(WORLD, agent="random", fps=0, max_steps=1)


def press(*keys):
    """Queue a press and release of each key; view's window reads them on its first pass."""
    pygame.display.init()  # the event queue lives with the display; view's window keeps it
    for key in keys:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key))


def test_a_key_press_is_exactly_one_move():
    _, info = Game2048Env().reset(seed=0)
    key = {action: key for key, action in viewer.KEY_ACTIONS.items()}[
        int(np.flatnonzero(info["action_mask"])[0])
    ]
    press(key, pygame.K_q)
    assert view(WORLD, seed=0)["steps"] == 1
    press(key, key, pygame.K_ESCAPE)
    assert view(WORLD, seed=0)["steps"] == 2


def test_other_keys_make_no_move():
    press(pygame.K_x, pygame.K_SPACE, pygame.K_r, pygame.K_q)
    assert view(WORLD, seed=0)["steps"] == 0


# ---------------------------------------------------------------------------------------------
# Recordings


def test_a_recording_holds_a_frame_before_and_after_every_move(tmp_path):
    import imageio.v3 as iio

    from gridworlds.viewer.record import record

    path = tmp_path / "greedy.gif"
    assert record(WORLD, path, "greedy", seed=0, max_steps=5) == {"steps": 5, "frames": 6}
    frames = iio.imread(path, index=None)
    assert frames.shape == (6, viewer.HEIGHT, viewer.WIDTH, 3)
    assert all((frames[i] != frames[i + 1]).any() for i in range(5))  # every move changes the board
    assert iio.immeta(path)["duration"] == 250  # milliseconds a frame, at the default 4 fps


def test_a_recording_stops_at_the_end_of_its_game(tmp_path):
    from gridworlds.viewer.record import record_episode

    agent = make_agent("random", WORLD, seed=0)
    summary = record_episode(WORLD, {}, agent, tmp_path / "game.gif", seed=0, fps=20)
    assert summary["frames"] == summary["steps"] + 1 < 1000  # a random game of 2048 ends well before


def test_an_mp4_needs_imageio_ffmpeg(tmp_path, monkeypatch):
    from gridworlds.viewer.record import record

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if it were not installed
    with pytest.raises(ValueError, match="pip install imageio-ffmpeg"):
        record(WORLD, tmp_path / "greedy.mp4", "greedy", max_steps=2)
    assert not (tmp_path / "greedy.mp4").exists()


def test_recordings_refuse_what_they_cannot_write(tmp_path):
    from gridworlds.viewer.record import record

    with pytest.raises(ValueError, match=r"a recording is a \.gif or \.mp4 file, got '.*greedy\.png'"):
        record(WORLD, tmp_path / "greedy.png", "greedy")
    with pytest.raises(ValueError, match="at most 50 frames a second"):
        record(WORLD, tmp_path / "greedy.gif", "greedy", fps=60)
    with pytest.raises(ValueError, match="no person to play"):
        record(WORLD, tmp_path / "me.gif", "human")
    with pytest.raises(ValueError, match="is not a directory"):
        record(WORLD, tmp_path / "nowhere" / "greedy.gif", "greedy")

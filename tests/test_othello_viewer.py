"""The Othello viewer (text, frames, mouse moves) and two-player `gridworlds view`, headless."""

import subprocess
import sys

import numpy as np
import pygame
import pytest

import gridworlds
from gridworlds import registry
from gridworlds.engines import othello as engine
from gridworlds.envs.othello import OthelloEnv
from gridworlds.viewer import othello as viewer
from gridworlds.viewer.app import view

TWO_PLAYERS = "gridworlds/Othello-v0"
VERSUS = "gridworlds/OthelloVs-v0"
D3, C4, F5, E6 = 19, 26, 37, 44  # black's opening moves


def start(**changes):
    state = {
        "black": int(engine.START_BLACK),
        "white": int(engine.START_WHITE),
        "to_move": "black",
        "legal": int(engine.legal_moves(engine.START_BLACK, engine.START_WHITE)),
        "last_move": None,
        "game_over": False,
    }
    return {**state, **changes}


def centre(square):
    x, y, width, height = viewer.square_rect(square)
    return x + width // 2, y + height // 2


def click(square=None, pos=None, button=1):
    """Queue a mouse press on a square (or at a pixel); view's window reads it on its first pass."""
    pygame.display.init()  # the event queue lives with the display; view's window keeps it
    pos = centre(square) if pos is None else pos
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=button))


def press(key):
    pygame.display.init()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))


@pytest.fixture
def moves(monkeypatch):
    """Every (colour, action) the envs that view makes are stepped with, in order."""
    made = []
    make = registry.make

    def recording_make(*args, **kwargs):
        env = make(*args, **kwargs)
        step = env.step

        def recording_step(action):
            made.append((env.unwrapped.render_state()["to_move"], action))
            return step(action)

        env.step = recording_step
        return env

    monkeypatch.setattr(registry, "make", recording_make)
    return made


def test_ansi_of_the_start_shows_the_discs_and_blacks_legal_squares():
    lines = viewer.ansi(start()).splitlines()
    assert lines[0].split() == list("abcdefgh")
    board = [line.split() for line in lines[1:9]]
    assert [row[0] for row in board] == [str(n) for n in range(1, 9)]
    cells = [cell for row in board for cell in row[1:]]
    assert {s for s, cell in enumerate(cells) if cell == "X"} == {28, 35}
    assert {s for s, cell in enumerate(cells) if cell == "O"} == {27, 36}
    assert {s for s, cell in enumerate(cells) if cell == "*"} == {D3, C4, F5, E6}
    assert lines[9] == "X black 2  O white 2  black to move"


def test_status_tells_turn_pass_and_result():
    assert viewer.status(start(last_move=engine.PASS, to_move="white")) == "black passed, white to move"
    assert viewer.status(start(legal=0)) == "black must pass: press p"
    over = start(black=(1 << 40) - 1, white=1 << 63, legal=0, game_over=True)
    assert viewer.status(over) == "black wins 40-1"
    assert viewer.status(start(legal=0, game_over=True)) == "draw 2-2"


def test_rgb_array_is_a_deterministic_frame_of_the_state():
    renderer = viewer.OthelloRenderer("rgb_array", 0)
    frame = renderer.render(start())
    assert frame.shape == (viewer.HEIGHT, viewer.WIDTH, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, viewer.OthelloRenderer("rgb_array", 0).render(start()))
    for changes in ({"to_move": "white"}, {"last_move": 28}, {"legal": 0}, {"game_over": True}):
        assert not np.array_equal(frame, renderer.render(start(**changes))), changes


def test_rgb_array_colours_each_square_centre_by_its_disc():
    # Black on a1 and the last move h8, white on b1 and h1; d3 is legal, the rest is empty.
    state = start(black=1 | 1 << 63, white=1 << 1 | 1 << 7, legal=1 << D3, last_move=63)
    frame = viewer.OthelloRenderer("rgb_array", 0).render(state)

    def colour(square):
        x, y = centre(square)
        return tuple(frame[y, x])

    assert colour(0) == colour(63) == viewer.DISC_COLOURS["black"]
    assert colour(1) == colour(7) == viewer.DISC_COLOURS["white"]
    assert colour(D3) == viewer.DOT_COLOURS["black"]
    for square in (2, 30, 62):
        assert colour(square) == viewer.BOARD_COLOUR
    x, y, _, _ = viewer.square_rect(63)
    assert tuple(frame[y + 3, x + 3]) == viewer.LAST_MOVE


def test_a_click_at_a_square_centre_is_that_square():
    for square in range(64):
        event = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=centre(square), button=1)
        assert viewer.action_from_event(event, viewer.OthelloRenderer.size) == square


@pytest.mark.parametrize(
    "event",
    [
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(3, 3), button=1),  # the coordinates margin
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(viewer.WIDTH // 2, viewer.HEIGHT - 5), button=1),
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=centre(D3), button=3),  # a right click
        pygame.event.Event(pygame.KEYDOWN, key=pygame.K_x),
    ],
)
def test_other_events_are_no_move(event):
    assert viewer.action_from_event(event, viewer.OthelloRenderer.size) is None


def test_importing_the_viewer_does_not_import_pygame():
    code = "import sys, gridworlds.viewer.othello; assert 'pygame' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_p_passes():
    event = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_p)
    assert viewer.action_from_event(event, viewer.OthelloRenderer.size) == engine.PASS


@pytest.mark.parametrize("world_id", [TWO_PLAYERS, VERSUS])
@pytest.mark.parametrize("mode", OthelloEnv.metadata["render_modes"])
def test_both_worlds_render_in_every_mode(world_id, mode):
    env = gridworlds.make(world_id, render_mode=mode)
    env.reset(seed=0)
    first = env.render()
    env.step(D3)
    second = env.render()
    env.close()
    if mode == "ansi":
        assert isinstance(first, str) and first != second
    elif mode == "rgb_array":
        assert first.shape == (viewer.HEIGHT, viewer.WIDTH, 3) and not np.array_equal(first, second)
    else:
        assert first is None and second is None


def test_two_agents_play_each_other():
    summary = view(TWO_PLAYERS, agent=["random", "random"], fps=1000, seed=0, max_steps=40)
    assert summary["steps"] == 40 and summary["score"] == {"black": 0.0, "white": 0.0}


def test_two_agents_finish_a_game():
    summary = view(TWO_PLAYERS, agent=["random", "random"], fps=1000, seed=0, max_steps=70)
    assert summary["episodes"] >= 1


def test_a_click_plays_that_square_for_the_person(moves):
    click(D3)
    press(pygame.K_q)
    assert view(TWO_PLAYERS, agent=["human", "random"], seed=0)["steps"] == 1
    assert moves == [("black", D3)]
    moves.clear()
    click(D3)
    press(pygame.K_q)
    assert view(VERSUS, agent="random", seed=0)["steps"] == 1
    assert moves == [("black", D3)]


def test_clicks_on_illegal_squares_and_on_the_agents_turn_do_nothing(moves):
    click(0)  # a1: not a legal square
    click(pos=(3, 3))  # off the board
    press(pygame.K_p)  # pass is not legal while black has squares
    press(pygame.K_q)
    assert view(TWO_PLAYERS, seed=0)["steps"] == 0
    click(D3)  # black's move, but black is the agent's seat
    press(pygame.K_q)
    assert view(TWO_PLAYERS, agent=["random"], seed=0)["steps"] == 0
    assert moves == []


def test_the_named_agent_becomes_the_built_in_opponent(monkeypatch):
    made = []
    make = registry.make
    monkeypatch.setattr(
        registry, "make", lambda *args, **kwargs: made.append(kwargs) or make(*args, **kwargs)
    )
    press(pygame.K_q)
    assert view(VERSUS, agent=["greedy"], seed=0)["steps"] == 0
    assert made[-1]["opponent"] == "greedy"
    # With the opponent chosen by env_kwargs, the agent plays the seat itself.
    summary = view(VERSUS, agent="random", fps=1000, seed=0, max_steps=3, env_kwargs={"opponent": "greedy"})
    assert summary["steps"] == 3 and made[-1]["opponent"] == "greedy"


def test_view_rejects_too_many_agents_and_bad_arguments():
    with pytest.raises(ValueError, match="2 seat"):
        view(TWO_PLAYERS, agent=["random"] * 3, max_steps=1)
    with pytest.raises(ValueError, match="1 seat"):
        view(VERSUS, agent=["random", "random"], max_steps=1)
    with pytest.raises(ValueError, match="bad arguments"):
        view(VERSUS, env_kwargs={"oponent": "random"}, max_steps=1)


def test_a_recorded_match_lasts_until_the_game_ends(tmp_path):
    import imageio.v3 as iio

    from gridworlds.agents import make_agent
    from gridworlds.viewer.record import record_episode

    agents = [make_agent("alphabeta", TWO_PLAYERS), make_agent("random", TWO_PLAYERS, seed=0)]
    summary = record_episode(TWO_PLAYERS, {}, agents, tmp_path / "match.gif", seed=0)
    frames = iio.imread(tmp_path / "match.gif", index=None)
    assert len(frames) == summary["frames"] == summary["steps"] + 1
    assert 30 < summary["steps"] <= 64  # no more moves than squares to fill, passes aside

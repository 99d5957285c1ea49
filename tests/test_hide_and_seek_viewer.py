"""The hide-and-seek viewer (text, frames, keys) and `gridworlds view` on parallel worlds, headless."""

import subprocess
import sys

import numpy as np
import pygame
import pytest

import gridworlds
from gridworlds import registry
from gridworlds.agents import make_agent
from gridworlds.engines import hide_and_seek as engine
from gridworlds.envs.hide_and_seek import HideAndSeekEnv
from gridworlds.viewer import app
from gridworlds.viewer import hide_and_seek as viewer
from gridworlds.viewer.app import view

WORLD = "gridworlds/HideAndSeek-v0"
QUADRANT = "gridworlds/HideAndSeekQuadrant-v0"
WORLDS = [WORLD, QUADRANT]
SEATS = ["hider_0", "hider_1", "seeker_0", "seeker_1"]
UP, TURN_LEFT, TURN_RIGHT = [1, 0, 0, 0], [0, 1, 0, 0], [0, 2, 0, 0]


def walls(g=10):
    """Outer walls, and a wall down column 5 from row 3 with a door at (5, 5)."""
    grid = np.zeros((g, g), np.uint8)
    grid[1, 1 : g - 1] = grid[g - 2, 1 : g - 1] = grid[1 : g - 1, 1] = grid[1 : g - 1, g - 2] = 1
    grid[3:8, 5] = 1
    grid[5, 5] = 0
    return grid


def agent(name, row, col, facing, team, ret=0.0):
    return {"name": name, "row": row, "col": col, "facing": facing, "team": team, "return": ret}


def state(agents=None, seen=True, **changes):
    """A hand-made 10 x 10 state: a box locked by the seekers at (3, 3), an elongated box over (6, 2)
    and (6, 3), a ramp locked by the hiders at (7, 7) with hider_1 on it; hider_0 at (2, 2) facing
    right, seeker_0 at (2, 7) facing left (the two see each other along row 2 when `seen`), and
    seeker_1 outside the play area at (0, 0)."""
    if agents is None:
        agents = [
            agent("hider_0", 2, 2, 2, engine.HIDERS, -2.0),
            agent("hider_1", 7, 7, 0, engine.HIDERS, -2.0),
            agent("seeker_0", 2, 7, 6, engine.SEEKERS, 2.0),
            agent("seeker_1", 0, 0, 4, engine.SEEKERS, -8.0),
        ]
    objects = [
        {"row": 3, "col": 3, "length": 1, "vertical": False, "ramp": False, "lock": 2},
        {"row": 6, "col": 2, "length": 2, "vertical": False, "ramp": False, "lock": 0},
        {"row": 7, "col": 7, "length": 1, "vertical": False, "ramp": True, "lock": 1},
    ]
    visible = np.zeros((len(agents), len(agents) + len(objects)), np.bool_)
    visible[np.arange(len(agents)), np.arange(len(agents))] = True
    if seen and len(agents) == 4:
        visible[0, 2] = visible[2, 0] = True
    result = {
        "walls": walls(),
        "doors": [(5, 5)],
        "agents": agents,
        "objects": objects,
        "visible": visible,
        "seen_cells": np.zeros((len(agents), 10, 10), np.bool_),
        "t": 10,
        "prep_steps": 8,
        "horizon": 20,
    }
    return {**result, **changes}


def pixel(frame, row, col, dx=0, dy=0, g=10):
    """The colour at the centre of cell (row, col) of a frame of a g x g grid, moved by (dx, dy)."""
    x, y = viewer.layout(g).centre(row, col)
    return tuple(int(v) for v in frame[y + dy, x + dx])


def render(s):
    return viewer.HideAndSeekRenderer("rgb_array", 0).render(s)


# ---------------------------------------------------------------------------------------------
# Text


def test_ansi_draws_the_hand_made_state():
    lines = viewer.HideAndSeekRenderer("ansi", 0).render(state()).splitlines()
    assert lines[0] == "seeking  step 10 / 20  hider seen  hiders -2  seekers -3"
    grid = lines[1:11]
    assert grid[0] == "s1: : : : : : : : :"
    assert grid[1] == ": " + "##" * 8 + ":"
    assert grid[2] == ": ##H0. . . . S0##:"
    assert grid[3] == ": ##. Bs. ##. . ##:"
    assert grid[5] == ": ##. . . + . . ##:"
    assert grid[6] == ": ##B B . ##. . ##:"
    assert grid[7] == ": ##. . . ##. h1##:"
    assert lines[11:] == [
        "H0 hider_0 at (2, 2) facing right, seen",
        "h1 hider_1 at (7, 7) facing up, on a ramp",
        "S0 seeker_0 at (2, 7) facing left, sees a hider",
        "s1 seeker_1 at (0, 0) facing down, outside the play area",
    ]


def test_ansi_marks_locks_ramps_and_the_preparation_phase():
    text = viewer.ansi(state(seen=False, t=3, agents=[agent("hider_0", 2, 2, 2, engine.HIDERS)]))
    first, *grid = text.splitlines()
    assert first.startswith("preparation  step 3 / 20  hiders hidden")
    assert "Rh" in grid[7] and "Bs" in grid[3] and "h0" in grid[2]
    assert viewer.ansi(state(seen=False)).splitlines()[3].startswith(": ##h0")


# ---------------------------------------------------------------------------------------------
# Frames


def test_frame_size_follows_the_grid():
    for g in (10, 14, 18, 40, 66):
        width, height = viewer.layout(g).size
        assert height == width + viewer.BAR and width == g * viewer.layout(g).cell + 2 * viewer.MARGIN
    assert viewer.layout(18).cell < viewer.layout(14).cell
    frame = render(state())
    assert frame.shape == (*viewer.layout(10).size[::-1], 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, render(state()))


def test_frame_colours_the_cells():
    frame = render(state(agents=[]))  # no agents, so no cones over the cells
    where = viewer.layout(10)
    assert pixel(frame, 0, 5) == viewer.OUTSIDE
    assert pixel(frame, 4, 4) == viewer.FLOOR
    assert pixel(frame, 1, 4) == pixel(frame, 4, 5) == viewer.WALL
    assert pixel(frame, 5, 5) == viewer.DOOR
    assert pixel(frame, 3, 3) == pixel(frame, 6, 2) == viewer.BOX
    # The elongated box is one rectangle: its colour runs on across the line between its cells.
    assert pixel(frame, 6, 2, dx=where.cell // 2) == viewer.BOX
    # A lock is an outline in the locking team's colour: seekers on the box, hiders on the ramp.
    assert pixel(frame, 3, 3, dx=where.cell // 2 - where.cell // 10 - 1) == viewer.TEAM_COLOURS[1]
    assert pixel(frame, 7, 7, dx=where.cell // 4, dy=where.cell // 4) == viewer.RAMP
    assert pixel(frame, 7, 7, dy=where.cell // 2 - where.cell // 10 - 1) == viewer.TEAM_COLOURS[0]


def test_agents_are_in_team_colours_and_a_seen_hider_is_highlighted():
    frame = render(state())
    assert pixel(frame, 2, 2) == viewer.SEEN  # hider_0, seen by seeker_0
    assert pixel(frame, 7, 7) == viewer.TEAM_COLOURS[engine.HIDERS]  # hider_1, unseen
    assert pixel(frame, 2, 7) == pixel(frame, 0, 0) == viewer.TEAM_COLOURS[engine.SEEKERS]
    hidden = render(state(seen=False))
    assert pixel(hidden, 2, 2) == viewer.TEAM_COLOURS[engine.HIDERS]
    assert pixel(hidden, 7, 7) == viewer.TEAM_COLOURS[engine.HIDERS]


def test_frame_changes_when_an_agent_moves_or_turns():
    frame = render(state())
    moved = state()
    moved["agents"][1] = agent("hider_1", 6, 7, 0, engine.HIDERS, -2.0)
    turned = state()
    turned["agents"][3] = agent("seeker_1", 0, 0, 3, engine.SEEKERS, -8.0)
    for changed in (moved, turned, state(t=3), state(seen=False)):
        assert not np.array_equal(frame, render(changed))


def test_the_cells_a_team_sees_are_shaded_in_its_colour():
    alone = [agent("seeker_0", 4, 2, 2, engine.SEEKERS)]
    seen_cells = np.zeros((1, 10, 10), np.bool_)
    seen_cells[0, 4, 3:5] = True
    frame = render(state(agents=alone, seen_cells=seen_cells))
    shaded = pixel(frame, 4, 4)
    assert shaded != viewer.FLOOR and shaded[0] > shaded[2]  # reddened
    assert pixel(frame, 4, 6) == pixel(frame, 6, 4) == viewer.FLOOR


def test_env_frames_shade_exactly_the_cells_the_engine_says_are_seen():
    env = gridworlds.make(QUADRANT, render_mode="rgb_array")
    env.reset(seed=4)
    frame = env.render()
    a = env.arenas
    seen = engine.seen_cells(a).any(axis=0)  # by either team
    doors = {tuple(cell) for cell in a.doors[0, : a.door_count[0]].tolist()}
    g = a.walls.shape[1]
    for r in range(2, g - 2):
        for c in range(2, g - 2):
            if a.walls[0, r, c] or a.object_at[0, r, c] >= 0 or a.agent_at[0, r, c] >= 0 or (r, c) in doors:
                continue
            assert (pixel(frame, r, c, g=g) == viewer.FLOOR) == (not seen[r, c]), (r, c)


@pytest.mark.parametrize("world_id", WORLDS)
@pytest.mark.parametrize("mode", HideAndSeekEnv.metadata["render_modes"])
def test_both_worlds_render_in_every_mode(world_id, mode):
    env = gridworlds.make(world_id, render_mode=mode)
    env.reset(seed=0)
    first = env.render()
    env.step(dict.fromkeys(env.agents, np.array(TURN_RIGHT)))
    second = env.render()
    env.close()
    if mode == "ansi":
        assert isinstance(first, str) and first != second and first.startswith("preparation  step 0 / ")
    elif mode == "rgb_array":
        g = env.scenario.grid
        assert first.shape == (*viewer.layout(g).size[::-1], 3) and first.dtype == np.uint8
        assert not np.array_equal(first, second)
    else:
        assert first is None and second is None


def test_importing_the_viewer_does_not_import_pygame():
    code = "import sys, gridworlds.viewer.hide_and_seek; assert 'pygame' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------------
# Keys


@pytest.fixture
def keys():
    """action_from_event for one event; g is let go of before and after."""
    release = pygame.event.Event(pygame.KEYUP, key=pygame.K_g, mod=0)
    viewer.action_from_event(release, (0, 0))
    yield lambda event: viewer.action_from_event(event, (0, 0))
    viewer.action_from_event(release, (0, 0))


def down(key, mod=0):
    return pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod)


def test_keys_map_to_the_documented_actions(keys):
    expected = {
        pygame.K_UP: [1, 0, 0, 0],
        pygame.K_RIGHT: [2, 0, 0, 0],
        pygame.K_DOWN: [3, 0, 0, 0],
        pygame.K_LEFT: [4, 0, 0, 0],
        pygame.K_z: [0, 1, 0, 0],
        pygame.K_x: [0, 2, 0, 0],
        pygame.K_l: [0, 0, 0, 1],
        pygame.K_u: [0, 0, 0, 2],
        pygame.K_PERIOD: [0, 0, 0, 0],
    }
    space = HideAndSeekEnv().action_space("hider_0")
    for key, action in expected.items():
        got = keys(down(key))
        assert got.tolist() == action and space.contains(got), pygame.key.name(key)
        assert list(viewer.KEY_ACTIONS[key]) == action


def test_shift_or_g_held_moves_while_grabbing(keys):
    assert keys(down(pygame.K_UP, pygame.KMOD_LSHIFT)).tolist() == [1, 0, 1, 0]
    assert keys(down(pygame.K_LEFT, pygame.KMOD_RSHIFT)).tolist() == [4, 0, 1, 0]
    assert keys(down(pygame.K_z, pygame.KMOD_SHIFT)).tolist() == [0, 1, 0, 0]  # grab only with a move
    assert keys(down(pygame.K_g)) is None
    assert keys(down(pygame.K_DOWN)).tolist() == [3, 0, 1, 0]
    assert keys(down(pygame.K_RIGHT)).tolist() == [2, 0, 1, 0]
    assert keys(pygame.event.Event(pygame.KEYUP, key=pygame.K_g, mod=0)) is None
    assert keys(down(pygame.K_DOWN)).tolist() == [3, 0, 0, 0]


def test_other_events_are_no_action(keys):
    for event in (
        down(pygame.K_a),
        down(pygame.K_SPACE),
        pygame.event.Event(pygame.KEYUP, key=pygame.K_UP, mod=0),
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(50, 50), button=1),
    ):
        assert keys(event) is None


# ---------------------------------------------------------------------------------------------
# The view app


class Stub:
    """An agent that reads the world through bind and always turns right."""

    name = "stub"
    instances: list["Stub"] = []

    def __init__(self, world_id, seed=None):
        self.world_id, self.seed = world_id, seed
        self.env = self.seat = None
        self.observations = []
        Stub.instances.append(self)

    def bind(self, env, seat):
        self.env, self.seat = env, seat
        return self

    def act(self, observation, info):
        assert self.env is not None, "bind comes before act"
        self.observations.append(observation)
        return np.array(TURN_RIGHT)


@pytest.fixture
def stubs(monkeypatch):
    """The agent name "stub" makes a Stub; returns the Stubs made."""
    Stub.instances = []
    player = app.player
    monkeypatch.setattr(
        app,
        "player",
        lambda spec, world_id, seed=None: (
            (Stub(world_id, seed), {}) if spec == "stub" else player(spec, world_id, seed)
        ),
    )
    return Stub.instances


@pytest.fixture
def steps(monkeypatch):
    """The actions dict of every step of the envs that view makes, in order."""
    made = []
    make = registry.make

    def recording_make(*args, **kwargs):
        env = make(*args, **kwargs)
        step = env.step

        def recording_step(actions):
            made.append({seat: np.asarray(action).tolist() for seat, action in actions.items()})
            return step(actions)

        env.step = recording_step
        return env

    monkeypatch.setattr(registry, "make", recording_make)
    return made


def press(*keys, mod=0):
    """Queue a press and release of each key; view's window reads them on its first pass."""
    pygame.display.init()  # the event queue lives with the display; view's window keeps it
    for key in keys:
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod))
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=mod))


@pytest.mark.parametrize("world_id", WORLDS)
def test_random_agents_play_every_seat(world_id, steps):
    summary = view(world_id, agent="random", fps=1000, seed=0, max_steps=12)
    assert summary["steps"] == 12 and summary["episodes"] == 0
    assert set(summary["score"]) == set(SEATS)
    assert len(steps) == 12 and all(set(actions) == set(SEATS) for actions in steps)


def test_agents_restart_a_finished_game(monkeypatch):
    monkeypatch.setattr(app, "RESTART_PAUSE_S", 0.0)
    summary = view(QUADRANT, agent="random", fps=1000, seed=0, max_steps=9, env_kwargs={"horizon": 4})
    assert summary["steps"] == 9 and summary["episodes"] == 2


def test_the_person_moves_one_seat_and_bound_agents_the_rest(stubs, steps):
    press(pygame.K_UP, pygame.K_q)
    summary = view(QUADRANT, agent=["human", "stub"], fps=1000, seed=0)
    assert summary["steps"] == 1
    assert [stub.seat for stub in stubs] == SEATS[1:]
    assert all(stub.env is stubs[0].env and stub.env.possible_agents == SEATS for stub in stubs)
    assert [stub.seed for stub in stubs] == [1, 2, 3]
    assert steps == [{"hider_0": UP, "hider_1": TURN_RIGHT, "seeker_0": TURN_RIGHT, "seeker_1": TURN_RIGHT}]
    assert all(len(stub.observations) == 1 and "self" in stub.observations[0] for stub in stubs)


def test_the_agents_wait_for_the_person(stubs, steps):
    press(pygame.K_a, pygame.K_g, pygame.K_q)  # no move among them
    assert view(QUADRANT, agent=["human", "stub"], fps=1000, seed=0)["steps"] == 0
    assert steps == [] and all(stub.observations == [] for stub in stubs)


def test_the_person_moves_each_of_their_seats_in_turn(stubs, steps):
    press(pygame.K_LEFT, pygame.K_z, pygame.K_PERIOD, pygame.K_q)
    summary = view(WORLD, agent=["human", "human", "stub"], seed=0)
    assert summary["steps"] == 1 and [stub.seat for stub in stubs] == ["seeker_0", "seeker_1"]
    assert steps == [
        {"hider_0": [4, 0, 0, 0], "hider_1": TURN_LEFT, "seeker_0": TURN_RIGHT, "seeker_1": TURN_RIGHT}
    ]


def test_shift_arrow_reaches_the_world_as_a_grab(steps):
    press(pygame.K_DOWN, pygame.K_q, mod=pygame.KMOD_LSHIFT)
    assert view(QUADRANT, seed=0)["steps"] == 1
    assert steps[0]["hider_0"] == [3, 0, 1, 0]


def test_with_no_agent_named_the_person_plays_the_first_seat_and_random_the_rest(monkeypatch, steps):
    names = []
    status = app._ParallelGame.status
    monkeypatch.setattr(app._ParallelGame, "status", lambda self, n: names.append(list(n)) or status(self, n))
    press(pygame.K_x, pygame.K_q)
    assert view(QUADRANT, seed=0)["steps"] == 1
    assert names[-1] == ["you", "random", "random", "random"]
    assert steps[0]["hider_0"] == TURN_RIGHT and set(steps[0]) == set(SEATS)
    game = app._ParallelGame(gridworlds.make(QUADRANT))
    game.players = [None, object(), object(), object()]
    game.reset(0)
    parts = game.status(names[-1])
    assert parts[0] == "you h0  random h1 s0 s1" and parts[-1] == "hiders +0  seekers +0"


def test_view_rejects_too_many_agents():
    with pytest.raises(ValueError, match="4 seat"):
        view(QUADRANT, agent=["random"] * 5, max_steps=1)


def test_scripted_agents_play_every_seat():
    # 32 preparation steps, then 8 in which the fort hides the hiders from the chasing seekers.
    summary = view(QUADRANT, agent="scripted", fps=1000, seed=0, max_steps=40)
    assert summary["steps"] == 40
    assert summary["score"]["hider_0"] == summary["score"]["hider_1"] == 8
    assert summary["score"]["seeker_0"] == -8


# ---------------------------------------------------------------------------------------------
# RandomAgent on a pettingzoo world


@pytest.mark.parametrize("world_id", WORLDS)
def test_random_agent_samples_the_parallel_worlds_action_space_reproducibly(world_id):
    space = gridworlds.make(world_id).action_space("hider_0")
    first, again = make_agent("random", world_id, seed=5), make_agent("random", world_id, seed=5)
    actions = [first.act({}, {}) for _ in range(20)]
    assert all(space.contains(action) for action in actions)
    np.testing.assert_array_equal(actions, [again.act({}, {}) for _ in range(20)])
    assert len({tuple(a) for a in actions}) > 1


# ---------------------------------------------------------------------------------------------
# Recordings


def test_a_recording_of_scripted_hiders_and_random_seekers(tmp_path):
    import imageio.v3 as iio

    from gridworlds.viewer.record import record

    path = tmp_path / "quadrant.gif"
    summary = record(QUADRANT, path, ["scripted", "scripted", "random"], seed=0, max_steps=12, fps=8)
    assert summary == {"steps": 12, "frames": 13}
    frames = iio.imread(path, index=None)
    assert frames.shape[0] == 13 and frames.shape[3] == 3 and frames.dtype == np.uint8
    assert frames.shape[1:3] == gridworlds.make(QUADRANT, render_mode="rgb_array").render().shape[:2]
    assert all((frames[i] != frames[i + 1]).any() for i in range(12))


def test_a_recording_plays_one_shared_agent_or_one_agent_per_seat(tmp_path):
    from gridworlds.viewer.record import record_episode

    agents = [make_agent("scripted", QUADRANT, seed=i) for i in range(4)]
    one_each = record_episode(QUADRANT, {"horizon": 6}, agents, tmp_path / "each.gif", seed=0)
    assert [agent.seat for agent in agents] == SEATS and one_each == {"steps": 6, "frames": 7}
    shared = record_episode(
        QUADRANT, {}, make_agent("random", QUADRANT, seed=0), tmp_path / "shared.gif", steps=3
    )
    assert shared == {"steps": 3, "frames": 4}
    with pytest.raises(ValueError, match="4 seats"):
        record_episode(QUADRANT, {}, agents[:2], tmp_path / "two.gif")

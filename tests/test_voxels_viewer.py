"""The voxel-robot viewer (frames, palette, camera, window) and `gridworlds view --body`, headless."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pygame
import pytest

import gridworlds  # noqa: F401  (registers the gymnasium ids)
from gridworlds import registry
from gridworlds.cli import main
from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import FIXED, H_ACT, RIGID, SOFT, V_ACT, write_body
from gridworlds.envs.voxels import VoxelEnv
from gridworlds.viewer import voxels as viewer
from gridworlds.viewer.app import view

WALKER = "gridworlds/Walker-v0"
BODY = [[1, 2, 1], [3, 0, 4]]  # rigid soft rigid over a horizontal and a vertical actuator: 2 actions


@pytest.fixture(scope="module")
def walker_state():
    """The example walker at rest on flat ground, as the env renders it."""
    env = VoxelEnv()
    env.reset(seed=0)
    return env.render_state()


def copy(state, **changes):
    return {**{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}, **changes}


def render(state):
    return viewer.VoxelRenderer("rgb_array", 0).render(state)


def voxel_pixel(state, v):
    """The frame pixel (column, row) at the centre of voxel v."""
    centre = state["pos"][state["corners"][v]].mean(axis=0)
    return viewer.to_pixels(centre, viewer.camera(state))


def colour_of(frame, state, v):
    column, row = voxel_pixel(state, v)
    return tuple(int(c) for c in frame[row, column])


def first_voxel(state, material, kind=engine.ROBOT):
    return int(np.flatnonzero((state["material"] == material) & (state["piece_kind"] == kind))[0])


def robot_points(state):
    return np.unique(state["corners"][state["piece_kind"] == engine.ROBOT])


def test_a_frame_is_a_deterministic_uint8_image_of_the_state(walker_state):
    frame = render(walker_state)
    assert frame.shape == (viewer.HEIGHT, viewer.WIDTH, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, render(copy(walker_state)))
    for changes in ({"step": 7}, {"episode_return": 0.5}, {"task": "Other-v0"}):
        assert not np.array_equal(frame, render(copy(walker_state, **changes))), changes
    assert viewer.VoxelRenderer("ansi", 0).render(walker_state) == viewer.status(walker_state)
    assert viewer.status(walker_state).startswith("Walker-v0   step 0   return +0.000")


def test_voxels_are_filled_with_their_materials_colour(walker_state):
    frame = render(walker_state)
    for material in (RIGID, SOFT, H_ACT, V_ACT):  # the actuators are at rest: action 1.0
        voxel = first_voxel(walker_state, material)
        assert colour_of(frame, walker_state, voxel) == viewer.MATERIAL_COLOURS[material]
    ground = first_voxel(walker_state, FIXED, engine.TERRAIN) + 3  # a terrain voxel near the robot
    assert colour_of(frame, walker_state, ground) == viewer.MATERIAL_COLOURS[FIXED]
    # Outlines: a voxel's top-left corner is drawn in the outline colour.
    column, row = viewer.to_pixels(
        walker_state["pos"][walker_state["corners"][first_voxel(walker_state, SOFT), 0]],
        viewer.camera(walker_state),
    )
    assert tuple(frame[row, column]) == viewer.OUTLINE


def test_free_objects_are_drawn_apart_from_the_robot(walker_state):
    soft = first_voxel(walker_state, SOFT)
    kinds = walker_state["piece_kind"].copy()
    kinds[soft] = engine.OBJECT
    frame = render(copy(walker_state, piece_kind=kinds))
    assert colour_of(frame, walker_state, soft) == viewer.OBJECT_COLOURS[SOFT]
    assert viewer.OBJECT_COLOURS[SOFT] != viewer.MATERIAL_COLOURS[SOFT]


@pytest.mark.parametrize("material", [H_ACT, V_ACT])
def test_an_actuators_colour_follows_its_action(walker_state, material):
    voxel = first_voxel(walker_state, material)
    slot = int(np.flatnonzero(walker_state["actuator_voxels"] == voxel)[0])

    def colour(value):
        action = np.ones_like(walker_state["action"])
        action[slot] = value
        return colour_of(render(copy(walker_state, action=action)), walker_state, voxel)

    contracted, rest, extended = colour(0.6), colour(1.0), colour(1.6)
    assert contracted == viewer.CONTRACTED[material] and extended == viewer.EXTENDED[material]
    assert rest == viewer.MATERIAL_COLOURS[material]
    assert len({contracted, colour(0.8), rest, colour(1.3), extended}) == 5


def test_the_camera_follows_the_robot(walker_state):
    moved = copy(walker_state)
    moved["pos"][robot_points(walker_state)] += [1.0, 0.0]
    moved["robot_centre"] = walker_state["robot_centre"] + [1.0, 0.0]
    rigid = np.array(viewer.MATERIAL_COLOURS[RIGID])
    fixed = np.array(viewer.MATERIAL_COLOURS[FIXED])
    row = voxel_pixel(walker_state, first_voxel(walker_state, FIXED, engine.TERRAIN))[1]  # across the ground
    centres, ground_starts = [], []
    for state in (walker_state, moved):
        frame = render(state)
        _, columns = np.nonzero((frame[: viewer.SCENE] == rigid).all(axis=2))
        centres.append(columns.mean())
        ground_starts.append(np.flatnonzero((frame[row] == fixed).all(axis=1))[0])
    assert all(abs(centre - viewer.WIDTH / 2) < 0.1 * viewer.SCALE for centre in centres)
    # The terrain starts at x = 0, which moves left by 1 m of pixels.
    assert abs(ground_starts[1] - (ground_starts[0] - viewer.SCALE)) <= 1


def test_the_camera_rises_with_a_climbing_robot_and_keeps_the_ground_line(walker_state):
    ground = viewer.to_pixels(np.zeros(2), viewer.camera(walker_state))[1]
    assert ground == viewer.GROUND_ROW
    assert tuple(render(walker_state)[ground, 5]) == viewer.GROUND  # left of the terrain, too
    high = copy(walker_state)
    high["pos"][robot_points(walker_state)] += [0.0, 2.0]
    high["robot_centre"] = walker_state["robot_centre"] + [0.0, 2.0]
    assert viewer.camera(high)[1] == pytest.approx(high["robot_centre"][1])
    column, row = viewer.to_pixels(high["robot_centre"], viewer.camera(high))
    assert (column, row) == (viewer.WIDTH // 2, viewer.SCENE // 2)
    assert viewer.to_pixels(np.zeros(2), viewer.camera(high))[1] > viewer.SCENE  # the ground is below view


def test_the_walker_world_renders_frames_and_a_window():
    env = gym.make(WALKER, render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    for _ in range(3):
        env.step(np.full(env.action_space.shape, 1.6))
    second = env.render()
    env.close()
    assert first.shape == (viewer.HEIGHT, viewer.WIDTH, 3) and not np.array_equal(first, second)
    env = gym.make(WALKER, render_mode="human")
    env.reset(seed=0)
    try:
        assert env.render() is None
        assert pygame.display.get_surface().get_size() == (viewer.WIDTH, viewer.HEIGHT)
    finally:
        env.close()


def test_importing_the_viewer_does_not_import_pygame():
    code = "import sys, gridworlds.viewer.voxels; assert 'pygame' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def made(monkeypatch):
    """The envs `view` makes, recorded."""
    envs = []
    make = registry.make

    def recording_make(*args, **kwargs):
        envs.append(make(*args, **kwargs))
        return envs[-1]

    monkeypatch.setattr(registry, "make", recording_make)
    return envs


def quit_soon():
    pygame.display.init()  # the event queue lives with the display; view's window keeps it
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q))


@pytest.mark.parametrize("name", ["body.txt", "body.json"])
def test_view_body_makes_the_walker_with_the_body_in_the_file(tmp_path, made, name):
    write_body(tmp_path / name, BODY)
    quit_soon()
    assert main(["view", WALKER, "--body", str(tmp_path / name)]) == 0
    (env,) = made
    np.testing.assert_array_equal(env.unwrapped.body, BODY)
    assert env.action_space.shape == (2,)


def test_view_body_is_an_error_for_a_world_without_a_body_or_a_missing_file(tmp_path, capsys):
    write_body(tmp_path / "body.txt", BODY)
    assert main(["view", "gridworlds/2048-v0", "--body", str(tmp_path / "body.txt")]) == 2
    assert "gridworlds/2048-v0 takes no body" in capsys.readouterr().err
    assert main(["view", WALKER, "--body", str(tmp_path / "nope.txt")]) == 2
    assert "no body file" in capsys.readouterr().err
    with pytest.raises(ValueError, match="given twice"):
        view(WALKER, body=tmp_path / "body.txt", env_kwargs={"body": BODY})


def test_view_body_with_a_random_agent_steps(tmp_path):
    write_body(tmp_path / "body.txt", BODY)
    args = ["view", WALKER, "--body", str(tmp_path / "body.txt"), "--agent", "random", "--fps", "1000"]
    assert main([*args, "--max-steps", "3"]) == 0

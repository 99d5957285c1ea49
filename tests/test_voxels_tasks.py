"""Voxel-robot tasks: EvoGym's worlds, observation layouts and rewards, checked against EvoGym's
source (envs/*.py, sim_files/*.json) by hand."""

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gridworlds  # noqa: F401  (registers the gymnasium ids)
from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import FIXED, RIGID, SOFT
from gridworlds.engines.voxels.tasks import TASKS, Measures
from gridworlds.registry import VOXEL_TASKS, WORLDS

# gymnasium warns that "X-v0 is out of date" whenever "X-v1" exists; EvoGym's v1s are other tasks.
pytestmark = pytest.mark.filterwarnings("ignore:.*out of date.*:DeprecationWarning")

FULL = np.full((5, 5), 3)  # a full 5x5 body of horizontal actuators: 36 points, 25 actuators
N = 36
TRAVERSE = 3 + 2 * N + 11  # vel, ort, pos, floor(5)
PACKAGE = 6 + 2 * N  # vel, box - robot and box vel, pos

# name: (episode length, robot start cell, observation length for a full 5x5 robot), from EvoGym's
# envs/__init__.py registrations, its add_from_array calls and its observation_space shapes.
EVOGYM = {
    "Walker-v0": (500, (1, 1), 2 + 2 * N),
    "BridgeWalker-v0": (500, (2, 5), 3 + 2 * N),
    "Carrier-v0": (500, (1, 1), PACKAGE),
    "Carrier-v1": (1000, (1, 4), PACKAGE),
    "Pusher-v0": (500, (1, 1), PACKAGE),
    "Pusher-v1": (600, (13, 1), PACKAGE),
    "Thrower-v0": (300, (1, 1), PACKAGE),
    "Jumper-v0": (500, (32, 1), 2 + 2 * N + 5),
    "Flipper-v0": (600, (60, 1), 1 + 2 * N),
    "Balancer-v0": (600, (15, 3), 1 + 2 * N),
    "Balancer-v1": (600, (10, 1), 1 + 2 * N),
    "Climber-v0": (400, (1, 1), 2 + 2 * N),
    "UpStepper-v0": (600, (1, 1), TRAVERSE),
    "DownStepper-v0": (500, (1, 11), TRAVERSE),
    "ObstacleTraverser-v0": (1000, (2, 1), TRAVERSE),
    "ObstacleTraverser-v1": (1000, (2, 4), TRAVERSE),
    "Hurdler-v0": (1000, (2, 4), TRAVERSE),
    "GapJumper-v0": (1000, (1, 6), TRAVERSE),
    "PlatformJumper-v0": (1000, (1, 6), TRAVERSE),
    "Traverser-v0": (600, (1, 9), TRAVERSE),
}


def block_size(block):
    name, _, reach = block.partition(":")
    return {"vel": 2, "ort": 1, "pos": 2 * N, "box": 4}.get(name) or 2 * int(reach) + 1


def make(name, body=FULL):
    return gym.make(f"gridworlds/{name}", body=body)


def core(name):
    return make(name).unwrapped.core


def measures(robot, box=None, orientation=0.0):
    return Measures(
        robot=np.array([robot], np.float64),
        box=None if box is None else np.array([box], np.float64),
        orientation=np.array([orientation], np.float64),
    )


def reward(name, before, after):
    """(reward, terminated) of one scripted step of `name`, with a fresh env's counters."""
    c = core(name)
    r, done = c.task.reward(before, after, c.state)
    return float(r[0]), bool(done[0])


def column_tops(name):
    """{x: top} for every terrain column of the task's world (the top of its highest terrain voxel,
    in voxels), and the set of terrain cells."""
    tops, cells = {}, set()
    for piece in TASKS[name].world():
        if piece.kind != engine.TERRAIN:
            continue
        h = piece.grid.shape[0]
        for r, c in zip(*np.nonzero(piece.grid), strict=True):
            x, y = piece.x + c, piece.y + h - 1 - r
            cells.add((x, y))
            tops[x] = max(tops.get(x, 0), y + 1)
    return tops, cells


# --- registration and spaces ---


def test_every_task_is_registered_with_a_description():
    assert set(TASKS) == set(EVOGYM) == set(VOXEL_TASKS)
    for name in TASKS:
        world = WORLDS[f"gridworlds/{name}"]
        assert world.kwargs == {"task": name}
        assert world.description.startswith("voxel robot: ") and len(world.description) > 25


@pytest.mark.parametrize("name", sorted(EVOGYM))
def test_horizon_start_and_observation_length_match_evogym(name):
    horizon, start, size = EVOGYM[name]
    task = TASKS[name]
    assert (task.horizon, task.robot_at) == (horizon, start)
    blocks = sum(block_size(b) for b in task.observation)
    assert blocks == size
    env = make(name)
    assert env.observation_space.shape == (size,)
    assert env.action_space.shape == (25,)


@pytest.mark.parametrize("name", sorted(EVOGYM))
def test_env_checker_and_random_steps(name):
    env = make(name)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (EVOGYM[name][2],) and np.isfinite(obs).all()
    env.action_space.seed(1)
    for _ in range(4):
        obs, r, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.isfinite(obs).all() and math.isfinite(r)
        assert not truncated
    env.close()


def test_every_task_builds_with_the_default_body():
    for name in TASKS:
        env = gym.make(f"gridworlds/{name}")  # the example walker: 36 points too, 12 actuators
        obs, _ = env.reset(seed=0)
        assert obs.shape == (EVOGYM[name][2],) and env.action_space.shape == (12,)
    env = gym.make("gridworlds/Carrier-v0")
    env.reset(seed=0)
    obs, r, *_ = env.step(np.ones(12))
    assert np.isfinite(obs).all() and math.isfinite(r)


def test_observation_blocks_come_in_evogym_order():
    # UpStepper: vel (2), ort (1), pos (2n), floor (11); at the start nothing moves.
    c = core("UpStepper-v0")
    obs = c.observe()[0]
    assert obs[:2].tolist() == [0.0, 0.0]
    # At the start every cosine is 1 up to rounding; as in EvoGym only those that round past 1 are
    # read as 0.99999, so the reading is a small angle (EvoGym's for this body: 7.3e-4), not every
    # point's acos(0.99999).
    assert 0 < obs[2] < math.acos(0.99999)
    np.testing.assert_allclose(obs[3 : 3 + 2 * N], engine.relative_positions(c.worlds, 0)[0])
    # Carrier: robot vel (2), box centre - robot centre (2), box vel (2), pos (2n).
    c = core("Carrier-v0")
    obs = c.observe()[0]
    np.testing.assert_allclose(obs[2:4], [0.45 - 0.35, 0.7 - 0.35], atol=1e-12)
    # Flipper and the Balancers: ort first, then pos.
    c = core("Balancer-v0")
    assert c.task.observation == ("ort", "pos")
    assert core("Jumper-v0").task.observation == ("vel", "pos", "floor:2")


# --- worlds ---


def test_upstepper_steps():
    tops, _ = column_tops("UpStepper-v0")
    expected = {0: 1, 19: 1, 20: 2, 28: 2, 29: 3, 35: 3, 36: 4, 41: 4, 42: 5, 46: 5, 47: 6, 50: 6}
    expected |= {51: 7, 54: 7, 55: 8, 60: 8, 61: 9, 69: 9}
    assert {x: tops[x] for x in expected} == expected
    assert sorted(tops) == list(range(70))
    assert all(tops[x + 1] - tops[x] in (0, 1) for x in range(69))  # every riser is one voxel


def test_downstepper_steps_and_start_above_the_top_tread():
    tops, _ = column_tops("DownStepper-v0")
    expected = {0: 10, 20: 10, 21: 9, 28: 9, 29: 8, 36: 7, 42: 6, 47: 6, 48: 5, 53: 4, 58: 3, 62: 2, 65: 2}
    expected |= {66: 1, 74: 1}
    assert {x: tops[x] for x in expected} == expected
    x, y = TASKS["DownStepper-v0"].robot_at
    assert y == max(tops[x + i] for i in range(5)) + 1  # one voxel of air under the robot


def test_gapjumper_gaps_are_empty_down_to_the_ground_plane():
    tops, cells = column_tops("GapJumper-v0")
    gaps = [x for start in (20, 35, 50, 65) for x in range(start, start + 5)]
    assert not any(x in tops for x in gaps)
    assert set(tops) == set(range(80)) - set(gaps)
    assert {y for _, y in cells} == {5}  # platforms in row 5, top at 0.6, nothing below them
    assert len(TASKS["GapJumper-v0"].world()) == 5


def test_platformjumper_platform_heights():
    tops, cells = column_tops("PlatformJumper-v0")
    expected = {
        0: 6,
        19: 6,
        21: 8,
        30: 8,
        33: 9,
        42: 9,
        46: 7,
        55: 7,
        57: 6,
        66: 6,
        70: 7,
        79: 7,
        81: 4,
        90: 4,
    }
    assert {x: tops[x] for x in expected} == expected
    assert not any(x in tops for x in (20, 31, 32, 43, 45, 56, 67, 69, 80))
    assert len(cells) == 20 + 6 * 10  # 1-voxel-thick platforms


def test_jumper_walls_and_obstacle_bumps():
    tops, _ = column_tops("Jumper-v0")
    assert tops[0] == tops[59] == 8
    assert {tops[x] for x in range(1, 59)} == {1}
    tops, _ = column_tops("ObstacleTraverser-v0")
    assert [x for x in range(80) if tops[x] == 3] == [55, 60, 64]
    assert tops[22] == tops[72] == 2 and tops[23] == 1
    tops, _ = column_tops("ObstacleTraverser-v1")
    assert tops[16] == 1 and tops[58] == tops[59] == 10 and tops[44] == 5
    tops, _ = column_tops("Hurdler-v0")
    assert [x for x in range(70) if tops[x] > 1] == [12, 20, 28, 36, 37, 45, 52, 58, 69]
    assert tops[69] == 6


def test_climber_channel_is_exactly_five_wide():
    _, cells = column_tops("Climber-v0")
    assert all((0, y) in cells and (6, y) in cells for y in range(90))
    assert all((x, 0) in cells and (x, 89) in cells for x in range(7))
    assert not any((x, y) in cells for x in range(1, 6) for y in range(1, 89))


def test_balancer_robot_starts_on_the_pole():
    tops, _ = column_tops("Balancer-v0")
    assert tops[17] == 3 and tops[0] == tops[29] == 5 and tops[16] == tops[18] == 1
    assert TASKS["Balancer-v0"].robot_at[1] == tops[17]
    tops, _ = column_tops("Balancer-v1")
    assert tops[17] == 4 and TASKS["Balancer-v1"].robot_at[1] == 1


def test_bridge_deck_mixes_fixed_pillars_and_soft_spans_in_one_piece():
    (bridge,) = TASKS["BridgeWalker-v0"].world()
    assert bridge.kind == engine.TERRAIN and bridge.grid.shape == (5, 60)
    material = {(x, 4 - r): bridge.grid[r, x] for r in range(5) for x in range(60)}
    pillars = [x for x in range(60) if all(material[x, y] == FIXED for y in range(5))]
    assert pillars == [0, 5, 10, 18, 29, 46, 58, 59]
    others = [x for x in range(60) if x not in pillars]
    assert all(material[x, 0] == FIXED and material[x, 1] == material[x, 2] == 0 for x in others)
    assert all(material[x, 3] == material[x, 4] == SOFT for x in others)


def test_bridge_soft_spans_sag_while_pillars_stay_put():
    env = make("BridgeWalker-v0")
    env.reset(seed=0)
    w = env.unwrapped.core.worlds
    first, end = w.piece_points[0, 1]
    start, fixed = w.pos[0, first:end].copy(), w.fixed[0, first:end]
    assert fixed.any() and (~fixed).any()
    for _ in range(10):
        env.step(np.ones(env.action_space.shape))
    moved = w.pos[0, first:end] - start
    assert np.abs(moved[fixed]).max() == 0.0
    long_span = (start[:, 0] > 3.0) & (start[:, 0] < 4.6)  # 16 voxels between pillars 29 and 46
    short_span = (start[:, 0] > 1.1) & (start[:, 0] < 1.8)  # 7 voxels between pillars 10 and 18
    long_sag, short_sag = -moved[long_span, 1].min(), -moved[short_span, 1].min()
    assert long_sag > 0.005 and long_sag > short_sag > 0.0


def test_boxes_their_materials_and_places():
    for name, material, cell in (
        ("Carrier-v0", SOFT, (3, 6)),
        ("Carrier-v1", RIGID, (3, 10)),
        ("Pusher-v0", SOFT, (8, 1)),
        ("Pusher-v1", RIGID, (8, 1)),
        ("Thrower-v0", SOFT, (3, 7)),
    ):
        objects = [p for p in TASKS[name].world() if p.kind == engine.OBJECT]
        assert len(objects) == 1
        (box,) = objects
        assert box.grid.shape == (2, 3) and (box.grid == material).all() and (box.x, box.y) == cell
        c = core(name)
        assert c.box >= 0 and not c.terrain[c.box]
        np.testing.assert_allclose(
            engine.centre(c.worlds, c.box)[0], [0.1 * cell[0] + 0.15, 0.1 * cell[1] + 0.1]
        )
    # Pusher-v1's box is behind the robot; Carrier-v0's rests on its top.
    assert TASKS["Pusher-v1"].robot_at[0] > 8 + 3
    assert TASKS["Carrier-v0"].robot_at[1] + 5 == 6


def test_carrier_table_and_thrower_posts():
    tops, _ = column_tops("Carrier-v1")
    assert tops[0] == tops[23] == 4 and tops[24] == tops[26] == 3 and tops[27] == tops[47] == 2
    assert tops[48] == tops[49] == 5 and tops[50] == tops[59] == 2
    tops, _ = column_tops("Thrower-v0")
    posts = {x: h for x, h in tops.items() if h > 1}
    assert posts == {10: 3, 14: 4, 18: 5, 23: 7, 28: 8, 39: 10, 69: 10}


def test_traverser_loose_blocks_count_as_terrain():
    pieces = TASKS["Traverser-v0"].world()
    blocks = [p for p in pieces if p.kind == engine.OBJECT]
    assert len(blocks) == 27 and all((b.grid == RIGID).all() for b in blocks)
    assert sorted({b.grid.shape for b in blocks}) == [(1, 1), (2, 2), (3, 3)]
    assert all(b.x >= 20 and b.x + b.grid.shape[1] <= 49 for b in blocks)  # all in the pit
    tops, _ = column_tops("Traverser-v0")
    assert tops[0] == tops[19] == 9 and tops[20] == tops[48] == 1 and tops[49] == tops[59] == 7
    c = core("Traverser-v0")
    assert c.box == -1 and c.terrain.sum() == 1 + 27 and not c.terrain[0]


# --- rewards on scripted motions ---

WALKING = [
    "Walker-v0",
    "BridgeWalker-v0",
    "UpStepper-v0",
    "DownStepper-v0",
    "ObstacleTraverser-v0",
    "ObstacleTraverser-v1",
    "Hurdler-v0",
    "GapJumper-v0",
    "PlatformJumper-v0",
    "Traverser-v0",
]


@pytest.mark.parametrize("name", WALKING)
def test_walking_rewards_the_forward_move(name):
    r, done = reward(name, measures((1.0, 1.0)), measures((1.1, 1.0)))
    assert r == pytest.approx(0.1) and not done
    r, done = reward(name, measures((1.0, 1.0)), measures((0.95, 1.05)))
    assert r == pytest.approx(-0.05) and not done


@pytest.mark.parametrize(
    ("name", "finish", "bonus"),
    [
        ("Walker-v0", 9.9, 1.0),
        ("BridgeWalker-v0", 6.0, 1.0),
        ("UpStepper-v0", 6.9, 2.0),
        ("DownStepper-v0", 7.4, 2.0),
        ("ObstacleTraverser-v0", 7.9, 2.0),
        ("ObstacleTraverser-v1", 5.9, 2.0),
        ("Traverser-v0", 5.9, 2.0),
    ],
)
def test_passing_the_finish_line_gives_the_bonus_and_ends(name, finish, bonus):
    r, done = reward(name, measures((finish - 0.06, 1.0)), measures((finish - 0.01, 1.0)))
    assert r == pytest.approx(0.05) and not done
    r, done = reward(name, measures((finish - 0.01, 1.0)), measures((finish + 0.01, 1.0)))
    assert r == pytest.approx(0.02 + bonus) and done


@pytest.mark.parametrize("name", ["Hurdler-v0", "GapJumper-v0", "PlatformJumper-v0"])
def test_tasks_without_a_finish_line_never_end_by_distance(name):
    r, done = reward(name, measures((50.0, 1.0)), measures((50.1, 1.0)))
    assert r == pytest.approx(0.1) and not done


def test_climber_rewards_climbing_and_ends_at_the_top():
    r, done = reward("Climber-v0", measures((0.35, 1.0)), measures((0.45, 1.1)))
    assert r == pytest.approx(0.1) and not done
    r, done = reward("Climber-v0", measures((0.35, 8.55)), measures((0.35, 8.65)))
    assert r == pytest.approx(1.1) and done


def test_jumper_rewards_rising_and_penalises_drifting():
    r, done = reward("Jumper-v0", measures((3.4, 0.35)), measures((3.42, 0.45)))
    assert r == pytest.approx(10 * 0.1 - 5 * 0.02) and not done
    r, _ = reward("Jumper-v0", measures((3.4, 0.45)), measures((3.38, 0.35)))
    assert r == pytest.approx(-10 * 0.1 - 5 * 0.02)


def test_flipper_unwraps_the_rotation_across_the_seam():
    c = core("Flipper-v0")
    assert c.task.state == ("num_flips",) and c.state["num_flips"].tolist() == [0.0]
    step = c.task.reward
    here = (6.0, 0.35)
    r, done = step(measures(here, orientation=1.0), measures(here, orientation=1.2), c.state)
    assert r[0] == pytest.approx(0.2) and not done[0]
    # Counter-clockwise across 2 pi -> 0 is a small positive rotation, not -2 pi.
    r, _ = step(measures(here, orientation=2 * math.pi - 0.05), measures(here, orientation=0.05), c.state)
    assert r[0] == pytest.approx(0.1) and c.state["num_flips"].tolist() == [1.0]
    r, _ = step(measures(here, orientation=0.05), measures(here, orientation=0.3), c.state)
    assert r[0] == pytest.approx(0.25) and c.state["num_flips"].tolist() == [1.0]
    # And back clockwise across the seam: a small negative rotation, one flip fewer.
    r, _ = step(measures(here, orientation=0.05), measures(here, orientation=2 * math.pi - 0.05), c.state)
    assert r[0] == pytest.approx(-0.1) and c.state["num_flips"].tolist() == [0.0]
    # Rolling off the left end ends the episode, with no bonus.
    r, done = step(measures((0.12, 0.35), orientation=1.0), measures((0.08, 0.35), orientation=1.0), c.state)
    assert r[0] == pytest.approx(0.0) and done[0]


def test_flipper_counter_resets_with_the_episode():
    env = make("Flipper-v0")
    env.reset(seed=0)
    state = env.unwrapped.core.state
    state["num_flips"][:] = 3.0
    env.reset(seed=0)
    assert state["num_flips"].tolist() == [0.0]


def test_pusher_rewards_box_robot_and_closing_the_gap():
    for name in ("Pusher-v0", "Pusher-v1"):
        # Both move 0.1 forward: 0.75 * 0.1 + 0.5 * 0.1, the gap unchanged.
        r, done = reward(name, measures((0.35, 0.35), (0.95, 0.2)), measures((0.45, 0.35), (1.05, 0.2)))
        assert r == pytest.approx(0.125) and not done
        # The robot closes 0.1 of the gap to a still box: 0.5 * 0.1 + 0.1.
        r, _ = reward(name, measures((0.35, 0.35), (0.95, 0.2)), measures((0.45, 0.35), (0.95, 0.2)))
        assert r == pytest.approx(0.15)
        # The box pulls away from a still robot: 0.75 * 0.1 - 0.1.
        r, _ = reward(name, measures((0.35, 0.35), (0.95, 0.2)), measures((0.35, 0.35), (1.05, 0.2)))
        assert r == pytest.approx(-0.025)
    # The drop penalty (threshold y = 0) and the finish lines.
    r, _ = reward("Pusher-v0", measures((0.35, 0.35), (0.95, 0.05)), measures((0.35, 0.35), (0.95, -0.05)))
    assert r == pytest.approx(-1.0)
    r, done = reward("Pusher-v0", measures((9.85, 0.35), (9.95, 0.2)), measures((9.95, 0.35), (10.05, 0.2)))
    assert r == pytest.approx(1.125) and done
    r, done = reward("Pusher-v1", measures((6.85, 0.35), (6.0, 0.2)), measures((6.95, 0.35), (6.0, 0.2)))
    assert r == pytest.approx(0.05 - 0.1 + 1.0) and done


def test_carrier_rewards_and_drop_penalty():
    r, done = reward("Carrier-v0", measures((0.35, 0.35), (0.45, 0.7)), measures((0.45, 0.35), (0.55, 0.7)))
    assert r == pytest.approx(0.1) and not done
    # The box falls below y = 0.3: 10 times its fall is taken off; above 0.3 falling costs nothing.
    r, _ = reward("Carrier-v0", measures((0.35, 0.35), (0.45, 0.35)), measures((0.35, 0.35), (0.45, 0.25)))
    assert r == pytest.approx(-1.0)
    r, _ = reward("Carrier-v0", measures((0.35, 0.35), (0.45, 0.5)), measures((0.35, 0.35), (0.45, 0.4)))
    assert r == pytest.approx(0.0)
    r, done = reward("Carrier-v0", measures((9.85, 0.35), (9.9, 0.7)), measures((9.95, 0.35), (9.95, 0.7)))
    assert r == pytest.approx(0.075 + 1.0) and done


def test_carrier_v1_rewards_the_robot_nearing_4_and_a_moving_drop_threshold():
    r, done = reward("Carrier-v1", measures((1.0, 0.65), (1.0, 1.1)), measures((1.1, 0.65), (3.0, 1.1)))
    assert r == pytest.approx(0.1) and not done  # the box's own move does not count
    r, done = reward("Carrier-v1", measures((5.0, 0.3), (5.0, 0.7)), measures((5.1, 0.3), (5.0, 0.7)))
    assert r == pytest.approx(-0.1) and not done
    # Below 0.6 a falling box costs while it is over the shelf (x <= 2.0); past it, only below 0.4.
    r, _ = reward("Carrier-v1", measures((1.0, 0.65), (1.0, 0.6)), measures((1.0, 0.65), (1.0, 0.55)))
    assert r == pytest.approx(-0.5)
    r, _ = reward("Carrier-v1", measures((1.0, 0.65), (2.5, 0.6)), measures((1.0, 0.65), (2.5, 0.55)))
    assert r == pytest.approx(0.0)
    r, _ = reward("Carrier-v1", measures((1.0, 0.65), (2.5, 0.45)), measures((1.0, 0.65), (2.5, 0.35)))
    assert r == pytest.approx(-1.0)


def test_thrower_sign_rule():
    # The box flies 0.2 while the robot steps 0.1 forward: 0.2 - 0.25 * 0.1.
    r, done = reward("Thrower-v0", measures((1.0, 0.35), (1.0, 0.8)), measures((1.1, 0.35), (1.2, 0.8)))
    assert r == pytest.approx(0.175) and not done
    # Stepping back right of x = 0 is rewarded by +0.25 of the step ...
    r, _ = reward("Thrower-v0", measures((1.0, 0.35), (1.0, 0.8)), measures((0.9, 0.35), (1.0, 0.8)))
    assert r == pytest.approx(0.025)
    # ... and, as EvoGym's code has it, penalised once the robot's centre is left of x = 0.
    r, _ = reward("Thrower-v0", measures((-0.5, 0.35), (1.0, 0.8)), measures((-0.6, 0.35), (1.0, 0.8)))
    assert r == pytest.approx(-0.025)
    r, done = reward("Thrower-v0", measures((50.0, 0.35), (60.0, 0.8)), measures((50.0, 0.35), (60.0, 0.8)))
    assert r == 0.0 and not done


def test_balancer_targets():
    r, done = reward("Balancer-v0", measures((1.5, 0.3)), measures((1.6, 0.4)))
    assert r == pytest.approx(0.2) and not done
    r, _ = reward("Balancer-v0", measures((1.7, 0.5)), measures((1.8, 0.6)))
    assert r == pytest.approx(-0.2)
    r, _ = reward("Balancer-v1", measures((1.75, 0.5)), measures((1.75, 0.6)))
    assert r == pytest.approx(0.1)
    r, done = reward("Balancer-v1", measures((1.7, 0.6)), measures((1.8, 0.6)))  # across x = 1.75
    assert r == pytest.approx(0.0, abs=1e-12) and not done


# (pi/2, 3 pi/2) for most stair tasks; UpStepper's range is pi/12 wider on each side.
NARROW = [math.pi / 2 + 0.01, math.pi, 3 * math.pi / 2 - 0.01]
WIDE = [math.pi / 2 - math.pi / 24, *NARROW, 3 * math.pi / 2 + math.pi / 24]


@pytest.mark.parametrize(
    ("name", "ends_at"),
    [
        ("UpStepper-v0", WIDE),
        ("DownStepper-v0", NARROW),
        ("ObstacleTraverser-v0", NARROW),
        ("Hurdler-v0", NARROW),
        ("PlatformJumper-v0", NARROW),
        ("ObstacleTraverser-v1", []),
        ("GapJumper-v0", []),
        ("Traverser-v0", []),
        ("Walker-v0", []),
    ],
)
def test_flip_penalty_ranges(name, ends_at):
    for angle in [0.0, math.pi / 2 - math.pi / 8, *WIDE, 3 * math.pi / 2 + math.pi / 8, 2 * math.pi - 0.01]:
        r, done = reward(
            name, measures((1.0, 1.0), orientation=angle), measures((1.1, 1.0), orientation=angle)
        )
        flipped = angle in ends_at
        assert done == flipped, angle
        assert r == pytest.approx(0.1 - 3.0 * flipped), angle


@pytest.mark.parametrize("name", ["GapJumper-v0", "PlatformJumper-v0"])
def test_falling_below_04_ends_with_minus_3(name):
    r, done = reward(name, measures((2.0, 0.45)), measures((2.1, 0.41)))
    assert r == pytest.approx(0.1) and not done
    r, done = reward(name, measures((2.0, 0.45)), measures((2.1, 0.39)))
    assert r == pytest.approx(0.1 - 3.0) and done


def test_only_the_platform_tasks_end_on_falling():
    r, done = reward("UpStepper-v0", measures((2.0, 0.45)), measures((2.1, 0.2)))
    assert r == pytest.approx(0.1) and not done


def test_rewards_are_per_world():
    task = TASKS["Jumper-v0"]
    before = Measures(robot=np.array([[1.0, 0.3], [1.0, 0.3]]), box=None, orientation=np.zeros(2))
    after = Measures(robot=np.array([[1.0, 0.4], [1.1, 0.3]]), box=None, orientation=np.zeros(2))
    r, done = task.reward(before, after, {})
    np.testing.assert_allclose(r, [1.0, -0.5])
    assert done.tolist() == [False, False]

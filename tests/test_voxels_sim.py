"""The voxel-robot simulator: structure, EvoGym's measured behaviour, invariants, batching, errors."""

import numpy as np
import pytest

from gridworlds.engines import voxels as sim
from gridworlds.engines.voxels.bodies import FIXED, H_ACT, RIGID, SOFT, V_ACT, body_from_text, random_body

GROUND = sim.Piece(np.full((1, 40), FIXED), 0, 0, sim.TERRAIN)


def robot_points(w, world=0):
    first, end = w.piece_points[world, 0]
    return w.pos[world, first:end]


def run(w, action, steps):
    actions = np.full(w.actuator_voxels.shape, float(action))
    for _ in range(steps):
        assert not sim.step(w, actions).any()


def test_a_full_5x5_robot_has_36_points_60_edges_and_50_diagonals():
    w = sim.build([sim.Piece(np.full((5, 5), SOFT), 2, 2, sim.OBJECT)])
    points, springs = w.counts[0, sim.COUNT_POINTS], w.counts[0, sim.COUNT_SPRINGS]
    lengths = w.initial_length[0, :springs]
    assert (points, springs) == (36, 110)
    assert np.isclose(lengths, 0.1).sum() == 60
    assert np.isclose(lengths, 0.1 * np.sqrt(2)).sum() == 50
    # corners are shared: every point is a distinct lattice corner
    assert len({tuple(p) for p in np.round(w.pos[0, :points], 9)}) == 36


def test_points_are_numbered_as_evogym_numbers_them():
    w = sim.build([sim.Piece(np.full((2, 2), SOFT), 0, 0, sim.OBJECT)])
    # first voxel: TL TR BL BR; the next in the row: TR BR; the first of row 2: BL BR; then BR
    expected = [(0, 2), (1, 2), (0, 1), (1, 1), (2, 2), (2, 1), (0, 0), (1, 0), (2, 0)]
    np.testing.assert_allclose(w.pos[0, :9], 0.1 * np.array(expected))


def test_shared_edges_take_the_last_non_rigid_voxel_and_diagonals_their_own():
    body = np.array([[SOFT], [H_ACT], [RIGID]])  # soft on an actuator on a rigid voxel
    w = sim.build([sim.Piece(body, 0, 0, sim.ROBOT)])
    soft_bottom = w.edges[0, 0, sim.BOTTOM]
    actuator_bottom = w.edges[0, 1, sim.BOTTOM]
    rigid_bottom = w.edges[0, 2, sim.BOTTOM]
    assert w.stiffness[0, soft_bottom] == pytest.approx(6e7)  # the lower (actuator) voxel wins
    assert w.stiffness[0, actuator_bottom] == pytest.approx(6e7)  # rigid below takes the other's
    assert w.stiffness[0, rigid_bottom] == pytest.approx(3e8 / 3.5)
    diagonals = w.stiffness[0, w.counts[0, sim.COUNT_SPRINGS] - 6 :]
    np.testing.assert_allclose(diagonals, [1.25e7, 1.25e7, 3e7, 3e7, 1.5e8 / 3.5, 1.5e8 / 3.5])


def test_actuators_drive_their_own_axis_with_the_mean_of_neighbouring_actions():
    body = np.array([[H_ACT], [H_ACT], [V_ACT]])
    w = sim.build([sim.Piece(body, 0, 5, sim.ROBOT)])
    sim.step(w, np.array([[1.6, 0.6, 1.2]]))
    shared = w.edges[0, 0, sim.BOTTOM]  # between the two horizontal actuators
    assert w.goal_length[0, shared] == pytest.approx(0.1 * 1.1)
    assert w.goal_length[0, w.edges[0, 0, sim.TOP]] == pytest.approx(0.16)
    assert w.goal_length[0, w.edges[0, 2, sim.LEFT]] == pytest.approx(0.12)
    assert w.goal_length[0, w.edges[0, 2, sim.BOTTOM]] == pytest.approx(0.1)  # not driven
    sim.step(w, np.array([[9.0, 0.0, 1.0]]))  # clipped to [0.6, 1.6]
    assert w.goal_length[0, w.edges[0, 0, sim.TOP]] == pytest.approx(0.16)
    assert w.goal_length[0, shared] == pytest.approx(0.1 * 1.1)


# EvoGym 2.0's behaviour, measured on these machines (docs/voxels.md, reference numbers).


def test_a_soft_block_dropped_from_two_voxels_lands_in_about_20_steps():
    w = sim.build([GROUND, sim.Piece(np.full((3, 3), SOFT), 5, 3, sim.OBJECT)])
    first, end = w.piece_points[0, 1]
    steps = 0
    while w.pos[0, first:end, 1].min() > 0.1 + 1e-3 and steps < 40:  # the ground's top is at 0.1
        sim.step(w, np.zeros((1, 0)))
        steps += 1
    assert 17 <= steps <= 23


@pytest.mark.parametrize(("material", "sag"), [(SOFT, 0.046), (RIGID, 0.032)])
def test_a_five_voxel_column_sags_under_its_weight(material, sag):
    w = sim.build([GROUND, sim.Piece(np.full((5, 1), material), 5, 1, sim.OBJECT)])
    first, end = w.piece_points[0, 1]
    heights = []
    for _ in range(300):
        sim.step(w, np.zeros((1, 0)))
        heights.append(np.ptp(w.pos[0, first:end, 1]) / 0.1)
    assert 5 - np.mean(heights[-100:]) == pytest.approx(sag, abs=0.015)


@pytest.mark.parametrize(("action", "width", "tolerance"), [(1.6, 2.51, 0.1), (0.6, 1.53, 0.15)])
def test_a_strip_of_horizontal_actuators_settles_at_its_saturated_width(action, width, tolerance):
    w = sim.build([sim.Piece(np.array([[H_ACT, H_ACT]]), 5, 1, sim.ROBOT), GROUND])
    run(w, action, 200)
    assert np.ptp(robot_points(w)[:, 0]) / 0.1 == pytest.approx(width, abs=tolerance)


# Invariants.

WALKER = body_from_text("RRRRR\nSSSSS\nVH.HV\nVH.HV\nVH.HV\n")
BRIDGE = sim.Piece(np.array([[FIXED, SOFT, SOFT, SOFT, FIXED], [FIXED, 0, 0, 0, FIXED]]), 20, 1, sim.TERRAIN)


def test_edges_stay_within_bounds_and_fixed_points_never_move_under_random_actions():
    w = sim.build([sim.Piece(WALKER, 2, 1, sim.ROBOT), GROUND, BRIDGE])
    fixed = w.fixed[0]
    start = w.pos[0, fixed].copy()
    rng = np.random.default_rng(0)
    ends = w.spring_ends[0, : w.counts[0, sim.COUNT_SPRINGS]]
    for _ in range(300):
        sim.step(w, rng.uniform(0.6, 1.6, w.actuator_voxels.shape))
        lengths = np.linalg.norm(w.pos[0, ends[:, 0]] - w.pos[0, ends[:, 1]], axis=1)
        ratio = lengths / w.initial_length[0, : len(ends)]
        # the projection pulls 80% of the way back, and only once a substep
        assert ratio.min() > 0.75 - 0.02 and ratio.max() < 1.25 + 0.02
    assert np.array_equal(w.pos[0, fixed], start)
    assert np.isfinite(w.pos).all()


def energy(w):
    moving = ~w.fixed[0, : w.counts[0, sim.COUNT_POINTS]]
    pos, vel = w.pos[0, moving], w.vel[0, moving]
    return 0.5 * (vel**2).sum() + sim.GRAVITY * pos[:, 1].sum()


def test_no_energy_appears_without_actuation():
    w = sim.build([sim.Piece(WALKER, 2, 2, sim.ROBOT), GROUND])  # dropped from one voxel
    start = energy(w)
    centres = []
    for _ in range(400):
        sim.step(w, np.ones(w.actuator_voxels.shape))
        assert energy(w) <= start + 1e-6
        centres.append(robot_points(w).mean(axis=0))
    # it settles: the contact corners chatter (as in EvoGym) but the robot goes nowhere
    assert np.ptp(np.array(centres[100:]), axis=0).max() < 0.005


def test_without_contact_only_gravity_and_drag_move_the_centre():
    w = sim.build([sim.Piece(WALKER, 2, 50, sim.ROBOT)])  # nothing to touch
    rng = np.random.default_rng(1)
    start = robot_points(w).mean(axis=0)
    for _ in range(40):
        sim.step(w, rng.uniform(0.6, 1.6, w.actuator_voxels.shape))
    # internal forces cancel, so the centre falls as a point with v' = -g - c v from rest
    t, g, c = 40 * sim.SUBSTEPS * sim.DT, sim.GRAVITY, sim.DRAG
    fallen = g / c * t - g / c**2 * (1 - np.exp(-c * t))
    centre = robot_points(w).mean(axis=0)
    assert centre[0] == pytest.approx(start[0], abs=1e-9)
    assert centre[1] == pytest.approx(start[1] - fallen, abs=1e-7)


def test_rigid_bodies_stay_whole_in_the_air_and_on_the_ground():
    # Rigid springs are the stiffest (omega dt about 2.1 for a rigid block): the integrator must hold.
    rigid_robot = np.full((5, 5), RIGID)
    rigid_robot[4, 0] = H_ACT
    falling = sim.Piece(rigid_robot, 2, 30, sim.ROBOT)  # 60 steps fall 2 m: still in the air
    w = sim.build([falling, sim.Piece(np.full((3, 3), RIGID), 20, 1, sim.OBJECT), GROUND])
    for _ in range(60):
        assert not sim.step(w, np.full((1, 1), 1.6)).any()
    sizes = [np.ptp(w.pos[0, slice(*w.piece_points[0, piece])], axis=0) / 0.1 for piece in range(2)]
    assert np.all((sizes[0] > 4.9) & (sizes[0] < 5.4))  # one actuator stretches the bottom row
    np.testing.assert_allclose(sizes[1], 3.0, atol=0.05)


def test_a_long_random_episode_stays_finite_and_bounded():
    w = sim.build([sim.Piece(WALKER, 2, 1, sim.ROBOT), GROUND])
    rng = np.random.default_rng(2)
    for _ in range(1000):
        sim.step(w, rng.uniform(0.6, 1.6, w.actuator_voxels.shape))
    points = robot_points(w)
    assert np.isfinite(points).all()
    assert points[:, 1].min() > 0.05 and np.ptp(points, axis=0).max() < 1.0


# Batching and determinism.


def test_a_batch_of_different_robots_steps_exactly_like_each_alone():
    bodies = [WALKER, np.array([[H_ACT, H_ACT, V_ACT]]), np.array([[SOFT, V_ACT], [H_ACT, RIGID]])]
    alone = [sim.build([sim.Piece(b, 2, 1, sim.ROBOT), GROUND]) for b in bodies]
    batch = sim.stack([sim.layout([sim.Piece(b, 2, 1, sim.ROBOT), GROUND]) for b in bodies])
    rng = np.random.default_rng(3)
    for _ in range(30):
        actions = rng.uniform(0.6, 1.6, batch.actuator_voxels.shape)
        sim.step(batch, actions)
        for i, w in enumerate(alone):
            sim.step(w, actions[i : i + 1, : w.actuator_voxels.shape[1]])
    for i, w in enumerate(alone):
        n = w.counts[0, sim.COUNT_POINTS]
        assert np.array_equal(batch.pos[i, :n], w.pos[0])


def test_threads_give_the_same_worlds_as_one_thread():
    rng = np.random.default_rng(5)
    layouts = [sim.layout([sim.Piece(random_body(rng), 2, 1, sim.ROBOT), GROUND]) for _ in range(9)]
    serial, parallel = sim.stack(layouts), sim.stack(layouts)
    for _ in range(10):
        actions = rng.uniform(0.6, 1.6, serial.actuator_voxels.shape)
        assert np.array_equal(
            sim.step(serial, actions, parallel=False), sim.step(parallel, actions, parallel=True)
        )
    assert np.array_equal(serial.pos, parallel.pos)


def test_centres_and_orientations_of_different_robots_are_each_their_own():
    rng = np.random.default_rng(6)
    bodies = [WALKER, np.array([[H_ACT, V_ACT]]), random_body(rng)]
    batch = sim.stack([sim.layout([sim.Piece(b, 2, 1, sim.ROBOT), GROUND]) for b in bodies])
    for _ in range(20):
        sim.step(batch, rng.uniform(0.6, 1.6, batch.actuator_voxels.shape))
    for i in range(3):
        points, start = robot_points(batch, i), batch.start_pos[i, slice(*batch.piece_points[i, 0])]
        np.testing.assert_allclose(sim.centre(batch, 0)[i], points.mean(axis=0))
        alone = sim.build([sim.Piece(bodies[i], 2, 1, sim.ROBOT), GROUND])
        alone.pos[0, : len(points)], alone.start_pos[0, : len(points)] = points, start
        np.testing.assert_allclose(sim.orientation(batch, 0)[i], sim.orientation(alone, 0)[0])
    quarter = sim.build([sim.Piece(WALKER, 2, 10, sim.ROBOT)])
    p = quarter.pos[0, : quarter.piece_points[0, 0, 1]]
    middle = p.mean(axis=0)
    p[:] = middle + (p - middle) @ np.array([[0.0, 1.0], [-1.0, 0.0]])  # turned 90 degrees anticlockwise
    assert sim.orientation(quarter, 0)[0] == pytest.approx(np.pi / 2)


def test_reset_puts_a_world_back_exactly():
    w = sim.build([sim.Piece(WALKER, 2, 1, sim.ROBOT), GROUND])
    actions = np.random.default_rng(4).uniform(0.6, 1.6, (20, *w.actuator_voxels.shape))
    runs = []
    for _ in range(2):
        for a in actions:
            sim.step(w, a)
        runs.append(w.pos.copy())
        sim.reset(w, np.ones(1, np.bool_))
    assert np.array_equal(runs[0], runs[1])


def test_an_unstable_step_is_reported_and_undone():
    w = sim.build([sim.Piece(np.full((1, 5), H_ACT), 2, 20, sim.ROBOT)])
    first, end = w.piece_points[0, 0]
    folded = w.pos[0].copy()
    # fold the strip: move the last two voxels' points onto the first two
    right = folded[first:end, 0] > 0.2 + 0.3 - 1e-9
    folded[first:end][right, 0] -= 0.3
    w.pos[0] = folded
    w.last_pos[0] = folded
    unstable = sim.step(w, np.ones((1, 5)))
    assert unstable[0]
    assert np.array_equal(w.pos[0], folded)


def test_bad_input_is_refused_with_a_clear_error():
    w = sim.build([sim.Piece(WALKER, 2, 1, sim.ROBOT), GROUND])
    with pytest.raises(ValueError, match=r"actions must have shape \(1, 12\)"):
        sim.step(w, np.ones((1, 3)))
    with pytest.raises(ValueError, match="finite"):
        sim.step(w, np.full((1, 12), np.nan))
    with pytest.raises(ValueError, match="at most one robot, and it comes first"):
        sim.build([GROUND, sim.Piece(WALKER, 2, 1, sim.ROBOT)])
    with pytest.raises(ValueError, match="overlap"):
        sim.build([sim.Piece(WALKER, 0, 0, sim.ROBOT), GROUND])
    with pytest.raises(ValueError, match="actuator"):
        sim.build([sim.Piece(np.full((2, 2), SOFT), 0, 1, sim.ROBOT)])
    with pytest.raises(ValueError, match="free object cannot hold FIXED"):
        sim.build([sim.Piece(np.full((2, 2), FIXED), 0, 1, sim.OBJECT)])

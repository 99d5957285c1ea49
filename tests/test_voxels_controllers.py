"""Open-loop periodic controllers for voxel robots: the action formula, batched rollouts against the
env, episode ends, and the CEM that tunes gaits."""

import dataclasses
import math

import numpy as np
import pytest

from gridworlds.agents.voxels import controllers as vc
from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import EXAMPLE_BODIES, actuator_cells, body_from_text, random_body
from gridworlds.engines.voxels.rewards import Forward
from gridworlds.engines.voxels.tasks import TASKS
from gridworlds.envs.voxels import VoxelEnv

WALKER = body_from_text(EXAMPLE_BODIES["walker"])  # 12 actuators, 5 wide: its centre starts at x = 0.35
BLOCK = body_from_text(EXAMPLE_BODIES["block3"])  # 1 actuator
COLUMN = body_from_text(EXAMPLE_BODIES["column_v"])  # 5 actuators, 1 wide: its centre starts at x = 0.15


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def several_bodies() -> list[np.ndarray]:
    """Bodies of different sizes, point counts and actuator counts, to share one batch."""
    rng = np.random.default_rng(3)
    return [WALKER, BLOCK, COLUMN, random_body(rng), random_body(rng)]


def random_params(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, vc.controller_size(25)))


# --- the periodic controller ---


def test_the_periodic_action_is_the_formula_by_hand():
    period_raw = logit((20 - 8) / 52)  # a period of exactly 20 control steps
    params = np.array([[period_raw, 0.0, 0.3, logit(0.5), -1.0]])  # amplitudes 0.3 and 0.3
    period, amplitude, phase = vc.decode(params)
    np.testing.assert_allclose(period, [20.0])
    np.testing.assert_allclose(amplitude, [[0.3, 0.3]])
    np.testing.assert_allclose(phase, [[0.3, -1.0]])
    for t in (0, 1, 7, 13):
        expected = 1 + 0.3 * np.sin(2 * np.pi * t / 20 + np.array([0.3, -1.0]))
        np.testing.assert_allclose(vc.periodic_actions(params, t)[0], expected)
        np.testing.assert_allclose(vc.periodic_actions(params, t + 20), vc.periodic_actions(params, t))
    # The defaults at zero, and the ranges the squashing keeps the period and amplitude in.
    period, amplitude, _ = vc.decode(np.zeros((1, 3)))
    assert period[0] == pytest.approx(34.0) and amplitude[0, 0] == pytest.approx(0.3)
    period, amplitude, _ = vc.decode(np.array([[-50.0, -50.0, 0.0], [50.0, 50.0, 0.0]]))
    np.testing.assert_allclose(period, [8.0, 60.0])
    np.testing.assert_allclose(amplitude[:, 0], [0.0, 0.6], atol=1e-12)


def test_the_action_is_clipped_to_the_action_range():
    full = 50.0  # amplitude 0.6
    trough = np.array([[0.0, full, -np.pi / 2]])  # 1 - 0.6 = 0.4 at t = 0
    crest = np.array([[0.0, full, np.pi / 2]])
    assert vc.periodic_actions(trough, 0)[0, 0] == pytest.approx(0.6)
    assert vc.periodic_actions(crest, 0)[0, 0] == pytest.approx(1.6)
    sweep = np.concatenate([vc.periodic_actions(trough, t) for t in range(40)])
    assert sweep.min() == pytest.approx(0.6) and sweep.max() <= 1.6 + 1e-12


def test_entries_past_a_bodys_actuators_are_ignored():
    params = random_params(1)
    short = params[:, : vc.controller_size(2)]
    np.testing.assert_array_equal(vc.periodic_actions(params, 5)[:, :2], vc.periodic_actions(short, 5))


# --- rollouts ---


def env_return(task: str, body: np.ndarray, params: np.ndarray, horizon: int) -> tuple[float, int]:
    """The same open-loop actions through VoxelEnv, one step at a time: (return, steps)."""
    env = VoxelEnv(task=task, body=body)
    env.reset()
    actuators = len(actuator_cells(body))
    total = 0.0
    for t in range(horizon):
        action = vc.periodic_actions(params[None], t)[0, :actuators]
        _, reward, terminated, truncated, _ = env.step(action)
        total += reward
        if terminated or truncated:
            return total, t + 1
    return total, horizon


@pytest.mark.parametrize("task", ["Walker-v0", "Pusher-v0"])
def test_batched_returns_equal_the_envs_summed_rewards(task):
    bodies, horizon = several_bodies(), 25
    params = random_params(len(bodies), seed=1)
    returns, env_steps = vc.rollout_returns(task, bodies, params, horizon=horizon)
    expected = [env_return(task, body, p, horizon) for body, p in zip(bodies, params, strict=True)]
    np.testing.assert_allclose(returns, [r for r, _ in expected], rtol=1e-9, atol=1e-12)
    assert env_steps == sum(steps for _, steps in expected)
    assert np.abs(returns).max() > 1e-4  # something moved


def test_a_finish_line_ends_a_world_and_its_counting(monkeypatch):
    # A finish line at x = 0.3: the walker (centre 0.35) is past it after its first step, the column
    # (centre 0.15) never gets there.
    task = dataclasses.replace(TASKS["Walker-v0"], name="ShortWalker-v0", reward=Forward(0.3, bonus=1.0))
    monkeypatch.setitem(TASKS, task.name, task)
    params, horizon = random_params(2, seed=2), 20
    returns, env_steps = vc.rollout_returns(task.name, [WALKER, COLUMN], params, horizon=horizon)
    assert env_steps == 1 + horizon
    walker_return, walker_steps = env_return(task.name, WALKER, params[0], horizon)
    column_return, column_steps = env_return(task.name, COLUMN, params[1], horizon)
    assert (walker_steps, column_steps) == (1, horizon)
    np.testing.assert_allclose(returns, [walker_return, column_return], rtol=1e-9, atol=1e-12)
    assert returns[0] > 0.9  # the bonus


def test_instability_adds_minus_three_and_takes_the_world_out_of_the_batch(monkeypatch):
    bodies, params, horizon = [WALKER, BLOCK, COLUMN], random_params(3, seed=4), 10
    steady, _ = vc.rollout_returns("Walker-v0", bodies, params, horizon=3)
    real_step, batch_sizes = engine.step, []

    def block_folds_on_the_third_step(worlds, actions):
        batch_sizes.append(len(actions))
        unstable = real_step(worlds, actions)
        if len(batch_sizes) == 3:
            unstable[1] = True
        return unstable

    monkeypatch.setattr(engine, "step", block_folds_on_the_third_step)
    returns, env_steps = vc.rollout_returns("Walker-v0", bodies, params, horizon=horizon)
    assert batch_sizes == [3, 3, 3] + [2] * (horizon - 3)
    assert env_steps == 3 * 3 + 2 * (horizon - 3)
    assert returns[1] == pytest.approx(steady[1] + engine.UNSTABLE_PENALTY, abs=1e-12)


def test_bad_params_are_refused():
    with pytest.raises(ValueError, match="12 actuators, which need 25"):
        vc.rollout_returns("Walker-v0", [WALKER], np.zeros((1, 23)), horizon=2)
    with pytest.raises(ValueError, match="shape"):
        vc.rollout_returns("Walker-v0", [WALKER, BLOCK], np.zeros((1, 25)), horizon=2)
    with pytest.raises(ValueError, match="horizon"):
        vc.rollout_returns("Walker-v0", [WALKER], np.zeros((1, 25)), horizon=0)
    with pytest.raises(ValueError, match="task must be one of"):
        vc.rollout_returns("Runner-v9", [WALKER], np.zeros((1, 25)))


# --- the cross-entropy method ---


def test_cem_update_keeps_the_elites_mean_and_floored_spread():
    samples = np.array([[[0.0, 1.0], [2.0, 1.0], [10.0, 1.0], [4.0, 1.0]]])
    fitness = np.array([[1.0, 3.0, -5.0, 2.0]])  # elites: samples 1 and 3
    mean, sigma = vc.cem_update(samples, fitness, elites=2, sigma_floor=0.1)
    np.testing.assert_allclose(mean, [[3.0, 1.0]])
    np.testing.assert_allclose(sigma, [[1.0, 0.1]])  # the second coordinate did not spread


def test_cem_finds_the_optimum_of_quadratics_side_by_side():
    targets = np.array([[1.0, -2.0, 0.5, 3.0], [-1.0, 0.0, 2.0, -0.5], [0.0, 0.0, 0.0, 0.0]])

    def fitness(samples):
        return -((samples - targets[:, None]) ** 2).sum(axis=2)

    config = vc.GaitSearch(population=32, elites=8, generations=40, initial_sigma=2.0, min_sigma=1e-4)
    best, best_fitness = vc.cross_entropy_search(fitness, np.zeros_like(targets), config)
    np.testing.assert_allclose(best, targets, atol=1e-2)
    np.testing.assert_allclose(best_fitness, fitness(best[:, None])[:, 0])


def test_gait_search_improves_the_walker():
    config = vc.GaitSearch(population=8, elites=3, generations=5, horizon=100, seed=1)
    history = []
    best, best_returns, env_steps = vc.optimise_gaits(
        "Walker-v0", [WALKER], config, log=lambda generation, returns: history.append(returns)
    )
    first_mean, last_mean = history[0].mean(), history[-1].mean()
    assert best_returns[0] > first_mean and last_mean > first_mean
    assert best.shape == (1, vc.controller_size(12))
    assert env_steps == 8 * 5 * 100  # no episode ended early
    again, _ = vc.rollout_returns("Walker-v0", [WALKER], best, horizon=100)
    assert again[0] == best_returns[0]  # the fitness is the return of the rollout actually run


def test_a_gait_search_starts_from_the_initial_gait_it_is_given():
    config = vc.GaitSearch(population=4, elites=2, generations=1, horizon=60, seed=2)
    start = random_params(1, seed=5)[:, : vc.controller_size(12)]
    best, best_returns, _ = vc.optimise_gaits("Walker-v0", [WALKER], config, initial=start)
    start_return, _ = vc.rollout_returns("Walker-v0", [WALKER], start, horizon=60)
    # the first sample of a generation is its mean: the initial gait itself is tried
    assert best_returns[0] >= start_return[0]
    samples = []
    vc.optimise_gaits("Walker-v0", [WALKER], config, log=lambda g, r: samples.append(r), initial=start)
    assert samples[0][0, 0] == start_return[0]
    with pytest.raises(ValueError, match="one vector per body"):
        vc.optimise_gaits("Walker-v0", [WALKER, BLOCK], config, initial=start)
    with pytest.raises(ValueError, match="at most 25 finite numbers"):
        vc.optimise_gaits("Walker-v0", [WALKER], config, initial=np.zeros((1, 27)))


def test_grouped_actuators_share_their_amplitude_and_phase():
    config = vc.GaitSearch(population=4, elites=2, generations=2, horizon=40, seed=3)
    halves = (np.arange(WALKER.size).reshape(WALKER.shape) % 5 >= 2).astype(np.int64)  # columns 0-1, 2-4
    start = random_params(1, seed=4)[0, : vc.controller_size(12)]
    samples = []
    best, best_returns, _ = vc.optimise_gaits(
        "Walker-v0",
        [WALKER, WALKER],
        config,
        log=lambda g, r: samples.append(r),
        initial=[start, start],
        groups=[halves, np.arange(25).reshape(5, 5)],
    )
    side = halves[tuple(actuator_cells(WALKER).T)]
    amplitudes, phases = best[0, 1::2], best[0, 2::2]
    for label in (0, 1):
        assert len(set(amplitudes[side == label])) == 1 and len(set(phases[side == label])) == 1
    assert len(set(amplitudes[side == 0]) | set(amplitudes[side == 1])) == 2
    again, _ = vc.rollout_returns("Walker-v0", [WALKER, WALKER], best, horizon=40)
    np.testing.assert_array_equal(again, best_returns)
    # The first sample is the initial gait with each group on its first actuator's pair; one cell
    # per group is every actuator its own pair: the initial gait itself.
    first = start.copy()
    for label in (0, 1):
        k = np.flatnonzero(side == label)
        first[1 + 2 * k], first[2 + 2 * k] = start[1 + 2 * k[0]], start[2 + 2 * k[0]]
    expected, _ = vc.rollout_returns("Walker-v0", [WALKER, WALKER], np.stack([first, start]), horizon=40)
    np.testing.assert_array_equal(samples[0][:, 0], expected)
    with pytest.raises(ValueError, match="its body's shape"):
        vc.optimise_gaits("Walker-v0", [WALKER], config, groups=[np.zeros((4, 5))])


def test_an_inherited_gait_keeps_each_actuator_cell_and_the_period():
    parent = body_from_text("HSV\nSHH")  # actuators (0, 0), (0, 2), (1, 1), (1, 2)
    child = body_from_text("HSS\nVHR")  # actuators (0, 0), (1, 0), (1, 1)
    parent_gait = np.array([0.7, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5])
    child_gait = vc.inherit_gait(parent, parent_gait, child)
    # period; (0, 0) from the parent's first actuator; (1, 0) new: zeros; (1, 1) from its third
    np.testing.assert_array_equal(child_gait, [0.7, 1.0, 1.5, 0.0, 0.0, 3.0, 3.5])
    np.testing.assert_array_equal(vc.inherit_gait(parent, parent_gait, parent), parent_gait)
    with pytest.raises(ValueError, match="at least 9 numbers"):
        vc.inherit_gait(parent, parent_gait[:5], child)


def test_gait_search_is_deterministic_for_a_seed():
    config = vc.GaitSearch(population=4, elites=2, generations=2, horizon=15, seed=7)
    first = vc.optimise_gaits("Pusher-v0", [WALKER, BLOCK], config)
    second = vc.optimise_gaits("Pusher-v0", [WALKER, BLOCK], config)
    other = vc.optimise_gaits("Pusher-v0", [WALKER, BLOCK], dataclasses.replace(config, seed=8))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[2] == second[2] == 2 * 4 * 2 * 15
    assert first[0].shape == (2, vc.controller_size(12))
    assert not np.array_equal(first[0], other[0])

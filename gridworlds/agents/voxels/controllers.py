"""Open-loop periodic controllers for voxel robots, and a CEM that tunes one per design.

EvoGym (Bhatia et al. 2021) and HERD (Dong et al. 2024) score candidate designs cheaply with an
open-loop gait: every actuator follows a sine of one shared period, with its own amplitude and phase,

    action_t = clip(1 + amplitude * sin(2 pi t / period + phase), 0.6, 1.6),   t = 0, 1, ... control steps.

1.0 is an actuator's rest length (the envs here do not shift actions by +1 as EvoGym's do).

Parameter layout: one flat float vector per design, unbounded so that a Gaussian search can move
freely; the squashing into the sensible ranges happens in `decode`:

    params[0]          period    = PERIOD_LOW + (PERIOD_HIGH - PERIOD_LOW) * sigmoid(params[0])
    params[1 + 2 k]    amplitude = MAX_AMPLITUDE * sigmoid(params[1 + 2 k])   of actuator k
    params[2 + 2 k]    phase     = params[2 + 2 k] (radians; the sine wraps it)

Actuators are numbered in row-major order (`voxels.bodies.actuator_cells`, the action's order).
Interleaving (amplitude, phase) pairs means actuator k's numbers sit at the same place whatever the
vector's length: a vector of `controller_size(a)` = 1 + 2 a numbers drives any body of at most `a`
actuators, the entries past a body's own actuators being ignored. All zeros is a period of 34 steps,
amplitude 0.3, every actuator in phase.

`rollout_returns` rolls N (body, parameters) pairs out together, one batched simulator call per
control step, with the task's reward, episode ends and -3 on instability exactly as the envs give
them. `optimise_gaits` runs one CEM per design, all designs' populations in one batch per
generation, from all zeros or from given gaits; `inherit_gait` carries a gait over to another body
by actuator cell (the period kept), so that a design search can start a new design's CEM from a
similar design's gait.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gridworlds.engines import voxels as engine
from gridworlds.engines.voxels.bodies import BodyLike, actuator_cells, check_body
from gridworlds.engines.voxels.tasks import TASKS
from gridworlds.envs.checks import check_choice
from gridworlds.envs.voxels import VoxelTask

PERIOD_LOW, PERIOD_HIGH = 8.0, 60.0  # control steps (24 ms to 180 ms of simulated time)
MAX_AMPLITUDE = 0.6  # 1 + 0.6 reaches the top of the action range [0.6, 1.6]; the trough clips at 0.6


@dataclass(frozen=True)
class GaitSearch:
    """A CEM over each design's periodic-controller parameters."""

    population: int = 16  # controllers rolled out per design each generation (the first is the mean)
    elites: int = 4  # the best of them, whose mean and spread make the next generation's Gaussian
    generations: int = 10
    initial_sigma: float = 1.0  # on the unbounded parameters: about +-0.15 of amplitude, +-1 rad of phase
    # The next sigma is the elites' spread, but no less than a floor that decays from initial_sigma by
    # this factor each generation: a few elites' spread collapses faster than the mean can travel.
    sigma_decay: float = 0.8
    min_sigma: float = 0.02  # where the floor stops decaying, so that the search never freezes
    horizon: int | None = None  # control steps per rollout; None: the task's own
    seed: int = 0


# --- the periodic controller ---


def controller_size(actuators: int) -> int:
    """The length of a parameter vector that drives bodies of up to `actuators` actuators."""
    return 1 + 2 * actuators


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the overflow-free form of 1 / (1 + exp(-x))


def decode(params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(period [N] in control steps, amplitude [N, A], phase [N, A]) from params [N, 1 + 2 A]."""
    params = np.asarray(params, dtype=np.float64)
    period = PERIOD_LOW + (PERIOD_HIGH - PERIOD_LOW) * _sigmoid(params[:, 0])
    return period, MAX_AMPLITUDE * _sigmoid(params[:, 1::2]), params[:, 2::2]


def periodic_actions(params: np.ndarray, t: int) -> np.ndarray:
    """float64 [N, A]: every actuator's action at control step t (0 for the first action)."""
    period, amplitude, phase = decode(params)
    angle = 2.0 * np.pi * t / period[:, None] + phase
    return np.clip(1.0 + amplitude * np.sin(angle), engine.ACTION_LOW, engine.ACTION_HIGH)


# --- batched rollouts ---


def rollout_returns(
    task_name: str, bodies: Sequence[BodyLike], params: np.ndarray, horizon: int | None = None
) -> tuple[np.ndarray, int]:
    """(returns float64 [N], env steps used): the episode return of each (bodies[i], params[i]) under
    the periodic controller, all N worlds stepped together, one simulator call per control step.

    Episodes run `horizon` control steps (None: the task's own) or until they end: the task's end
    (a finish line, a flip, a fall) or instability, which adds -3 and ends it, as in `VoxelEnv`.
    Ended worlds leave the batch, so the env steps count only the steps actually simulated.
    params: float [N, P] with P odd and at least `controller_size` of the most actuators of any body."""
    task = TASKS[check_choice("task", task_name, tuple(TASKS))]
    horizon = task.horizon if horizon is None else horizon
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    core = VoxelTask(task.name, [check_body(body) for body in bodies], horizon)
    params = np.asarray(params, dtype=np.float64)
    n, most_actuators = len(core), core.actuators
    if params.ndim != 2 or len(params) != n or params.shape[1] % 2 == 0:
        raise ValueError(f"params must have shape ({n}, 1 + 2 a) for {n} bodies, got {params.shape}")
    if params.shape[1] < controller_size(most_actuators):
        raise ValueError(
            f"params have {params.shape[1]} numbers per body, but a body has {most_actuators} actuators, "
            f"which need {controller_size(most_actuators)}"
        )
    if not np.isfinite(params).all():
        raise ValueError("params must be finite numbers")

    returns = np.zeros(n)
    running = np.arange(n)  # the worlds still in the batch, by their index in `bodies`
    env_steps = 0
    for t in range(horizon):
        reward, terminated, _, _ = core.step(periodic_actions(params[running], t)[:, :most_actuators])
        returns[running] += reward
        env_steps += len(running)
        if terminated.any():  # stop simulating ended episodes rather than masking them
            running, core = running[~terminated], core.select(~terminated)
            if len(running) == 0:
                break
    return returns, env_steps


# --- the cross-entropy method ---


def cem_update(
    samples: np.ndarray, fitness: np.ndarray, elites: int, sigma_floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D, P], sigma [D, P]) of the next Gaussian per search: the mean and the spread
    (floored at `sigma_floor`) of the `elites` fittest of samples [D, K, P] by fitness [D, K]
    (ties: the earlier sample)."""
    best_first = np.argsort(-fitness, axis=1, kind="stable")[:, :elites]
    chosen = np.take_along_axis(samples, best_first[..., None], axis=1)
    return chosen.mean(axis=1), np.maximum(chosen.std(axis=1), sigma_floor)


def check_search(config: GaitSearch) -> None:
    if config.population < 2 or not 1 <= config.elites <= config.population:
        raise ValueError(
            f"need a population of at least 2 and 1 to population elites, got {config.population} "
            f"and {config.elites}"
        )
    if config.generations < 1:
        raise ValueError(f"generations must be at least 1, got {config.generations}")
    if not (config.initial_sigma > 0 and config.min_sigma > 0):
        raise ValueError(f"sigmas must be positive, got {config.initial_sigma} and {config.min_sigma}")
    if not 0 < config.sigma_decay <= 1:
        raise ValueError(f"sigma_decay must be in (0, 1], got {config.sigma_decay}")


def cross_entropy_search(
    evaluate: Callable[[np.ndarray], np.ndarray],
    initial_mean: np.ndarray,
    config: GaitSearch,
    log: Callable[[int, np.ndarray], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(best [D, P], best fitness [D]): D independent CEM searches, maximising, run side by side.
    `evaluate` maps samples [D, K, P] to fitness [D, K] (all searches' populations in one call);
    `log(generation, fitness)` sees each generation's fitness. The best is the best sample
    evaluated, with the fitness it got."""
    check_search(config)
    rng = np.random.default_rng(config.seed)
    mean = np.array(initial_mean, dtype=np.float64)
    sigma = np.full_like(mean, config.initial_sigma)
    searches, size = mean.shape
    best, best_fitness = mean.copy(), np.full(searches, -np.inf)
    for generation in range(config.generations):
        noise = rng.standard_normal((searches, config.population, size))
        noise[:, 0] = 0.0  # the mean itself is always tried: it is often better than any sample
        samples = mean[:, None] + sigma[:, None] * noise
        fitness = np.asarray(evaluate(samples), dtype=np.float64)
        top = fitness.argmax(axis=1)
        top_fitness = fitness[np.arange(searches), top]
        better = top_fitness > best_fitness
        best[better] = samples[better, top[better]]
        best_fitness[better] = top_fitness[better]
        floor = max(config.initial_sigma * config.sigma_decay ** (generation + 1), config.min_sigma)
        mean, sigma = cem_update(samples, fitness, config.elites, floor)
        if log is not None:
            log(generation, fitness)
    return best, best_fitness


def optimise_gaits(
    task_name: str,
    bodies: Sequence[BodyLike],
    config: GaitSearch = GaitSearch(),  # noqa: B008 (frozen, so sharing the default is safe)
    log: Callable[[int, np.ndarray], None] | None = None,
    initial: Sequence[np.ndarray] | None = None,
    groups: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(best params [D, 1 + 2 a], best returns [D], env steps used): a CEM over each design's
    periodic controller, from `initial[d]` (a parameter vector of at most 1 + 2 a numbers, the rest
    zeros; None: all zeros), every design's population rolled out in one batch per generation;
    a = the most actuators of any design (entries past a design's own are ignored). Fitness is the
    return of the rollout actually run (the simulator is deterministic, so rolling best_params out
    again gives best_returns). `log(generation, returns [D, population])`.

    `groups[d]`: labels [h, w] of design d's cells (a coarse robot's clusters); the actuators that
    share a label share one amplitude and phase, so the CEM searches 1 + 2 g numbers for the g
    labels among the design's actuators, each starting from its first actuator's pair in
    `initial[d]`. None: every actuator its own pair. The params returned give every actuator its
    own pair either way."""
    bodies = [check_body(body) for body in bodies]
    cells = [actuator_cells(body) for body in bodies]
    size = controller_size(max(len(c) for c in cells))
    start = np.zeros((len(bodies), size))
    if initial is not None:
        if len(initial) != len(bodies):
            raise ValueError(f"initial must hold one vector per body ({len(bodies)}), got {len(initial)}")
        for row, params in zip(start, initial, strict=True):
            params = np.asarray(params, dtype=np.float64)
            if params.ndim != 1 or len(params) > size or not np.isfinite(params).all():
                raise ValueError(f"each initial vector must hold at most {size} finite numbers, got {params}")
            row[: len(params)] = params
    # pair_of[d, k]: the searched (amplitude, phase) pair that drives design d's actuator k.
    pair_of = np.tile(np.arange(size // 2), (len(bodies), 1))
    searched = start
    if groups is not None:
        if len(groups) != len(bodies):
            raise ValueError(f"groups must hold one label array per body ({len(bodies)}), got {len(groups)}")
        searched = start.copy()
        for d, (labels, body, actuators) in enumerate(zip(groups, bodies, cells, strict=True)):
            labels = np.asarray(labels)
            if labels.shape != body.shape:
                raise ValueError(
                    f"each groups array must have its body's shape {body.shape}, got {labels.shape}"
                )
            _, first, pair_of[d, : len(actuators)] = np.unique(
                labels[actuators[:, 0], actuators[:, 1]], return_index=True, return_inverse=True
            )
            for pair, actuator in enumerate(first):
                searched[d, 1 + 2 * pair : 3 + 2 * pair] = start[d, 1 + 2 * actuator : 3 + 2 * actuator]

    def expand(samples: np.ndarray) -> np.ndarray:
        """Searched params [D, K, size] -> every actuator's own params [D, K, size]."""
        full = samples.copy()
        for offset in (1, 2):  # amplitudes, phases
            full[..., offset::2] = np.take_along_axis(samples[..., offset::2], pair_of[:, None, :], axis=2)
        return full

    env_steps = 0

    def evaluate(samples: np.ndarray) -> np.ndarray:
        nonlocal env_steps
        designs, population, _ = samples.shape
        repeated = [body for body in bodies for _ in range(population)]
        returns, steps = rollout_returns(
            task_name, repeated, expand(samples).reshape(designs * population, size), config.horizon
        )
        env_steps += steps
        return returns.reshape(designs, population)

    best, best_returns = cross_entropy_search(evaluate, searched, config, log)
    return expand(best[:, None])[:, 0], best_returns, env_steps


def inherit_gait(parent: BodyLike, parent_params: np.ndarray, child: BodyLike) -> np.ndarray:
    """A starting gait for `child` from `parent`'s (float64 [controller_size(child's actuators)]):
    the parent's period, and for each of the child's actuators the amplitude and phase of the
    parent's actuator in the same cell, or zeros' (amplitude 0.3, phase 0) where the parent had none."""
    parent_params = np.asarray(parent_params, dtype=np.float64)
    parent_cells = {(int(r), int(c)): k for k, (r, c) in enumerate(actuator_cells(check_body(parent)))}
    if len(parent_params) < controller_size(len(parent_cells)):
        raise ValueError(
            f"parent_params must hold at least {controller_size(len(parent_cells))} numbers for the parent's "
            f"{len(parent_cells)} actuators, got {len(parent_params)}"
        )
    child_cells = actuator_cells(check_body(child))
    params = np.zeros(controller_size(len(child_cells)))
    params[0] = parent_params[0]
    for k, (r, c) in enumerate(child_cells):
        if (int(r), int(c)) in parent_cells:
            j = parent_cells[(int(r), int(c))]
            params[1 + 2 * k : 3 + 2 * k] = parent_params[1 + 2 * j : 3 + 2 * j]
    return params

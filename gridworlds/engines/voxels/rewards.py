"""The voxel tasks' rewards and episode ends (EvoGym's, Bhatia et al. 2021): functions of what was
measured before and after one control step (`Measures`) and of per-episode counters (`state`), each
returning (reward [N], terminated [N]).

Every reward is a module-level function or a frozen dataclass with a `__call__` (never a lambda or a
closure), so that tasks, and the environments holding them, survive `pickle` and `copy.deepcopy`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gridworlds.engines.voxels.physics import UNSTABLE_PENALTY


class Measures(NamedTuple):
    """What rewards read, each [N, ...], before and after one step."""

    robot: np.ndarray  # [N, 2] the robot's centre
    box: np.ndarray | None  # [N, 2] the box's centre, for tasks with a box
    orientation: np.ndarray  # [N]


Reward = Callable[[Measures, Measures, dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]

# EvoGym ends a flipped or fallen robot's episode with the same -3 as an unstable one.
FAILURE_PENALTY = UNSTABLE_PENALTY


def finish_line(after: Measures, finish: float | None, bonus: float, axis: int = 0):
    """(bonus [N], done [N]): `bonus` and the end once the robot's centre passes `finish` along
    `axis` (None: no finish line)."""
    done = np.zeros(len(after.robot), np.bool_) if finish is None else after.robot[:, axis] > finish
    return bonus * done, done


@dataclass(frozen=True)
class Forward:
    """The robot's move along `axis` (0: x, to the right; 1: y, up); `bonus` and the end once its
    centre passes `finish` along that axis."""

    finish: float | None
    bonus: float
    axis: int = 0

    def __call__(self, before: Measures, after: Measures, state: dict[str, np.ndarray]):
        extra, done = finish_line(after, self.finish, self.bonus, self.axis)
        return after.robot[:, self.axis] - before.robot[:, self.axis] + extra, done


@dataclass(frozen=True)
class WithFlipPenalty:
    """`reward`, with -3 and the end when the robot's orientation is within (low, high): it lies on
    its back."""

    reward: Reward
    low: float
    high: float

    def __call__(self, before: Measures, after: Measures, state: dict[str, np.ndarray]):
        r, done = self.reward(before, after, state)
        over = (after.orientation > self.low) & (after.orientation < self.high)
        return r + FAILURE_PENALTY * over, done | over


@dataclass(frozen=True)
class WithFallEnd:
    """`reward`, with -3 and the end when the robot's centre drops below y = `below`: it fell off the
    platforms."""

    reward: Reward
    below: float

    def __call__(self, before: Measures, after: Measures, state: dict[str, np.ndarray]):
        r, done = self.reward(before, after, state)
        down = after.robot[:, 1] < self.below
        return r + FAILURE_PENALTY * down, done | down


def closer(target: float | np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How much nearer `target` a coordinate came in one step: |target - before| - |target - after|."""
    return np.abs(target - before) - np.abs(target - after)


def dropped(before: Measures, after: Measures, threshold: float | np.ndarray) -> np.ndarray:
    """EvoGym's penalty for dropping the box: 10 times its rise (negative as it falls), counted
    only while its centre is below `threshold`."""
    rise = after.box[:, 1] - before.box[:, 1]
    return np.where(after.box[:, 1] < threshold, 10.0 * rise, 0.0)


@dataclass(frozen=True)
class Push:
    """EvoGym's PackageBase reward (Pusher-v0, v1): 0.75 of the box's forward move, 0.5 of the
    robot's, plus how much the gap in x between them shrank; the drop penalty below y = 0 (which
    the ground makes all but impossible); +1 and the end once the robot passes `finish`."""

    finish: float

    def __call__(self, before: Measures, after: Measures, state: dict[str, np.ndarray]):
        r = 0.75 * (after.box[:, 0] - before.box[:, 0]) + 0.5 * (after.robot[:, 0] - before.robot[:, 0])
        r = r + closer(0.0, before.robot[:, 0] - before.box[:, 0], after.robot[:, 0] - after.box[:, 0])
        r = r + dropped(before, after, 0.0)
        extra, done = finish_line(after, self.finish, 1.0)
        return r + extra, done


@dataclass(frozen=True)
class Towards:
    """How much nearer the point (x, y) the robot's centre came, in x plus in y (the Balancers)."""

    x: float
    y: float

    def __call__(self, before: Measures, after: Measures, state: dict[str, np.ndarray]):
        r = closer(self.x, before.robot[:, 0], after.robot[:, 0])
        r = r + closer(self.y, before.robot[:, 1], after.robot[:, 1])
        return r, np.zeros(len(r), np.bool_)


def carry(before: Measures, after: Measures, state: dict[str, np.ndarray]):
    """Carrier-v0: half the box's and half the robot's forward move; the drop penalty below
    y = 0.3 (the box has slid off the robot's back); +1 and the end past x = 9.9."""
    r = 0.5 * (after.box[:, 0] - before.box[:, 0]) + 0.5 * (after.robot[:, 0] - before.robot[:, 0])
    extra, done = finish_line(after, 9.9, 1.0)
    return r + dropped(before, after, 0.3) + extra, done


def carry_to_table(before: Measures, after: Measures, state: dict[str, np.ndarray]):
    """Carrier-v1 as EvoGym's code runs it: it computes the box's approach to x = 4.85 (the table)
    and then overwrites it, so only the robot's approach to x = 4.0 counts; the drop penalty below
    y = 0.6 (the shelf's height), 0.4 once the box is past x = 2.0 (down the step). No end."""
    r = closer(4.0, before.robot[:, 0], after.robot[:, 0])
    threshold = np.where(after.box[:, 0] > 2.0, 0.4, 0.6)
    return r + dropped(before, after, threshold), np.zeros(len(r), np.bool_)


def throw(before: Measures, after: Measures, state: dict[str, np.ndarray]):
    """Thrower-v0: the box's forward move, less a quarter of the robot's (so it throws rather than
    carries); EvoGym flips the robot term's sign while the robot's centre is left of x = 0."""
    penalty = 0.25 * (before.robot[:, 0] - after.robot[:, 0])
    penalty = np.where(after.robot[:, 0] < 0, -penalty, penalty)
    r = after.box[:, 0] - before.box[:, 0] + penalty
    return r, np.zeros(len(r), np.bool_)


def jump(before: Measures, after: Measures, state: dict[str, np.ndarray]):
    """Jumper-v0: 10 times the rise of the robot's centre, less 5 times its sideways move."""
    d = after.robot - before.robot
    return 10.0 * d[:, 1] - 5.0 * np.abs(d[:, 0]), np.zeros(len(d), np.bool_)


def flip(before: Measures, after: Measures, state: dict[str, np.ndarray]):
    """Flipper-v0: the counter-clockwise rotation, unwrapped. Orientation lives in [0, 2 pi), so a
    step from near 2 pi to near 0 is a whole turn more (and the reverse a whole turn less), counted
    in state["num_flips"]; the end (no bonus) once the robot's centre is left of x = 0.1."""
    flips = state["num_flips"]
    start = 2 * math.pi * flips + before.orientation
    flips -= ((before.orientation < math.pi / 3) & (after.orientation > 5 * math.pi / 3)).astype(np.float64)
    flips += ((before.orientation > 5 * math.pi / 3) & (after.orientation < math.pi / 3)).astype(np.float64)
    end = 2 * math.pi * flips + after.orientation
    return end - start, after.robot[:, 0] < 0.1

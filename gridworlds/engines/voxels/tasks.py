"""The voxel-robot tasks: EvoGym's worlds, observations, rewards and episode ends (Bhatia et al.
2021), rebuilt from its task files on the simulator in `voxels`.

A task is data: the terrain and objects (pieces in world cells, one cell = one voxel of 0.1 m,
y = 0 the bottom row), where the robot starts (its bottom-left voxel's cell), the episode length,
the observation's blocks in order, and a reward function of the robot's (and box's) centre and the
robot's orientation before and after a step, with per-episode counters (`state`, e.g. Flipper's
whole turns; the rewards are in `voxels.rewards`). Lengths are in EvoGym's units (a voxel is 0.1,
which its tasks call metres).

Observation blocks: "vel" the robot's centre velocity (2); "ort" its orientation (1); "pos" its
points relative to its centre, all x then all y (2 n); "box" the box's centre minus the robot's and
the box's centre velocity (4); "floor:k" / "ceil:k" the gaps down to the terrain / up to it in the
2 k + 1 voxel columns around the robot's centre, clipped to 0.5 (2 k + 1).

Worlds follow EvoGym's JSON files cell for cell, with one liberty: where EvoGym's terrain is a
1-voxel shell over empty space that a robot cannot get into (under stairs, shelves and bumps), it is
built solid from y = 0 (`columns`). Contact only involves surfaces, and the floor observation reads
the highest point under each column, so the two behave the same. Floating platforms stay floating.

`advance` plays one control step of a task on the simulator (its reward, its ends, -3 and the end on
instability): the envs and the design search's batched rollouts both step through it.

Episode ends, as EvoGym's: the task's own (a finish line with its bonus, lying on the back with -3
(`with_flip_penalty`), falling below a height with -3 (`with_fall_end`)); the environment adds -3
and the end on instability, and truncation at `horizon`.

Tasks: Walker-v0, BridgeWalker-v0, Carrier-v0, Carrier-v1, Pusher-v0, Pusher-v1, Thrower-v0,
Jumper-v0, Flipper-v0, Balancer-v0, Balancer-v1, Climber-v0, UpStepper-v0, DownStepper-v0,
ObstacleTraverser-v0, ObstacleTraverser-v1, Hurdler-v0, GapJumper-v0, PlatformJumper-v0,
Traverser-v0. Not here (their worlds were not transcribed, or they need a world rebuilt at random
on each reset): CaveCrawler-v0, Climber-v1/v2, Catcher-v0, BeamToppler-v0, BeamSlider-v0,
Lifter-v0, the shape-change tasks and BidirectionalWalker-v0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gridworlds.engines import voxels  # `advance` steps through the package: tests patch `voxels.step`
from gridworlds.engines.voxels.bodies import FIXED, RIGID, SOFT
from gridworlds.engines.voxels.measures import centre, orientation
from gridworlds.engines.voxels.physics import UNSTABLE_PENALTY
from gridworlds.engines.voxels.rewards import (
    Forward,
    Measures,
    Push,
    Reward,
    Towards,
    WithFallEnd,
    WithFlipPenalty,
    carry,
    carry_to_table,
    flip,
    jump,
    throw,
)
from gridworlds.engines.voxels.world import OBJECT, TERRAIN, Piece, Worlds


@dataclass(frozen=True)
class Task:
    name: str
    horizon: int
    robot_at: tuple[int, int]
    world: Callable[[], list[Piece]]  # the terrain and objects; a box, if any, is the first OBJECT
    observation: tuple[str, ...]
    reward: Reward  # (before, after, state) -> (reward [N], terminated [N]); state persists per episode
    state: tuple[str, ...] = field(default=())  # names of per-world counters the reward keeps


# --- worlds ---


def flat_ground(width: int) -> Piece:
    """One row of fixed voxels at y = 0 (its top at 0.1)."""
    return Piece(np.full((1, width), FIXED), 0, 0, TERRAIN)


def columns(heights: list[int]) -> Piece:
    """Fixed terrain with column x filled from y = 0 up to (not including) heights[x]."""
    top = max(heights)
    grid = np.zeros((top, len(heights)), np.int64)
    for x, h in enumerate(heights):
        grid[top - h :, x] = FIXED
    return Piece(grid, 0, 0, TERRAIN)


def raised(width: int, heights: dict[int, int]) -> list[int]:
    """Column heights of a 1-voxel ground `width` wide with the columns in `heights` (x: height) raised."""
    return [heights.get(x, 1) for x in range(width)]


def runs(*spans: tuple[int, int]) -> list[int]:
    """Column heights from (count, height) spans, left to right: a staircase."""
    return [height for count, height in spans for _ in range(count)]


def platform(first: int, last: int, row: int) -> Piece:
    """A floating 1-voxel-thick fixed platform over columns first..last in row `row` (its top at
    0.1 (row + 1))."""
    return Piece(np.full((1, last - first + 1), FIXED), first, row, TERRAIN)


def box(width: int, height: int, material: int, x: int, y: int) -> Piece:
    return Piece(np.full((height, width), material), x, y, OBJECT)


# --- the tasks ---
#
# A task's world is a module-level function (not an anonymous one), so that tasks pickle.

TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    TASKS[task.name] = task
    return task


# Lying on its back: EvoGym's stair tasks end the episode when the orientation is within these.
ON_ITS_BACK = (math.pi / 2, 3 * math.pi / 2)
ON_ITS_BACK_WIDE = (math.pi / 2 - math.pi / 12, 3 * math.pi / 2 + math.pi / 12)  # UpStepper-v0

TRAVERSE_OBS = ("vel", "ort", "pos", "floor:5")
PACKAGE_OBS = ("vel", "box", "pos")


def flat_track() -> list[Piece]:
    """Walker-v0: flat ground 100 wide."""
    return [flat_ground(100)]


register(
    Task(
        name="Walker-v0",
        horizon=500,
        robot_at=(1, 1),
        world=flat_track,
        observation=("vel", "pos"),
        reward=Forward(finish=9.9, bonus=1.0),
    )
)


def soft_bridge() -> list[Piece]:
    """BridgeWalker-v0's one terrain object: fixed ground (y = 0), fixed pillars (y = 0..4) at the
    columns below, and a 2-voxel-thick deck (y = 3, 4) that is soft between the pillars, so its
    spans (4, 4, 7, 10, 16 and 11 voxels) hang from them and sag."""
    pillars = (0, 5, 10, 18, 29, 46, 58, 59)
    grid = np.zeros((5, 60), np.int64)  # row 0 is y = 4
    grid[0:2, :] = SOFT
    grid[4, :] = FIXED
    grid[:, pillars] = FIXED
    return [Piece(grid, 0, 0, TERRAIN)]


register(
    Task(
        name="BridgeWalker-v0",
        horizon=500,
        robot_at=(2, 5),
        world=soft_bridge,
        observation=("vel", "ort", "pos"),
        reward=Forward(finish=6.0, bonus=1.0),
    )
)

# The package tasks: a 3x2 box, first among the objects.


def soft_box_on_robot() -> list[Piece]:
    """Carrier-v0: a soft box resting on a 5-tall robot, over flat ground."""
    return [box(3, 2, SOFT, 3, 6), flat_ground(100)]


register(
    Task(
        name="Carrier-v0",
        horizon=500,
        robot_at=(1, 1),
        world=soft_box_on_robot,
        observation=PACKAGE_OBS,
        reward=carry,
    )
)


def shelf_and_table() -> list[Piece]:
    """Carrier-v1: a shelf (top 0.4) over x 0..23, a step (top 0.3) at x 24..26, the floor (top 0.2)
    beyond, and a table 2 wide (top 0.5) at x 48, 49; a rigid box drops onto the robot."""
    return [box(3, 2, RIGID, 3, 10), columns(runs((24, 4), (3, 3), (21, 2), (2, 5), (10, 2)))]


register(
    Task(
        name="Carrier-v1",
        horizon=1000,
        robot_at=(1, 4),
        world=shelf_and_table,
        observation=PACKAGE_OBS,
        reward=carry_to_table,
    )
)


def soft_box_ahead() -> list[Piece]:
    """Pusher-v0: a soft box 2 voxels ahead of a 5-wide robot, on flat ground."""
    return [box(3, 2, SOFT, 8, 1), flat_ground(100)]


def rigid_box_behind() -> list[Piece]:
    """Pusher-v1: a rigid box behind the robot, on flat ground."""
    return [box(3, 2, RIGID, 8, 1), flat_ground(100)]


register(
    Task(
        name="Pusher-v0",
        horizon=500,
        robot_at=(1, 1),
        world=soft_box_ahead,
        observation=PACKAGE_OBS,
        reward=Push(finish=9.9),
    )
)

register(
    Task(
        name="Pusher-v1",
        horizon=600,
        robot_at=(13, 1),
        world=rigid_box_behind,
        observation=PACKAGE_OBS,
        reward=Push(finish=6.9),
    )
)


def box_and_hills() -> list[Piece]:
    """Thrower-v0: a soft box 1 voxel above a 5-tall robot (it drops onto it), and ground that
    rises in steps ahead."""
    return [box(3, 2, SOFT, 3, 7), columns(raised(70, {10: 3, 14: 4, 18: 5, 23: 7, 28: 8, 39: 10, 69: 10}))]


register(
    Task(
        name="Thrower-v0",
        horizon=300,
        robot_at=(1, 1),
        world=box_and_hills,
        observation=PACKAGE_OBS,
        reward=throw,
    )
)


def walled_floor() -> list[Piece]:
    """Jumper-v0: flat ground 60 wide between walls 8 high."""
    return [columns(raised(60, {0: 8, 59: 8}))]


def flipper_floor() -> list[Piece]:
    """Flipper-v0: flat ground 70 wide."""
    return [flat_ground(70)]


def low_pole() -> list[Piece]:
    """Balancer-v0: walls 5 high at both ends of ground 30 wide, a 1-wide pole 3 high at x = 17."""
    return [columns(raised(30, {0: 5, 17: 3, 29: 5}))]


def tall_pole() -> list[Piece]:
    """Balancer-v1: as Balancer-v0's, with the pole 4 high."""
    return [columns(raised(30, {0: 5, 17: 4, 29: 5}))]


register(
    Task(
        name="Jumper-v0",
        horizon=500,
        robot_at=(32, 1),
        world=walled_floor,
        observation=("vel", "pos", "floor:2"),
        reward=jump,
    )
)

register(
    Task(
        name="Flipper-v0",
        horizon=600,
        robot_at=(60, 1),
        world=flipper_floor,
        observation=("ort", "pos"),
        reward=flip,
        state=("num_flips",),
    )
)

register(
    Task(
        name="Balancer-v0",
        horizon=600,
        robot_at=(15, 3),  # on top of the 1-wide pole at x = 17
        world=low_pole,
        observation=("ort", "pos"),
        reward=Towards(1.7, 0.5),
    )
)

register(
    Task(
        name="Balancer-v1",
        horizon=600,
        robot_at=(10, 1),  # on the floor beside a taller pole: it must get up there
        world=tall_pole,
        observation=("ort", "pos"),
        reward=Towards(1.75, 0.6),
    )
)


def pipe() -> list[Piece]:
    """Climber-v0: a closed vertical channel 5 voxels wide (x 1..5) and 88 high: floor (y = 0),
    walls at x = 0 and x = 6, ceiling (y = 89)."""
    grid = np.zeros((90, 7), np.int64)  # row 0 is y = 89
    grid[[0, -1], :] = FIXED
    grid[:, [0, -1]] = FIXED
    return [Piece(grid, 0, 0, TERRAIN)]


register(
    Task(
        name="Climber-v0",
        horizon=400,
        robot_at=(1, 1),
        world=pipe,
        observation=("vel", "pos"),
        reward=Forward(finish=8.6, bonus=1.0, axis=1),
    )
)


def stairs_up() -> list[Piece]:
    """UpStepper-v0: a flat run, then treads 9 to 4 wide rising one voxel each."""
    return [columns(runs((20, 1), (9, 2), (7, 3), (6, 4), (5, 5), (4, 6), (4, 7), (6, 8), (9, 9)))]


def stairs_down() -> list[Piece]:
    """DownStepper-v0: a top tread 21 wide (top 1.0), then treads falling one voxel each."""
    return [columns(runs((21, 10), (8, 9), (7, 8), (6, 7), (6, 6), (5, 5), (5, 4), (4, 3), (4, 2), (9, 1)))]


register(
    Task(
        name="UpStepper-v0",
        horizon=600,
        robot_at=(1, 1),
        world=stairs_up,
        observation=TRAVERSE_OBS,
        reward=WithFlipPenalty(Forward(finish=6.9, bonus=2.0), *ON_ITS_BACK_WIDE),
    )
)

register(
    Task(
        name="DownStepper-v0",
        horizon=500,
        robot_at=(1, 11),  # 1 voxel above the top tread: it drops at the start
        world=stairs_down,
        observation=TRAVERSE_OBS,
        reward=WithFlipPenalty(Forward(finish=7.4, bonus=2.0), *ON_ITS_BACK),
    )
)


def bumps() -> list[Piece]:
    """ObstacleTraverser-v0: 1-voxel bumps, a few 2 high, on flat ground 80 wide."""
    low = (22, 28, 33, 34, 39, 42, 43, 45, 47, 50, 51, 54, 55, 56, 57, 59, 60, 62, 63, 64, 65, 67, 68, 72)
    heights = {x: 2 for x in low} | {x: 3 for x in (55, 60, 64)}
    return [columns(raised(80, heights))]


register(
    Task(
        name="ObstacleTraverser-v0",
        horizon=1000,
        robot_at=(2, 1),
        world=bumps,
        observation=TRAVERSE_OBS,
        reward=WithFlipPenalty(Forward(finish=7.9, bonus=2.0), *ON_ITS_BACK),
    )
)

# ObstacleTraverser-v1's rough ground: a 1-wide hole at x = 16, a wall 10 high at the end.
ROUGH_HEIGHTS = [
    3, 3, 4, 3, 4, 3, 3, 3, 2, 3, 2, 2, 3, 3, 2, 2, 1, 3, 4, 3, 2, 3, 3, 4, 3, 2, 3, 2, 3, 3,
    2, 3, 4, 4, 2, 3, 4, 3, 4, 4, 4, 2, 3, 4, 5, 4, 3, 4, 3, 3, 3, 2, 2, 3, 4, 3, 2, 3, 10, 10,
]  # fmt: skip


def rough_ground() -> list[Piece]:
    """ObstacleTraverser-v1: the columns of ROUGH_HEIGHTS."""
    return [columns(ROUGH_HEIGHTS)]


def hurdles() -> list[Piece]:
    """Hurdler-v0: hurdles 2 and 3 high on flat ground 70 wide, a wall 6 high at the end."""
    return [columns(raised(70, {12: 2, 28: 2, 45: 2, 20: 3, 36: 3, 37: 3, 52: 3, 58: 3, 69: 6}))]


def gapped_platforms() -> list[Piece]:
    """GapJumper-v0: five platforms (top 0.6) with 5-voxel gaps and nothing below but the ground
    plane."""
    return [platform(a, b, 5) for a, b in ((0, 19), (25, 34), (40, 49), (55, 64), (70, 79))]


register(
    Task(
        name="ObstacleTraverser-v1",
        horizon=1000,
        robot_at=(2, 4),
        world=rough_ground,
        observation=TRAVERSE_OBS,
        reward=Forward(finish=5.9, bonus=2.0),  # EvoGym has no flip check here
    )
)

register(
    Task(
        name="Hurdler-v0",
        horizon=1000,
        robot_at=(2, 4),  # 3 voxels above the ground: it drops at the start
        world=hurdles,
        observation=TRAVERSE_OBS,
        reward=WithFlipPenalty(Forward(finish=None, bonus=0.0), *ON_ITS_BACK),
    )
)

register(
    Task(
        name="GapJumper-v0",
        horizon=1000,
        robot_at=(1, 6),
        world=gapped_platforms,
        observation=TRAVERSE_OBS,
        reward=WithFallEnd(Forward(finish=None, bonus=0.0), below=0.4),
    )
)

# PlatformJumper-v0's platforms (first column, last column, row): tops from 0.4 to 0.9.
FLOATING_PLATFORMS = (
    (0, 19, 5),
    (21, 30, 7),
    (33, 42, 8),
    (46, 55, 6),
    (57, 66, 5),
    (70, 79, 6),
    (81, 90, 3),
)


def floating_platforms() -> list[Piece]:
    """PlatformJumper-v0: the platforms of FLOATING_PLATFORMS."""
    return [platform(a, b, row) for a, b, row in FLOATING_PLATFORMS]


register(
    Task(
        name="PlatformJumper-v0",
        horizon=1000,
        robot_at=(1, 6),
        world=floating_platforms,
        observation=TRAVERSE_OBS,
        reward=WithFlipPenalty(WithFallEnd(Forward(finish=None, bonus=0.0), below=0.4), *ON_ITS_BACK),
    )
)

# Traverser-v0's loose rigid blocks (x, y, size) filling the pit, as EvoGym's BlockSoup lists them.
SOUP_BLOCKS = [
    (20, 1, 3), (24, 1, 3), (27, 1, 2), (31, 1, 3), (34, 1, 3), (38, 1, 2), (41, 1, 3), (45, 1, 3),
    (21, 4, 3), (24, 4, 2), (26, 4, 1), (29, 4, 2), (31, 4, 3), (34, 4, 2), (36, 4, 2), (40, 4, 3),
    (43, 4, 2), (46, 4, 3), *((x, 7, 2) for x in range(20, 45, 3)),
]  # fmt: skip


def block_soup() -> list[Piece]:
    """Traverser-v0: a start shelf (top 0.9) over x 0..19, a pit (floor top 0.1) over x 20..48 full
    of loose rigid blocks, and an end shelf (top 0.7) from x = 49; the blocks count as terrain in
    the floor observation."""
    ground = columns(runs((20, 9), (29, 1), (11, 7)))
    return [ground, *(box(s, s, RIGID, x, y) for x, y, s in SOUP_BLOCKS)]


register(
    Task(
        name="Traverser-v0",
        horizon=600,
        robot_at=(1, 9),
        world=block_soup,
        observation=TRAVERSE_OBS,
        reward=Forward(finish=5.9, bonus=2.0),  # EvoGym has no flip check here
    )
)


# --- playing a task ---


def box_piece(task: Task, worlds: Worlds) -> int:
    """The piece the task's "box" observation and rewards read (its first free object), or -1."""
    kinds = worlds.piece_kind[0]  # every world of a task holds the same pieces after its robot
    return int(np.flatnonzero(kinds == OBJECT)[0]) if "box" in task.observation else -1


def measure(worlds: Worlds, box: int) -> Measures:
    """What rewards read, each world with its own robot's points (robots may differ)."""
    return Measures(
        robot=centre(worlds, 0),
        box=centre(worlds, box) if box >= 0 else None,
        orientation=orientation(worlds, 0),
    )


def advance(
    task: Task, worlds: Worlds, actions: np.ndarray, before: Measures, box: int, state: dict[str, np.ndarray]
) -> tuple[Measures, np.ndarray, np.ndarray, np.ndarray]:
    """One control step of every world: (measures after, reward, terminated, unstable), each [N].
    An unstable step (undone by the simulator) adds -3 to the task's reward and ends the episode."""
    unstable = voxels.step(worlds, actions)
    after = measure(worlds, box)
    reward, terminated = task.reward(before, after, state)
    reward = np.where(unstable, reward + UNSTABLE_PENALTY, reward)
    return after, reward, terminated | unstable, unstable

"""Episode statistics. Per arena (`STAT_*` columns of `Arenas.stats`): the largest distance a box has
been from its start during preparation, the boxes and ramps locked at the end of preparation, the
share of door cells then filled by a locked box (a fort), the largest distance a ramp has been from
its start, and the post-preparation steps with a hider seen. The step kernel (`dynamics`) writes
them; `episode_stats` reads them out with each team's return."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    from gridworlds.engines.hide_and_seek.world import Arenas, Scenario


STAT_BOX_MOVE_PREP, STAT_BOXES_LOCKED_PREP, STAT_RAMP_MOVE, STAT_RAMPS_LOCKED_PREP, STAT_SEEN_STEPS = range(5)
STAT_DOORS_LOCKED_PREP = 5
NUM_STATS = 6


@numba.njit(cache=True, inline="always")
def displacement(w, b, o):
    """How far object o is from where it began the episode."""
    dr = w.object_pos[b, o, 0] - w.object_start[b, o, 0]
    dc = w.object_pos[b, o, 1] - w.object_start[b, o, 1]
    return math.sqrt(float(dr * dr + dc * dc))


@numba.njit(cache=True)
def _doors_filled(w, b, boxes, locked):
    """The share of arena b's door cells that a box (if `locked`, a locked box) fills (0 without doors)."""
    if w.door_count[b] == 0:
        return 0.0
    filled = 0
    for i in range(w.door_count[b]):
        o = w.object_at[b, w.doors[b, i, 0], w.doors[b, i, 1]]
        filled += 0 <= o < boxes and (w.lock[b, o] != 0 or not locked)
    return filled / w.door_count[b]


EPISODE_STATS = (
    "hider_reward",
    "seeker_reward",
    "box_move_prep",
    "boxes_locked_prep",
    "ramp_move",
    "ramps_locked_prep",
    "doors_locked_prep",
    "door_locked_prep",
    "hider_seen_fraction",
)


def episode_stats(arenas: Arenas, scenario: Scenario) -> dict[str, np.ndarray]:
    """Each arena's episode so far, float64 [N] per name of EPISODE_STATS: each team's mean return,
    the largest box move during preparation, the boxes locked at its end, the largest ramp move, the
    ramps locked at the end of preparation, the share of door cells a locked box fills then, whether
    a locked box fills any door cell then (1 or 0: its mean is the share of episodes with a locked
    door), and the share of post-preparation steps with a hider seen."""
    returns, stats = arenas.returns, arenas.stats
    return {
        "hider_reward": returns[:, : scenario.hiders].mean(axis=1),
        "seeker_reward": returns[:, scenario.hiders :].mean(axis=1),
        "box_move_prep": stats[:, STAT_BOX_MOVE_PREP].copy(),
        "boxes_locked_prep": stats[:, STAT_BOXES_LOCKED_PREP].copy(),
        "ramp_move": stats[:, STAT_RAMP_MOVE].copy(),
        "ramps_locked_prep": stats[:, STAT_RAMPS_LOCKED_PREP].copy(),
        "doors_locked_prep": stats[:, STAT_DOORS_LOCKED_PREP].copy(),
        "door_locked_prep": (stats[:, STAT_DOORS_LOCKED_PREP] > 0).astype(np.float64),
        "hider_seen_fraction": stats[:, STAT_SEEN_STEPS] / max(scenario.horizon - scenario.prep_steps, 1),
    }

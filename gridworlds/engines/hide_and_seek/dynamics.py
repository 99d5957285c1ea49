"""One step of N arenas: the agents act in a random order drawn each step (seekers not during
preparation), then the episode statistics, the rewards (+1 to every hider if no seeker sees any
hider, else -1; seekers the opposite; -10 more outside the play area) and truncation."""

from __future__ import annotations

import numba
import numpy as np

from gridworlds.engines.hide_and_seek.moves import _act
from gridworlds.engines.hide_and_seek.sight import _sees
from gridworlds.engines.hide_and_seek.stats import (
    STAT_BOX_MOVE_PREP,
    STAT_BOXES_LOCKED_PREP,
    STAT_DOORS_LOCKED_PREP,
    STAT_RAMP_MOVE,
    STAT_RAMPS_LOCKED_PREP,
    STAT_SEEN_STEPS,
    _doors_filled,
    displacement,
)
from gridworlds.engines.hide_and_seek.world import HIDERS, SEEKERS
from gridworlds.engines.rng import next_below

OUTSIDE_PENALTY = -10.0


@numba.njit(cache=True)
def outside(w, b, a):
    """Whether agent a is outside the play area (on the ring beyond the outer walls)."""
    g = w.walls.shape[1]
    r, c = w.agent_pos[b, a, 0], w.agent_pos[b, a, 1]
    return r == 0 or c == 0 or r == g - 1 or c == g - 1


@numba.njit(cache=True)
def _hider_seen(w, b, hiders, start, cells):
    """Whether some seeker sees some hider."""
    walls, object_at, agent_at, agent_pos = w.walls, w.object_at, w.agent_at, w.agent_pos
    for s in range(hiders, agent_pos.shape[1]):
        r0, c0, facing = agent_pos[b, s, 0], agent_pos[b, s, 1], w.facing[b, s]
        for h in range(hiders):
            if _sees(
                walls,
                object_at,
                agent_at,
                b,
                r0,
                c0,
                facing,
                agent_pos[b, h, 0],
                agent_pos[b, h, 1],
                -1,
                start,
                cells,
            ):
                return True
    return False


@numba.njit(cache=True)
def _step(w, rules, lines, actions, rewards, truncated):
    n_agents = w.agent_pos.shape[1]
    order = np.empty(n_agents, np.int64)
    for b in range(w.walls.shape[0]):
        preparing = w.t[b] < rules.prep_steps
        for i in range(n_agents):
            order[i] = i
        rng = w.rng[b]
        for i in range(n_agents - 1, 0, -1):
            rng, j = next_below(rng, i + 1)
            order[i], order[j] = order[j], order[i]
        w.rng[b] = rng
        for i in range(n_agents):
            a = order[i]
            team = HIDERS if a < rules.hiders else SEEKERS
            if team == SEEKERS and preparing:
                continue
            _act(
                w,
                b,
                a,
                team,
                rules.boxes,
                actions[b, a, 0],
                actions[b, a, 1],
                actions[b, a, 2],
                actions[b, a, 3],
            )
        w.t[b] += 1
        for o in range(w.object_pos.shape[1]):
            if o >= rules.boxes:
                w.stats[b, STAT_RAMP_MOVE] = max(w.stats[b, STAT_RAMP_MOVE], displacement(w, b, o))
            elif preparing:
                w.stats[b, STAT_BOX_MOVE_PREP] = max(w.stats[b, STAT_BOX_MOVE_PREP], displacement(w, b, o))
        if w.t[b] == rules.prep_steps:
            for o in range(w.object_pos.shape[1]):
                if w.lock[b, o] != 0:
                    w.stats[b, STAT_RAMPS_LOCKED_PREP if o >= rules.boxes else STAT_BOXES_LOCKED_PREP] += 1
            w.stats[b, STAT_DOORS_LOCKED_PREP] = _doors_filled(w, b, rules.boxes, True)
        seen = _hider_seen(w, b, rules.hiders, lines.start, lines.cells)
        for a in range(n_agents):
            reward = 0.0
            if not preparing:
                reward = -1.0 if seen else 1.0
                if a >= rules.hiders:
                    reward = -reward
                if outside(w, b, a):
                    reward += OUTSIDE_PENALTY
            rewards[b, a] = reward
            w.returns[b, a] += reward
        if not preparing and seen:
            w.stats[b, STAT_SEEN_STEPS] += 1
        truncated[b] = w.t[b] >= rules.horizon

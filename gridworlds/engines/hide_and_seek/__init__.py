"""Hide-and-seek on a grid (Baker et al. 2020, "Emergent Tool Use From Multi-Agent Autocurricula"),
batched over many arenas.

The grid. An arena of side `size` (its outer walls included) sits in a grid of side g = size + 2: a
ring of free cells outside the outer walls is the only place outside the play area, reachable by
climbing the outer wall from a ramp, with no way back (there are no ramps outside). Cells are (row,
column), row 0 at the top. A cell holds at most one of a wall, an object (a box or a ramp) or an
agent, except that an agent may stand on a ramp.

Agents: hiders 0..H-1, then seekers H..A-1. Each has a cell and a facing, one of 8 directions
(0 up, 1 up-right, 2 right, ... 7 up-left, clockwise). Objects: boxes 0..B-1 (a box spans `length`
cells from its anchor, rightwards or, if `vertical`, downwards), then ramps B..O-1 (one cell each).
`lock` is 0 for an unlocked object, else 1 + the team that locked it (1 hiders, 2 seekers).

Actions, per agent, four integers (`ACTION_NVEC` = (5, 3, 2, 3)):
- move: 0 stay, 1 up, 2 right, 3 down, 4 left;
- turn: 0 none, 1 left (anticlockwise 45 degrees), 2 right (clockwise 45 degrees);
- grab: 0 or 1, hold the object in the facing cell while moving;
- lock: 0 none, 1 lock, 2 unlock the object in the facing cell.
Within a step the agents act one after another in a random order drawn each step; each agent turns
first, then locks or unlocks (an unlocked object takes its team's lock; only the team that locked
an object unlocks it), then moves:
- holding (grab = 1 and an object in the facing cell): the agent and the object move together by
  the move (push, pull or drag sideways) if the object is unlocked, no agent stands on it, and
  every cell they enter is free of walls, agents and other objects (a ramp cell is free for the
  agent); otherwise neither moves;
- standing on a ramp, moving towards a wall or box cell with a free cell behind it (no wall, box or
  agent): the agent climbs over into that cell (the grid form of climbing a ramp);
- moving into a box: the box is pushed one cell if it is unlocked and its new cells are free, and
  the agent follows; otherwise nothing moves;
- moving into an empty cell or onto a ramp without an agent: the agent moves. Ramps move only
  when held. Anything else (a wall, an agent, the grid's edge) leaves the agent where it is.
During the preparation phase (the first `prep_steps` steps) the seekers' actions are no-ops.

Vision: agent a sees a cell if the angle between its facing and the line from its cell's centre to
that cell's centre is at most 67.5 degrees (a 135 degree cone, no range limit) and no cell strictly
between the two is a wall, an object or an agent. Between means every cell the straight segment
touches; where it passes exactly through a grid corner, both cells beside the corner count, so a
diagonal gap between two blocking cells is closed. An entity is visible if any of its cells is
(its own other cells do not block); every agent sees itself.

Rewards, each step after preparation: +1 to every hider if no seeker sees any hider, else -1;
seekers get the opposite. An agent outside the play area also gets -10. During preparation every
reward is 0. After `horizon` steps the episode is truncated.

Statistics per arena (`STAT_*` columns of `stats`): the largest distance a box has been from its
start during preparation, the boxes and ramps locked at the end of preparation, the share of door
cells then filled by a locked box (a fort), the largest distance a ramp has been from its start,
and the post-preparation steps with a hider seen.

Randomness comes from one SplitMix64 state per arena (`rng`), so a batch of N arenas runs exactly
like N single arenas seeded the same way.

The package only gathers its modules' names; they are, each building on those before it: `stats`
(episode statistics), `world` (action codes, Scenario, Rules, Arenas), `moves` (moving agents and
objects), `sight` (vision), `layout` (rooms, doors, placement, reset), `dynamics` (the step
kernel: turns, rewards, statistics), `observations` (Observations, the global state) and `api`
(the entry points).
"""

from gridworlds.engines.hide_and_seek.api import (
    WRONG_OBSERVATIONS,
    BadAction,
    global_state,
    new_arenas,
    observe,
    reset,
    seen_cells,
    stage_forts,
    step,
    vision,
)
from gridworlds.engines.hide_and_seek.dynamics import (
    OUTSIDE_PENALTY,
    outside,
)
from gridworlds.engines.hide_and_seek.layout import (
    LAYOUT_TRIES,
    PLACEMENT_TRIES,
    in_room,
    is_door,
)
from gridworlds.engines.hide_and_seek.moves import (
    in_grid,
    walkable,
)
from gridworlds.engines.hide_and_seek.observations import (
    AGENT_FEATURES,
    BOX_FEATURES,
    LOCAL_CHANNELS,
    OBJECT_STATE_FEATURES,
    RAMP_FEATURES,
    SELF_FEATURES,
    Observations,
    state_size,
)
from gridworlds.engines.hide_and_seek.sight import (
    CONE_COS,
    SightLines,
    entity_vision,
    in_cone,
    line_clear,
    sees_cell,
    sight_lines,
)
from gridworlds.engines.hide_and_seek.stats import (
    EPISODE_STATS,
    NUM_STATS,
    STAT_BOX_MOVE_PREP,
    STAT_BOXES_LOCKED_PREP,
    STAT_DOORS_LOCKED_PREP,
    STAT_RAMP_MOVE,
    STAT_RAMPS_LOCKED_PREP,
    STAT_SEEN_STEPS,
    displacement,
    episode_stats,
)
from gridworlds.engines.hide_and_seek.world import (
    ACTION_NVEC,
    DOWN,
    FACING_COL,
    FACING_ROW,
    HIDERS,
    LEFT,
    LOCK,
    MAX_DOOR_CELLS,
    MOVE_COL,
    MOVE_ROW,
    NO_LOCK,
    NO_TURN,
    NVEC,
    RIGHT,
    SEEKERS,
    STAY,
    TURN_LEFT,
    TURN_RIGHT,
    UNLOCK,
    UP,
    Arenas,
    Rules,
    Scenario,
)

__all__ = [
    "ACTION_NVEC",
    "NVEC",
    "STAY",
    "UP",
    "RIGHT",
    "DOWN",
    "LEFT",
    "NO_TURN",
    "TURN_LEFT",
    "TURN_RIGHT",
    "NO_LOCK",
    "LOCK",
    "UNLOCK",
    "MOVE_ROW",
    "MOVE_COL",
    "FACING_ROW",
    "FACING_COL",
    "HIDERS",
    "SEEKERS",
    "OUTSIDE_PENALTY",
    "CONE_COS",
    "MAX_DOOR_CELLS",
    "PLACEMENT_TRIES",
    "WRONG_OBSERVATIONS",
    "LAYOUT_TRIES",
    "STAT_BOX_MOVE_PREP",
    "STAT_BOXES_LOCKED_PREP",
    "STAT_RAMP_MOVE",
    "STAT_RAMPS_LOCKED_PREP",
    "STAT_SEEN_STEPS",
    "STAT_DOORS_LOCKED_PREP",
    "NUM_STATS",
    "SELF_FEATURES",
    "AGENT_FEATURES",
    "BOX_FEATURES",
    "RAMP_FEATURES",
    "OBJECT_STATE_FEATURES",
    "LOCAL_CHANNELS",
    "Rules",
    "Scenario",
    "Arenas",
    "Observations",
    "state_size",
    "new_arenas",
    "reset",
    "stage_forts",
    "step",
    "BadAction",
    "observe",
    "vision",
    "EPISODE_STATS",
    "episode_stats",
    "seen_cells",
    "global_state",
    "in_grid",
    "walkable",
    "SightLines",
    "sight_lines",
    "line_clear",
    "in_cone",
    "sees_cell",
    "entity_vision",
    "is_door",
    "in_room",
    "displacement",
    "outside",
]

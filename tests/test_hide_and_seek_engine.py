"""The hide-and-seek engine against its module docstring: hand-drawn arenas for every movement, lock,
ramp, vision, reward and statistics rule; an independent plain-Python model of the rules (exact
integer geometry for sight, every agent order for a step) on random maps and random play;
determinism and batching; the layouts `new_arenas` makes; Scenario.check."""

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridworlds.engines import hide_and_seek as hs
from gridworlds.engines.rng import seed_state
from gridworlds.registry import world

QUADRANT_SCENARIO = world("gridworlds/HideAndSeekQuadrant-v0").kwargs

STAY, UP, RIGHT, DOWN, LEFT = range(5)
NO_TURN, TURN_LEFT, TURN_RIGHT = range(3)
NO_LOCK, LOCK, UNLOCK = range(3)
N, NE, E, SE, S, SW, W, NW = range(8)  # facings, clockwise from up
FACING_STEP = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]
MOVE_STEP = [(0, 0), (-1, 0), (0, 1), (1, 0), (0, -1)]
SAME = None  # an expected picture: nothing changed


def held(move):
    """The action: grab the object in the facing cell and move."""
    return (move, NO_TURN, 1, NO_LOCK)


# --- a one-arena world from a picture -------------------------------------------------------------
# `#` wall, `.` empty, `B` unit box, a run of `=` (`|`) one horizontal (vertical) box, `R` ramp, `h` / `s`
# a hider / seeker, `H` / `S` one standing on a ramp. Rows are separated by `/` or white space; a picture
# is padded with `.` to a square grid. Agents are numbered in reading order, hiders first; objects too,
# elongated boxes, then unit boxes, then ramps. The Scenario is not checked: the kernels need only its counts.


def grid_of(text):
    rows = text.replace("/", " ").split()
    g = max(len(rows), *map(len, rows))
    return [row.ljust(g, ".") for row in rows] + ["." * g] * (g - len(rows))


def build(text, facing=(), horizon=20, prep=0, seed=0):
    rows = grid_of(text)
    g = len(rows)
    elongated, units, ramps, hiders, seekers = [], [], [], [], []
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            if ch == "=" and (c == 0 or row[c - 1] != "="):
                elongated.append((r, c, len(row[c:]) - len(row[c:].lstrip("=")), False))
            elif ch == "|" and (r == 0 or rows[r - 1][c] != "|"):
                elongated.append((r, c, next((k for k in range(r, g) if rows[k][c] != "|"), g) - r, True))
            elif ch == "B":
                units.append((r, c, 1, False))
            elif ch in "RHS":
                ramps.append((r, c, 1, False))
            if ch in "hH":
                hiders.append((r, c))
            elif ch in "sS":
                seekers.append((r, c))
    objects = elongated + units + ramps
    scenario = hs.Scenario(
        size=g - 2,
        hiders=len(hiders),
        seekers=len(seekers),
        boxes=len(elongated) + len(units),
        elongated=len(elongated),
        box_length=max([n for _, _, n, _ in elongated], default=2),
        ramps=len(ramps),
        horizon=horizon,
        prep_fraction=prep / horizon,
    )
    assert scenario.prep_steps == prep
    w = hs.Arenas.allocate(scenario, 1)
    w.walls[0] = [[ch == "#" for ch in row] for row in rows]
    for o, (r, c, n, vertical) in enumerate(objects):
        w.object_pos[0, o] = w.object_start[0, o] = (r, c)
        w.object_length[0, o] = n
        w.object_vertical[0, o] = vertical
    w.agent_pos[0] = np.reshape(hiders + seekers, (-1, 2))
    w.facing[0, : len(facing)] = facing
    w.object_at[0], w.agent_at[0] = occupancy(w, scenario)
    w.rng[0] = seed_state(seed)
    return w, scenario


def cells_of(w, b, o):
    r, c = w.object_pos[b, o]
    vertical = w.object_vertical[b, o]
    return [(r + k, c) if vertical else (r, c + k) for k in range(w.object_length[b, o])]


def occupancy(w, scenario, b=0):
    """object_at and agent_at recomputed from the positions, checking that nothing overlaps."""
    g = w.walls.shape[1]
    objects, agents = np.full((g, g), -1, np.int16), np.full((g, g), -1, np.int8)
    for o in range(scenario.objects):
        for cell in cells_of(w, b, o):
            assert objects[cell] == -1 and not w.walls[b][cell], f"object {o} overlaps at {cell}"
            objects[cell] = o
    for a, cell in enumerate(map(tuple, w.agent_pos[b])):
        assert agents[cell] == -1 and not w.walls[b][cell], f"agent {a} overlaps at {cell}"
        assert not 0 <= objects[cell] < scenario.boxes, f"agent {a} stands on a box at {cell}"
        agents[cell] = a
    return objects, agents


def picture(w, scenario, b=0):
    """Arena b drawn as `build` reads it, after checking its cell grids against the positions."""
    objects, agents = occupancy(w, scenario, b)
    assert (w.object_at[b] == objects).all() and (w.agent_at[b] == agents).all()
    rows = []
    for r in range(w.walls.shape[1]):
        row = ""
        for c, o in enumerate(objects[r]):
            ramp = o >= scenario.boxes
            if agents[r, c] >= 0:
                ch = "hs"[int(agents[r, c] >= scenario.hiders)]
                row += ch.upper() if ramp else ch
            elif ramp:
                row += "R"
            elif o >= 0:
                row += "|" if w.object_vertical[b, o] else "=" if w.object_length[b, o] > 1 else "B"
            else:
                row += "#" if w.walls[b, r, c] else "."
        rows.append(row)
    return rows


def act(w, scenario, *per_agent):
    """One step of a one-arena world: per_agent[i] is agent i's move or (move, turn, grab, lock); the
    agents not given stay. Returns (rewards, truncated)."""
    actions = np.zeros((1, scenario.agents, 4), np.int64)
    for a, action in enumerate(per_agent):
        actions[0, a] = (action, NO_TURN, 0, NO_LOCK) if isinstance(action, int) else action
    rewards = np.zeros((1, scenario.agents))
    truncated = hs.step(w, scenario, actions, rewards)
    return rewards[0].tolist(), bool(truncated[0])


# --- movement, pushing, pulling -----------------------------------------------------------------------

MOVES = [
    # (before, facing of agent 0, its action, after)
    ("h..", N, RIGHT, ".h."),
    (".h./.../...", N, LEFT, "h../.../..."),
    ("..././.h.", N, UP, ".../.h./..."),
    (".h./.../...", N, DOWN, ".../.h./..."),
    ("h#.", N, RIGHT, SAME),
    ("hs.", N, RIGHT, SAME),
    ("hh.", N, RIGHT, SAME),
    ("..h", N, RIGHT, SAME),  # the grid's edge
    ("h..", N, UP, SAME),
    ("h..", N, LEFT, SAME),
    ("h..", E, STAY, SAME),
    ("h..", N, held(RIGHT), ".h."),  # nothing to hold: an ordinary move
    # walking into a box pushes it
    ("hB..", N, RIGHT, ".hB."),
    ("hB#.", N, RIGHT, SAME),
    ("hBB.", N, RIGHT, SAME),
    ("hBs.", N, RIGHT, SAME),
    ("hBR.", N, RIGHT, SAME),
    ("hBH.", N, RIGHT, SAME),
    (".hB", N, RIGHT, SAME),
    ("h==..", N, RIGHT, ".h==."),
    ("h==#.", N, RIGHT, SAME),
    ("h==s.", N, RIGHT, SAME),
    (".h../.==./..../....", N, DOWN, "..../.h../.==./...."),
    (".h../.==./..#./....", N, DOWN, SAME),
    (".h../.==./.s../....", N, DOWN, SAME),
    ("h|./.|./...", N, RIGHT, ".h|/..|/..."),
    ("h|./.|#/...", N, RIGHT, SAME),
    ("h.../|.../|.../....", N, DOWN, "..../h.../|.../|..."),
    ("h../|../|..", N, DOWN, SAME),
    # holding: push, pull, drag sideways, diagonally; a held object that cannot move stops the agent
    ("hB..", E, held(RIGHT), ".hB."),
    ("hB#.", E, held(RIGHT), SAME),
    ("hBR.", E, held(RIGHT), SAME),
    (".Bh.", W, held(RIGHT), "..Bh"),
    (".Bh#", W, held(RIGHT), SAME),
    (".Bhs", W, held(RIGHT), SAME),
    (".Bh=", W, held(RIGHT), SAME),
    (".BhR", W, held(RIGHT), "..BH"),  # a ramp cell is free for the agent
    ("==h.", W, held(RIGHT), ".==h"),
    ("|h./|../...", W, held(RIGHT), ".|h/.|./..."),
    ("hB../..../....", E, held(DOWN), "..../hB../...."),
    ("hB../.#../....", E, held(DOWN), SAME),
    ("hB../#.../....", E, held(DOWN), SAME),
    ("hB../.s../....", E, held(DOWN), SAME),
    ("h==./..../....", E, held(DOWN), "..../h==./...."),
    ("h==./..#./....", E, held(DOWN), SAME),
    ("h.../.B../....", SE, held(DOWN), "..../h.../.B.."),
    ("h.../.B../....", SE, held(RIGHT), ".h../..B./...."),
    ("h.../.B../.#..", SE, held(DOWN), SAME),
    ("..h/.B./...", SW, held(LEFT), ".h./B../..."),
    ("hB../..../....", E, DOWN, ".B../h.../...."),  # not holding: the box stays
    # ramps move only when held, and not with an agent on them
    ("hR..", E, RIGHT, ".H.."),
    ("hR..", E, held(RIGHT), ".hR."),
    (".Rh.", W, held(RIGHT), "..Rh"),
    ("hH..", E, held(RIGHT), SAME),
    (".hH.", E, held(LEFT), SAME),
    ("hR..", N, held(RIGHT), ".H.."),  # facing away from the ramp: nothing held
    ("hS..", E, RIGHT, SAME),
]


@pytest.mark.parametrize(("before", "facing", "action", "after"), MOVES)
def test_moves_pushes_and_pulls(before, facing, action, after):
    w, scenario = build(before, facing=[facing])
    start = picture(w, scenario)
    act(w, scenario, action)
    assert picture(w, scenario) == (start if after is SAME else grid_of(after))
    assert w.object_pos.tolist() == build(after or before)[0].object_pos.tolist()
    assert w.lock.sum() == 0 and w.facing[0, 0] == facing


def test_turns_wrap_round_the_eight_facings():
    w, scenario = build("h..")
    seen = []
    for _ in range(9):
        act(w, scenario, (STAY, TURN_RIGHT, 0, 0))
        seen.append(int(w.facing[0, 0]))
    assert seen == [1, 2, 3, 4, 5, 6, 7, 0, 1]
    for _ in range(3):
        act(w, scenario, (STAY, TURN_LEFT, 0, 0))
        seen.append(int(w.facing[0, 0]))
    assert seen[-3:] == [0, 7, 6]


def test_seekers_are_frozen_during_preparation_and_hiders_act():
    w, scenario = build(".h../.B../.s../....", facing=[S, N], prep=2)
    everything = (RIGHT, TURN_RIGHT, 0, LOCK)  # the seeker faces the box and would lock it
    for _ in range(2):
        act(w, scenario, STAY, everything)
        assert picture(w, scenario) == grid_of(".h../.B../.s../....")
        assert w.facing[0].tolist() == [S, N] and w.lock[0].tolist() == [0]
    act(w, scenario, (STAY, NO_TURN, 0, LOCK), (RIGHT, TURN_RIGHT, 0, NO_LOCK))  # t = 2: both act
    assert picture(w, scenario) == grid_of(".h../.B../..s./....")
    assert w.facing[0].tolist() == [S, NE] and w.lock[0].tolist() == [1]


# --- locks ----------------------------------------------------------------------------------------------


def test_lock_takes_the_team_and_only_that_team_unlocks():
    w, scenario = build("h../B../s..", facing=[S, N])
    steps = [
        ((STAY, 0, 0, LOCK), STAY, 1),
        (STAY, (STAY, 0, 0, UNLOCK), 1),
        (STAY, (STAY, 0, 0, LOCK), 1),
        ((STAY, 0, 0, UNLOCK), STAY, 0),
        (STAY, (STAY, 0, 0, LOCK), 2),
        ((STAY, 0, 0, UNLOCK), STAY, 2),
        ((STAY, 0, 0, LOCK), STAY, 2),
        (STAY, (STAY, 0, 0, UNLOCK), 0),
    ]
    for hider, seeker, lock in steps:
        act(w, scenario, hider, seeker)
        assert w.lock[0, 0] == lock


@pytest.mark.parametrize("facing", range(8))
def test_lock_targets_the_facing_cell_after_the_turn(facing):
    dr, dc = FACING_STEP[facing]
    rows = [list("..."), list(".h."), list("...")]
    rows[1 + dr][1 + dc] = "B"
    other = FACING_STEP[(facing + 3) % 8]
    rows[1 + other[0]][1 + other[1]] = "B"  # a second box, beside the agent but not faced
    w, scenario = build("/".join(map("".join, rows)), facing=[(facing + 7) % 8])
    act(w, scenario, (STAY, TURN_RIGHT, 0, LOCK))
    faced = w.object_at[0, 1 + dr, 1 + dc]
    assert w.lock[0].tolist() == [1 if o == faced else 0 for o in range(2)]


def test_a_locked_box_or_ramp_cannot_be_pushed_or_pulled():
    w, scenario = build(".hB./..../....", facing=[E])
    act(w, scenario, (RIGHT, NO_TURN, 0, LOCK))  # locks first, then fails to push
    assert w.lock[0].tolist() == [1]
    for action in [RIGHT, held(RIGHT), held(LEFT), held(DOWN)]:
        act(w, scenario, action)
        assert picture(w, scenario) == grid_of(".hB./..../....")
    act(w, scenario, (LEFT, NO_TURN, 1, UNLOCK))  # unlocks, then pulls
    assert picture(w, scenario) == grid_of("hB../..../....") and w.lock[0].tolist() == [0]

    w, scenario = build(".hR./..../....", facing=[E])
    act(w, scenario, (LEFT, NO_TURN, 1, LOCK))
    assert picture(w, scenario) == grid_of(".hR./..../....") and w.lock[0].tolist() == [1]
    act(w, scenario, RIGHT)  # a locked ramp can still be climbed on
    assert picture(w, scenario) == grid_of("..H./..../....")

    w, scenario = build(".==./..h./....", facing=[N])  # locked through the box's second cell
    act(w, scenario, (STAY, NO_TURN, 0, LOCK))
    assert w.lock[0].tolist() == [1]
    for action in [held(LEFT), held(DOWN), held(RIGHT)]:
        act(w, scenario, action)
        assert picture(w, scenario) == grid_of(".==./..h./....")


def test_lock_with_nothing_in_the_facing_cell_does_nothing():
    w, scenario = build("hB./.../...", facing=[S])
    act(w, scenario, (STAY, NO_TURN, 0, LOCK))
    assert w.lock[0].tolist() == [0]


# --- ramps ----------------------------------------------------------------------------------------------

CLIMBS = [
    ("H#..", RIGHT, "R#h."),
    ("HB..", RIGHT, "RBh."),  # over a box rather than pushing it
    ("H|../.|..", RIGHT, "R|h./.|.."),
    ("H/#/./.", DOWN, "R/#/h/."),
    (".#H.", LEFT, "h#R."),
    ("H#R.", RIGHT, "R#H."),  # onto another ramp
    ("H##.", RIGHT, SAME),  # two cells thick
    ("HBB.", RIGHT, SAME),
    ("H#s.", RIGHT, SAME),
    ("H#B.", RIGHT, SAME),
    ("H#S.", RIGHT, SAME),
    ("..H#", RIGHT, SAME),  # the grid's edge behind the wall
    ("HB#.", RIGHT, SAME),  # nothing to climb into, and the box cannot be pushed
    ("H==.", RIGHT, "Rh=="),  # a box two cells long is not climbed over but pushed
    ("h#..", RIGHT, SAME),  # not on a ramp
    ("HR..", RIGHT, "RH.."),
    ("HS..", RIGHT, SAME),
]


@pytest.mark.parametrize(("before", "move", "after"), CLIMBS)
def test_climbing_from_a_ramp(before, move, after):
    w, scenario = build(before, facing=[N])
    start = picture(w, scenario)
    act(w, scenario, move)
    assert picture(w, scenario) == (start if after is SAME else grid_of(after))


OUTER = """
.......
.#####.
.#H.S#.
.#...#.
.#...#.
.#####.
.......
"""


def test_crossing_the_outer_wall_costs_ten_a_step_after_preparation():
    w, scenario = build(OUTER, facing=[N, W], prep=1, horizon=10)
    assert act(w, scenario, UP, UP) == ([0.0, 0.0], False)  # the hider climbs out; the seeker waits
    assert picture(w, scenario)[0] == "..h...." and picture(w, scenario)[2] == ".#R.S#."
    assert act(w, scenario) == ([1.0 - 10.0, -1.0], False)  # unseen (the wall at (1, 3)), outside
    assert act(w, scenario, STAY, UP) == ([-1.0 - 10.0, 1.0 - 10.0], False)  # both outside, seen
    assert picture(w, scenario)[0] == "..h.s.."
    assert act(w, scenario, RIGHT, DOWN) == ([-11.0, -9.0], False)  # no way back without a ramp
    assert picture(w, scenario)[0] == "...hs.."
    assert w.returns[0].tolist() == [-31.0, -19.0]


# --- vision: an independent model ------------------------------------------------------------------------


@functools.cache
def touched(dr, dc):
    """The cells (offsets from the start) that the closed segment between the centres of cells (0, 0) and
    (dr, dc) meets, as closed unit squares, the two end cells excluded. Exact: at twice the scale every
    centre and corner has integer coordinates, and a segment meets a square iff the square's corners are
    not all strictly on one side of its line (the bounding boxes overlap for every cell listed)."""
    ey, ex = 2 * dr, 2 * dc  # the segment from (1, 1) to (1 + ey, 1 + ex)
    out = []
    for r in range(min(0, dr), max(0, dr) + 1):
        for c in range(min(0, dc), max(0, dc) + 1):
            if (r, c) in ((0, 0), (dr, dc)):
                continue
            sides = [ex * (y - 1) - ey * (x - 1) for y in (2 * r, 2 * r + 2) for x in (2 * c, 2 * c + 2)]
            if min(sides) <= 0 <= max(sides):
                out.append((r, c))
    return tuple(out)


def reference_in_cone(facing, dr, dc):
    fr, fc = FACING_STEP[facing]
    return math.degrees(abs(math.atan2(fr * dc - fc * dr, fr * dr + fc * dc))) <= 67.5


@dataclass
class World:
    """A plain-Python copy of one arena, with the rules written from the docstring."""

    walls: list
    agents: list
    facing: list
    anchors: list
    lengths: list
    vertical: list
    lock: list
    hiders: int
    boxes: int

    @classmethod
    def of(cls, w, scenario, b=0):
        return cls(
            w.walls[b].astype(bool).tolist(),
            w.agent_pos[b].tolist(),
            w.facing[b].tolist(),
            w.object_pos[b].tolist(),
            w.object_length[b].tolist(),
            w.object_vertical[b].tolist(),
            w.lock[b].tolist(),
            scenario.hiders,
            scenario.boxes,
        )

    def cells(self, o):
        r, c = self.anchors[o]
        return [(r + k, c) if self.vertical[o] else (r, c + k) for k in range(self.lengths[o])]

    def object_in(self, r, c):
        return next((o for o in range(len(self.anchors)) if (r, c) in self.cells(o)), None)

    def agent_in(self, r, c):
        return next((a for a, p in enumerate(self.agents) if p == [r, c]), None)

    def inside(self, r, c):
        return 0 <= r < len(self.walls) and 0 <= c < len(self.walls)

    def vision(self):
        """[A, A + O]: who sees whom, by the docstring's definition."""
        at = {cell: o for o in range(len(self.anchors)) for cell in self.cells(o)}
        agents = {tuple(p) for p in self.agents}

        def blocks(cell, target):
            return self.walls[cell[0]][cell[1]] or at.get(cell, target) != target or cell in agents

        def sees(a, r, c, target):
            r0, c0 = self.agents[a]
            if (r, c) == (r0, c0):
                return True
            return reference_in_cone(self.facing[a], r - r0, c - c0) and not any(
                blocks((r0 + i, c0 + j), target) for i, j in touched(r - r0, c - c0)
            )

        n = len(self.agents)
        out = np.zeros((n, n + len(self.anchors)), bool)
        for a in range(n):
            for e, (r, c) in enumerate(self.agents):
                out[a, e] = sees(a, r, c, -1)
            for o in range(len(self.anchors)):
                out[a, n + o] = any(sees(a, r, c, o) for r, c in self.cells(o))
        return out

    def outside(self, a):
        r, c = self.agents[a]
        return not (1 <= r < len(self.walls) - 1 and 1 <= c < len(self.walls) - 1)

    def act(self, a, move, turn, grab, lock):
        team = int(a >= self.hiders)
        self.facing[a] = (self.facing[a] + {NO_TURN: 0, TURN_LEFT: -1, TURN_RIGHT: 1}[turn]) % 8
        (r, c), (fr, fc) = self.agents[a], FACING_STEP[self.facing[a]]
        target = self.object_in(r + fr, c + fc)
        if target is not None and lock == LOCK and self.lock[target] == 0:
            self.lock[target] = team + 1
        elif target is not None and lock == UNLOCK and self.lock[target] == team + 1:
            self.lock[target] = 0
        if move == STAY:
            return
        dr, dc = MOVE_STEP[move]
        ahead = (r + dr, c + dc)
        if grab and target is not None:
            new_cells = [(y + dr, x + dc) for y, x in self.cells(target)]
            if (
                self.lock[target] == 0
                and all(self.agent_in(*cell) is None for cell in self.cells(target))
                and self.free_for_agent(ahead, target)
                and all(self.free_for_object(cell, target, a) for cell in new_cells)
            ):
                self.anchors[target] = list(new_cells[0])
                self.agents[a] = list(ahead)
            return
        if not self.inside(*ahead) or self.agent_in(*ahead) is not None:
            return
        there = self.object_in(*ahead)
        if self.walls[ahead[0]][ahead[1]] or (there is not None and there < self.boxes):
            beyond = (ahead[0] + dr, ahead[1] + dc)
            here = self.object_in(r, c)
            if here is not None and here >= self.boxes and self.free_for_agent(beyond, None):
                self.agents[a] = list(beyond)
            elif there is not None and self.lock[there] == 0:
                new_cells = [(y + dr, x + dc) for y, x in self.cells(there)]
                if all(self.free_for_object(cell, there, a) for cell in new_cells):
                    self.anchors[there] = list(new_cells[0])
                    self.agents[a] = list(ahead)
            return
        self.agents[a] = list(ahead)

    def free_for_agent(self, cell, held):
        if not self.inside(*cell) or self.walls[cell[0]][cell[1]] or self.agent_in(*cell) is not None:
            return False
        o = self.object_in(*cell)
        return o is None or o == held or o >= self.boxes

    def free_for_object(self, cell, o, mover):
        return (
            self.inside(*cell)
            and not self.walls[cell[0]][cell[1]]
            and self.object_in(*cell) in (None, o)
            and self.agent_in(*cell) in (None, mover)
        )

    def key(self):
        return (self.agents, self.facing, self.anchors, self.lock)


def random_grids(draw, g, kinds="......#BRh"):
    """walls, object_at, agent_at for one arena (objects 0..2 repeat, so one may have many cells)."""
    cells = draw(st.lists(st.sampled_from(kinds), min_size=g * g, max_size=g * g))
    walls = np.zeros((1, g, g), np.uint8)
    objects = np.full((1, g, g), -1, np.int16)
    agents = np.full((1, g, g), -1, np.int8)
    for i, ch in enumerate(cells):
        r, c = divmod(i, g)
        walls[0, r, c] = ch == "#"
        objects[0, r, c] = {"B": i % 3, "R": 3 + i % 2}.get(ch, -1)
        agents[0, r, c] = i % 100 if ch == "h" else -1
    return walls, objects, agents


@st.composite
def sight_cases(draw):
    g = draw(st.integers(2, 12))
    walls, objects, agents = random_grids(draw, g)
    starts = draw(st.lists(st.tuples(st.integers(0, g - 1), st.integers(0, g - 1)), min_size=1, max_size=3))
    return walls, objects, agents, starts, draw(st.integers(-1, 4))


@settings(max_examples=150)
@given(case=sight_cases())
def test_line_clear_matches_the_exact_segment_test(case):
    walls, objects, agents, starts, target = case
    g = walls.shape[1]
    blocking = (walls[0] != 0) | ((objects[0] >= 0) & (objects[0] != target)) | (agents[0] >= 0)
    for (r0, c0), r1, c1 in itertools.product(starts, range(g), range(g)):
        expected = not any(blocking[r0 + i, c0 + j] for i, j in touched(r1 - r0, c1 - c0))
        clear = hs.line_clear(walls, objects, agents, 0, r0, c0, r1, c1, target, *hs.sight_lines(g))
        assert clear == expected, (r0, c0, r1, c1)


def test_in_cone_matches_the_angle_test():
    for facing, dr, dc in itertools.product(range(8), range(-20, 21), range(-20, 21)):
        if (dr, dc) != (0, 0):
            assert hs.in_cone(facing, dr, dc) == reference_in_cone(facing, dr, dc), (facing, dr, dc)


@st.composite
def maps(draw):
    g = draw(st.integers(2, 9))
    text = "/".join(draw(st.text(alphabet="......##B=|RRhsHS", min_size=g, max_size=g)) for _ in range(g))
    return text, draw(st.lists(st.integers(0, 7), min_size=g * g, max_size=g * g))


@settings(max_examples=300)
@given(case=maps())
def test_vision_matches_the_model_on_random_maps(case):
    text, facings = case
    w, scenario = build(text)
    w.facing[0] = facings[: scenario.agents]
    assert (hs.vision(w, scenario) == World.of(w, scenario).vision()).all()


# --- vision: hand-drawn cases ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocker", "seen"), [(".", True), ("#", False), ("B", False), ("R", False), ("h", False)]
)
def test_walls_boxes_ramps_and_agents_block_sight(blocker, seen):
    w, scenario = build(f"h.{blocker}.s", facing=[E] + [N] * (blocker == "h") + [W])
    visible = hs.vision(w, scenario)
    seeker = scenario.agents - 1
    assert visible[0, seeker] == seen and visible[seeker, 0] == seen
    if blocker in "BRh":  # the blocker itself is seen from both sides
        entity = 1 if blocker == "h" else scenario.agents
        assert visible[0, entity] and visible[seeker, entity]


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        ("h./.s", True),
        ("h#/.s", False),  # the segment passes through the corner: both cells beside it count
        ("h./#s", False),
        ("h#/#s", False),
        ("h../.../..s", True),
        ("h../..#/..s", False),  # the second corner, (2, 2)
        ("h.#/.../..s", True),
        ("h.#/#.s", True),  # offset (1, 2): through (0, 1) and (1, 1) only
        ("h#./..s", False),
        ("h../.#s", False),
    ],
)
def test_sight_through_grid_corners(text, seen):
    w, scenario = build(text, facing=[SE])
    assert hs.vision(w, scenario)[0, 1] == seen


CONE = {  # offsets just inside and just outside 67.5 degrees, for facing up and up-right
    N: ([(-3, 7), (-3, -7)], [(-2, 5), (-2, -5), (0, 5), (1, 0)]),
    NE: ([(2, 5), (-5, -2)], [(3, 7), (-7, -3), (1, -1)]),
}


@pytest.mark.parametrize("facing", range(8))
def test_cone_edges(facing):
    inside, outside = CONE[facing % 2]
    for _ in range(facing // 2):  # a quarter turn clockwise
        inside, outside = ([(dc, -dr) for dr, dc in offsets] for offsets in (inside, outside))
    for offsets, seen in ((inside, True), (outside, False)):
        for dr, dc in offsets:
            assert hs.in_cone(facing, dr, dc) == seen
            rows = [["."] * 15 for _ in range(15)]
            rows[7][7], rows[7 + dr][7 + dc] = "h", "s"
            w, scenario = build("/".join(map("".join, rows)), facing=[facing])
            assert hs.vision(w, scenario)[0, 1] == seen, (facing, dr, dc)


def test_a_partly_hidden_elongated_box_is_seen():
    w, scenario = build("h..#|/....|", facing=[E])
    assert hs.vision(w, scenario)[0, 1]  # through its lower cell
    lines = hs.sight_lines(w.walls.shape[1])
    assert not hs.line_clear(w.walls, w.object_at, w.agent_at, 0, 0, 0, 0, 4, 0, *lines)
    w, scenario = build("h..#|/...#|", facing=[E])
    assert not hs.vision(w, scenario)[0, 1]
    w, scenario = build("h#/.|/.|", facing=[S])  # the near cell is hidden (the corner rule), the far one
    assert hs.vision(w, scenario)[0, 1]  # is seen past the near cell: its own cells do not block
    w, scenario = build("h==", facing=[E])
    lines = hs.sight_lines(w.walls.shape[1])
    assert hs.line_clear(w.walls, w.object_at, w.agent_at, 0, 0, 0, 0, 2, 0, *lines)
    assert not hs.line_clear(w.walls, w.object_at, w.agent_at, 0, 0, 0, 0, 2, -1, *lines)


def test_every_agent_sees_itself_and_the_ramp_it_stands_on():
    w, scenario = build("#####/#H#s#/#####/#h#S#/#####", facing=[N, S, E, W])
    visible = hs.vision(w, scenario)
    assert visible[:, :4].tolist() == np.eye(4, dtype=bool).tolist()
    assert visible[:, 4:].tolist() == [[True, False], [False, False], [False, False], [False, True]]


# --- rewards, truncation, statistics ---------------------------------------------------------------------


def test_rewards_zero_in_preparation_then_by_sight_until_truncation():
    w, scenario = build("######/#h..s#/#.#..#/#....#/######", facing=[N, W], prep=2, horizon=5)
    assert act(w, scenario) == ([0.0, 0.0], False)  # seen, but preparing
    assert act(w, scenario) == ([0.0, 0.0], False)
    assert act(w, scenario) == ([-1.0, 1.0], False)
    assert act(w, scenario, DOWN) == ([1.0, -1.0], False)  # behind the wall at (2, 2)
    assert act(w, scenario) == ([1.0, -1.0], True)
    assert w.returns[0].tolist() == [1.0, -1.0] and w.t[0] == 5
    assert w.stats[0, hs.STAT_SEEN_STEPS] == 1


def test_any_seeker_seeing_any_hider_decides_every_reward():
    w, scenario = build("#######/#h...s#/#.....#/#######/#h...s#/#.....#/#######", facing=[N, N, E, W])
    assert act(w, scenario) == ([-1.0, -1.0, 1.0, 1.0], False)  # seeker 3 sees hider 1, no one else
    assert act(w, scenario, STAY, STAY, STAY, (STAY, TURN_RIGHT, 0, 0)) == ([-1.0, -1.0, 1.0, 1.0], False)
    assert act(w, scenario, STAY, STAY, STAY, (STAY, TURN_RIGHT, 0, 0)) == ([1.0, 1.0, -1.0, -1.0], False)
    assert w.returns[0].tolist() == [-1.0, -1.0, 1.0, 1.0]
    assert w.stats[0, hs.STAT_SEEN_STEPS] == 2


def test_box_and_ramp_displacement_statistics():
    w, scenario = build("hB..../....../Rh....", facing=[N, W], prep=2, horizon=10)
    box, ramp = hs.STAT_BOX_MOVE_PREP, hs.STAT_RAMP_MOVE
    expected = [
        ((RIGHT, held(RIGHT)), ".hB.../....../.Rh...", 1.0, 1.0),
        ((RIGHT, held(RIGHT)), "..hB../....../..Rh..", 2.0, 2.0),
        ((RIGHT, held(DOWN)), "...hB./....../....../..Rh..", 2.0, math.sqrt(5)),  # after preparation
        ((STAY, held(LEFT)), "...hB./....../....../.Rh...", 2.0, math.sqrt(5)),  # nearer: the largest stays
    ]
    for actions, after, box_move, ramp_move in expected:
        act(w, scenario, *actions)
        assert picture(w, scenario) == grid_of(after)
        assert w.stats[0, box] == pytest.approx(box_move) and w.stats[0, ramp] == pytest.approx(ramp_move)


def test_locked_objects_are_counted_at_the_end_of_preparation():
    w, scenario = build("hB./.B./hR.", facing=[E, E], prep=3, horizon=10)
    counts = [hs.STAT_BOXES_LOCKED_PREP, hs.STAT_RAMPS_LOCKED_PREP]
    steps = [
        (((STAY, 0, 0, LOCK), (STAY, 0, 0, LOCK)), [1, 0, 1], [0, 0]),
        (((STAY, TURN_RIGHT, 0, LOCK), (STAY, 0, 0, UNLOCK)), [1, 1, 0], [0, 0]),
        ((STAY, (STAY, 0, 0, LOCK)), [1, 1, 1], [2, 1]),  # the last preparation step
        (((STAY, 0, 0, UNLOCK), (STAY, 0, 0, UNLOCK)), [1, 0, 0], [2, 1]),
    ]
    for actions, locks, stats in steps:
        act(w, scenario, *actions)
        assert w.lock[0].tolist() == locks and w.stats[0, counts].tolist() == stats


# --- random play against the model -------------------------------------------------------------------------

PLAY_SCENARIOS = {
    "small": hs.Scenario(size=8, boxes=2, elongated=1, box_length=3, ramps=2, horizon=40, prep_fraction=0.25),
    "default": hs.Scenario(horizon=30),
    "quadrant": hs.Scenario(**QUADRANT_SCENARIO),
    "1v3": hs.Scenario(size=10, hiders=1, seekers=3, boxes=3, elongated=2, box_length=4, ramps=1, horizon=30),
}


def random_actions(rng, n, agents):
    actions = np.stack([rng.integers(0, k, (n, agents)) for k in hs.ACTION_NVEC], axis=-1)
    actions[..., 3] = rng.choice(3, size=(n, agents), p=[0.8, 0.1, 0.1])  # fewer locks: more moves
    return actions


def model_step_matches(world, actions, preparing, outcome):
    """Whether some order of the acting agents takes `world` to `outcome` under the model's rules."""
    acting = [a for a in range(len(world.agents)) if a < world.hiders or not preparing]
    for order in itertools.permutations(acting):
        trial = World(
            world.walls,
            [p[:] for p in world.agents],
            world.facing[:],
            [p[:] for p in world.anchors],
            world.lengths,
            world.vertical,
            world.lock[:],
            world.hiders,
            world.boxes,
        )
        for a in order:
            trial.act(a, *actions[a].tolist())
        if trial.key() == outcome.key():
            return True
    return False


@pytest.mark.parametrize("name", PLAY_SCENARIOS)
def test_random_play_matches_the_model(name):
    scenario, n = PLAY_SCENARIOS[name].check(), 24
    rng = np.random.default_rng(7)
    w = hs.new_arenas(scenario, list(range(n)))
    observations = hs.Observations.allocate(scenario, n, 2)
    a_, b_ = scenario.agents, scenario.boxes
    assert (w.object_start == w.object_pos).all()
    stats, returns = np.zeros_like(w.stats), np.zeros_like(w.returns)
    for t in range(scenario.horizon):
        before = [World.of(w, scenario, b) for b in range(n)]
        actions = random_actions(rng, n, a_)
        rewards = np.zeros((n, a_))
        truncated = hs.step(w, scenario, actions, rewards)
        hs.observe(w, scenario, observations)
        assert truncated.tolist() == [t + 1 >= scenario.horizon] * n and (w.t == t + 1).all()
        preparing = t < scenario.prep_steps
        for b in range(n):
            picture(w, scenario, b)  # the cell grids agree with the positions
            world = World.of(w, scenario, b)
            assert model_step_matches(before[b], actions[b], preparing, world), (name, t, b)
            seen = world.vision()
            assert (hs.vision(w, scenario, b) == seen).all(), (name, t, b)
            hider_seen = seen[scenario.hiders :, : scenario.hiders].any()
            expected = np.zeros(a_)
            if not preparing:
                expected[:] = [
                    (-1.0 if hider_seen else 1.0) * (1 if a < scenario.hiders else -1) for a in range(a_)
                ]
                expected += [hs.OUTSIDE_PENALTY * world.outside(a) for a in range(a_)]
                stats[b, hs.STAT_SEEN_STEPS] += hider_seen
            assert rewards[b].tolist() == expected.tolist(), (name, t, b)
            returns[b] += expected
            moved = np.hypot(*(w.object_pos[b] - w.object_start[b]).T)
            if preparing:
                stats[b, hs.STAT_BOX_MOVE_PREP] = max(stats[b, hs.STAT_BOX_MOVE_PREP], *moved[:b_], 0)
            stats[b, hs.STAT_RAMP_MOVE] = max(stats[b, hs.STAT_RAMP_MOVE], *moved[b_:], 0)
            if t + 1 == scenario.prep_steps:
                stats[b, hs.STAT_BOXES_LOCKED_PREP] = np.count_nonzero(w.lock[b, :b_])
                stats[b, hs.STAT_RAMPS_LOCKED_PREP] = np.count_nonzero(w.lock[b, b_:])
                in_doors = [w.object_at[b, r, c] for r, c in w.doors[b, : w.door_count[b]]]
                filled = [0 <= o < b_ and w.lock[b, o] != 0 for o in in_doors]
                stats[b, hs.STAT_DOORS_LOCKED_PREP] = np.mean(filled) if filled else 0.0
            for a in range(a_):
                assert observations.agents_mask[b, a].tolist() == np.delete(seen[a, :a_], a).tolist()
                assert observations.boxes_mask[b, a].tolist() == seen[a, a_ : a_ + b_].tolist()
                assert observations.ramps_mask[b, a].tolist() == seen[a, a_ + b_ :].tolist()
        assert w.stats == pytest.approx(stats) and (w.returns == returns).all()


# --- observations and the global state -----------------------------------------------------------------


OBSERVED = """
##########
#.#......#
#.h..B...#
#........#
#..s.....#
#.....R..#
#........#
#........#
#........#
##########
"""


def observed():
    """hider_0 at (2, 2) looking right, seeker_0 at (4, 3) looking up; the box at (2, 5) locked by the
    hiders, the ramp at (5, 6) by the seekers; two steps into a four-step preparation."""
    w, scenario = build(OBSERVED, facing=[E, N], horizon=20, prep=4)
    w.lock[0] = [1 + hs.HIDERS, 1 + hs.SEEKERS]
    w.t[0] = 2
    out = hs.Observations.allocate(scenario, 1, view_radius=2)
    hs.observe(w, scenario, out)
    return w, scenario, out


def test_observations_hold_each_entity_as_the_agent_sees_it():
    _, _, out = observed()
    hider, seeker = 0, 1
    np.testing.assert_allclose(out.own[0, hider], [0.2, 0.2, 0, 1, 0, 0, 0])
    np.testing.assert_allclose(out.own[0, seeker], [0.4, 0.3, -1, 0, 1, 0, 0])
    # hider_0 sees the seeker (63 degrees off its facing), the box ahead and the ramp.
    assert out.agents_mask[0, hider].tolist() == [1]
    np.testing.assert_allclose(out.agents[0, hider, 0], [0.4, 0.3, 0.2, 0.1, -1, 0, 0, 0])
    np.testing.assert_allclose(out.boxes[0, hider, 0], [0.2, 0.5, 0.0, 0.3, 0.25, 0, 1, 0])
    np.testing.assert_allclose(out.ramps[0, hider, 0], [0.5, 0.6, 0.3, 0.4, 0, 1])
    # seeker_0 sees the hider and the box (locked by the other team), not the ramp behind its cone.
    np.testing.assert_allclose(out.agents[0, seeker, 0], [0.2, 0.2, -0.2, -0.1, 0, 1, 0, 0])
    np.testing.assert_allclose(out.boxes[0, seeker, 0], [0.2, 0.5, -0.2, 0.2, 0.25, 0, 0, 1])
    assert out.ramps_mask[0, seeker].tolist() == [0] and not out.ramps[0, seeker].any()
    np.testing.assert_allclose(out.preparation[0, :, 0], [0.5, 0.5])


def test_the_local_view_shows_walls_objects_and_other_agents_around_the_agent():
    _, _, out = observed()
    wall, box, ramp, agent = out.local[0, 0]  # hider_0's 5 x 5 view, rows 0..4, columns 0..4
    expected_walls = np.zeros((5, 5), np.int8)
    expected_walls[0, :] = expected_walls[:, 0] = 1  # the grid's top row and left column
    expected_walls[1, 2] = 1
    np.testing.assert_array_equal(wall, expected_walls)
    assert not box.any() and not ramp.any()  # the box at column 5 is just outside
    assert np.argwhere(agent).tolist() == [[4, 3]]  # the seeker; the hider itself is not marked
    wall, box, ramp, agent = out.local[0, 1]  # seeker_0's view, rows 2..6, columns 1..5
    assert np.argwhere(box).tolist() == [[0, 4]] and np.argwhere(agent).tolist() == [[0, 1]]
    assert not ramp.any()  # the ramp at column 6 is just outside


def test_the_global_state_lists_agents_objects_time_doors_and_walls():
    w, scenario, out = observed()
    w.doors[0, :2] = [(2, 5), (0, 0)]  # the box fills one of two door cells
    w.door_count[0] = 2
    state = np.zeros((1, hs.state_size(scenario)), np.float32)
    hs.global_state(w, scenario, state)
    agents, rest = state[0, : 2 * hs.SELF_FEATURES], state[0, 2 * hs.SELF_FEATURES :]
    np.testing.assert_allclose(agents, np.concatenate([out.own[0, 0], out.own[0, 1]]))
    objects, rest = rest[: 2 * hs.OBJECT_STATE_FEATURES], rest[2 * hs.OBJECT_STATE_FEATURES :]
    np.testing.assert_allclose(objects, [0.2, 0.5, 0.25, 0, 0, 1, 0, 1, 0.5, 0.6, 0.25, 0, 1, 0, 1, 0])
    np.testing.assert_allclose(rest[:4], [0.5, 2 / 20, 0.5, 0.5])
    np.testing.assert_array_equal(rest[4:].reshape(10, 10), w.walls[0])
    w.lock[0, 0] = 0
    hs.global_state(w, scenario, state)
    np.testing.assert_allclose(state[0, -104:-100], [0.5, 2 / 20, 0.5, 0])


# --- determinism ------------------------------------------------------------------------------------------


def run(scenario, seeds, actions):
    """Play `actions` [T, N, A, 4] from new arenas, resetting truncated ones; (arenas, rewards [T, N, A])."""
    w = hs.new_arenas(scenario, seeds)
    history = np.zeros(actions.shape[:3])
    for t, step_actions in enumerate(actions):
        truncated = hs.step(w, scenario, step_actions, history[t])
        hs.reset(w, scenario, truncated)
    return w, history


def test_same_seeds_same_play_and_a_batch_equals_single_arenas():
    scenario = hs.Scenario(horizon=12).check()
    seeds = [5, 0, 7, 5, 123456789]
    rng = np.random.default_rng(3)
    actions = np.stack([random_actions(rng, len(seeds), scenario.agents) for _ in range(30)])
    batch, rewards = run(scenario, seeds, actions)
    again, rewards_again = run(scenario, seeds, actions)
    for name, x, y in zip(hs.Arenas._fields, batch, again, strict=True):
        assert (x == y).all(), name
    assert (rewards == rewards_again).all()
    for i, seed in enumerate(seeds):
        single, single_rewards = run(scenario, [seed], actions[:, i : i + 1])
        for name, x, y in zip(hs.Arenas._fields, batch.select(i), single, strict=True):
            assert (x == y).all(), (name, i)
        assert (rewards[:, i] == single_rewards[:, 0]).all()
    twins = hs.new_arenas(scenario, [5, 5, 6])
    for name, x in zip(hs.Arenas._fields, twins, strict=True):
        assert (x[0] == x[1]).all(), name
    assert not ((twins.walls[0] == twins.walls[2]).all() and (twins.agent_pos[0] == twins.agent_pos[2]).all())


def test_reset_of_a_subset_leaves_the_others_alone():
    scenario = hs.Scenario().check()
    rng = np.random.default_rng(4)
    w = hs.new_arenas(scenario, [1, 2, 3, 4])
    for _ in range(20):
        hs.step(w, scenario, random_actions(rng, 4, scenario.agents), np.zeros((4, scenario.agents)))
    before = w.copy()
    which = np.array([True, False, True, False])
    hs.reset(w, scenario, which)
    for name, x, y in zip(hs.Arenas._fields, w, before, strict=True):
        assert (x[~which] == y[~which]).all(), name
    assert (w.t[which] == 0).all() and (w.returns[which] == 0).all() and (w.stats[which] == 0).all()
    assert (w.lock[which] == 0).all() and (w.object_start[which] == w.object_pos[which]).all()
    assert not (w.rng[which] == before.rng[which]).any()
    for b in (0, 2):
        picture(w, scenario, b)


# --- layouts --------------------------------------------------------------------------------------------


def flood(free, start):
    reached, todo = {start}, [start]
    while todo:
        r, c = todo.pop()
        for dr, dc in MOVE_STEP[1:]:
            if (r + dr, c + dc) in free and (r + dr, c + dc) not in reached:
                reached.add((r + dr, c + dc))
                todo.append((r + dr, c + dc))
    return reached


LAYOUT_SCENARIOS = {
    "default": hs.Scenario(),
    "quadrant": hs.Scenario(**QUADRANT_SCENARIO),
    "smallest": hs.Scenario(size=8, hiders=1, seekers=1, boxes=2, elongated=1, box_length=3, ramps=1),
    "crowded": hs.Scenario(size=24, hiders=3, seekers=3, boxes=8, elongated=4, box_length=3, ramps=4),
    "odd": hs.Scenario(size=13, hiders=3, seekers=3, boxes=2, elongated=2, box_length=3, ramps=3),
    "quadrant 3v3": hs.Scenario(size=15, hiders=3, seekers=3, boxes=3, elongated=1, ramps=2, quadrant=True),
}


@pytest.mark.parametrize("name", LAYOUT_SCENARIOS)
def test_layouts_are_closed_connected_and_placed_by_the_rules(name):
    scenario, n = LAYOUT_SCENARIOS[name].check(), 40
    w = hs.new_arenas(scenario, list(range(100, 100 + n)))
    g, boxes = scenario.grid, scenario.boxes
    ring = np.ones((g, g), bool)
    ring[1:-1, 1:-1] = False
    outer = np.zeros((g, g), bool)
    outer[1:-1, 1:-1] = True
    outer[2:-2, 2:-2] = False
    lengths = [scenario.box_length] * scenario.elongated + [1] * (scenario.objects - scenario.elongated)
    for b in range(n):
        walls = w.walls[b]
        assert not walls[ring].any() and walls[outer].all()
        picture(w, scenario, b)
        play = {(r, c) for r in range(2, g - 2) for c in range(2, g - 2) if not walls[r, c]}
        assert flood(play, min(play)) == play
        doors = {tuple(d) for d in w.doors[b, : w.door_count[b]].tolist()}
        assert doors and doors <= play
        cells = [set(cells_of(w, b, o)) for o in range(scenario.objects)]
        assert set().union(*cells) <= play - doors
        agents = [tuple(p) for p in w.agent_pos[b].tolist()]
        assert set(agents) <= play
        assert w.object_length[b].tolist() == lengths and (w.object_start[b] == w.object_pos[b]).all()
        assert not w.lock[b].any() and w.t[b] == 0 and set(w.facing[b].tolist()) <= set(range(8))
        if scenario.quadrant:
            assert len(doors) in (1, 2)
            room = flood(play - doors, agents[0])
            assert all(2 * r < g and 2 * c < g for r, c in room) and len(room) < len(play) - len(doors)
            assert set(agents[: scenario.hiders]) <= room and set().union(*cells[:boxes]) <= room
            assert not set(agents[scenario.hiders :]) & room and not set().union(*cells[boxes:]) & room


def test_staged_forts_put_each_box_in_line_with_its_door_at_every_depth_and_its_hider_behind_it():
    scenario, n = hs.Scenario(**QUADRANT_SCENARIO).check(), 200
    w = hs.new_arenas(scenario, list(range(n)))
    before = w.copy()
    which = np.arange(n) % 2 == 0
    hs.stage_forts(w, scenario, which)
    for name, x, y in zip(hs.Arenas._fields, w, before, strict=True):
        assert (x[~which] == y[~which]).all(), name
    m = scenario.grid // 2
    depths, staged, boxes, behind = set(), 0, 0, 0
    for b in np.flatnonzero(which):
        picture(w, scenario, b)
        assert (w.object_start[b] == w.object_pos[b]).all()
        assert (w.agent_pos[b, scenario.hiders :] == before.agent_pos[b, scenario.hiders :]).all()
        doors = w.doors[b, : w.door_count[b]].tolist()
        assert (w.object_pos[b, len(doors) :] == before.object_pos[b, len(doors) :]).all()
        for d, ((dr, dc), (r, c)) in enumerate(zip(doors, w.object_pos[b].tolist(), strict=False)):
            boxes += 1
            depth = dr - r if dc == c and dr == m else dc - c if dr == r and dc == m else None
            if depth is None:  # the cell it was given held an agent or the other box
                assert [r, c] == before.object_pos[b, d].tolist()
                assert w.agent_pos[b, d].tolist() == before.agent_pos[b, d].tolist()
                continue
            assert 0 <= depth <= m - 2
            depths.add(depth)
            staged += 1
            back = [r - 1, c] if dr == m else [r, c - 1]
            if w.agent_pos[b, d].tolist() == back:
                assert w.facing[b, d] == (4 if dr == m else 2)  # facing the box and the door
                assert w.agent_at[b, back[0], back[1]] == d
                behind += 1
            else:  # the cell behind the box was a wall or taken (by something that may have moved since)
                assert w.agent_pos[b, d].tolist() == before.agent_pos[b, d].tolist()
                holders = (w.agent_at, before.agent_at, w.object_at, before.object_at)
                assert w.walls[b, back[0], back[1]] or max(x[b, back[0], back[1]] for x in holders) >= 0
    assert depths == set(range(m - 1)) and staged > 0.8 * boxes and behind > 0.7 * staged
    assert ((w.agent_at >= 0).sum(axis=(1, 2)) == scenario.agents).all()
    again = hs.new_arenas(scenario, list(range(n)))
    hs.stage_forts(again, scenario, which)
    for name, x, y in zip(hs.Arenas._fields, w, again, strict=True):
        assert (x == y).all(), name
    with pytest.raises(ValueError, match="scenario.quadrant must be True"):
        hs.stage_forts(hs.new_arenas(hs.Scenario(), [0]), hs.Scenario(), np.ones(1, np.bool_))


def test_box_length_is_checked_against_the_size_and_crowded_resets_redraw_the_layout():
    with pytest.raises(ValueError, match="box_length"):
        hs.Scenario(size=8, hiders=1, seekers=1, boxes=1, elongated=1, box_length=4, ramps=0).check()
    # Size 8 leaves rooms 2 or 3 cells wide: many layouts have no place for a box of length 3, and
    # reset draws another layout instead of looping.
    scenario = hs.Scenario(size=8, hiders=1, seekers=1, boxes=2, elongated=2, box_length=3, ramps=0).check()
    arenas = hs.new_arenas(scenario, list(range(64)))
    assert (arenas.object_length == 3).all() and (arenas.object_at >= 0).sum() == 64 * 2 * 3


# --- Scenario.check -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (dict(size=7), "size"),
        (dict(size=65), "size"),
        (dict(size=16.0), "size"),
        (dict(size=8), "size"),  # too small for the default teams and objects
        (dict(size=8, quadrant=True), "size"),
        (dict(hiders=0), "hiders"),
        (dict(seekers=4), "seekers"),
        (dict(boxes=-1), "boxes"),
        (dict(boxes=2, elongated=3), "elongated"),
        (dict(box_length=1), "box_length"),
        (dict(ramps=9), "ramps"),
        (dict(horizon=0), "horizon"),
        (dict(horizon=True), "horizon"),
        (dict(prep_fraction=1.0), "prep_fraction"),
        (dict(prep_fraction=-0.1), "prep_fraction"),
        (dict(prep_fraction="0.4"), "prep_fraction"),
        (dict(quadrant=1), "quadrant"),
    ],
)
def test_scenario_check_names_the_bad_field(changes, field):
    with pytest.raises(ValueError, match=rf"^{field}\b"):
        hs.Scenario(**changes).check()


def test_default_scenarios_pass_the_check():
    assert hs.Scenario().check() == hs.Scenario()
    assert hs.Scenario(**QUADRANT_SCENARIO).check().prep_steps == 32
    assert hs.Scenario().prep_steps == 96


def test_the_batched_api_rejects_arrays_of_the_wrong_shape_or_type_and_changes_nothing():
    scenario = hs.Scenario(**QUADRANT_SCENARIO)
    w = hs.new_arenas(scenario, [0, 1])
    before = w.copy()
    actions, rewards = np.zeros((2, 4, 4), np.int64), np.zeros((2, 4))
    observations = hs.Observations.allocate(scenario, 2, view_radius=3)
    short_local = observations._replace(local=observations.local[:1])
    few_boxes = observations._replace(boxes=np.zeros((2, 4, 3, 8), np.float32))
    cases = [
        (lambda: hs.step(w, scenario, actions[:1], rewards), r"actions must be .* shape \(2, 4, 4\)"),
        (lambda: hs.step(w, scenario, actions[..., :3], rewards), "actions must be"),
        (lambda: hs.step(w, scenario, actions.astype(float), rewards), "got float64"),
        (lambda: hs.step(w, scenario, actions, rewards[:, :3]), "rewards must be"),
        (lambda: hs.step(w, scenario, actions, rewards, short_local), "observations.local"),
        (lambda: hs.observe(w, scenario, few_boxes), "observations.boxes"),
        (lambda: hs.reset(w, scenario, np.ones(3, np.bool_)), "which must be"),
        (lambda: hs.global_state(w, scenario, np.zeros((2, 5), np.float32)), "out must be"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    assert all(np.array_equal(x, y) for x, y in zip(before, w, strict=True))

"""The scripted hide-and-seek teams: the issue's targets, chase, fort, determinism, ranges, the agent."""

import csv
from collections import deque
from itertools import product
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gridworlds.agents.hide_and_seek.scripted import (
    HIDER_POLICIES,
    SCRIPTED_CHASE,
    SCRIPTED_RANDOM,
    SEEKER_POLICIES,
    ScriptedAgent,
    play_scripted,
    scripted_actions,
)
from gridworlds.engines import hide_and_seek as engine
from gridworlds.engines.hide_and_seek import TURN_RIGHT, Scenario
from gridworlds.engines.rng import seed_state
from gridworlds.registry import world

QUADRANT_SCENARIO = world("gridworlds/HideAndSeekQuadrant-v0").kwargs
QUADRANT = Scenario(**QUADRANT_SCENARIO)
QUADRANT_ID = "gridworlds/HideAndSeekQuadrant-v0"


def policy_rng(n: int, seed: int = 0) -> np.ndarray:
    return np.array([seed_state(seed + i) for i in range(n)], np.uint64)


def run(arenas, scenario, hiders, seekers, steps, rng):
    """Play `steps` steps; return the actions of each step."""
    n = len(arenas.t)
    actions = np.zeros((n, scenario.agents, 4), np.int64)
    rewards = np.zeros((n, scenario.agents))
    history = []
    for _ in range(steps):
        scripted_actions(arenas, scenario, hiders, seekers, rng, actions)
        history.append(actions.copy())
        engine.step(arenas, scenario, actions, rewards)
    return history


def place(arenas, b, a, r, c, facing=0):
    arenas.agent_at[b, arenas.agent_pos[b, a, 0], arenas.agent_pos[b, a, 1]] = -1
    arenas.agent_at[b, r, c] = a
    arenas.agent_pos[b, a] = r, c
    arenas.facing[b, a] = facing


def path_length(arenas, b, start, goal):
    """Steps of the shortest open path (no wall, box or other agent) from start to a cell beside goal."""
    g = arenas.walls.shape[1]
    seen = {start: 0}
    todo = deque([start])
    while todo:
        r, c = todo.popleft()
        if abs(r - goal[0]) + abs(c - goal[1]) == 1:
            return seen[(r, c)]
        for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
            nr, nc = r + dr, c + dc
            if not (0 <= nr < g and 0 <= nc < g) or (nr, nc) in seen or arenas.walls[b, nr, nc]:
                continue
            o = arenas.object_at[b, nr, nc]
            if arenas.agent_at[b, nr, nc] >= 0 or 0 <= o < QUADRANT.boxes:
                continue
            seen[(nr, nc)] = seen[(r, c)] + 1
            todo.append((nr, nc))
    return None


# ---------------------------------------------------------------------------------------------
# The targets (measured over 2000 episodes: seen 0.05% of the post-preparation steps with
# fort hiders, 80% with random ones; the margins here are wide).


def test_fort_hiders_stay_hidden_from_chase_seekers():
    result = play_scripted(QUADRANT, "fort", "chase", 300, seed=0)
    assert result["hider_seen_fraction"] < 0.2
    assert result["hider_reward"] > 0 > result["seeker_reward"]
    # Every door (1 or 2, 4/3 on average) gets a locked box before the seekers move.
    assert result["boxes_locked_prep"] > 1.25
    assert result["doors_locked_prep"] > 0.95  # a locked box in the doors
    assert result["door_locked_prep"] > 0.95  # in nearly every episode
    assert result["box_move_prep"] > 1.0


def test_random_hiders_are_found_by_chase_seekers():
    result = play_scripted(QUADRANT, "random", "chase", 300, seed=0)
    assert result["hider_seen_fraction"] > 0.7
    assert result["doors_locked_prep"] < 0.1
    assert result["door_locked_prep"] < 0.1
    assert result["hider_reward"] < 0 < result["seeker_reward"]


# ---------------------------------------------------------------------------------------------
# Chase


def open_map(facing):
    """One hider at (2, 2) and one seeker in the far corner of a 12-arena without rooms or doors."""
    scenario = Scenario(
        size=12, hiders=1, seekers=1, boxes=0, elongated=0, ramps=0, horizon=40, prep_fraction=0.0
    )
    arenas = engine.new_arenas(scenario, [1])
    g = scenario.grid
    arenas.walls[0, 2 : g - 2, 2 : g - 2] = 0
    arenas.door_count[0] = 0
    place(arenas, 0, 0, 2, 2)
    place(arenas, 0, 1, g - 3, g - 3, facing=facing)
    return arenas, scenario


def distance(arenas):
    (hr, hc), (sr, sc) = arenas.agent_pos[0]
    return abs(hr - sr) + abs(hc - sc)


def test_chase_closes_in_on_a_seen_hider_and_keeps_looking_at_it():
    arenas, scenario = open_map(facing=7)  # up-left, towards the hider
    assert engine.vision(arenas, scenario)[1, 0]
    distances = [distance(arenas)]
    while distances[-1] > 1:
        run(arenas, scenario, "still", "chase", 1, policy_rng(1))
        distances.append(distance(arenas))
        assert distances[-1] == distances[-2] - 1  # one cell nearer every step
        assert engine.vision(arenas, scenario)[1, 0]  # never losing sight of it
    run(arenas, scenario, "still", "chase", 3, policy_rng(1))
    assert distance(arenas) == 1


def test_chase_does_not_follow_a_hider_it_has_not_seen():
    arenas, scenario = open_map(facing=3)  # down-right, into the corner: it sees nothing
    start = distance(arenas)
    actions = scripted_actions(arenas, scenario, "still", "chase", policy_rng(1))
    assert actions[0, 1, 1] == TURN_RIGHT  # it scans
    run(arenas, scenario, "still", "chase", 1, policy_rng(1))
    assert distance(arenas) >= start - 1  # and at most wanders a step
    # Scanning, it finds the hider within a turn of 8 steps, then closes in.
    for _ in range(8 + start):
        run(arenas, scenario, "still", "chase", 1, policy_rng(1))
    assert distance(arenas) == 1


def test_chase_searches_the_doors_and_finds_a_hider_in_the_quadrant_room():
    scenario = Scenario(**{**QUADRANT_SCENARIO, "hiders": 1, "seekers": 1, "prep_fraction": 0.0})
    arenas = engine.new_arenas(scenario, list(range(8)))
    rng = policy_rng(8)
    found = np.zeros(8, np.bool_)
    entered = np.zeros(8, np.bool_)
    m = scenario.grid // 2  # the room's walls are row and column m
    for _ in range(40):
        run(arenas, scenario, "still", "chase", 1, rng)
        for b in range(8):
            found[b] |= engine.vision(arenas, scenario, b)[1, 0]
            entered[b] |= (arenas.agent_pos[b, 1] < m).all()
    assert (entered | found).all()  # every seeker went through the door unless it saw the hider before
    assert found.sum() >= 6  # a box may hide a hider that keeps still from a seeker by the door


# ---------------------------------------------------------------------------------------------
# Fort


def test_fort_fills_and_locks_both_doors_on_a_checked_seed():
    # Seed 3: doors at (7, 4) in the room's bottom wall and (5, 7) in its right wall; box 0 at (4, 2),
    # box 1 at (4, 6); hider 0 at (3, 2), hider 1 at (5, 5). Hider 0 takes door 0 and box 0 (both
    # boxes are 5 box moves from it, the lower index wins), hider 1 door 1 and box 1 (2 moves).
    arenas = engine.new_arenas(QUADRANT, [3])
    assert arenas.door_count[0] == 2
    assert arenas.doors[0, :2].tolist() == [[7, 4], [5, 7]]
    assert arenas.object_pos[0, :2].tolist() == [[4, 2], [4, 6]]
    run(arenas, QUADRANT, "fort", "chase", QUADRANT.prep_steps, policy_rng(1))
    assert arenas.object_pos[0, :2].tolist() == [[7, 4], [5, 7]]
    assert arenas.lock[0, :2].tolist() == [1 + engine.HIDERS] * 2
    assert arenas.stats[0, engine.STAT_BOXES_LOCKED_PREP] == 2
    hiders = arenas.agent_pos[0, :2]
    assert (hiders < QUADRANT.grid // 2).all()  # both inside the room
    run(arenas, QUADRANT, "fort", "chase", QUADRANT.horizon - QUADRANT.prep_steps, policy_rng(1))
    assert arenas.stats[0, engine.STAT_SEEN_STEPS] == 0
    assert arenas.returns[0, 0] == QUADRANT.horizon - QUADRANT.prep_steps


def test_fort_hiders_never_leave_the_room():
    arenas = engine.new_arenas(QUADRANT, list(range(64)))
    run(arenas, QUADRANT, "fort", "still", QUADRANT.horizon, policy_rng(64))
    assert (arenas.agent_pos[:, : QUADRANT.hiders] < QUADRANT.grid // 2).all()


# ---------------------------------------------------------------------------------------------
# Determinism, ranges, the world's own generator


def test_play_is_deterministic_and_independent_of_the_batch():
    first = play_scripted(QUADRANT, "fort", "chase", 40, seed=7)
    assert play_scripted(QUADRANT, "fort", "chase", 40, seed=7, batch=9) == first
    assert play_scripted(QUADRANT, "random", "random", 40, seed=7) != play_scripted(
        QUADRANT, "random", "random", 40, seed=8
    )


def test_actions_are_deterministic_and_leave_the_world_alone():
    arenas = engine.new_arenas(QUADRANT, list(range(16)))
    run(arenas, QUADRANT, "random", "random", 20, policy_rng(16))
    before = arenas.copy()
    first = scripted_actions(arenas, QUADRANT, "random", "chase", policy_rng(16, 5))
    again = scripted_actions(arenas, QUADRANT, SCRIPTED_RANDOM, SCRIPTED_CHASE, policy_rng(16, 5))
    assert np.array_equal(first, again)
    for name, array in zip(engine.Arenas._fields, arenas, strict=True):
        assert np.array_equal(array, getattr(before, name)), name  # rng included: the world's stream
    rng = policy_rng(16, 5)
    scripted_actions(arenas, QUADRANT, "random", "chase", rng)
    assert (rng != policy_rng(16, 5)).all()  # the policies' own generator moved on


@pytest.mark.parametrize("scenario", [QUADRANT, Scenario()], ids=["quadrant", "rooms"])
def test_actions_stay_within_the_action_space(scenario):
    nvec = np.array(engine.ACTION_NVEC)
    pairs = list(product(HIDER_POLICIES, SEEKER_POLICIES)) if scenario is QUADRANT else [("fort", "chase")]
    for hiders, seekers in pairs:
        arenas = engine.new_arenas(scenario, list(range(8)))
        for actions in run(arenas, scenario, hiders, seekers, scenario.horizon, policy_rng(8)):
            assert actions.dtype == np.int64 and (actions >= 0).all() and (actions < nvec).all()
            if hiders == "still":
                assert not actions[:, : scenario.hiders].any()


def test_bad_arguments_are_refused():
    arenas = engine.new_arenas(QUADRANT, [0, 1])
    with pytest.raises(ValueError, match="hider_policy must be one of"):
        scripted_actions(arenas, QUADRANT, "chase", "chase", policy_rng(2))
    with pytest.raises(ValueError, match="seeker_policy must be one of"):
        scripted_actions(arenas, QUADRANT, "fort", "fort", policy_rng(2))
    with pytest.raises(ValueError, match="rng must be a uint64 array of shape"):
        scripted_actions(arenas, QUADRANT, "fort", "chase", policy_rng(3))
    with pytest.raises(ValueError, match="out must be an int64 array"):
        scripted_actions(arenas, QUADRANT, "fort", "chase", policy_rng(2), np.zeros((2, 4, 4), np.int32))
    with pytest.raises(ValueError, match="hiders must be one of"):
        play_scripted(QUADRANT, "hide", "chase", 1, seed=0)


# ---------------------------------------------------------------------------------------------
# The agent


def test_agent_checks_its_policies_and_needs_bind():
    with pytest.raises(ValueError, match=r"hiders must be one of \['random', 'still', 'fort'\]"):
        ScriptedAgent(QUADRANT_ID, hiders="chase")
    with pytest.raises(ValueError, match=r"seekers must be one of \['random', 'still', 'chase'\]"):
        ScriptedAgent(QUADRANT_ID, seekers="fort")
    agent = ScriptedAgent(QUADRANT_ID, seed=0)
    with pytest.raises(RuntimeError, match=r"bind\(env, seat\)"):
        agent.act(None, {})
    world = SimpleNamespace(arenas=engine.new_arenas(QUADRANT, [0]), scenario=QUADRANT)
    for seat in ("hider_2", "seeker_x", "player_0", 3):
        with pytest.raises(ValueError, match="seat must be one of"):
            agent.bind(world, seat)
    with pytest.raises(ValueError, match="bind needs a hide-and-seek env"):
        agent.bind(object(), "hider_0")


def test_agent_plays_its_seat_like_the_kernel(tmp_path):
    world = SimpleNamespace(arenas=engine.new_arenas(QUADRANT, [3]), scenario=QUADRANT)
    expected = scripted_actions(world.arenas, QUADRANT, "fort", "chase", policy_rng(1))[0]
    for index, seat in enumerate(["hider_0", "hider_1", "seeker_0", "seeker_1"]):
        action = ScriptedAgent(QUADRANT_ID, seed=0).bind(world, seat).act(None, {})
        assert action.dtype == np.int64 and action.shape == (4,)
        assert np.array_equal(action, expected[index])  # fort and chase draw nothing here
    agent = ScriptedAgent(QUADRANT_ID, seed=4, hiders="random", seekers="still")
    agent.save(tmp_path / "scripted")
    copy = ScriptedAgent.load(tmp_path / "scripted")
    assert copy.params() == {"seed": 4, "hiders": "random", "seekers": "still"}
    bound = [a.bind(world, "hider_1") for a in (agent, copy)]
    assert all(np.array_equal(bound[0].act(None, {}), bound[1].act(None, {})) for _ in range(5))


def test_agents_play_the_quadrant_env():
    import gridworlds

    env = gridworlds.make(QUADRANT_ID)
    observations, infos = env.reset(seed=3)
    agents = {name: ScriptedAgent(QUADRANT_ID, seed=1).bind(env, name) for name in env.agents}
    while env.agents:
        actions = {name: agents[name].act(observations[name], infos[name]) for name in env.agents}
        assert all(env.action_space(name).contains(action) for name, action in actions.items())
        observations, _, _, _, infos = env.step(actions)
    episode = infos["hider_0"]["episode"]
    assert episode["boxes_locked_prep"] == 2 and episode["doors_locked_prep"] == 1
    assert episode["door_locked_prep"] == 1
    assert episode["hider_seen_fraction"] == 0


def test_the_baselines_study_writes_its_table_and_plot(tmp_path):
    from gridworlds.runner import run_experiment

    experiment = Path(__file__).parents[1] / "experiments" / "hide-and-seek-scripted.toml"
    quick = ['study.worlds=["gridworlds/HideAndSeekQuadrant-v0"]', "study.episodes=64"]
    summary = run_experiment(experiment, quick, runs_dir=tmp_path)
    root = tmp_path / "hide-and-seek-scripted"
    with (root / "baselines.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["hiders"], row["seekers"]) for row in rows] == [
        ("fort", "chase"), ("random", "chase"), ("still", "chase"), ("fort", "random"), ("random", "random")
    ]  # fmt: skip
    fort, random_hiders = rows[0], rows[1]
    assert float(fort["hider_seen_fraction"]) < 0.5 < float(random_hiders["hider_seen_fraction"])
    assert (root / "baselines.png").stat().st_size > 0
    assert summary["rows"][0]["hider_seen_fraction"] == pytest.approx(float(fort["hider_seen_fraction"]))


@pytest.mark.parametrize(
    "override, message",
    [
        ('study.pairings=[["chase", "fort"]]', "study.pairings must be"),
        ('study.worlds=["gridworlds/2048-v0"]', "study.worlds must be"),
        ("study.episodes=0", "study.episodes must be"),
        ("study.rounds=3", "unknown field study.rounds"),
    ],
)
def test_a_malformed_baselines_study_names_the_field(tmp_path, override, message):
    from gridworlds.runner import run_experiment

    experiment = Path(__file__).parents[1] / "experiments" / "hide-and-seek-scripted.toml"
    with pytest.raises(ValueError, match=message):
        run_experiment(experiment, [override], runs_dir=tmp_path)

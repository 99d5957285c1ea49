"""Scripted hide-and-seek teams: baselines that need no training, for measuring what learned teams do.

Each team plays one policy (the `SCRIPTED_*` constants, by name in `SCRIPTED_POLICIES`):

- random: every action component uniform (either team);
- still: all zeros (either team);
- fort (hiders): hider k of H takes the doors k, k + H, k + 2H ... (door cells in the order of
  `arenas.doors`) in turn, each until a locked box fills it, so that a hider keeps its door while
  another finishes. For its door it takes the box already in it, else the unlocked unit box with the
  fewest box moves to the door (one in no door, not taken by a hider before it), and brings that box
  in from the hider's side of the wall: pushed or pulled (walking backwards, holding it) to the cell
  beside the door, so that it lines up with the door across the wall, then pushed in across the
  wall. For each move the hider walks by the shortest path to the cell behind the box (push) or in
  front of it (pull), turning on the way. With the box in the door it stands beside it on its side
  (straight or diagonally), turns to face it and locks it (an agent turns before it locks, so both
  happen in one step). Fort hiders never walk through doors, never pull a box so that it shuts them
  in a dead end, and leave elongated boxes alone. A hider with no door left (or no box for one)
  walks to the nearest cell at least AWAY_FROM_DOORS cells from every door, not in a corner or a
  corridor (3 open cells beside it), and stays still there.
  The hiders keep out of each other's way by priority: hiders with a door left first, then the idle
  ones, each group in index order. A hider plans through the cells of the hiders after it (a walk
  counts THROUGH_AGENT steps for such a cell) unless one stands in a dead end, and reserves the cells
  its action and its next box move use; the hiders after it avoid reserved cells and step off one
  they stand on;
- chase (seekers): the seekers chase what they see. While some seeker sees a hider, each seeker walks
  the shortest open path (cells with no wall, no box and no other agent; ramps and doors are open;
  it never climbs) towards the nearest seen hider, turning one 45 degree step per step towards that
  hider's octant as seen from where its move takes it, so that it keeps looking at it. While no
  hider is seen they search the doors: seeker s walks to door cell (t // SEARCH_STEPS + s) of the
  door list, facing the way it walks, and turns round in the doorway once there. With no door to
  reach (a box fills it) it turns clockwise and steps to a random open cell beside it (or stays).
  During preparation it computes its moves as usual; the engine ignores them.

These baselines read the whole world (fort hiders know where boxes and doors are; seekers share what
any of them sees and know where the doors are), not an agent's observation. `ScriptedAgent` therefore
plays through `bind(env, seat)` on a hide-and-seek env's engine state instead of its observations.

Randomness (random actions, scanning, the rare random step of a blocked hider) comes from a
SplitMix64 state per arena that the caller owns, never from the arenas' own generator, so a policy
never changes the world's random stream.

This module holds the entry points (`scripted_actions`, `play_scripted`) and `ScriptedAgent`; the
policies' numba kernels are in `policies`, and the path and box-move planning they use in `planning`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridworlds.agents.hide_and_seek.policies import (
    HIDER_POLICIES,
    SCRIPTED_CHASE,
    SCRIPTED_FORT,
    SCRIPTED_POLICIES,
    SCRIPTED_RANDOM,
    SCRIPTED_STILL,
    SEEKER_POLICIES,
    _scripted_actions,
)
from gridworlds.agents.simple import UntrainedAgent
from gridworlds.engines import hide_and_seek as engine
from gridworlds.engines.hide_and_seek import Arenas, Scenario
from gridworlds.engines.rng import seed_state
from gridworlds.envs.checks import check_choice, check_positive_int, check_seed

__all__ = [
    "SCRIPTED_RANDOM",
    "SCRIPTED_STILL",
    "SCRIPTED_FORT",
    "SCRIPTED_CHASE",
    "SCRIPTED_POLICIES",
    "HIDER_POLICIES",
    "SEEKER_POLICIES",
    "scripted_actions",
    "play_scripted",
    "ScriptedAgent",
]


def _policy(team: str, policy: Any, choices: tuple[str, ...]) -> int:
    """A policy given by name or by its SCRIPTED_* number, checked against the team's choices."""
    if isinstance(policy, int | np.integer) and not isinstance(policy, bool):
        names = {number: name for name, number in SCRIPTED_POLICIES.items()}
        policy = names.get(int(policy), policy)
    check_choice(team, policy, choices)
    return SCRIPTED_POLICIES[policy]


def scripted_actions(
    arenas: Arenas,
    scenario: Scenario,
    hider_policy: str | int,
    seeker_policy: str | int,
    rng: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Write into `out` (int64 [N, A, 4], allocated if None) and return every agent's action: hiders
    by `hider_policy` (random, still, fort), seekers by `seeker_policy` (random, still, chase), names or
    SCRIPTED_* numbers. `rng` (uint64 [N], one SplitMix64 state per arena, e.g. from `seed_state`)
    is the policies' generator; it is advanced in place."""
    hiders = _policy("hider_policy", hider_policy, HIDER_POLICIES)
    seekers = _policy("seeker_policy", seeker_policy, SEEKER_POLICIES)
    n, a = arenas.agent_pos.shape[:2]
    if a != scenario.agents:
        raise ValueError(f"the arenas hold {a} agents but the scenario has {scenario.agents}")
    if not (isinstance(rng, np.ndarray) and rng.dtype == np.uint64 and rng.shape == (n,)):
        raise ValueError(f"rng must be a uint64 array of shape ({n},), got {getattr(rng, 'shape', rng)!r}")
    if out is None:
        out = np.zeros((n, a, len(engine.ACTION_NVEC)), np.int64)
    elif not (
        isinstance(out, np.ndarray) and out.dtype == np.int64 and out.shape == (n, a, len(engine.ACTION_NVEC))
    ):
        raise ValueError(
            f"out must be an int64 array of shape {(n, a, len(engine.ACTION_NVEC))}, "
            f"got {getattr(out, 'dtype', None)} {getattr(out, 'shape', None)}"
        )
    _scripted_actions(arenas, scenario.rules(), engine.sight_lines(scenario.grid), hiders, seekers, rng, out)
    return out


# ---------------------------------------------------------------------------------------------
# Whole episodes


def play_scripted(
    scenario: Scenario, hiders: str, seekers: str, episodes: int, seed: int, batch: int = 256
) -> dict[str, float]:
    """Play `episodes` whole episodes of `scenario` (batches of `batch` arenas), hiders by policy
    `hiders`, seekers by `seekers`, and return the engine's `episode_stats` averaged over the
    episodes (hider_reward, seeker_reward, box_move_prep, boxes_locked_prep, ramp_move,
    ramps_locked_prep, doors_locked_prep, door_locked_prep, hider_seen_fraction), and episodes.
    Episode e's world and policy generator come from `seed` and e alone, so the numbers do not
    depend on `batch`."""
    scenario.check()
    hider_policy = _policy("hiders", hiders, HIDER_POLICIES)
    seeker_policy = _policy("seekers", seekers, SEEKER_POLICIES)
    episodes = check_positive_int("episodes", episodes)
    batch = check_positive_int("batch", batch)
    seed = check_seed(seed)
    if seed is None:
        raise ValueError("seed must be a non-negative integer, got None")
    draws = np.random.default_rng(seed).integers(0, 2**63, size=(episodes, 2))
    stats: dict[str, list[np.ndarray]] = {name: [] for name in engine.EPISODE_STATS}
    rules, lines = scenario.rules(), engine.sight_lines(scenario.grid)
    for start in range(0, episodes, batch):
        chunk = draws[start : start + batch]
        arenas = engine.new_arenas(scenario, [int(s) for s in chunk[:, 0]])
        rng = np.array([seed_state(int(s)) for s in chunk[:, 1]], np.uint64)
        actions = np.zeros((len(chunk), scenario.agents, len(engine.ACTION_NVEC)), np.int64)
        rewards = np.zeros((len(chunk), scenario.agents), np.float64)
        for _ in range(scenario.horizon):
            _scripted_actions(arenas, rules, lines, hider_policy, seeker_policy, rng, actions)
            engine.step(arenas, scenario, actions, rewards)
        for name, values in engine.episode_stats(arenas, scenario).items():
            stats[name].append(values)
    return {name: float(np.concatenate(values).mean()) for name, values in stats.items()} | {
        "episodes": float(episodes)
    }


# ---------------------------------------------------------------------------------------------
# The agent

_SEAT = re.compile(r"(hider|seeker)_(\d+)")


@dataclass(frozen=True)
class ScriptedConfig:
    hiders: str = "fort"  # the hider seats' policy: one of HIDER_POLICIES
    seekers: str = "chase"  # the seeker seats' policy: one of SEEKER_POLICIES

    def __post_init__(self) -> None:
        check_choice("hiders", self.hiders, HIDER_POLICIES)
        check_choice("seekers", self.seekers, SEEKER_POLICIES)


class ScriptedAgent(UntrainedAgent):
    """Plays one seat of a hide-and-seek env with the scripted policies: `hiders` (random, still,
    fort) when the seat is a hider's, `seekers` (random, still, chase) when it is a seeker's. The
    policies read the whole world, so the agent first needs `bind(env, seat)`: the env (whose engine
    state is `env.arenas`, one arena, and `env.scenario`) and the agent name it plays, e.g. hider_0."""

    name = "scripted"
    Config = ScriptedConfig

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        super().__init__(world_id, seed, **settings)
        self.policy_rng = np.array([seed_state(int(self.rng.integers(0, 2**63)))], np.uint64)
        self.env: Any = None
        self.seat: str | None = None
        self._actions: np.ndarray | None = None

    def bind(self, env: Any, seat: Any = None) -> ScriptedAgent:
        """Play `seat` (hider_<i> or seeker_<i>) of `env` from now on; returns the agent. The seat
        has no default (the policies differ by team): without one, the error names the seats."""
        world = env if hasattr(env, "arenas") else getattr(env, "unwrapped", env)
        if not (hasattr(world, "arenas") and hasattr(world, "scenario")):
            raise ValueError(
                f"bind needs a hide-and-seek env with arenas and scenario, got {type(env).__name__}"
            )
        match = _SEAT.fullmatch(seat) if isinstance(seat, str) else None
        team_size = None
        if match:
            team_size = world.scenario.hiders if match[1] == "hider" else world.scenario.seekers
        if match is None or int(match[2]) >= team_size:
            scenario = world.scenario
            raise ValueError(
                f"seat must be one of hider_0..hider_{scenario.hiders - 1}, "
                f"seeker_0..seeker_{scenario.seekers - 1}, got {seat!r}"
            )
        self.env, self.seat = world, seat
        return self

    def _index(self) -> int:
        team, number = _SEAT.fullmatch(self.seat).groups()  # type: ignore[arg-type, union-attr]
        return int(number) + (self.env.scenario.hiders if team == "seeker" else 0)

    def act(self, observation: Any, info: dict[str, Any]) -> np.ndarray:
        if self.env is None:
            raise RuntimeError(
                "ScriptedAgent reads the whole world: call bind(env, seat) before act, "
                "e.g. agent.bind(env, 'hider_0')"
            )
        arenas, scenario = self.env.arenas, self.env.scenario
        if arenas.agent_pos.shape[0] != 1:
            raise ValueError(f"ScriptedAgent plays an env of one arena, got {arenas.agent_pos.shape[0]}")
        shape = (1, scenario.agents, len(engine.ACTION_NVEC))
        if self._actions is None or self._actions.shape != shape:
            self._actions = np.zeros(shape, np.int64)
        config = self.config
        scripted_actions(arenas, scenario, config.hiders, config.seekers, self.policy_rng, self._actions)
        return self._actions[0, self._index()].copy()

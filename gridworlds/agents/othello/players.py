"""Othello players that need no training: greedy by discs flipped, and alpha-beta search.

They play both Othello worlds: Othello-v0 (the observation is a dict holding "observation") and
OthelloVs-v0 (the observation is the planes array). Plane 0 holds the mover's discs, plane 1 the
opponent's, so one search from the mover's side serves either colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gridworlds.agents.simple import UntrainedAgent
from gridworlds.engines import othello as engine
from gridworlds.engines.rng import seed_state
from gridworlds.envs.checks import check_int_range

_BITS = np.uint64(1) << np.arange(64, dtype=np.uint64)


def observation_to_discs(observation: Any) -> tuple[np.uint64, np.uint64]:
    """(mover's discs, opponent's discs) as bitboards, from either world's observation."""
    planes = np.asarray(observation["observation"] if isinstance(observation, dict) else observation)
    mine, theirs = planes.reshape(2, 64).astype(bool)
    return np.bitwise_or.reduce(_BITS[mine], initial=np.uint64(0)), np.bitwise_or.reduce(
        _BITS[theirs], initial=np.uint64(0)
    )


class _SearchAgent(UntrainedAgent):
    """Passes when it has no square; otherwise asks `choose` for one, with its own engine generator."""

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        super().__init__(world_id, seed, **settings)
        self.engine_rng = seed_state(0 if seed is None else seed)

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        me, opp = observation_to_discs(observation)
        if engine.legal_moves(me, opp) == 0:
            return engine.PASS
        square, self.engine_rng = self.choose(me, opp)
        return int(square)

    def choose(self, me: np.uint64, opp: np.uint64) -> tuple[int, np.uint64]:
        raise NotImplementedError


class GreedyOthello(_SearchAgent):
    """Plays the square that flips the most discs; ties broken at random."""

    name = "greedy"

    def choose(self, me, opp):
        return engine.greedy_move(me, opp, self.engine_rng)


# Each ply multiplies the search by Othello's branching factor, about 10 legal moves (about 7 after
# alpha-beta's pruning): from a midgame position depth 9 takes about 0.4 s a move here and depth 10
# about 3 s; every ply beyond is 7 times slower again, and depth 10**9 would never return.
MAX_DEPTH = 10


@dataclass(frozen=True)
class AlphaBetaConfig:
    depth: int = 4  # plies searched

    def __post_init__(self) -> None:
        check_int_range("depth", self.depth, 1, MAX_DEPTH)


class AlphaBetaOthello(_SearchAgent):
    """Alpha-beta search to `depth` plies over disc-square weights and mobility; ties at random."""

    name = "alphabeta"
    Config = AlphaBetaConfig

    def choose(self, me, opp):
        return engine.alphabeta_move(me, opp, self.config.depth, self.engine_rng)

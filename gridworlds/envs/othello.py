"""Othello as a pettingzoo AEC env (two players) and as a gymnasium env against a built-in opponent."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space
from gymnasium.vector.vector_env import AutoresetMode
from pettingzoo import AECEnv

from gridworlds.engines import othello as engine
from gridworlds.envs.checks import (
    check_choice,
    check_discrete_action,
    check_positive_int,
    check_seed,
    check_vector_actions,
    engine_seed,
    require_reset,
    reset_vector_rngs,
    vector_seeds,
)
from gridworlds.envs.rendering import ViewerRendering

AGENTS = ("black", "white")
OPPONENTS = {"random": engine.RANDOM, "greedy": engine.GREEDY, "alphabeta": engine.ALPHABETA}
ILLEGAL_ACTIONS = ("lose", "error")
COLOURS = ("black", "white", "random")  # indices are the engine's COLOUR_BLACK, _WHITE, _RANDOM
_BITS = np.uint64(1) << np.arange(64, dtype=np.uint64)


def planes(me: int, opp: int) -> np.ndarray:
    """(2, 8, 8) int8: plane 0 the mover's discs, plane 1 the opponent's, square s at (s // 8, s % 8)."""
    return (
        np.stack([(np.uint64(me) & _BITS) != 0, (np.uint64(opp) & _BITS) != 0])
        .astype(np.int8)
        .reshape(2, 8, 8)
    )


def move_mask(me: int, opp: int) -> np.ndarray:
    """int8[65]: the legal squares, or only PASS when the mover has no square."""
    mask = np.zeros(engine.NUM_ACTIONS, dtype=np.int8)
    moves = np.uint64(engine.legal_moves(me, opp))
    if moves:
        mask[:64] = (moves & _BITS) != 0
    else:
        mask[engine.PASS] = 1
    return mask


def square_name(square: int) -> str:
    return "pass" if square == engine.PASS else f"{'abcdefgh'[square % 8]}{square // 8 + 1}"


def _observation_space() -> gym.spaces.Box:
    return gym.spaces.Box(0, 1, shape=(2, 8, 8), dtype=np.int8)


class OthelloEnv(ViewerRendering, AECEnv):
    """Othello for two agents, "black" (moves first) and "white".

    Observation: a dict with "observation", `Box(0, 1, (2, 8, 8), int8)` from the observing agent's
    side (plane 0 its own discs, plane 1 the opponent's; square s = 8 * row + column, a1 = 0 top-left),
    and "action_mask", int8[65], non-zero on the legal actions of the agent to move (all zero for
    the other agent).

    Actions: `Discrete(65)`: a square 0..63, or 64 = pass, which is legal only, and then the only
    legal action, when the agent has no square to play.

    Rewards: at the end, +1 to the player with more discs and -1 to the other; 0 to both on a draw
    and on every other step. The game ends (terminated) when neither player can move: after at
    most 60 moves that fill a square, with at most one pass between two of them.

    An illegal action raises ValueError and leaves the game as it was.
    Arguments: `render_mode` ("ansi", "rgb_array", "human").
    """

    metadata = {"render_modes": ["ansi", "rgb_array", "human"], "name": "othello_v0", "render_fps": 4}
    world_id = "gridworlds/Othello-v0"

    def __init__(self, render_mode: str | None = None):
        super().__init__()
        self.render_mode = check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []  # until reset(): a step before it finds no agent to move
        self.agent_selection: str | None = None  # until reset(): nothing to observe
        self.observation_spaces = {
            agent: gym.spaces.Dict(
                {
                    "observation": _observation_space(),
                    "action_mask": gym.spaces.Box(0, 1, shape=(engine.NUM_ACTIONS,), dtype=np.int8),
                }
            )
            for agent in AGENTS
        }
        self.action_spaces = {agent: gym.spaces.Discrete(engine.NUM_ACTIONS) for agent in AGENTS}
        self.discs = {"black": engine.START_BLACK, "white": engine.START_WHITE}
        self.last_move: int | None = None

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        # Othello has no chance; the seed only seeds the action spaces' samplers.
        if seed is not None:
            for i, agent in enumerate(AGENTS):
                self.action_spaces[agent].seed(seed + i)
        self.agents = list(AGENTS)
        self.discs = {"black": engine.START_BLACK, "white": engine.START_WHITE}
        self.rewards = dict.fromkeys(AGENTS, 0)
        self._cumulative_rewards = dict.fromkeys(AGENTS, 0)
        self.terminations = dict.fromkeys(AGENTS, False)
        self.truncations = dict.fromkeys(AGENTS, False)
        self.infos = {agent: {} for agent in AGENTS}
        self.agent_selection = "black"
        self.last_move = None
        if self.render_mode == "human":
            self.render()

    def _other(self, agent: str) -> str:
        return "white" if agent == "black" else "black"

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        if self.agent_selection is None:
            raise RuntimeError("observe() called before reset(); call reset() first")
        me, opp = self.discs[agent], self.discs[self._other(agent)]
        mask = move_mask(me, opp) if agent == self.agent_selection and agent in self.agents else None
        return {
            "observation": planes(me, opp),
            "action_mask": np.zeros(engine.NUM_ACTIONS, dtype=np.int8) if mask is None else mask,
        }

    def step(self, action) -> None:
        # No agents: before reset(), or both finished players have taken their None step.
        require_reset(not self.agents)
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        action = check_discrete_action(action, engine.NUM_ACTIONS)
        other = self._other(agent)
        me, opp = self.discs[agent], self.discs[other]
        if not move_mask(me, opp)[action]:
            raise ValueError(f"{agent} cannot play {square_name(action)} ({action}) here")
        opp, me, over = engine.step(me, opp, action)
        self.discs[agent], self.discs[other] = me, opp
        self.last_move = action
        self._cumulative_rewards[agent] = 0
        self.rewards = dict.fromkeys(AGENTS, 0)
        if over:
            diff = engine.disc_difference(self.discs["black"], self.discs["white"])
            self.rewards = {"black": int(np.sign(diff)), "white": -int(np.sign(diff))}
            self.terminations = dict.fromkeys(AGENTS, True)
        self.agent_selection = other
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    def render_state(self) -> dict[str, Any]:
        black, white = self.discs["black"], self.discs["white"]
        mover = self.agent_selection
        me, opp = self.discs[mover], self.discs[self._other(mover)]
        return {
            "black": int(black),
            "white": int(white),
            "to_move": mover,
            "legal": int(engine.legal_moves(me, opp)),
            "last_move": self.last_move,
            "game_over": bool(engine.game_over(black, white)),
        }


class OthelloVsEnv(ViewerRendering, gym.Env):
    """Othello against a built-in opponent, for single-agent learners.

    Observation: `Box(0, 1, (2, 8, 8), int8)`, plane 0 the agent's discs, plane 1 the opponent's
    (square s = 8 * row + column, a1 = 0 at the top-left).

    Actions: `Discrete(65)`: a square 0..63 (64, pass, exists for parity with Othello-v0 but is never
    legal here: when the agent has no move the opponent plays on until it has one or the game ends).
    An illegal action loses: the game ends with reward -1 and the board as it was, and
    `info["illegal"]` is True (as pettingzoo's classic games do); with `illegal_action="error"` it
    raises ValueError instead and leaves the game as it was.

    Reward: at the end, +1 for a win, -1 for a loss, 0 for a draw; 0 on every other step.
    Episode end: terminated when neither player can move, so after at most 60 of the agent's moves
    (each fills a square).

    Info: `action_mask` (bool[65]), `discs` (agent, opponent), `opponent_move` (its last square, -1
    if none), `illegal`, `outcome` (NaN while the game goes on, then +1 win, 0 draw, -1 loss or
    illegal move). `action_masks()` for MaskablePPO.

    Arguments: `opponent` ("random", "greedy" by discs flipped, "alphabeta"), `depth` (alpha-beta
    plies), `agent_colour` ("black" moves first, "white", or "random" each game), `illegal_action`
    ("lose" or "error"), `render_mode`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 4}
    world_id = "gridworlds/OthelloVs-v0"

    def __init__(
        self,
        opponent: str = "random",
        depth: int = 4,
        agent_colour: str = "black",
        illegal_action: str = "lose",
        render_mode: str | None = None,
    ):
        self.opponent = check_choice("opponent", opponent, tuple(OPPONENTS))
        self.depth = check_positive_int("depth", depth)
        self.agent_colour = check_choice("agent_colour", agent_colour, COLOURS)
        self.illegal_action = check_choice("illegal_action", illegal_action, ILLEGAL_ACTIONS)
        self.render_mode = check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.observation_space = _observation_space()
        self.action_space = gym.spaces.Discrete(engine.NUM_ACTIONS)
        self.me = self.opp = np.uint64(0)
        self.rng = np.uint64(0)
        self.colour = "black"
        self.last_move: int | None = None
        self.opponent_last = -1
        self.over = True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=check_seed(seed))
        self.rng = engine_seed(seed, self.rng, self.np_random)
        self.me, self.opp, self.rng, white, self.opponent_last = engine.vs_new_game(
            self.rng, COLOURS.index(self.agent_colour), OPPONENTS[self.opponent], self.depth
        )
        self.colour = "white" if white else "black"
        self.last_move = None
        self.over = False
        if self.render_mode == "human":
            self.render()
        return planes(self.me, self.opp), self._info()

    def step(self, action):
        require_reset(self.over)
        action = check_discrete_action(action, engine.NUM_ACTIONS)
        if not self._mask()[action]:
            if self.illegal_action == "error":
                raise ValueError(f"the agent cannot play {square_name(action)} ({action}) here")
            self.over, self.opponent_last, reward, illegal = True, -1, -1, True
        else:
            self.me, self.opp, self.rng, self.over, reward, self.opponent_last = engine.vs_step(
                self.me, self.opp, self.rng, action, OPPONENTS[self.opponent], self.depth
            )
            self.last_move, illegal = action, False
        if self.render_mode == "human":
            self.render()
        return planes(self.me, self.opp), float(reward), self.over, False, self._info(illegal)

    def _mask(self) -> np.ndarray:
        mask = np.zeros(engine.NUM_ACTIONS, dtype=bool)
        mask[:64] = (np.uint64(engine.legal_moves(self.me, self.opp)) & _BITS) != 0
        return mask

    def action_masks(self) -> np.ndarray:
        return self._mask()

    def _info(self, illegal: bool = False) -> dict[str, Any]:
        # The result once the game is over: -1 for an illegal move, else the sign of the disc lead;
        # NaN while it goes on (a float either way, so vector envs can stack it).
        outcome = np.nan
        if illegal:
            outcome = -1.0
        elif self.over:
            outcome = float(np.sign(engine.disc_difference(self.me, self.opp)))
        return {
            "action_mask": self._mask(),
            "discs": (engine.popcount(self.me), engine.popcount(self.opp)),
            "opponent_move": self.opponent_last,
            "illegal": illegal,
            "outcome": outcome,
        }

    def render_state(self) -> dict[str, Any]:
        black, white = (self.me, self.opp) if self.colour == "black" else (self.opp, self.me)
        over = bool(engine.game_over(self.me, self.opp))
        return {
            "black": int(black),
            "white": int(white),
            "to_move": self.colour,
            "legal": 0 if over else int(engine.legal_moves(self.me, self.opp)),
            "last_move": self.last_move if self.opponent_last < 0 else self.opponent_last,
            "game_over": over,
        }


class OthelloVsVectorEnv(gym.vector.VectorEnv):
    """`num_envs` OthelloVs games stepped in one numba call; each behaves exactly as OthelloVsEnv.

    Autoreset: next-step. The step after a game ends starts a new one (its action is ignored) and
    returns the first observation with reward 0. `reset(seed=s)` seeds game i with s + i.
    An illegal action loses that game, as in OthelloVsEnv (with illegal_action="error", any illegal
    action raises ValueError and nothing is stepped).
    Info holds `action_mask` (num_envs, 65), `opponent_move` and `illegal`.
    Arguments: those of OthelloVsEnv plus `num_envs`.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        opponent: str = "random",
        depth: int = 4,
        agent_colour: str = "black",
        illegal_action: str = "lose",
    ):
        self.num_envs = check_positive_int("num_envs", num_envs)
        self.opponent = check_choice("opponent", opponent, tuple(OPPONENTS))
        self.depth = check_positive_int("depth", depth)
        self.agent_colour = check_choice("agent_colour", agent_colour, COLOURS)
        self.illegal_action = check_choice("illegal_action", illegal_action, ILLEGAL_ACTIONS)
        self.single_observation_space = _observation_space()
        self.single_action_space = gym.spaces.Discrete(engine.NUM_ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self.me = np.zeros(n, dtype=np.uint64)
        self.opp = np.zeros(n, dtype=np.uint64)
        self.rngs = np.zeros(n, dtype=np.uint64)
        self.white = np.zeros(n, dtype=bool)
        self.opponent_last = np.full(n, -1, dtype=np.int64)
        self.needs_reset = np.zeros(n, dtype=bool)
        self.started = False

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        seeds = vector_seeds(seed, self.num_envs)
        super().reset(seed=None if seeds is None else seeds[0])
        reset_vector_rngs(self.rngs, seed, self.np_random)
        nothing = np.zeros(self.num_envs, dtype=bool)
        self._step(np.zeros(self.num_envs, dtype=np.int64), ~nothing, nothing)
        self.needs_reset[:] = False
        self.started = True
        return self._observe(), self._info(nothing)

    def step(self, actions):
        require_reset(not self.started)
        actions = check_vector_actions(actions, self.num_envs, engine.NUM_ACTIONS)
        restart = self.needs_reset.copy()
        illegal = ~restart & ~self._masks()[np.arange(self.num_envs), actions]
        if self.illegal_action == "error" and illegal.any():
            bad = np.flatnonzero(illegal)
            raise ValueError(f"illegal actions {actions[bad].tolist()} in games {bad.tolist()}")
        rewards, over = self._step(actions, restart, illegal)
        self.needs_reset = over
        truncated = np.zeros(self.num_envs, dtype=bool)
        return self._observe(), rewards.astype(np.float64), over, truncated, self._info(illegal)

    def _step(
        self, actions: np.ndarray, restart: np.ndarray, illegal: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        rewards = np.zeros(self.num_envs, dtype=np.int64)
        over = np.zeros(self.num_envs, dtype=bool)
        engine.vs_step_batch(
            self.me, self.opp, self.rngs, self.white, actions.astype(np.int64), restart, illegal,
            COLOURS.index(self.agent_colour), OPPONENTS[self.opponent], self.depth,
            rewards, over, self.opponent_last,
        )  # fmt: skip
        return rewards, over

    def _masks(self) -> np.ndarray:
        masks = np.zeros((self.num_envs, engine.NUM_ACTIONS), dtype=bool)
        engine.legal_masks(self.me, self.opp, masks[:, :64])
        return masks

    def _observe(self) -> np.ndarray:
        mine = (self.me[:, None] & _BITS) != 0
        theirs = (self.opp[:, None] & _BITS) != 0
        return np.stack([mine, theirs], axis=1).astype(np.int8).reshape(self.num_envs, 2, 8, 8)

    def _info(self, illegal: np.ndarray) -> dict[str, Any]:
        return {"action_mask": self._masks(), "opponent_move": self.opponent_last.copy(), "illegal": illegal}


def episode_metrics(info: dict[str, Any]) -> dict[str, float]:
    """What an evaluation records of one OthelloVs game, from its last info: a game cut off before
    its end counts as neither won nor drawn."""
    mine, theirs = info["discs"]
    outcome = info["outcome"]
    return {"win": float(outcome == 1), "draw": float(outcome == 0), "disc_difference": float(mine - theirs)}

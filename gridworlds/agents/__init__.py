"""The table of agent names, and how a name or a checkpoint becomes an agent.

Every agent, trained or not, answers the same calls (`base.Agent`):

    act(observation, info) -> action          # info may carry "action_mask"
    learn(env_or_data, budget, callback) -> dict[str, float]
    bind(env, seat=None) -> agent              # before playing in env; most agents need nothing
    save(path, progress=None) -> None          # path is a directory, written atomically
    Agent.load(path) -> Agent

Agents are built with `make_agent(name, world_id, seed=..., **params)`, rebuilt from a checkpoint
directory with `load_agent(path)` (which reads the agent's name from the checkpoint), and
`player(name_or_checkpoint, world_id, seed)` does whichever of the two a command line asks for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gridworlds.agents.base import (
    MANIFEST,
    RENAMED_SETTINGS,
    Agent,
    AgentBase,
    Callback,
    CheckpointReader,
    CheckpointWriter,
    check_setting_names,
    open_checkpoint,
    read_manifest,
)
from gridworlds.extras import require
from gridworlds.registry import VOXEL_TASKS, load

__all__ = [
    "AGENTS",
    "MANIFEST",
    "RENAMED_SETTINGS",
    "Agent",
    "AgentBase",
    "Callback",
    "CheckpointReader",
    "CheckpointWriter",
    "agent_class",
    "check_setting_names",
    "load_agent",
    "make_agent",
    "names_checkpoint",
    "player",
    "open_checkpoint",
    "read_manifest",
    "reporting",
]

# name -> {world id or "*": "module:Class"}. "*" serves every world without an entry of its own.
AGENTS: dict[str, dict[str, str]] = {
    "random": {"*": "gridworlds.agents.simple:RandomAgent"},
    "greedy": {
        "gridworlds/2048-v0": "gridworlds.agents.game2048.greedy:Greedy2048",
        "gridworlds/Othello-v0": "gridworlds.agents.othello.players:GreedyOthello",
        "gridworlds/OthelloVs-v0": "gridworlds.agents.othello.players:GreedyOthello",
    },
    "alphabeta": {
        "gridworlds/Othello-v0": "gridworlds.agents.othello.players:AlphaBetaOthello",
        "gridworlds/OthelloVs-v0": "gridworlds.agents.othello.players:AlphaBetaOthello",
    },
    "othello-gpt": {"gridworlds/OthelloVs-v0": "gridworlds.agents.othello.gpt:OthelloGPTAgent"},
    "ca-rule": {
        "gridworlds/TouchingLoops-v0": "gridworlds.agents.touching_loops.ca_rule:CARule",
        "gridworlds/TouchingLoopsCA-v0": "gridworlds.agents.touching_loops.ca_rule:CARule",
    },
    "sb3": {"*": "gridworlds.agents.sb3:SB3Agent"},
    "ntuple": {"gridworlds/2048-v0": "gridworlds.agents.game2048.ntuple:NTupleAgent"},
    "expectimax": {"gridworlds/2048-v0": "gridworlds.agents.game2048.ntuple:ExpectimaxAgent"},
    "sb3-selfplay": {
        "gridworlds/HideAndSeek-v0": "gridworlds.agents.hide_and_seek.sb3_selfplay:SuperSuitPPO",
        "gridworlds/HideAndSeekQuadrant-v0": "gridworlds.agents.hide_and_seek.sb3_selfplay:SuperSuitPPO",
    },
    "selfplay-ppo": {
        "gridworlds/HideAndSeek-v0": "gridworlds.agents.hide_and_seek.selfplay_ppo:SelfPlayPPO",
        "gridworlds/HideAndSeekQuadrant-v0": "gridworlds.agents.hide_and_seek.selfplay_ppo:SelfPlayPPO",
    },
    "rllib-ppo": {
        "gridworlds/HideAndSeek-v0": "gridworlds.agents.hide_and_seek.rllib:RLlibPPO",
        "gridworlds/HideAndSeekQuadrant-v0": "gridworlds.agents.hide_and_seek.rllib:RLlibPPO",
    },
    "shared-ppo": {f"gridworlds/{task}": "gridworlds.agents.voxels.policy:SharedPPO" for task in VOXEL_TASKS},
    "scripted": {
        "gridworlds/HideAndSeek-v0": "gridworlds.agents.hide_and_seek.scripted:ScriptedAgent",
        "gridworlds/HideAndSeekQuadrant-v0": "gridworlds.agents.hide_and_seek.scripted:ScriptedAgent",
    },
}


def agent_class(name: str, world_id: str) -> type:
    if name not in AGENTS:
        raise ValueError(f"unknown agent name {name!r}; known names: {', '.join(sorted(AGENTS))}")
    by_world = AGENTS[name]
    target = by_world.get(world_id, by_world.get("*"))
    if target is None:
        raise ValueError(
            f"agent {name!r} does not play {world_id!r}; it plays: {', '.join(sorted(by_world))}"
        )
    return load(target)


def make_agent(name: str, world_id: str, seed: int | None = None, **params: Any) -> Agent:
    """Build a registered agent for a world. Unknown parameters raise a ValueError naming them."""
    cls = agent_class(name, world_id)
    try:
        cls.check_params(params)
    except ValueError as error:
        raise ValueError(f"agent {name!r}: bad parameters {sorted(params)}: {error}") from None
    return cls(world_id=world_id, seed=seed, **params)


def load_agent(path: str | Path, tensorboard: str | None = None) -> Agent:
    """Rebuild whatever agent saved the checkpoint directory at `path`; a learner given a
    `tensorboard` directory writes its training scalars there (checkpoints keep none)."""
    manifest = open_checkpoint(path).manifest
    return agent_class(manifest["name"], manifest["world_id"]).load(path, tensorboard=tensorboard)


def names_checkpoint(spec: str | os.PathLike) -> bool:
    """Whether an agent spec of a command line names a checkpoint (anything on disk) or an agent."""
    return Path(spec).exists()


def player(spec: str | os.PathLike, world_id: str, seed: int | None = None) -> tuple[Agent, dict[str, Any]]:
    """(agent, world arguments) for `spec`, a registered agent name or a checkpoint directory: a new
    agent with no arguments for the world, or the checkpoint's agent with the world's arguments it
    learned with (e.g. onehot observations), so that it plays the world as it learned it."""
    if not names_checkpoint(spec):
        if "/" in str(spec) or os.sep in str(spec):
            raise ValueError(f"{spec} is not a checkpoint directory")
        return make_agent(str(spec), world_id, seed=seed), {}
    agent = load_agent(spec)
    if agent.world_id != world_id:
        raise ValueError(f"checkpoint {spec} holds an agent for {agent.world_id}, not for {world_id}")
    return agent, dict(agent.env_kwargs)


@contextmanager
def reporting(tensorboard: str | None, callback: Callback | None) -> Iterator[Callable[[int, dict], bool]]:
    """A learner's report function for the length of the block: report(step, metrics) writes the
    metrics to TensorBoard under `tensorboard` (torch imported only then), passes them to the
    callback, and returns False when the callback asks to stop."""
    writer = None
    if tensorboard is not None:
        tensorboard_module = require("torch.utils.tensorboard", needed_by="tensorboard=DIR")
        writer = tensorboard_module.SummaryWriter(tensorboard)

    def report(step: int, metrics: dict[str, float]) -> bool:
        if writer is not None:
            for name, value in metrics.items():
                writer.add_scalar(name, value, step)
        return callback is None or callback(step, metrics) is not False

    try:
        yield report
    finally:
        if writer is not None:
            writer.close()

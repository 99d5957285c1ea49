"""The agent interface and the table of agent names.

Every agent, trained or not, answers the same four calls:

    act(observation, info) -> action          # info may carry "action_mask"
    learn(env_or_data, budget, callback) -> dict[str, float]
    save(path) -> None                         # path is a directory, written atomically
    Agent.load(path) -> Agent

A checkpoint directory holds `agent.json` (the agent's name, world, parameters, and the arguments
of the world it learned on) beside the agent's own files, so `load_agent(path)` rebuilds any agent
without being told its class, and viewers and evaluations play the world it was trained for.
Agents are built with `make_agent(name, world_id, seed=..., **params)`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gridworlds import atomic
from gridworlds.registry import VOXEL_TASKS, load

# Called by learners at their natural reporting points with the environment steps done so far and
# the latest training metrics. Returning False asks the learner to stop early.
Callback = Callable[[int, dict[str, float]], bool | None]


@runtime_checkable
class Agent(Protocol):
    name: str
    world_id: str

    def act(self, observation: Any, info: dict[str, Any]) -> Any: ...

    def learn(self, env_or_data: Any, budget: int, callback: Callback | None = None) -> dict[str, float]: ...

    def save(self, path: str | Path) -> None: ...

    @classmethod
    def load(cls, path: str | Path) -> Agent: ...


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

MANIFEST = "agent.json"


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
        inspect.signature(cls).bind(world_id=world_id, seed=seed, **params)
    except TypeError as error:
        raise ValueError(f"agent {name!r}: bad parameters {sorted(params)}: {error}") from None
    return cls(world_id=world_id, seed=seed, **params)


def load_agent(path: str | Path) -> Agent:
    """Rebuild whatever agent saved the checkpoint directory at `path`."""
    atomic.recover_directory(path)
    manifest = read_manifest(path)
    return agent_class(manifest["name"], manifest["world_id"]).load(path)


def write_manifest(
    directory: Path, name: str, world_id: str, params: dict[str, Any], env: dict[str, Any] | None = None
) -> None:
    """Describe a checkpoint: `env` holds the world's arguments that the agent learned with (arrays,
    such as a voxel robot's body, are written as nested lists)."""
    manifest = {"name": name, "world_id": world_id, "params": params, "env": env or {}}
    (Path(directory) / MANIFEST).write_text(json.dumps(manifest, indent=2, default=_as_list))


def _as_list(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"a checkpoint cannot record {type(value).__name__} values")


def read_manifest(path: str | Path) -> dict[str, Any]:
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise ValueError(f"{path} is not an agent checkpoint: it has no {MANIFEST}")
    manifest = json.loads(file.read_text())
    for key in ("name", "world_id", "params", "env"):
        if key not in manifest:
            raise ValueError(f"{file}: missing field {key!r}")
    return manifest


@contextmanager
def reporting(tensorboard: str | None, callback: Callback | None) -> Iterator[Callable[[int, dict], bool]]:
    """A learner's report function for the length of the block: report(step, metrics) writes the
    metrics to TensorBoard under `tensorboard` (torch imported only then), passes them to the
    callback, and returns False when the callback asks to stop."""
    writer = None
    if tensorboard is not None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(tensorboard)

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

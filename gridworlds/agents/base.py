"""What every agent shares: the interface, the base class, checkpoints, and the names of settings.

An agent keeps its settings (every constructor argument besides the world and the seed) in one
frozen dataclass, its `Config`, as CleanRL keeps its `Args`; `params()` is that dataclass with the
seed, and is what a checkpoint's manifest records, so that `Agent.load` rebuilds the agent with the
same arguments. A checkpoint directory holds `agent.json` (the agent's name, world, parameters, and
the arguments of the world it learned on) beside the agent's own files.

Learners here share one name for each setting they share, stable-baselines3's: `learning_rate`,
`ent_coef`, `n_epochs`, `batch_size`, `gamma`, `gae_lambda`, `clip_range`. The old names are refused
with the new one (`check_setting_names`), wherever an experiment file or a caller passes settings.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from gridworlds import atomic

# Called by learners at their natural reporting points with the environment steps done so far and
# the latest training metrics. Returning False asks the learner to stop early.
Callback = Callable[[int, dict[str, float]], bool | None]

MANIFEST = "agent.json"

# old name -> the name every learner now uses for that setting
RENAMED_SETTINGS = {
    "lr": "learning_rate",
    "entropy": "ent_coef",
    "entropy_coeff": "ent_coef",
    "epochs": "n_epochs",
    "num_epochs": "n_epochs",
    "clip": "clip_range",
}


@runtime_checkable
class Agent(Protocol):
    name: str
    world_id: str
    env_kwargs: dict[str, Any]  # the world's arguments it learned with; a checkpoint keeps them
    # True for an agent that plays whole episodes in the world's engine, `play_episodes(seeds)`,
    # which evaluations then call instead of stepping an env per move.
    plays_in_engine: bool
    budget_unit: str  # what its training budget counts: "step" (env steps), or e.g. "game"

    def act(self, observation: Any, info: dict[str, Any]) -> Any: ...

    def learn(self, env_or_data: Any, budget: int, callback: Callback | None = None) -> dict[str, float]: ...

    def bind(self, env: Any, seat: Any = None) -> Agent: ...

    def save(self, path: str | Path) -> None: ...

    @classmethod
    def load(cls, path: str | Path) -> Agent: ...


@dataclasses.dataclass(frozen=True)
class NoSettings:
    """The Config of an agent whose only parameter is its seed."""


class AgentBase:
    """The defaults of the interface: settings in `Config`, `params()` from them, `bind` that does
    nothing, and the one way a checkpoint is loaded (`load`, with `restore` for the agent's own files).

    A subclass that takes its settings as keyword arguments calls `super().__init__(world_id, seed,
    **settings)`, which checks their names and keeps them as `self.config`."""

    name: ClassVar[str]
    Config: ClassVar[type] = NoSettings
    plays_in_engine: ClassVar[bool] = False
    budget_unit: ClassVar[str] = "step"  # what a training budget counts (n-tuple learners: games)

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        unknown = sorted(set(settings) - set(setting_names(self.Config)))
        if unknown:
            raise ValueError(
                f"unknown parameters {unknown}; the {self.name} parameters are {setting_names(self.Config)}"
            )
        self.world_id = world_id
        self.seed = seed
        self.config = self.Config(**settings)
        self.env_kwargs: dict[str, Any] = {}  # the world's arguments it plays with, kept in checkpoints

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """A ValueError naming the parameters the constructor does not take, or the required ones
        missing, before anything is built (an experiment file is checked so when it loads)."""
        check_setting_names(params)
        signature = inspect.signature(cls)
        takes_settings = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        named = {
            name: p
            for name, p in signature.parameters.items()
            if p.kind is not p.VAR_KEYWORD and name not in ("world_id", "seed")
        }
        settings = dataclasses.fields(cls.Config) if takes_settings else ()
        known = [*named, *(f.name for f in settings)]
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"unknown parameters {unknown}; the {cls.name} parameters are {known}")
        required = [name for name, p in named.items() if p.default is p.empty]
        required += [f.name for f in settings if _required(f)]
        missing = [name for name in required if name not in params]
        if missing:
            raise ValueError(f"missing parameters {missing}; the {cls.name} parameters are {known}")

    def params(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this agent: its seed and its Config."""
        return {"seed": self.seed, **dataclasses.asdict(self.config)}

    def bind(self, env: Any, seat: Any = None) -> AgentBase:
        """Play in `env` (on `seat` of a multi-agent world) from now on; returns the agent. Agents
        that read the world itself, not only their observation, override it; the rest need nothing."""
        return self

    @classmethod
    def load(cls, path: str | Path) -> AgentBase:
        """The agent saved in the checkpoint directory `path`: built from its manifest's parameters,
        then given its own files by `restore`."""
        path = Path(path)
        manifest = open_checkpoint(path)
        agent = cls(world_id=manifest["world_id"], **cls.loading_params(manifest["params"]))
        agent.env_kwargs = manifest["env"]
        agent.restore(path)
        return agent

    @classmethod
    def loading_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """The saved parameters as this machine can use them (a saved GPU, say, may be missing)."""
        return params

    def restore(self, directory: Path) -> None:
        """Read what `save` wrote beside the manifest (weights, counters); nothing by default."""


def _required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def setting_names(config: type) -> list[str]:
    return [field.name for field in dataclasses.fields(config)]


def check_setting_names(names: Iterable[str], prefix: str = "") -> None:
    """A ValueError for the first of `names` that is an old name of a setting, naming the new one;
    `prefix` is the field path shown before each name (e.g. "agents.0.params.")."""
    for name in names:
        if name in RENAMED_SETTINGS:
            new = RENAMED_SETTINGS[name]
            raise ValueError(f"{prefix}{name} was renamed {new}: did you mean {prefix}{new}?")


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


def open_checkpoint(path: str | Path) -> dict[str, Any]:
    """The manifest of the checkpoint directory `path`, once a replacement that a crash left half
    done is finished (see atomic.directory)."""
    atomic.recover_directory(path)
    return read_manifest(path)

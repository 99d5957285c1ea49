"""What every agent shares: the interface, the base class, checkpoints, and the names of settings.

An agent keeps its settings (every constructor argument besides the world and the seed) in one
frozen dataclass, its `Config`, as CleanRL keeps its `Args`; `params()` is that dataclass with the
seed, and is what a checkpoint's manifest records, so that `Agent.load` rebuilds the agent with the
same arguments. A Config checks each value's type and range when it is built (its `__post_init__`),
so that the one check runs when an experiment file loads (`check_params`) and when the agent is
built; counts that allocate or search are bounded, so that a typo cannot hang or exhaust memory.

Checkpoints are data. A checkpoint directory holds `agent.json`, the manifest (the agent's name,
world, parameters, the arguments of the world it learned on, the SHA-256 of each of its files, and
what a run had done when it saved), beside the agent's own files: numpy arrays as `.npy` (read
with allow_pickle=False), torch tensors as safetensors (a state dict or an optimiser's state, the
layout of its tree kept as JSON in the file's metadata), and JSON. None of these formats can carry
code, and nothing is ever unpickled. Every agent saves through `AgentBase.save` (its `store` hook
writes its files through a `CheckpointWriter`, which hashes them) and loads through
`AgentBase.load` (its `restore` hook reads them through a `CheckpointReader`, which checks each
hash before parsing), so no agent can forget the hashes. A damaged checkpoint (a file changed,
cut short or missing, a manifest that is not JSON or lacks a field, NaN in an array) is a
ValueError naming the file; files the manifest does not list are never read.

Learners here share one name for each setting they share, stable-baselines3's: `learning_rate`,
`ent_coef`, `n_epochs`, `batch_size`, `gamma`, `gae_lambda`, `clip_range`. The old names are refused
with the new one (`check_setting_names`), wherever an experiment file or a caller passes settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from gridworlds import atomic
from gridworlds.extras import require

# Called by learners at their natural reporting points with the environment steps done so far and
# the latest training metrics. Returning False asks the learner to stop early.
Callback = Callable[[int, dict[str, float]], bool | None]

MANIFEST = "agent.json"
# field -> the type it must have in a manifest; "progress" is optional (only runs write it)
MANIFEST_FIELDS = {"name": str, "world_id": str, "params": dict, "env": dict, "files": dict}
TREE_METADATA = "tree"  # where a safetensors file of this project keeps the layout of its tree
_SHA256 = re.compile(r"[0-9a-f]{64}")

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

    def save(self, path: str | Path, progress: dict[str, Any] | None = None) -> None: ...

    @classmethod
    def load(cls, path: str | Path, tensorboard: str | None = None) -> Agent: ...


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
    def check_params(cls, params: dict[str, Any], prefix: str = "") -> None:
        """A ValueError naming the parameters the constructor does not take, the required ones
        missing, or the first value out of its range, before anything is built (an experiment file
        is checked so when it loads). Values are checked by building the Config, whose checks (its
        `__post_init__`, which the constructor runs too) raise errors that begin with the field's
        name; `prefix` goes before that name (e.g. "agents.0.params.")."""
        check_setting_names(params, prefix)
        signature = inspect.signature(cls)
        takes_settings = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        named = {
            name: p
            for name, p in signature.parameters.items()
            if p.kind is not p.VAR_KEYWORD and name not in ("world_id", "seed")
        }
        settings = dataclasses.fields(cls.Config) if takes_settings else ()
        known = [*named, *(f.name for f in settings)]
        where = table_of(prefix)
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"{where}unknown parameters {unknown}; the {cls.name} parameters are {known}")
        required = [name for name, p in named.items() if p.default is p.empty]
        required += [f.name for f in settings if _required(f)]
        missing = [name for name in required if name not in params]
        if missing:
            raise ValueError(f"{where}missing parameters {missing}; the {cls.name} parameters are {known}")
        try:
            cls.Config(**{f.name: params[f.name] for f in settings if f.name in params})
        except ValueError as error:
            raise ValueError(f"{prefix}{error}") from None

    def params(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this agent: its seed and its Config, less a learner's
        `tensorboard` directory, which says where one session writes, not what the agent is: a
        loaded agent writes no TensorBoard until it is given a directory (`load`'s argument)."""
        params = {"seed": self.seed, **dataclasses.asdict(self.config)}
        params.pop("tensorboard", None)
        return params

    def bind(self, env: Any, seat: Any = None) -> AgentBase:
        """Play in `env` (on `seat` of a multi-agent world) from now on; returns the agent. Agents
        that read the world itself, not only their observation, override it; the rest need nothing."""
        return self

    def save(self, path: str | Path, progress: dict[str, Any] | None = None) -> None:
        """Write the checkpoint directory `path` atomically: the agent's own files (`store`) and the
        manifest listing them with their SHA-256. `progress` (what a run had done: steps, training
        time, training metrics) goes into the manifest, so that it is committed by the same rename
        as the weights it describes."""
        with atomic.directory(path) as tmp:
            files = CheckpointWriter(tmp)
            self.store(files)
            manifest = {
                "name": self.name,
                "world_id": self.world_id,
                "params": self.params(),
                "env": self.checkpoint_env(),
                "files": files.hashes,
            }
            if progress is not None:
                manifest["progress"] = progress
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=_as_list))

    def store(self, files: CheckpointWriter) -> None:
        """Write the agent's own files (weights, counters) through `files`; nothing by default."""

    def checkpoint_env(self) -> dict[str, Any]:
        """The world's arguments that a checkpoint records, which eval and view play it with."""
        return self.env_kwargs

    @classmethod
    def load(cls, path: str | Path, tensorboard: str | None = None) -> AgentBase:
        """The agent saved in the checkpoint directory `path`: built from its manifest's parameters
        (and, for a learner, the `tensorboard` directory it is to write to from now on, which no
        checkpoint keeps), then given its own files by `restore`."""
        checkpoint = open_checkpoint(path)
        manifest = checkpoint.manifest
        params = cls.loading_params(manifest["params"])
        if tensorboard is not None:
            params = {**params, "tensorboard": tensorboard}
        try:
            agent = cls(world_id=manifest["world_id"], **params)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"{checkpoint.manifest_file}: its params do not build the {cls.name} agent it names: {error}"
            ) from error
        agent.env_kwargs = manifest["env"]
        try:
            agent.restore(checkpoint)
        except (KeyError, IndexError, TypeError, OverflowError, RuntimeError) as error:
            # Files that are whole and parse, but do not hold what this agent saves.
            raise ValueError(
                f"{checkpoint.directory}: its files do not fit the {cls.name} agent it names: {error!r}"
            ) from error
        return agent

    @classmethod
    def loading_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """The saved parameters as this machine can use them (a saved GPU, say, may be missing)."""
        return params

    def restore(self, checkpoint: CheckpointReader) -> None:
        """Read what `store` wrote (weights, counters) through `checkpoint`; nothing by default."""


def _required(field: dataclasses.Field) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def table_of(prefix: str) -> str:
    """Where the errors about a table's names point: "agents.0.params: " for the field prefix
    "agents.0.params." of its settings, nothing without one."""
    return f"{prefix.removesuffix('.')}: " if prefix else ""


def setting_names(config: type) -> list[str]:
    return [field.name for field in dataclasses.fields(config)]


def check_setting_names(names: Iterable[str], prefix: str = "") -> None:
    """A ValueError for the first of `names` that is an old name of a setting, naming the new one;
    `prefix` is the field path shown before each name (e.g. "agents.0.params.")."""
    for name in names:
        if name in RENAMED_SETTINGS:
            new = RENAMED_SETTINGS[name]
            raise ValueError(f"{prefix}{name} was renamed {new}: did you mean {prefix}{new}?")


def _as_list(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars (a voxel robot's body, say)
        return value.tolist()
    raise TypeError(f"a checkpoint cannot record {type(value).__name__} values")


class CheckpointWriter:
    """The files of a checkpoint being written, in formats that cannot carry code; each file's
    SHA-256 is kept in `hashes` for the manifest."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.hashes: dict[str, str] = {}

    def array(self, name: str, array: np.ndarray) -> None:
        """A numpy array as .npy; object arrays, which only a pickle can hold, are refused."""
        np.save(self._new(name), np.asarray(array), allow_pickle=False)
        self._hash(name)

    def tensors(self, name: str, tree: Any) -> None:
        """A tree of torch tensors as safetensors: nested dicts (string or integer keys), lists and
        tuples of tensors, numbers, strings and None, such as a module's or an optimiser's
        state_dict; the tree's layout goes into the file's metadata as JSON."""
        save = require("safetensors.torch", needed_by="a checkpoint of torch tensors").save
        tensors: dict[tuple, tuple[str, Any]] = {}  # where a tensor lies -> (its key, a CPU copy)
        layout = _tree_layout(tree, tensors)
        data = save(dict(tensors.values()), metadata={TREE_METADATA: json.dumps(layout)})
        self._new(name).write_bytes(data)
        self._hash(name)

    def json(self, name: str, value: Any) -> None:
        self._new(name).write_text(json.dumps(value, indent=2, default=_as_list))
        self._hash(name)

    def _new(self, name: str) -> Path:
        if not _plain_file_name(name) or name == MANIFEST or name in self.hashes:
            raise ValueError(f"a checkpoint file needs a new plain name, not {name!r}")
        return self.directory / name

    def _hash(self, name: str) -> None:
        with (self.directory / name).open("rb") as file:
            self.hashes[name] = _sha256(file)


class CheckpointReader:
    """The manifest of a checkpoint directory, and its files read as the formats `CheckpointWriter`
    writes, each checked against its SHA-256 before it is parsed. Every problem is a ValueError
    naming the file."""

    def __init__(self, directory: Path, manifest: dict[str, Any]):
        self.directory = directory
        self.manifest = manifest
        self.manifest_file = directory / MANIFEST

    def has(self, name: str) -> bool:
        return name in self.manifest["files"]

    def array(
        self, name: str, dtype: np.dtype | type | None = None, shape: tuple[int, ...] | None = None
    ) -> np.ndarray:
        """An .npy array, read once into its own memory; a ValueError if it is not of `dtype` and
        `shape` (when given), or holds NaN or infinity (a damaged or diverged table)."""
        with self._open(name) as file:
            try:  # the .npy reader itself: np.load would also open a zip (an .npz, or torch's pickles)
                array = np.lib.format.read_array(file, allow_pickle=False)
            except (ValueError, OSError, EOFError) as error:
                raise ValueError(f"{self.directory / name}: not a numpy array file ({error})") from None
        if (dtype is not None and array.dtype != dtype) or (shape is not None and array.shape != shape):
            raise ValueError(
                f"{self.directory / name}: expected {np.dtype(dtype) if dtype else 'an'} array"
                f"{f' of shape {shape}' if shape else ''}, got {array.dtype} {array.shape}"
            )
        # A sum is finite exactly when every entry is, and needs no second array the size of this one.
        if array.dtype.kind == "f" and not math.isfinite(array.sum(dtype=np.float64)):
            raise ValueError(f"{self.directory / name}: holds NaN or infinite values")
        return array

    def tensors(self, name: str) -> Any:
        """The tree of (CPU) torch tensors that `CheckpointWriter.tensors` wrote."""
        load = require("safetensors.torch", needed_by="a checkpoint of torch tensors").load
        from safetensors import SafetensorError  # there once safetensors.torch is

        path = self.directory / name
        with self._open(name) as file:
            data = file.read()
        try:
            tensors = load(data)
            layout = json.loads(_safetensors_metadata(data)[TREE_METADATA])
            return _tree_from(layout, tensors)
        except (SafetensorError, ValueError, KeyError, TypeError, IndexError) as error:
            raise ValueError(f"{path}: not a safetensors file of a tree of tensors ({error!r})") from None

    def json(self, name: str) -> Any:
        with self._open(name) as file:
            try:
                return json.loads(file.read())
            except (UnicodeDecodeError, ValueError) as error:
                raise ValueError(f"{self.directory / name}: not JSON ({error})") from None

    @contextmanager
    def _open(self, name: str) -> Iterator[IO[bytes]]:
        """The file, opened once: hashed, then rewound for its parser, so that what is parsed is
        what was hashed."""
        path = self.directory / name
        if not self.has(name):
            raise ValueError(f"{path}: {MANIFEST} lists no such file")
        if not path.is_file():
            raise ValueError(f"{path} is missing ({MANIFEST} lists it)")
        with path.open("rb") as file:
            if _sha256(file) != self.manifest["files"][name]:
                raise ValueError(f"{path} is damaged: its SHA-256 differs from the one in {MANIFEST}")
            file.seek(0)
            yield file


def _sha256(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := file.read(1 << 20):  # in pieces: a 2048 network's tables are hundreds of MB
        digest.update(chunk)
    return digest.hexdigest()


def _plain_file_name(name: Any) -> bool:
    """A name inside the checkpoint directory itself: no folders, no way out of it."""
    return isinstance(name, str) and bool(name) and Path(name).name == name and name not in (".", "..")


def _tree_layout(tree: Any, tensors: dict[tuple, tuple[str, Any]]) -> Any:
    """The JSON form of `tree`, its tensors moved into `tensors` under new keys. Containers are
    tagged ({"dict": [[key, value], ...]}, {"list": [...]}, {"tuple": [...]}, {"tensor": key}) so
    that integer keys (an optimiser's parameter ids) and tuples come back as they were."""
    import torch

    if isinstance(tree, torch.Tensor):
        # A tensor met twice (one module under two names: SB3's shared feature extractor) is stored
        # once: safetensors refuses two entries over the same memory.
        view = (tree.device, tree.data_ptr(), tree.dtype, tuple(tree.shape), tuple(tree.stride()))
        if view not in tensors:
            tensors[view] = (str(len(tensors)), tree.detach().cpu().contiguous())
        key = tensors[view][0]
        return {"tensor": key}
    if isinstance(tree, dict):
        return {"dict": [[key, _tree_layout(value, tensors)] for key, value in tree.items()]}
    if isinstance(tree, list | tuple):
        return {type(tree).__name__: [_tree_layout(value, tensors) for value in tree]}
    if tree is None or isinstance(tree, bool | int | float | str):
        return tree
    raise TypeError(f"a checkpoint cannot record {type(tree).__name__} values in a tree of tensors")


def _tree_from(layout: Any, tensors: dict[str, Any]) -> Any:
    if not isinstance(layout, dict):
        return layout
    [(kind, value)] = layout.items()
    if kind == "tensor":
        return tensors[value]
    if kind == "dict":
        return {key: _tree_from(item, tensors) for key, item in value}
    if kind in ("list", "tuple"):
        items = [_tree_from(item, tensors) for item in value]
        return items if kind == "list" else tuple(items)
    raise ValueError(f"unknown node {kind!r}")


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    """A safetensors file's metadata: its header is an 8-byte little-endian length, then JSON."""
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + length])["__metadata__"]


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of the checkpoint directory `path`, checked: a ValueError naming agent.json if
    it is not JSON, lacks a field, or lists a file by anything but a plain name and a SHA-256."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise ValueError(f"{path} is not an agent checkpoint: it has no {MANIFEST}")
    try:
        manifest = json.loads(file.read_bytes())
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{file}: not JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{file}: expected a JSON object, got {type(manifest).__name__}")
    if "files" not in manifest and "name" in manifest:
        raise ValueError(
            f"{file}: lists no files with their SHA-256: it is a checkpoint of an older gridworlds, "
            "whose files are not checked and may carry code, and cannot be loaded; train it again"
        )
    for key, kind in MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(key), kind):
            raise ValueError(f"{file}: field {key!r} must be a {kind.__name__}, got {manifest.get(key)!r}")
    for name, digest in manifest["files"].items():
        if not _plain_file_name(name) or not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ValueError(
                f"{file}: files must map plain file names to SHA-256 digests, got {name!r}: {digest!r}"
            )
    if not isinstance(manifest.get("progress", {}), dict):
        raise ValueError(f"{file}: field 'progress' must be an object, got {manifest['progress']!r}")
    return manifest


def open_checkpoint(path: str | Path) -> CheckpointReader:
    """The checkpoint directory `path`, for reading, once a replacement that a crash left half done
    is finished (see atomic.directory)."""
    atomic.recover_directory(path)
    return CheckpointReader(Path(path), read_manifest(path))

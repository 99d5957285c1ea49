"""Experiment files: load the TOML, apply `--set` overrides, check every field, resolve defaults.

    name = "2048-baselines"          # run directory name; default: the file's stem
    world = "gridworlds/2048-v0"     # a registered world id
    seeds = [0]                      # default seeds; --seeds overrides
    [env]                            # keyword arguments for gridworlds.make(world, **env)
    [[agents]]                       # one or more
    name = "greedy"                  # registered agent name
    label = "greedy"                 # optional, unique; default: name
    params = {}                      # keyword arguments for make_agent(name, world, seed=seed, **params)
    eval_episodes = 0                # optional: this agent's final evaluation episodes (0: [eval] episodes)
    [train]
    budget = 0                       # training per agent, in environment steps unless the agent
                                     # counts otherwise (n-tuple learners: games); 0: evaluate only
    eval_every = 0                   # steps between evaluations during training (0: only at the end)
    eval_episodes = 10               # episodes of those evaluations
    checkpoint_every = 0             # steps between checkpoints (0: only at the end)
    [eval]
    episodes = 100                   # final evaluation episodes
    max_steps = 0                    # per-episode step cap during evaluation (0: none)
    record = false                   # also record one evaluation episode per agent as <seed>/<label>.gif

A *study* is the other kind of experiment file: a measurement that is not an agent playing a world
(say, sweeps of a CA rule over a grid of parameters), run by a function of its own:

    name = "touching-loops-convergence"
    [study]
    function = "gridworlds.studies.touching_loops:convergence"   # "module:function"
    runs = 100                       # every other field is a parameter of the function

The function is called as function(params, out_dir, resume) -> dict (see run.py). If it has a
`check(params, fields) -> params` attribute, loading the file calls it to check the parameters and
fill in their defaults, so that a bad parameter fails before anything runs; `fields` is the file's
Fields, whose errors name the file and the field (study.<key>) as all the others do.

An experiment is named by a path, or by the name of one of the files that ship with the package (the
repository's experiments/ folder): `load_experiment("2048-baselines")` (find_experiment).

Every error is a ValueError that names the file, the dotted field and the form it expects.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import gridworlds.experiments
from gridworlds.agents import AGENTS, agent_class, check_setting_names
from gridworlds.engines.rng import SEED_LIMIT
from gridworlds.extras import MissingExtra
from gridworlds.registry import GYMNASIUM, PETTINGZOO_PARALLEL, WORLDS, load, make
from gridworlds.values import parse_value


@dataclass(frozen=True)
class AgentSpec:
    name: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    eval_episodes: int = 0  # its final evaluation's episodes; 0: [eval] episodes


@dataclass(frozen=True)
class TrainSpec:
    budget: int = 0
    eval_every: int = 0
    eval_episodes: int = 10
    checkpoint_every: int = 0


@dataclass(frozen=True)
class EvalSpec:
    episodes: int = 100
    max_steps: int = 0
    record: bool = False


@dataclass(frozen=True)
class Experiment:
    name: str
    world: str
    seeds: list[int]
    env: dict[str, Any]
    agents: list[AgentSpec]
    train: TrainSpec
    eval: EvalSpec

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain TOML data; loading it back gives the same experiment."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Study:
    name: str
    function: str  # "module:function"
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain TOML data; loading it back gives the same study."""
        return {"name": self.name, "study": {"function": self.function, **self.params}}


class Kind(NamedTuple):
    expected: str
    check: Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML's true is not a count


# Names become directory names, so they keep to characters that are safe in a path.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_SEEDS = 10_000  # seeds a run; a typo such as 0-99999999999 is refused, not run out of memory

NON_NEGATIVE = Kind("a non-negative integer", lambda v: _is_int(v) and v >= 0)
POSITIVE = Kind("a positive integer", lambda v: _is_int(v) and v > 0)
STRING = Kind("a string", lambda v: isinstance(v, str))
NAME = Kind(
    "a name of letters, digits, '.', '_' and '-'",
    lambda v: isinstance(v, str) and _SAFE_NAME.fullmatch(v) is not None,
)
TABLE = Kind("a table", lambda v: isinstance(v, dict))
BOOLEAN = Kind("true or false", lambda v: isinstance(v, bool))
SEEDS = Kind(
    f"a non-empty array of distinct integers in [0, 2**63), at most {MAX_SEEDS} of them",
    lambda v: (
        isinstance(v, list)
        and 0 < len(v) <= MAX_SEEDS
        and all(_is_int(s) and 0 <= s < SEED_LIMIT for s in v)
        and len(set(v)) == len(v)
    ),
)
TABLES = Kind(
    "a non-empty array of tables ([[agents]] sections)",
    lambda v: isinstance(v, list) and v != [] and all(isinstance(a, dict) for a in v),
)
FUNCTION = Kind("a 'module:function' path", lambda v: isinstance(v, str) and v.count(":") == 1)
_REQUIRED = object()
# The runner passes these itself (a learner's tensorboard: its own folder in the seed's directory).
_RESERVED_PARAMS = ("seed", "world_id", "tensorboard")


class Fields:
    """Reads fields out of one experiment file, raising errors that name the file and the field."""

    def __init__(self, source: str):
        self.source = source

    def error(self, field: str, expected: str, value: Any) -> ValueError:
        return ValueError(f"{self.source}: {field} must be {expected}, got {value!r}")

    def get(self, table: dict, prefix: str, key: str, kind: Kind, default: Any = _REQUIRED) -> Any:
        if key not in table:
            if default is _REQUIRED:
                raise ValueError(f"{self.source}: {prefix}{key} is missing; it must be {kind.expected}")
            return default
        if not kind.check(table[key]):
            raise self.error(prefix + key, kind.expected, table[key])
        return table[key]

    def no_renamed_settings(self, table: dict, prefix: str) -> None:
        """A "did you mean" error for a setting under its old name (agents.RENAMED_SETTINGS)."""
        try:
            check_setting_names(table, prefix)
        except ValueError as error:
            raise ValueError(f"{self.source}: {error}") from None

    def no_unknown_keys(self, table: dict, prefix: str, known: Iterable[str]) -> None:
        known = list(known)
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
                raise ValueError(
                    f"{self.source}: unknown field {prefix}{key}{hint}; "
                    f"the fields{' of ' + prefix.rstrip('.') if prefix else ''} are: {', '.join(known)}"
                )

    def integer_section(self, data: dict, name: str, cls: type, positive: tuple[str, ...]) -> Any:
        """A [section] of integer fields, and true / false ones (those whose default is a bool), each
        defaulting to the dataclass's default."""
        table = self.get(data, "", name, TABLE, {})
        prefix = f"{name}."
        fields = dataclasses.fields(cls)
        self.no_unknown_keys(table, prefix, [f.name for f in fields])

        def kind(f: dataclasses.Field) -> Kind:
            if isinstance(f.default, bool):
                return BOOLEAN
            return POSITIVE if f.name in positive else NON_NEGATIVE

        return cls(**{f.name: self.get(table, prefix, f.name, kind(f), f.default) for f in fields})


def validate(data: dict[str, Any], source: str, default_name: str) -> Experiment | Study:
    """Check parsed TOML data field by field and fill in the defaults."""
    fields = Fields(source)
    if "study" in data:
        return _validate_study(data, fields, default_name)
    fields.no_unknown_keys(data, "", [f.name for f in dataclasses.fields(Experiment)])

    name = fields.get(data, "", "name", NAME, default_name)
    world = fields.get(data, "", "world", STRING)
    if world not in WORLDS:
        raise fields.error("world", f"a registered world id ({', '.join(sorted(WORLDS))})", world)
    if WORLDS[world].kind not in (GYMNASIUM, PETTINGZOO_PARALLEL):
        kind = WORLDS[world].kind
        raise ValueError(
            f"{source}: world {world!r} is a {kind} world; the runner plays gymnasium and pettingzoo "
            f"parallel worlds (whose learners play every seat)"
        )
    seeds = fields.get(data, "", "seeds", SEEDS, [0])
    env = fields.get(data, "", "env", TABLE, {})

    agents = []
    for i, table in enumerate(fields.get(data, "", "agents", TABLES)):
        prefix = f"agents.{i}."
        fields.no_unknown_keys(table, prefix, [f.name for f in dataclasses.fields(AgentSpec)])
        agent_name = fields.get(table, prefix, "name", STRING)
        if agent_name not in AGENTS:
            raise fields.error(
                prefix + "name", f"a registered agent name ({', '.join(sorted(AGENTS))})", agent_name
            )
        if world not in AGENTS[agent_name] and "*" not in AGENTS[agent_name]:
            raise fields.error(prefix + "name", f"an agent that plays {world}", agent_name)
        label = fields.get(table, prefix, "label", NAME, agent_name)
        if label in (agent.label for agent in agents):
            raise fields.error(
                prefix + "label", "unique among the agents (set label to tell them apart)", label
            )
        params = fields.get(table, prefix, "params", TABLE, {})
        for key in _RESERVED_PARAMS:
            if key in params:
                raise ValueError(f"{source}: {prefix}params.{key} cannot be set; the runner sets it")
        fields.no_renamed_settings(params, f"{prefix}params.")
        try:
            agent_class(agent_name, world).check_params(params, prefix=f"{prefix}params.")
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        episodes = fields.get(table, prefix, "eval_episodes", NON_NEGATIVE, 0)
        agents.append(AgentSpec(agent_name, label, params, episodes))

    train = fields.integer_section(data, "train", TrainSpec, positive=("eval_episodes",))
    evaluation = fields.integer_section(data, "eval", EvalSpec, positive=("episodes",))
    _check_env(source, world, env)
    return Experiment(name, world, seeds, env, agents, train, evaluation)


def _validate_study(data: dict[str, Any], fields: Fields, default_name: str) -> Study:
    fields.no_unknown_keys(data, "", ["name", "study"])
    name = fields.get(data, "", "name", NAME, default_name)
    table = fields.get(data, "", "study", TABLE)
    target = fields.get(table, "study.", "function", FUNCTION)
    try:
        function = load(target)
    except MissingExtra:
        raise  # its message names the extra to install, and tests skip on it (a ModuleNotFoundError)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"{fields.source}: study.function {target!r} cannot be loaded: {error}") from None
    if not callable(function):
        raise fields.error("study.function", "a callable", target)
    params = {key: value for key, value in table.items() if key != "function"}
    check = getattr(function, "check", None)
    return Study(name, target, check(params, fields) if check else params)


def _check_env(source: str, world: str, env: dict[str, Any]) -> None:
    """Only the world knows its arguments, so build it once to check them before any run starts."""
    try:
        make(world, **env).close()
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: env: {error}") from None


def shipped_experiments() -> dict[str, Path]:
    """The experiment files that ship inside the package, by name (the file's stem), in name order.

    They are the repository's top-level experiments/ folder, which the build installs as the package
    gridworlds.experiments (setup.cfg's package_dir), in a wheel and in an editable install alike.
    """
    folder = Path(gridworlds.experiments.__file__).parent
    return {path.stem: path for path in sorted(folder.glob("*.toml"), key=lambda path: path.stem)}


def find_experiment(experiment: str | Path) -> Path:
    """The file `gridworlds run EXPERIMENT` means: the file at that path if there is one, else the
    shipped experiment of that name. Paths inside a file (runs/...) stay relative to the working
    directory, as the runs directory is, wherever the file itself lives."""
    path = Path(experiment)
    if path.is_file():
        return path
    shipped = shipped_experiments()
    if str(experiment) in shipped:
        return shipped[str(experiment)]
    close = difflib.get_close_matches(path.stem, list(shipped), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ValueError(
        f"{str(experiment)!r} is neither an experiment file nor the name of a shipped experiment{hint}; "
        f"the shipped experiments are: {', '.join(shipped)} (gridworlds list --experiments describes them)"
    )


def load_experiment(path: str | Path, overrides: Iterable[str] = ()) -> Experiment | Study:
    """Read an experiment file (a path, or a shipped experiment's name), apply `--set KEY=VALUE`
    overrides, and validate the result."""
    path = find_experiment(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ValueError(f"cannot read experiment file {path}: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: invalid TOML: {error}") from None
    for override in overrides:
        apply_override(data, override)
    return validate(data, str(path), default_name=path.stem)


def apply_override(data: dict[str, Any], override: str) -> None:
    """Set the dotted field of `KEY=VALUE` in place; numbers index arrays
    (agents.0.params.learning_rate=0.1)."""
    key, equals, text = override.partition("=")
    parts = key.strip().split(".")
    if not equals or "" in parts:
        raise ValueError(f"--set {override!r}: expected KEY=VALUE with a dotted KEY, e.g. train.budget=1000")
    node: Any = data
    for depth, part in enumerate(parts):
        where = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ValueError(f"--set {override!r}: {where} is not an index of an array of {len(node)}")
            part = int(part)
        elif isinstance(node, dict):
            if not last:
                node.setdefault(part, {})  # a missing table is created, as TOML's dotted keys would
        else:
            parent = ".".join(parts[:depth])
            raise ValueError(f"--set {override!r}: {parent} is {node!r}, not a table or an array")
        if last:
            node[part] = parse_value(text.strip())
        else:
            node = node[part]


def parse_seeds(text: str) -> list[int]:
    """ "0-3" -> [0, 1, 2, 3]; "0,2,5" -> [0, 2, 5]; the two mix: "0-2,7"."""
    usage = f"--seeds must be integers in [0, 2**63) and ranges like 0-3 or 0,2,5, got {text!r}"
    seeds: list[int] = []
    for item in text.split(","):
        first, dash, last = item.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(usage)
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise ValueError(f"{usage}: the range {item.strip()} is empty")
        if high >= SEED_LIMIT:
            raise ValueError(f"{usage}: {high} is too large")
        if len(seeds) + high - low + 1 > MAX_SEEDS:
            raise ValueError(f"{usage}: at most {MAX_SEEDS} seeds a run")
        seeds.extend(range(low, high + 1))
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{usage}: a seed is repeated")
    return seeds

"""Optional dependencies: a missing one is an error that names the extra which installs it.

    policy = require("gridworlds.agents.voxels.policy", needed_by="the shared-ppo controller")
    ray = require("ray", needed_by="--ray", extra="ray")

`require` imports a module; where the import fails on an optional dependency (the module itself, or
one it imports), it raises MissingExtra: "the shared-ppo controller needs the `learn` extra (torch is
not installed): pip install 'gridworlds[learn]'". `registry.load` imports every "module:attribute"
through it, so agents, studies and viewers loaded by name say so without a word of their own.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# The top-level module of each optional dependency that gridworlds imports -> the extra that installs
# it (setup.cfg's extras_require). Ray comes with two extras: `rllib` for the RLlib agent, the only
# module that imports Ray when it loads; `ray` for `gridworlds run --ray`, which asks for it by name.
EXTRAS = {
    "torch": "learn",
    "safetensors": "learn",
    "stable_baselines3": "learn",
    "sb3_contrib": "learn",
    "supersuit": "learn",
    "tensorboard": "learn",
    "ray": "rllib",
}


class MissingExtra(ModuleNotFoundError):
    """An optional dependency is not installed. A ModuleNotFoundError whose `name` is the missing
    module, so that code which skips what is not installed (tests) still recognises it."""


def require(module: str, needed_by: str, extra: str | None = None) -> ModuleType:
    """Import `module`, or raise MissingExtra saying that `needed_by` needs `extra` (by default the
    extra that EXTRAS gives for the missing module). A missing module that no extra installs
    (a bug, or a dependency of the core install) raises the ModuleNotFoundError unchanged."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = (error.name or "").partition(".")[0]
        extra = extra or EXTRAS.get(missing)
        if extra is None:
            raise
        raise MissingExtra(
            f"{needed_by} needs the `{extra}` extra ({missing} is not installed): "
            f"pip install 'gridworlds[{extra}]'",
            name=error.name,
        ) from error

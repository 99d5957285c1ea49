"""The touching-loops CA rule as an agent, for both touching-loops worlds.

In TouchingLoops-v0 it makes the rule's next change as one edit (it applies the rule to random
cells of its own copy of the field until one changes); in TouchingLoopsCA-v0, where the rule is the
dynamics, it sets the noise probability.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gridworlds.agents.simple import UntrainedAgent
from gridworlds.engines import touching_loops as engine
from gridworlds.engines.rng import seed_state
from gridworlds.envs.checks import check_choice, check_int_range, check_probability
from gridworlds.envs.touching_loops import ACTIONS

CA_WORLD = "gridworlds/TouchingLoopsCA-v0"
MAX_VISITS = 10_000_000  # a hundred times the default, so that a stalled edit still ends


@dataclass(frozen=True)
class CARuleConfig:
    noise: float = 0.4  # the probability that a cell the templates do not settle flips at random
    tiles: str = "touching"  # the tile set whose templates the rule matches (the world's own)
    action: str = "flip"  # the edit world's action kind, "flip" or "set" (the world's own)
    max_visits: int = 100_000  # cells tried for one edit before giving up (action 0)

    def __post_init__(self) -> None:
        check_probability("noise", self.noise)
        if not isinstance(self.tiles, str):
            raise ValueError(f"tiles must be a tile set's name or a tile-set text, got {self.tiles!r}")
        try:
            engine.tile_set_templates(self.tiles)
        except ValueError as error:
            raise ValueError(f"tiles: {error}") from None
        check_choice("action", self.action, ACTIONS)
        # With noise 0 the rule can stall and try every one of them for each edit
        check_int_range("max_visits", self.max_visits, 1, MAX_VISITS)


class CARule(UntrainedAgent):
    """The probabilistic template rule with noise probability `noise`.

    For the edit world, `tiles` and `action` ("flip" or "set") must be the world's own;
    `max_visits` bounds the cells tried for one edit (with noise 0 the rule can stall on a field
    that is not stable; the agent then returns action 0).
    """

    name = "ca-rule"
    Config = CARuleConfig

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        super().__init__(world_id, seed, **settings)
        self.config = replace(self.config, noise=float(self.config.noise))  # the kernel's one type
        self.templates = engine.tile_set_templates(self.config.tiles)
        self.engine_rng = seed_state(0 if seed is None else seed)

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        c = self.config
        if self.world_id == CA_WORLD:
            return np.array([c.noise], dtype=np.float32)
        field = np.ascontiguousarray(observation[0], dtype=np.int8)
        n = field.shape[0]
        rows = np.zeros(n + 4, dtype=np.uint64)
        engine.field_to_rows(field, rows)
        self.engine_rng, cell, value = engine.rule_edit(
            rows, n, c.noise, self.engine_rng, *self.templates, c.max_visits
        )
        if cell < 0:
            return 0
        return int(cell) if c.action == "flip" else int(value) * n * n + int(cell)

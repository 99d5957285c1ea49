"""One table of every world: id -> kind, entry points, viewer, metadata.

Everything here is a string until it is used, so `import gridworlds` imports neither numba nor any
engine. `register_gymnasium_ids()` (run on `import gridworlds`) puts the gymnasium worlds into
gymnasium's registry; `make` builds any world, gymnasium or pettingzoo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridworlds.extras import require

GYMNASIUM = "gymnasium"
PETTINGZOO_AEC = "pettingzoo-aec"
PETTINGZOO_PARALLEL = "pettingzoo-parallel"


@dataclass(frozen=True)
class World:
    """A registered world variant.

    entry_point, vector_entry_point, viewer, episode_metrics and bench are "module:attribute"
    strings, loaded on first use. view_opponent_kwarg names the world's argument that picks its
    built-in opponent, so `gridworlds view <id> --agent NAME` makes NAME the opponent of a person.
    """

    id: str
    kind: str
    description: str
    entry_point: str
    vector_entry_point: str | None = None
    viewer: str | None = None
    episode_metrics: str | None = None
    bench: str | None = None
    max_episode_steps: int | None = None
    view_opponent_kwarg: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def spaces(self) -> tuple[str, str]:
        """(observation space, action space) as text, from a freshly made instance."""
        env = make(self.id)
        try:
            if self.kind == GYMNASIUM:
                return str(env.observation_space), str(env.action_space)
            agent = env.possible_agents[0]
            return str(env.observation_space(agent)), str(env.action_space(agent))
        finally:
            env.close()


WORLDS: dict[str, World] = {
    world.id: world
    for world in [
        World(
            id="gridworlds/2048-v0",
            kind=GYMNASIUM,
            description="2048 on a 64-bit board; reward = merge score, illegal moves are no-ops",
            entry_point="gridworlds.envs.game2048:Game2048Env",
            vector_entry_point="gridworlds.envs.game2048:Game2048VectorEnv",
            viewer="gridworlds.viewer.game2048:Game2048Renderer",
            episode_metrics="gridworlds.envs.game2048:episode_metrics",
            bench="gridworlds.bench.game2048:run",
        ),
        World(
            id="gridworlds/Othello-v0",
            kind=PETTINGZOO_AEC,
            description="Othello for two agents, black and white; +1 / -1 / 0 at the end",
            entry_point="gridworlds.envs.othello:OthelloEnv",
            viewer="gridworlds.viewer.othello:OthelloRenderer",
            bench="gridworlds.bench.othello:run",
        ),
        World(
            id="gridworlds/OthelloVs-v0",
            kind=GYMNASIUM,
            description="Othello against a built-in opponent (random, greedy, alpha-beta)",
            entry_point="gridworlds.envs.othello:OthelloVsEnv",
            vector_entry_point="gridworlds.envs.othello:OthelloVsVectorEnv",
            viewer="gridworlds.viewer.othello:OthelloRenderer",
            episode_metrics="gridworlds.envs.othello:episode_metrics",
            bench="gridworlds.bench.othello:run",
            view_opponent_kwarg="opponent",
        ),
        World(
            id="gridworlds/TouchingLoops-v0",
            kind=GYMNASIUM,
            description="edit an n x n field until it holds a valid touching-loop pattern",
            entry_point="gridworlds.envs.touching_loops:TouchingLoopsEnv",
            viewer="gridworlds.viewer.touching_loops:TouchingLoopsRenderer",
            episode_metrics="gridworlds.envs.touching_loops:episode_metrics",
            bench="gridworlds.bench.touching_loops:run",
            max_episode_steps=1000,
        ),
        World(
            id="gridworlds/TouchingLoopsCA-v0",
            kind=GYMNASIUM,
            description="the touching-loops CA rule as dynamics; the action is its noise probability",
            entry_point="gridworlds.envs.touching_loops:TouchingLoopsCAEnv",
            viewer="gridworlds.viewer.touching_loops:TouchingLoopsRenderer",
            episode_metrics="gridworlds.envs.touching_loops:episode_metrics",
            bench="gridworlds.bench.touching_loops:run",
            max_episode_steps=100_000,
        ),
        World(
            id="gridworlds/HideAndSeek-v0",
            kind=PETTINGZOO_PARALLEL,
            description="hiders and seekers in random rooms with boxes, ramps, locks and line of sight",
            entry_point="gridworlds.envs.hide_and_seek:HideAndSeekEnv",
            viewer="gridworlds.viewer.hide_and_seek:HideAndSeekRenderer",
            episode_metrics="gridworlds.envs.hide_and_seek:episode_metrics",
            bench="gridworlds.bench.hide_and_seek:run",
        ),
        World(
            id="gridworlds/HideAndSeekQuadrant-v0",
            kind=PETTINGZOO_PARALLEL,
            description="the quadrant game: hiders and two boxes in a walled corner room, seekers outside",
            entry_point="gridworlds.envs.hide_and_seek:HideAndSeekEnv",
            viewer="gridworlds.viewer.hide_and_seek:HideAndSeekRenderer",
            episode_metrics="gridworlds.envs.hide_and_seek:episode_metrics",
            bench="gridworlds.bench.hide_and_seek:run",
            kwargs={"quadrant": True, "size": 12, "boxes": 2, "elongated": 0, "ramps": 1, "horizon": 80},
        ),
    ]
}

# EvoGym's tasks on the voxel-robot simulator: id -> description (gridworlds.engines.voxels.tasks).
VOXEL_TASKS = {
    "Walker-v0": "walk right on flat ground; reward = forward move, +1 past 9.9 m",
    "BridgeWalker-v0": "walk right along a soft bridge that sags between pillars; +1 past 6.0 m",
    "Carrier-v0": "carry a soft box to the right; 0.5 dx_box + 0.5 dx_robot, drop penalty, +1 past 9.9 m",
    "Carrier-v1": "carry a rigid box off a shelf towards a table; robot nears x = 4.0 m, drop penalty",
    "Pusher-v0": "push a soft box to the right; 0.75 dx_box + 0.5 dx_robot + gap closed, +1 past 9.9 m",
    "Pusher-v1": "push a rigid box from behind, to the right; as Pusher-v0, +1 past 6.9 m",
    "Thrower-v0": "throw a soft box to the right; dx_box - 0.25 dx_robot",
    "Jumper-v0": "jump in place between two walls; 10 dy - 5 |dx|",
    "Flipper-v0": "roll over and over counter-clockwise; reward = rotation, ends left of 0.1 m",
    "Balancer-v0": "balance on a 1-voxel pole; reward = nearing (1.7, 0.5) m",
    "Balancer-v1": "get up onto a 1-voxel pole and balance; reward = nearing (1.75, 0.6) m",
    "Climber-v0": "climb a vertical channel just the robot's width; reward = dy, +1 above 8.6 m",
    "UpStepper-v0": "climb a staircase; reward = dx, +2 past 6.9 m, -3 and the end on its back",
    "DownStepper-v0": "walk down a staircase; reward = dx, +2 past 7.4 m, -3 and the end on its back",
    "ObstacleTraverser-v0": "walk over bumps; reward = dx, +2 past 7.9 m, -3 and the end on its back",
    "ObstacleTraverser-v1": "walk over rough ground; reward = dx, +2 past 5.9 m",
    "Hurdler-v0": "walk over upright barriers; reward = dx, -3 and the end on its back",
    "GapJumper-v0": "jump the gaps between floating platforms; reward = dx, -3 and the end below 0.4 m",
    "PlatformJumper-v0": "jump along floating platforms; reward = dx, -3 and the end on falling or flipping",
    "Traverser-v0": "cross a pit full of loose rigid blocks; reward = dx, +2 past 5.9 m",
}
for _task, _description in VOXEL_TASKS.items():
    WORLDS[f"gridworlds/{_task}"] = World(
        id=f"gridworlds/{_task}",
        kind=GYMNASIUM,
        description=f"voxel robot: {_description}",
        entry_point="gridworlds.envs.voxels:VoxelEnv",
        vector_entry_point="gridworlds.envs.voxels:VoxelVectorEnv",
        viewer="gridworlds.viewer.voxels:VoxelRenderer",
        episode_metrics="gridworlds.envs.voxels:episode_metrics",
        bench="gridworlds.bench.voxels:run",
        kwargs={"task": _task},
    )


def load(target: str) -> Any:
    """Import "package.module:attribute" and return the attribute. A module that needs an optional
    dependency which is not installed raises extras.MissingExtra, naming the extra to install."""
    module_name, _, attribute = target.partition(":")
    return getattr(require(module_name, needed_by=module_name), attribute)


def world(world_id: str) -> World:
    try:
        return WORLDS[world_id]
    except KeyError:
        known = ", ".join(sorted(WORLDS))
        raise ValueError(f"unknown world id {world_id!r}; known ids: {known}") from None


def make(world_id: str, **kwargs: Any) -> Any:
    """Build any world: a gymnasium Env, or a pettingzoo AEC / Parallel env, by its kind."""
    spec = world(world_id)
    if spec.kind == GYMNASIUM:
        import gymnasium

        register_gymnasium_ids()
        return gymnasium.make(world_id, **kwargs)
    return load(spec.entry_point)(**{**spec.kwargs, **kwargs})


def register_gymnasium_ids() -> None:
    import gymnasium

    for spec in WORLDS.values():
        if spec.kind == GYMNASIUM and spec.id not in gymnasium.registry:
            gymnasium.register(
                id=spec.id,
                entry_point=spec.entry_point,
                vector_entry_point=spec.vector_entry_point,
                max_episode_steps=spec.max_episode_steps,
                kwargs=spec.kwargs,
            )

"""Every registered world, and every vector env, against gymnasium's and pettingzoo's own checks and
the suite's conventions (render modes, pickling, seeding, a clear error for a step with no episode
under way). Parametrized over the registry: a new world is checked without a new test."""

import copy
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector.vector_env import AutoresetMode
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, render_test, seed_test
from pettingzoo.utils.conversions import parallel_to_aec

import gridworlds
from gridworlds.registry import GYMNASIUM, PETTINGZOO_AEC, PETTINGZOO_PARALLEL, VOXEL_TASKS, WORLDS

VECTOR = "vector"  # the kind of a world's vector env, beside the registry's kinds

# Arguments that keep a world small and its episodes short under random play, so that playing one to
# its end is cheap; a world not named here is played with its defaults.
SMALL = {
    "gridworlds/TouchingLoops-v0": {"n": 3},
    "gridworlds/TouchingLoopsCA-v0": {"n": 3},
    "gridworlds/HideAndSeek-v0": {"size": 10, "horizon": 8},
    "gridworlds/HideAndSeekQuadrant-v0": {"horizon": 8},
    **{f"gridworlds/{task}": {"horizon": 4} for task in VOXEL_TASKS},
}
STEPS = 20  # per comparison of two envs stepped alike
MAX_STEPS = 3000  # random play that has not ended an episode by then fails: give the world SMALL arguments
NUM_ENVS = 2
# gym.make warns on every v0 id that has a v1 (Carrier, Pusher, Balancer, ObstacleTraverser).
OUT_OF_DATE = ".*is out of date"
pytestmark = pytest.mark.filterwarnings(f"ignore:{OUT_OF_DATE}:DeprecationWarning")
# The checkers' advice that worlds decline on purpose; every other warning of theirs fails a world.
DECLINED_ADVICE = (
    "we recommend using a symmetric and normalized space",  # voxels: EvoGym's action range 0.6-1.6
    "A Box observation space (minimum|maximum) value is",  # voxels: positions and velocities are unbounded
    "We recommend agents to be named in the format",  # Othello's agents are black and white
    "Observation space for each agent probably should be",  # pettingzoo's dict observations with masks
    "Observation is not a NumPy array",  # the same
)

WORLD_IDS = sorted(WORLDS)
VECTOR_IDS = sorted(world_id for world_id, spec in WORLDS.items() if spec.vector_entry_point)
FACES = [(world_id, WORLDS[world_id].kind) for world_id in WORLD_IDS] + [
    (world_id, VECTOR) for world_id in VECTOR_IDS
]


def face_id(face: tuple[str, str]) -> str:
    world_id, kind = face
    return f"{world_id.removeprefix('gridworlds/')}-{VECTOR}" if kind == VECTOR else world_id


def build(world_id: str, kind: str, **kwargs):
    kwargs = {**SMALL.get(world_id, {}), **kwargs}
    if kind == VECTOR:
        return gym.make_vec(world_id, num_envs=NUM_ENVS, vectorization_mode="vector_entry_point", **kwargs)
    return gridworlds.make(world_id, **kwargs)


def sample(space: gym.Space, mask):
    return space.sample() if mask is None else space.sample(mask=np.asarray(mask, dtype=np.int8))


def legal_mask(observation, info: dict):
    """The legal-action mask where the suite puts it: in a pettingzoo observation dict, else in info."""
    if isinstance(observation, dict) and "action_mask" in observation:
        return observation["action_mask"]
    return info.get("action_mask")


class RandomPlay:
    """Envs of one kind (one world, or one vector env) stepped in lockstep: random legal actions drawn
    from the first env's seeded action spaces and masks go to every env, and each step returns every
    env's outputs. A pettingzoo AEC step is one agent's turn (None for a finished agent)."""

    def __init__(self, kind: str, envs: list):
        self.kind, self.envs = kind, envs
        self.last = None  # the first env's latest outputs: where its mask is
        self.ended = False

    def reset(self, seed: int | None = None) -> list:
        outputs = [self._reset(env, seed) for env in self.envs]
        if seed is not None:
            self._seed_action_spaces(seed)
        self.last, self.ended = outputs[0], False
        return outputs

    def step(self) -> list:
        action = self._choose()
        outputs = [self._step(env, action) for env in self.envs]
        self.last = outputs[0]
        return outputs

    def play(self, steps: int) -> list[list]:
        """`steps` steps' outputs, a new episode (unseeded reset) after each end."""
        return [self.reset() if self.ended else self.step() for _ in range(steps)]

    def _seed_action_spaces(self, seed: int) -> None:
        env = self.envs[0]
        if self.kind == GYMNASIUM:
            env.action_space.seed(seed)
        elif self.kind == VECTOR:
            env.single_action_space.seed(seed)
        else:
            for i, agent in enumerate(env.possible_agents):
                env.action_space(agent).seed(seed + i)

    def _reset(self, env, seed: int | None):
        if self.kind == PETTINGZOO_AEC:
            env.reset(seed=seed)
            return (env.agent_selection, *env.last())
        return env.reset(seed=seed)

    def _choose(self):
        env = self.envs[0]
        if self.kind == GYMNASIUM:
            return sample(env.action_space, legal_mask(None, self.last[-1]))
        if self.kind == VECTOR:
            masks = self.last[-1].get("action_mask", [None] * env.num_envs)
            return np.stack([sample(env.single_action_space, mask) for mask in masks])
        if self.kind == PETTINGZOO_AEC:
            agent, observation, _, terminated, truncated, info = self.last
            return (
                None
                if terminated or truncated
                else sample(env.action_space(agent), legal_mask(observation, info))
            )
        observations, infos = self.last[0], self.last[-1]
        return {
            agent: sample(env.action_space(agent), legal_mask(observations[agent], infos[agent]))
            for agent in env.agents
        }

    def _step(self, env, action):
        if self.kind == PETTINGZOO_AEC:
            env.step(action)
            self.ended = not env.agents
            return (env.agent_selection, *env.last()) if env.agents else ()
        outputs = env.step(action)
        if self.kind == GYMNASIUM:
            self.ended = outputs[2] or outputs[3]
        elif self.kind == PETTINGZOO_PARALLEL:
            self.ended = not env.agents
        return outputs


def same(a, b) -> bool:
    """Exact equality of nested outputs; NaN equals NaN (OthelloVs's outcome is NaN mid-game)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(same, a, b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def assert_alike(trajectory: list[list]) -> None:
    for t, outputs in enumerate(trajectory):
        for i, output in enumerate(outputs[1:], start=1):
            assert same(outputs[0], output), f"env {i} differs from env 0 at step {t}"


@pytest.mark.parametrize("world_id", WORLD_IDS)
def test_passes_its_api_checker(world_id):
    kind = WORLDS[world_id].kind
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checkers report some defects as warnings
        for advice in DECLINED_ADVICE:
            warnings.filterwarnings("ignore", f".*{advice}")
        warnings.filterwarnings("ignore", OUT_OF_DATE, DeprecationWarning)
        if kind == GYMNASIUM:
            # check_env asks for the env itself: gym.make's order-enforcing and passive-checker
            # wrappers would answer in its place. Render modes: test_every_render_mode_draws.
            check_env(build(world_id, kind).unwrapped, skip_render_check=True)
        elif kind == PETTINGZOO_AEC:
            api_test(build(world_id, kind), num_cycles=200)
            seed_test(lambda: build(world_id, kind), num_cycles=50)
        else:
            parallel_api_test(build(world_id, kind), num_cycles=200)
            parallel_seed_test(lambda: build(world_id, kind), num_cycles=50)


@pytest.mark.parametrize("world_id", WORLD_IDS)
def test_every_render_mode_draws(world_id):
    kind = WORLDS[world_id].kind
    if kind == PETTINGZOO_AEC:
        render_test(lambda render_mode=None: build(world_id, kind, render_mode=render_mode))
        return
    if kind == PETTINGZOO_PARALLEL:
        render_test(lambda render_mode=None: parallel_to_aec(build(world_id, kind, render_mode=render_mode)))
        return
    modes = build(world_id, kind).metadata["render_modes"]
    assert modes
    for mode in modes:  # "human" too: the SDL dummy drivers open no window
        env = build(world_id, kind, render_mode=mode)
        play = RandomPlay(kind, [env])
        play.reset(seed=0)
        play.play(3)
        frame = env.render()
        if mode == "rgb_array":
            assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
            assert frame.ndim == 3 and frame.shape[2] == 3 and frame.shape[0] * frame.shape[1] > 0
        elif mode == "ansi":
            assert isinstance(frame, str) and frame
        else:
            assert mode == "human" and frame is None
        env.close()


def pickle_round_trip(env):
    return pickle.loads(pickle.dumps(env))


@pytest.mark.parametrize("copier", [pickle_round_trip, copy.deepcopy], ids=["pickle", "deepcopy"])
@pytest.mark.parametrize("face", FACES, ids=face_id)
def test_a_copy_steps_as_the_original(face, copier):
    world_id, kind = face
    original = build(world_id, kind)
    play = RandomPlay(kind, [original, copier(original)])  # a copy before reset
    assert_alike([play.reset(seed=3), *play.play(STEPS)])
    play.envs = [original, copier(original)]  # and one made mid-game, random generators and all
    assert_alike(play.play(STEPS))


@pytest.mark.parametrize("face", FACES, ids=face_id)
def test_the_same_seed_gives_the_same_trajectory(face):
    world_id, kind = face
    play = RandomPlay(kind, [build(world_id, kind), build(world_id, kind)])
    assert_alike([play.reset(seed=11), *play.play(STEPS)])


def step_anything(kind: str, env) -> None:
    """A step that would be legal if an episode were under way."""
    if kind in (GYMNASIUM, VECTOR):
        env.step(env.action_space.sample())
    elif kind == PETTINGZOO_AEC:
        env.step(env.action_space(env.possible_agents[0]).sample())
    else:
        env.step({agent: env.action_space(agent).sample() for agent in env.possible_agents})


@pytest.mark.parametrize("face", FACES, ids=face_id)
def test_a_step_with_no_episode_under_way_says_to_reset(face):
    world_id, kind = face
    env = build(world_id, kind)
    if kind == GYMNASIUM:
        # The env itself must refuse: gym.make's OrderEnforcing would refuse the step before reset in
        # its place, and its TimeLimit could end an episode the env still runs.
        env = env.unwrapped
    with pytest.raises((RuntimeError, ValueError), match="call reset"):
        step_anything(kind, env)
    if kind == VECTOR:
        return  # it starts a new episode after each end: test_vector_env_steps_as_gymnasium_would
    play = RandomPlay(kind, [env])
    play.reset(seed=0)
    for _ in range(MAX_STEPS):
        play.step()
        if play.ended:
            break
    assert play.ended, f"no episode ended in {MAX_STEPS} random steps: give {world_id} SMALL arguments"
    with pytest.raises((RuntimeError, ValueError), match="call reset"):
        step_anything(kind, env)


@pytest.mark.parametrize("world_id", VECTOR_IDS)
def test_vector_env_steps_as_gymnasium_would(world_id):
    """The batched env against gymnasium's SyncVectorEnv over the single envs, with the autoreset
    mode the batched env declares: same seeds (env i gets seed + i), same actions, same outputs,
    across several episode ends."""
    batched = build(world_id, VECTOR)
    mode = batched.metadata["autoreset_mode"]
    assert isinstance(mode, AutoresetMode)
    reference = gym.make_vec(
        world_id,
        num_envs=NUM_ENVS,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": mode},
        **SMALL.get(world_id, {}),
    )
    play = RandomPlay(VECTOR, [batched, reference])
    play.reset(seed=5)
    restarts, ended = 0, np.zeros(NUM_ENVS, dtype=bool)
    for t in range(MAX_STEPS):
        (observations, rewards, terminated, truncated, info), expected = play.step()
        assert same((observations, rewards, terminated, truncated), expected[:4]), f"step {t}"
        for key, value in info.items():
            reported = expected[4].get(f"_{key}")  # which single envs gave this key this step
            if reported is not None:
                assert same(value[reported], expected[4][key][reported]), f"info[{key!r}] at step {t}"
        restarts += int(ended.sum())
        ended = terminated | truncated
        if restarts >= NUM_ENVS:
            break
    assert restarts >= NUM_ENVS, f"too few episode ends in {MAX_STEPS} random steps to check the autoreset"

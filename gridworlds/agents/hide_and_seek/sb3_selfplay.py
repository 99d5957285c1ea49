"""Self-play PPO for hide-and-seek through stable-baselines3 and SuperSuit: a baseline for SB3 users.

    make_agent("sb3-selfplay", "gridworlds/HideAndSeekQuadrant-v0", seed=0, n_envs=8, observation="flat")

One SB3 PPO model plays every agent of both teams (the team flag is in each observation). SuperSuit
turns the pettingzoo ParallelEnv into a vector env with one sub-env per agent
(`pettingzoo_env_to_vec_env_v1`) and concatenates `n_envs` copies of it (`concat_vec_envs_v1`), so
an SB3 timestep is one agent-step, and one step of the vector env is one step of `n_envs` arenas.
The budget of `learn` counts arena steps, as for every other learner of the suite.
`selfplay_vec_env` builds that vector env, each copy seeded apart, for SB3 users' own algorithms.

The episode's end at the horizon is a truncation (the env never terminates), so the SB3 env marks
it "TimeLimit.truncated" and PPO bootstraps from the final observation there.
torch, stable-baselines3 and SuperSuit are imported only when this module is.

A checkpoint is data, as the `sb3` agent's is: the policy's and its optimiser's state as
safetensors and the timesteps done in training.json; loading builds PPO afresh from the manifest.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
import supersuit as ss
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from gridworlds.agents.base import AgentBase, Callback, CheckpointReader, CheckpointWriter
from gridworlds.agents.sb3 import (
    MAX_ENVS,
    MODEL,
    TRAINING,
    _Reporter,
    check_ppo_arguments,
    model_state,
    restore_model,
    training_logger,
)
from gridworlds.engines.hide_and_seek import EPISODE_STATS
from gridworlds.envs.checks import check_choice, check_int_range, check_positive_int, check_seed
from gridworlds.envs.hide_and_seek import OBSERVATIONS, PARTS, HideAndSeekEnv
from gridworlds.registry import make

POLICIES = {"flat": "MlpPolicy", "dict": "MultiInputPolicy"}


def selfplay_vec_env(
    world_id: str, num_copies: int, seed: int | None = None, **env_kwargs: Any
) -> SelfPlayVecEnv:
    """A stable-baselines3 vector env for one policy that plays every agent: `num_copies` copies of
    the hide-and-seek world `gridworlds.make(world_id, **env_kwargs)`, every agent of every copy
    one sub-env (SuperSuit's `pettingzoo_env_to_vec_env_v1` and `concat_vec_envs_v1`), so one SB3
    timestep is one agent-step. Copy i plays the worlds of seed + i, from a seed drawn at random
    when `seed` is None; an SB3 algorithm given a seed reseeds them so (`SelfPlayVecEnv.seed`).

        venv = selfplay_vec_env("gridworlds/HideAndSeekQuadrant-v0", 8, seed=0, observation="flat")
        PPO("MlpPolicy", venv, seed=0).learn(100_000)
    """
    check_positive_int("num_copies", num_copies)
    arena = make(world_id, **env_kwargs)
    if not isinstance(arena, HideAndSeekEnv):
        raise ValueError(f"selfplay_vec_env plays the hide-and-seek worlds, not {world_id}")
    copies = ss.concat_vec_envs_v1(
        ss.pettingzoo_env_to_vec_env_v1(arena), num_copies, num_cpus=0, base_class="stable_baselines3"
    )
    vec_env = SelfPlayVecEnv(copies)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % 2**31)
    vec_env.seed(check_seed(seed))
    return vec_env


class SelfPlayVecEnv(VecEnvWrapper):
    """SuperSuit's SB3 vector env with what SB3 expects of it and it lacks: `seed()` (copy i of the
    arena is reset with seed + i at the next reset; SuperSuit copies the env by pickling it, so
    unseeded copies would all draw the same worlds), and "TimeLimit.truncated" in the infos of the
    step that ends an episode (always at the horizon), so that PPO bootstraps there."""

    def __init__(self, venv: VecEnv):
        self._next_seed: int | None = None
        super().__init__(venv)

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        if attr_name == "render_mode":  # SuperSuit's concatenated env answers no get_attr
            return [None] * self.num_envs
        return super().get_attr(attr_name, indices)

    def seed(self, seed: int | None = None) -> list[int | None]:
        self._next_seed = seed
        copies = len(self.venv.venv.vec_envs)
        return [None if seed is None else seed + i for i in range(copies)]

    def reset(self) -> Any:
        seed, self._next_seed = self._next_seed, None
        observations, self.reset_infos = self.venv.venv.reset(seed=seed)  # the gymnasium ConcatVecEnv
        return observations

    def step_wait(self) -> Any:
        observations, rewards, dones, infos = self.venv.step_wait()
        for done, info in zip(dones, infos, strict=True):
            if done:
                info["TimeLimit.truncated"] = True
        return observations, rewards, dones, infos


class _TeamReporter(_Reporter):
    """After each rollout, hands the runner's callback the arena steps so far and the means over the
    episodes finished since the last report (the previous means if none finished) of each team's
    return and the other EPISODE_STATS, the episode length, and agent_steps_per_second (agent-steps
    collected and learned from per second since the previous report)."""

    def __init__(self, callback: Callback | None, agents: int):
        super().__init__(callback)
        self.agents = agents
        self.episodes: list[dict[str, float]] = []
        self.clock = 0.0
        self.clock_steps = 0
        self.speed: dict[str, float] = {}

    def _on_training_start(self) -> None:
        self.clock, self.clock_steps = time.perf_counter(), self.num_timesteps

    def _on_step(self) -> bool:
        # Every agent of an arena carries the same episode stats: read the first agent's of each copy.
        for info in self.locals["infos"][:: self.agents]:
            if "episode" in info:
                self.episodes.append(info["episode"])
        return not self.stop

    def _on_rollout_end(self) -> None:
        if self.episodes:
            self.last = {
                name: float(np.mean([episode[name] for episode in self.episodes])) for name in EPISODE_STATS
            }
            self.last["episode_length"] = float(np.mean([episode["l"] for episode in self.episodes]))
            self.episodes = []
        elapsed = time.perf_counter() - self.clock
        self.speed = {"agent_steps_per_second": (self.num_timesteps - self.clock_steps) / max(elapsed, 1e-9)}
        self._report(self.num_timesteps // self.agents, {**self.last, **self.speed})
        # The callback's time (evaluations, checkpoints) does not count against the learner's speed.
        self.clock, self.clock_steps = time.perf_counter(), self.num_timesteps


# SuperSuitConfig's fields that are SB3 PPO's arguments of the same name
PPO_FIELDS = ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "ent_coef")
MAX_THREADS = 256


@dataclass(frozen=True)
class SuperSuitConfig:
    n_envs: int = 8  # copies of the arena stepped together (n_envs x agents SB3 sub-envs)
    learning_rate: float = 3e-4
    n_steps: int = 128  # steps per sub-env per rollout
    batch_size: int = 1024  # agent-steps per minibatch
    n_epochs: int = 4
    gamma: float = 0.99
    ent_coef: float = 0.01
    observation: str = "flat"  # "flat": MlpPolicy over the flat vector; "dict": MultiInputPolicy
    deterministic: bool = True  # the most likely action when acting, else a sample
    threads: int = 1  # torch threads while learning
    tensorboard: str | None = None  # a directory for TensorBoard scalars while learning, or None

    def __post_init__(self) -> None:
        check_int_range("n_envs", self.n_envs, 1, MAX_ENVS)
        # SB3's own rules; its rollout, n_steps x n_envs x the world's agents, is not known here
        check_ppo_arguments({name: getattr(self, name) for name in PPO_FIELDS}, n_envs=None)
        check_choice("observation", self.observation, OBSERVATIONS)
        if not isinstance(self.deterministic, bool):
            raise ValueError(f"deterministic must be true or false, got {self.deterministic!r}")
        check_int_range("threads", self.threads, 1, MAX_THREADS)
        if self.tensorboard is not None and not isinstance(self.tensorboard, str):
            raise ValueError(f"tensorboard must be a directory or None, got {self.tensorboard!r}")


class SuperSuitPPO(AgentBase):
    """Self-play stable-baselines3 PPO, one model for every agent, over SuperSuit's vector envs.

    Arguments, the SuperSuitConfig fields: `n_envs` (copies of the arena stepped together; the SB3
    vector env has n_envs x agents sub-envs), PPO's `learning_rate`, `n_steps` (steps per sub-env
    per rollout), `batch_size`, `n_epochs`, `gamma`, `ent_coef`, `observation` ("flat": MlpPolicy
    over the flat vector; "dict": MultiInputPolicy over the observation's parts; its default
    extractor flattens and concatenates them in the flat order, so it learns the same network as
    "flat"), `deterministic` (the most likely action when acting, else a sample), and `threads`
    (torch threads while learning: the policy's batches are small, and on a busy 2-core machine 2
    threads made learning 10-40 times slower than 1), `tensorboard` (a directory for SB3's scalars,
    rollout/, train/, time/, and the reports' metrics, counted in SB3 timesteps, that is
    agent-steps; `gridworlds run` gives each agent its own; None: none written); and the `seed`.
    It learns on `selfplay_vec_env`, the vector env SB3 users can build themselves."""

    name = "sb3-selfplay"
    Config = SuperSuitConfig

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        super().__init__(world_id, check_seed(seed), **settings)
        c = self.config
        self.config = replace(
            c, learning_rate=float(c.learning_rate), gamma=float(c.gamma), ent_coef=float(c.ent_coef)
        )
        self.model: PPO | None = None

    def _vector_env(self, env: HideAndSeekEnv | None) -> SelfPlayVecEnv:
        """n_envs copies of `env`'s world (the checkpoint's, without env) in this agent's observation
        form; its arguments become the ones the checkpoints record."""
        env = getattr(env, "unwrapped", env)
        if env is None:
            kwargs = {k: v for k, v in self.env_kwargs.items() if k != "render_mode"}
            env = make(self.world_id, **kwargs)
        if not isinstance(env, HideAndSeekEnv):
            raise ValueError(f"sb3-selfplay plays hide-and-seek worlds, got {type(env).__name__}")
        self.env_kwargs = {
            **dataclasses.asdict(env.scenario),
            "view_radius": env.view_radius,
            "observation": self.config.observation,
        }
        # Seeded at random here: PPO reseeds it from the agent's seed, when it has one.
        return selfplay_vec_env(self.world_id, self.config.n_envs, **self.env_kwargs)

    def _build_model(self, vec_env: SelfPlayVecEnv) -> None:
        c = self.config
        self.model = PPO(
            POLICIES[c.observation],
            vec_env,
            learning_rate=c.learning_rate,
            n_steps=c.n_steps,
            batch_size=c.batch_size,
            n_epochs=c.n_epochs,
            gamma=c.gamma,
            ent_coef=c.ent_coef,
            seed=self.seed,
            device="cpu",
            verbose=0,
        )

    def learn(
        self, env: HideAndSeekEnv | None, budget: int, callback: Callback | None = None
    ) -> dict[str, float]:
        """Train for `budget` more arena steps (budget x agents SB3 timesteps) on copies of `env`'s
        world; return the last metrics."""
        vec_env = self._vector_env(env)
        agents = self.env_kwargs["hiders"] + self.env_kwargs["seekers"]
        c = self.config
        if self.model is None:
            self._build_model(vec_env)
        else:
            self.model.set_env(vec_env)
            if self.seed is not None:  # resumed: new worlds and samples, the same for the same seed
                entropy = np.random.SeedSequence([self.seed, self.model.num_timesteps])
                self.model.set_random_seed(int(entropy.generate_state(1)[0] % 2**31))
        reporter = _TeamReporter(callback, agents)
        self.model.set_logger(training_logger(c.tensorboard))
        threads = torch.get_num_threads()
        torch.set_num_threads(c.threads)
        try:
            self.model.learn(total_timesteps=budget * agents, callback=reporter, reset_num_timesteps=False)
        finally:
            torch.set_num_threads(threads)
            self.model.logger.close()
            vec_env.close()
        return {"steps": float(self.model.num_timesteps // agents), **reporter.last, **reporter.speed}

    def act(self, observation: Any, info: dict[str, Any]) -> np.ndarray:
        """The model's action, int64 [4], for one agent's observation in either form."""
        if self.model is None:
            raise RuntimeError("this sb3-selfplay agent has not learned yet: call learn() or load one")
        observation = self._as_model_input(observation)
        action, _ = self.model.predict(observation, deterministic=self.config.deterministic)
        return np.asarray(action, dtype=np.int64)

    def _as_model_input(self, observation: Any) -> Any:
        """The observation in the form the model reads: flattened (the parts in PARTS order) or split
        into its parts, when the env plays the other form than the agent learned with."""
        space = self.model.observation_space
        if isinstance(space, gym.spaces.Dict):
            if isinstance(observation, dict):
                return observation
            flat, parts, start = np.asarray(observation, dtype=np.float32), {}, 0
            for name in PARTS:
                part = space[name]
                size = int(np.prod(part.shape))
                parts[name] = flat[start : start + size].reshape(part.shape).astype(part.dtype)
                start += size
            return parts
        if isinstance(observation, dict):
            return np.concatenate([np.asarray(observation[name]).ravel() for name in PARTS], dtype=np.float32)
        return observation

    def checkpoint_env(self) -> dict[str, Any]:
        # It plays the world in the observation form it learned with (viewers build it so).
        return {**self.env_kwargs, "observation": self.config.observation}

    def store(self, files: CheckpointWriter) -> None:
        if self.model is None:
            raise RuntimeError("nothing to save: this sb3-selfplay agent has not learned yet")
        files.tensors(MODEL, model_state(self.model))
        files.json(TRAINING, {"num_timesteps": self.model.num_timesteps})

    def restore(self, checkpoint: CheckpointReader) -> None:
        training = checkpoint.json(TRAINING)
        restore_model(self, checkpoint.tensors(MODEL), training["num_timesteps"])

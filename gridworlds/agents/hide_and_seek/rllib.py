"""Self-play PPO for hide-and-seek on Ray RLlib: the same experiment, for users who outgrow one machine.

    make_agent("rllib-ppo", "gridworlds/HideAndSeekQuadrant-v0", seed=0, num_env_runners=0)

RLlib's multi-agent PPO with ONE shared policy ("shared": the policy mapping sends every agent id of
both teams to it; the team flag is in each observation) over the pettingzoo ParallelEnv, wrapped by
RLlib's `ParallelPettingZooEnv` and registered with `ray.tune.registry.register_env`, with flat
observations. It runs on RLlib's new API stack (RLModule, Learner, EnvRunner and ConnectorV2, the
default of ray 2.60; PPO's old stack is deprecated there): a default torch PPO RLModule with a
MultiCategorical head over MultiDiscrete([5, 3, 2, 3]). PPO bootstraps from the value of the last
observation at the horizon, a truncation.

`num_env_runners=0` samples in the learner's own process (Ray's `local_mode` was removed, and this is
what replaced it), with `train_batch_size` env steps of one arena per `algo.train()` iteration. RLlib
still needs a Ray runtime: with `address=None` the agent starts a small local one (no dashboard, one
CPU per env runner) unless the process is already connected to one (a Ray task of `gridworlds run
--ray`); with an address it joins that cluster (`ray.init(address=...)`), whose workers must be able
to import gridworlds (installed there, or shipped with a runtime_env). The Ray runtime it starts lives
until `ray.shutdown()` or the end of the process; `close()` stops the algorithm.

The budget of `learn` counts arena steps, as for every other learner of the suite (RLlib's env steps:
one step of the ParallelEnv, that is `agents` agent-steps); an iteration that crosses the budget is
finished, so learning stops at most `train_batch_size` steps past it. After each iteration the
callback gets the means, over the episodes finished in that iteration (the previous means if none
finished), of each team's return and the other EPISODE_STATS from the episode's last infos, the
episode length, and agent_steps_per_second.

A checkpoint is data, never RLlib's own checkpoint (whose files are pickles): the shared policy's
weights (the learner's RLModule, policy and value networks) as safetensors and the arena steps
sampled so far in training.json. `load` builds the RLModule from the manifest's parameters and
gives it the weights (no Ray runtime needed to act); the first `learn` after a load builds the
algorithm and gives its learner and env runners those weights. The optimiser's state is not kept:
a resumed run's optimiser starts afresh.
ray[rllib] and torch are imported only when this module is.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import numpy as np
import ray
import torch
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_LEARNER_GROUP, COMPONENT_RL_MODULE, Columns
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME
from ray.tune.logger import NoopLogger
from ray.tune.registry import register_env

from gridworlds.agents import reporting
from gridworlds.agents.base import AgentBase, Callback, CheckpointReader, CheckpointWriter
from gridworlds.agents.ppo import MAX_EPOCHS
from gridworlds.engines.hide_and_seek import EPISODE_STATS
from gridworlds.envs.checks import check_int_range, check_positive_int, check_seed
from gridworlds.envs.hide_and_seek import PARTS, HideAndSeekEnv
from gridworlds.registry import make

ENV_NAME = "gridworlds-hide-and-seek-rllib"  # the name the env is registered under with Ray Tune
POLICY = "shared"  # the one policy (RLModule id) that every agent plays
MODEL, TRAINING = "policy.safetensors", "training.json"
STATS_KEY = "gridworlds"  # where the episode statistics go in the env runners' results
# The shared policy's RLModule among the algorithm's components (its learner's copy, which has the
# value network that the env runners' inference-only copies lack).
MODULE_PATH = (COMPONENT_LEARNER_GROUP, COMPONENT_LEARNER, COMPONENT_RL_MODULE, POLICY)


# Bounds far above the defaults, met only by a typo: each env runner is a Ray actor process with its
# own arenas, a train batch is held in memory (a hundred times an Atari PPO's), and a layer's weights
# grow with the square of its width.
MAX_ENV_RUNNERS, MAX_TRAIN_BATCH, MAX_WIDTH, MAX_THREADS = 256, 1_000_000, 4_096, 256


def _number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _create_env(config: dict[str, Any]) -> ParallelPettingZooEnv:
    """The env creator registered with Ray Tune: the arena with the agent's world arguments."""
    return ParallelPettingZooEnv(HideAndSeekEnv(**dict(config)))


def _shared_policy(agent_id: str, *args: Any, **kwargs: Any) -> str:
    """RLlib's policy mapping: every agent of both teams plays the one shared policy."""
    return POLICY


def _no_result_files(config: Any) -> NoopLogger:
    """RLlib's result logger: one that writes nothing. Left to itself, every algorithm writes its
    results (JSON, CSV, TensorBoard) into a new folder of ~/ray_results, outside any run; the
    agent's reports go to its own `tensorboard` directory instead."""
    return NoopLogger(config, os.devnull)


class _EpisodeStats(RLlibCallback):
    """Logs, on the env runners, each finished episode's statistics from its last infos (every agent
    carries the same; each its own return "r"): sums and an episode count, reduced (summed) over env
    runners once per iteration, so that the learner divides them into exact means."""

    def on_episode_end(self, *, episode: Any, metrics_logger: Any = None, **kwargs: Any) -> None:
        if metrics_logger is None:
            return
        for info in episode.get_infos(-1).values():
            stats = info.get("episode") if isinstance(info, dict) else None
            if stats:
                metrics_logger.log_value((STATS_KEY, "episodes"), 1, reduce="sum")
                metrics_logger.log_value((STATS_KEY, "l"), float(stats["l"]), reduce="sum")
                for name in EPISODE_STATS:
                    metrics_logger.log_value((STATS_KEY, name), float(stats[name]), reduce="sum")
                return


def _episode_means(result: dict[str, Any]) -> dict[str, float]:
    """The iteration's episode means from `_EpisodeStats`'s sums; empty if no episode finished."""
    sums = result.get(ENV_RUNNER_RESULTS, {}).get(STATS_KEY) or {}
    episodes = float(sums.get("episodes", 0) or 0)
    if not episodes > 0:  # none finished (or NaN: nothing logged)
        return {}
    means = {name: float(sums[name]) / episodes for name in EPISODE_STATS if name in sums}
    means["episode_length"] = float(sums["l"]) / episodes
    return means


@dataclasses.dataclass(frozen=True)
class RLlibConfig:
    num_env_runners: int = 0  # 0: sample in this process; n: n Ray actors, one CPU each
    train_batch_size: int = 4000  # env steps of one arena per iteration, split over the env runners
    minibatch_size: int = 512  # agent-steps per SGD minibatch, at most train_batch_size
    n_epochs: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.99
    ent_coef: float = 0.01
    hidden_sizes: list[int] | tuple[int, ...] = (256, 256)  # the policy and value networks' layers
    deterministic: bool = True  # the most likely action when acting, else a sample
    threads: int = 1  # torch threads of the local learner while learning
    address: str | None = None  # None: a local Ray runtime; else an existing cluster's address
    tensorboard: str | None = None  # a directory for the reports' TensorBoard scalars, or None

    def __post_init__(self) -> None:
        check_int_range("num_env_runners", self.num_env_runners, 0, MAX_ENV_RUNNERS)
        check_int_range("train_batch_size", self.train_batch_size, 1, MAX_TRAIN_BATCH)
        check_positive_int("minibatch_size", self.minibatch_size)
        if self.minibatch_size > self.train_batch_size:  # RLlib's PPO refuses it
            raise ValueError(
                f"minibatch_size must be at most train_batch_size ({self.train_batch_size}), "
                f"got {self.minibatch_size!r}"
            )
        check_int_range("n_epochs", self.n_epochs, 1, MAX_EPOCHS)
        if not _number(self.learning_rate) or not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if not _number(self.gamma) or not 0 < self.gamma <= 1:
            raise ValueError(f"gamma must be a number in (0, 1], got {self.gamma!r}")
        if not _number(self.ent_coef) or not self.ent_coef >= 0:
            raise ValueError(f"ent_coef must be a non-negative number, got {self.ent_coef!r}")
        sizes = self.hidden_sizes
        if (
            not isinstance(sizes, list | tuple)
            or not sizes
            or any(
                isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_WIDTH
                for size in sizes
            )
        ):
            raise ValueError(
                f"hidden_sizes must be a non-empty list of integers from 1 to {MAX_WIDTH}, got {sizes!r}"
            )
        if not isinstance(self.deterministic, bool):
            raise ValueError(f"deterministic must be true or false, got {self.deterministic!r}")
        check_int_range("threads", self.threads, 1, MAX_THREADS)
        if self.address is not None and (not isinstance(self.address, str) or not self.address):
            raise ValueError(
                f"address must be a Ray cluster address (a string) or None, got {self.address!r}"
            )


class RLlibPPO(AgentBase):
    """Self-play PPO on Ray RLlib: one shared policy for every agent, multi-agent over the pettingzoo env.

    Arguments, the RLlibConfig fields: `num_env_runners` (0: sample in this process; n: n Ray actors,
    one CPU each, sample in parallel), `train_batch_size` (env steps of one arena per iteration,
    split over the env runners), `minibatch_size` (agent-steps per SGD minibatch, at most
    train_batch_size), `n_epochs`, `learning_rate`, `gamma`, `ent_coef` (RLlib's num_epochs, lr and
    entropy_coeff), `hidden_sizes` (the policy and value networks' hidden layers), `deterministic`
    (the most likely action when acting, else a sample), `threads` (torch threads of the local
    learner while learning; 1 is fastest for these small batches on a busy small machine), and
    `address` (None: a local Ray runtime, started if none is connected; else the address of an
    existing cluster for `ray.init(address=...)`, such as "auto" or "ray://host:10001"),
    `tensorboard` (a directory for every report's metrics as TensorBoard scalars, counted in arena
    steps; `gridworlds run` gives each agent its own; None: none; RLlib's own result files are never
    written); and the `seed`."""

    name = "rllib-ppo"
    Config = RLlibConfig

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        super().__init__(world_id, check_seed(seed), **settings)
        c = self.config
        self.config = dataclasses.replace(
            c,
            learning_rate=float(c.learning_rate),
            gamma=float(c.gamma),
            ent_coef=float(c.ent_coef),
            hidden_sizes=[int(size) for size in c.hidden_sizes],
        )
        self.algo: Algorithm | None = None
        self._built_for: dict[str, Any] | None = None  # the world arguments the algorithm samples
        # While no algorithm runs (loaded, or closed): the policy's weights, and the RLModule built
        # from them to act; the next algorithm built starts from them.
        self._weights: dict[str, np.ndarray] | None = None
        self._module: RLModule | None = None
        self._earlier_steps = 0  # arena steps sampled by earlier algorithms (a checkpoint's, say)
        self.last: dict[str, float] = {}

    def _arena_kwargs(self, env: HideAndSeekEnv | None) -> dict[str, Any]:
        """`env`'s world arguments (the checkpoint's without env), with flat observations; they become
        the ones the checkpoints record."""
        env = getattr(env, "unwrapped", env)
        if env is None:
            kwargs = {k: v for k, v in self.env_kwargs.items() if k != "render_mode"}
            env = make(self.world_id, **kwargs)
        if not isinstance(env, HideAndSeekEnv):
            raise ValueError(f"rllib-ppo plays hide-and-seek worlds, got {type(env).__name__}")
        self.env_kwargs = {
            **dataclasses.asdict(env.scenario),
            "view_radius": env.view_radius,
            "observation": "flat",
        }
        return dict(self.env_kwargs)

    def _config(self, env_kwargs: dict[str, Any]) -> PPOConfig:
        c = self.config
        return (
            PPOConfig()
            .framework("torch")
            .environment(ENV_NAME, env_config=env_kwargs, disable_env_checking=True)
            .env_runners(num_env_runners=c.num_env_runners, num_cpus_per_env_runner=1)
            .learners(num_learners=0)  # one learner, in this process
            .multi_agent(policies={POLICY}, policy_mapping_fn=_shared_policy)
            .rl_module(model_config={"fcnet_hiddens": list(c.hidden_sizes)})
            .training(
                train_batch_size_per_learner=c.train_batch_size,
                minibatch_size=c.minibatch_size,
                num_epochs=c.n_epochs,
                lr=c.learning_rate,
                gamma=c.gamma,
                entropy_coeff=c.ent_coef,
            )
            .callbacks(_EpisodeStats)
            .debugging(seed=self.seed)
        )

    def _connect(self) -> None:
        if ray.is_initialized():  # a Ray task of `gridworlds run --ray`, or the caller's own runtime
            return
        if self.config.address is None:
            ray.init(num_cpus=max(1, self.config.num_env_runners), include_dashboard=False)
        else:
            ray.init(address=self.config.address)

    def _build(self, env_kwargs: dict[str, Any]) -> Algorithm:
        self._connect()
        register_env(ENV_NAME, _create_env)
        algo = self._config(env_kwargs).build_algo(logger_creator=_no_result_files)
        if self._weights is not None:  # loaded or closed: go on from its policy
            state: dict[str, Any] = self._weights
            for component in reversed(MODULE_PATH):
                state = {component: state}
            algo.set_state(state)
            # As Algorithm.restore_from_path does: the env runners sample with the learner's weights.
            algo.env_runner_group.sync_weights(
                from_worker_or_learner_group=algo.learner_group, inference_only=True
            )
            self._weights, self._module = None, None
        return algo

    def _steps(self) -> int:
        """Env steps (of one arena) sampled so far, by this algorithm and earlier ones."""
        if self.algo is None:
            return self._earlier_steps
        sampled = self.algo.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
        return self._earlier_steps + int(sampled)

    def learn(
        self, env: HideAndSeekEnv | None, budget: int, callback: Callback | None = None
    ) -> dict[str, float]:
        """Train for `budget` more arena steps on `env`'s world (the checkpoint's when None), one
        `algo.train()` iteration after another; return the last metrics."""
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 0:
            raise ValueError(f"budget must be a non-negative integer, got {budget!r}")
        if budget == 0:  # nothing to learn: no Ray, no algorithm built
            return {**({"steps": float(self._steps())} if self.algo is not None else {}), **self.last}
        env_kwargs = self._arena_kwargs(env)
        if self.algo is None:
            self.algo = self._build(env_kwargs)
            self._built_for = env_kwargs
        elif env_kwargs != self._built_for:
            raise ValueError(
                f"this rllib-ppo agent learns on the world it started on ({self._built_for}); "
                f"got {env_kwargs}: save it and load it, or make a new agent"
            )
        agents = env_kwargs["hiders"] + env_kwargs["seekers"]
        steps = self._steps()
        target = steps + budget
        speed: dict[str, float] = {}
        threads = torch.get_num_threads()
        torch.set_num_threads(self.config.threads)
        try:
            with reporting(self.config.tensorboard, callback) as report:
                while steps < target:
                    start = time.perf_counter()
                    result = self.algo.train()
                    elapsed = time.perf_counter() - start
                    sampled = int(result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME])
                    done = self._earlier_steps + sampled
                    self.last = {**self.last, **_episode_means(result)}
                    speed = {"agent_steps_per_second": (done - steps) * agents / max(elapsed, 1e-9)}
                    steps = done
                    if not report(steps, {**self.last, **speed}):
                        break
        finally:
            torch.set_num_threads(threads)
        return {"steps": float(steps), **self.last, **speed}

    def _policy(self) -> RLModule:
        if self.algo is not None:
            return self.algo.get_module(POLICY)  # the local env runner's, synced after each iteration
        if self._weights is None:
            raise RuntimeError("this rllib-ppo agent has not learned yet: call learn() or load one")
        if self._module is None:
            spec = self._config(self.env_kwargs).get_multi_rl_module_spec(
                env=_create_env(self.env_kwargs), inference_only=False
            )
            self._module = spec.build()[POLICY]
            self._module.set_state(self._weights)
        return self._module

    def _learner_weights(self) -> dict[str, np.ndarray]:
        """The shared policy's weights as the algorithm's learner holds them."""
        state = self.algo.get_state(components="/".join(MODULE_PATH))
        for component in MODULE_PATH:
            state = state[component]
        return state

    def act(self, observation: Any, info: dict[str, Any]) -> np.ndarray:
        """The shared policy's action, int64 [4], for one agent's observation in either form."""
        module = self._policy()
        flat = self._flat(observation)
        expected = module.observation_space.shape
        if flat.shape != expected:
            raise ValueError(f"observation must have shape {expected} once flat, got {flat.shape}")
        with torch.no_grad():
            out = module.forward_inference({Columns.OBS: torch.from_numpy(flat[None])})
            dist = module.get_inference_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
            if self.config.deterministic:
                dist = dist.to_deterministic()
            action = dist.sample()
        return np.asarray(action[0], dtype=np.int64)

    @staticmethod
    def _flat(observation: Any) -> np.ndarray:
        """The observation as the policy reads it: the parts of a "dict" one concatenated in PARTS order."""
        if isinstance(observation, dict):
            return np.concatenate([np.asarray(observation[name]).ravel() for name in PARTS], dtype=np.float32)
        return np.asarray(observation, dtype=np.float32)

    def store(self, files: CheckpointWriter) -> None:
        weights = self._learner_weights() if self.algo is not None else self._weights
        if weights is None:
            raise RuntimeError("nothing to save: this rllib-ppo agent has not learned yet")
        files.tensors(MODEL, {name: torch.from_numpy(np.asarray(value)) for name, value in weights.items()})
        files.json(TRAINING, {"steps": self._steps()})

    def checkpoint_env(self) -> dict[str, Any]:
        return {**self.env_kwargs, "observation": "flat"}

    def restore(self, checkpoint: CheckpointReader) -> None:
        self._weights = {name: tensor.numpy() for name, tensor in checkpoint.tensors(MODEL).items()}
        self._earlier_steps = checkpoint.json(TRAINING)["steps"]

    def close(self) -> None:
        """Stop the algorithm (its env runner actors); the agent can still act with its last policy."""
        if self.algo is not None:
            self._weights, self._earlier_steps = self._learner_weights(), self._steps()
            self.algo.stop()
            self.algo, self._built_for, self._module = None, None, None

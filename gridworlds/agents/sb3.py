"""stable-baselines3 behind the agent interface: PPO, or sb3-contrib's MaskablePPO with action masks.

    make_agent("sb3", "gridworlds/2048-v0", seed=0, algo="MaskablePPO", n_envs=8, learning_rate=3e-4)

Any keyword argument that is not one of this class's own is passed to the algorithm's constructor
(learning_rate, n_steps, batch_size, gamma, ent_coef, policy_kwargs, ...); unknown ones are refused
up front. torch and stable-baselines3 are imported only when this module is.

A checkpoint is data, not SB3's `model.zip` (whose loader unpickles what it holds): the policy's
and its optimiser's state as safetensors, and in training.json the timesteps done and the running
return statistics that scale rewards (normalize_reward). Loading builds the algorithm afresh from
the manifest's parameters and the world's arguments, then gives it those states.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from gridworlds.agents.base import (
    AgentBase,
    Callback,
    CheckpointReader,
    CheckpointWriter,
    check_setting_names,
    setting_names,
)
from gridworlds.agents.simple import action_mask
from gridworlds.envs.checks import check_positive_int
from gridworlds.registry import make

ALGORITHMS = {"PPO": PPO, "MaskablePPO": MaskablePPO}
MODEL, TRAINING = "policy.safetensors", "training.json"
RETURN_STATISTICS = ("mean", "var", "count")  # a RunningMeanStd's state
RESERVED = {"self", "env", "policy", "seed", "device", "verbose"}  # set by this adapter itself


def unit_actions(env: gym.Env) -> gym.Env:
    """`env` with a Box action space rescaled to [-1, 1] (SB3's Gaussian policies start at 0 with a
    spread of 1: a voxel robot's Box(0.6, 1.6) would otherwise start clipped at 0.6); other envs as
    they are."""
    space = env.action_space
    if isinstance(space, gym.spaces.Box) and not (np.all(space.low == -1) and np.all(space.high == 1)):
        return gym.wrappers.RescaleAction(env, -1.0, 1.0)
    return env


class _Reporter(BaseCallback):
    """After each rollout, hands the runner's callback the steps so far and the mean return, length
    and score of the episodes finished since the last report (the previous means if none finished).

    SB3 reports at the end of each rollout but can stop only from a step, so a False from the
    runner's callback stops training at the next step.
    """

    def __init__(self, callback: Callback | None):
        super().__init__()
        self.callback = callback
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.scores: list[float] = []
        self.last: dict[str, float] = {}
        self.stop = False

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:
                self.returns.append(info["episode"]["r"])
                self.lengths.append(info["episode"]["l"])
                if "score" in info:
                    self.scores.append(info["score"])
        return not self.stop

    def _on_rollout_end(self) -> None:
        if self.returns:
            self.last = {
                "episode_return": float(np.mean(self.returns)),
                "episode_length": float(np.mean(self.lengths)),
            }
            if self.scores:
                self.last["score"] = float(np.mean(self.scores))
            self.returns, self.lengths, self.scores = [], [], []
        if self.callback is not None and self.callback(self.num_timesteps, dict(self.last)) is False:
            self.stop = True


@dataclass(frozen=True)
class SB3Config:
    """The adapter's own settings; the algorithm's hyperparameters come beside them."""

    algo: str = "MaskablePPO"  # "PPO" or "MaskablePPO"
    policy: str = "MlpPolicy"
    n_envs: int = 8  # copies of the env stepped together while learning
    normalize_reward: bool = False  # scale rewards by a running estimate of the return's spread
    deterministic: bool = True  # greedy actions when acting


class SB3Agent(AgentBase):
    """A stable-baselines3 learner for any gymnasium world of the suite.

    Arguments: the SB3Config fields (MaskablePPO reads `action_masks()` while training and
    `info["action_mask"]` while acting) and the algorithm's own hyperparameters.
    """

    name = "sb3"
    Config = SB3Config

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        self.check_params(settings)
        own = setting_names(SB3Config)
        super().__init__(world_id, seed, **{k: v for k, v in settings.items() if k in own})
        self.hyperparameters = {k: v for k, v in settings.items() if k not in own}
        check_positive_int("n_envs", self.config.n_envs)
        self.model = None
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None  # a Box world's action bounds
        # With normalize_reward: the running spread of the return, carried over learn calls.
        self.return_statistics = RunningMeanStd(shape=())

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """A ValueError for an unknown algo or a parameter that neither it nor the adapter takes."""
        check_setting_names(params)
        algo = params.get("algo", SB3Config.algo)
        if algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {sorted(ALGORITHMS)}, got {algo!r}")
        accepted = set(inspect.signature(ALGORITHMS[algo].__init__).parameters) - RESERVED
        unknown = sorted(set(params) - set(setting_names(SB3Config)) - accepted)
        if unknown:
            raise ValueError(f"{algo} does not take the parameters {unknown}")

    def params(self) -> dict[str, Any]:
        return {**super().params(), **self.hyperparameters}

    def _vector_env(self, env: gym.Env | None) -> VecEnv:
        """n_envs copies of `env` (same id and arguments), each recording its episodes.

        With normalize_reward, rewards are divided by a running estimate of the return's spread;
        2048's merge rewards run into the thousands, which swamps the value loss otherwise. The
        estimate goes on over learn calls and checkpoints (acting does not need it).
        Without env: copies of the world with the arguments it learned with (a loaded checkpoint's).
        """
        if env is not None and env.spec is not None:
            spec = env.spec

            def build():
                return Monitor(unit_actions(gym.make(spec)))
        else:

            def build():
                return Monitor(unit_actions(make(self.world_id, **self.env_kwargs)))

        vec_env = DummyVecEnv([build] * self.config.n_envs)
        vec_env.seed(self.seed)
        if self.config.normalize_reward:
            vec_env = VecNormalize(vec_env, norm_obs=False, norm_reward=True)
            vec_env.ret_rms = self.return_statistics
        return vec_env

    def _build_model(self, vec_env: VecEnv) -> None:
        if self.config.algo == "MaskablePPO" and isinstance(vec_env.action_space, gym.spaces.Box):
            raise ValueError(f"{self.world_id} has continuous actions: use algo='PPO'")
        self.model = ALGORITHMS[self.config.algo](
            self.config.policy, vec_env, seed=self.seed, device="cpu", verbose=0, **self.hyperparameters
        )

    def learn(self, env: gym.Env | None, budget: int, callback: Callback | None = None) -> dict[str, float]:
        """Train for `budget` more environment steps on copies of `env`; return the last metrics."""
        vec_env = self._vector_env(env)
        if env is not None and env.spec is not None:
            self.env_kwargs = {k: v for k, v in env.spec.kwargs.items() if k != "render_mode"}
        if self.model is None:
            self._build_model(vec_env)
        else:
            self.model.set_env(vec_env)
        reporter = _Reporter(callback)
        self.model.learn(total_timesteps=budget, callback=reporter, reset_num_timesteps=False)
        vec_env.close()
        return {"steps": float(self.model.num_timesteps), **reporter.last}

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        if self.model is None:
            raise RuntimeError("this sb3 agent has not learned yet: call learn() or load a checkpoint")
        deterministic = self.config.deterministic
        if self.config.algo == "MaskablePPO":
            action, _ = self.model.predict(
                observation, deterministic=deterministic, action_masks=action_mask(observation, info)
            )
        else:
            action, _ = self.model.predict(observation, deterministic=deterministic)
        if isinstance(self.model.action_space, gym.spaces.Discrete):
            return int(action)
        if isinstance(self.model.action_space, gym.spaces.Box):
            return self._world_actions(action)
        return action

    def _world_actions(self, unit: np.ndarray) -> np.ndarray:
        """A policy's action in [-1, 1] (see `unit_actions`) in the world's own Box bounds."""
        if self._bounds is None:
            space = make(self.world_id, **self.env_kwargs).action_space
            self._bounds = (space.low, space.high)
        low, high = self._bounds
        return low + (np.clip(unit, -1.0, 1.0) + 1.0) * (high - low) / 2

    def store(self, files: CheckpointWriter) -> None:
        if self.model is None:
            raise RuntimeError("nothing to save: this sb3 agent has not learned yet")
        policy = self.model.policy
        files.tensors(MODEL, {"policy": policy.state_dict(), "optimizer": policy.optimizer.state_dict()})
        statistics = self.return_statistics
        files.json(
            TRAINING,
            {
                "num_timesteps": self.model.num_timesteps,
                "return_statistics": {name: float(getattr(statistics, name)) for name in RETURN_STATISTICS},
            },
        )

    def restore(self, checkpoint: CheckpointReader) -> None:
        saved, training = checkpoint.tensors(MODEL), checkpoint.json(TRAINING)
        vec_env = self._vector_env(None)
        self._build_model(vec_env)
        vec_env.close()  # learn gives the model its own
        self.model.policy.load_state_dict(saved["policy"])
        self.model.policy.optimizer.load_state_dict(saved["optimizer"])
        self.model.num_timesteps = training["num_timesteps"]
        for name in RETURN_STATISTICS:
            setattr(self.return_statistics, name, training["return_statistics"][name])

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
import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, configure
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
    table_of,
)
from gridworlds.agents.ppo import MAX_EPOCHS
from gridworlds.agents.simple import action_mask
from gridworlds.envs.checks import (
    check_choice,
    check_int_range,
    check_non_negative_number,
    check_positive_int,
    check_positive_number,
    check_probability,
)
from gridworlds.registry import make

ALGORITHMS = {"PPO": PPO, "MaskablePPO": MaskablePPO}
MODEL, TRAINING = "policy.safetensors", "training.json"
RETURN_STATISTICS = ("mean", "var", "count")  # a RunningMeanStd's state
# Set by this adapter itself (SB3's tensorboard_log by the adapter's `tensorboard`).
RESERVED = {"self", "env", "policy", "seed", "device", "verbose", "tensorboard_log"}
MAX_ENVS = 1_024  # copies of the world in this process: 8,000 (the default, three zeros too many) is a typo
MAX_STEPS = 100_000  # steps per env per rollout, all held in memory (SB3's default is 2,048)
MAX_WIDTH = 4_096  # of a policy's layer; its weight matrices grow with the square
MAX_EPISODES_KEPT = 100_000  # stats_window_size: the episodes whose statistics SB3 keeps


def _boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")


def _number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")


def _discount(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")


def _table(name: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a table, got {value!r}")


def _net_arch(name: str, value: Any) -> None:
    """A list of layer widths, shared by the policy and the value function, or a table of one each."""
    lists = value.values() if isinstance(value, dict) and set(value) == {"pi", "vf"} else [value]
    for widths in lists:
        if not isinstance(widths, list | tuple) or not all(
            isinstance(width, int) and not isinstance(width, bool) and 1 <= width <= MAX_WIDTH
            for width in widths
        ):
            raise ValueError(
                f"{name} must be a list of layer widths from 1 to {MAX_WIDTH}, or a table "
                f"{{pi = [...], vf = [...]}} of two, got {value!r}"
            )


# The policy_kwargs a TOML file can hold; the others take Python classes (activation_fn, ...).
POLICY_ARGUMENTS = {
    "net_arch": _net_arch,
    "ortho_init": _boolean,
    "log_std_init": _number,
    "share_features_extractor": _boolean,
    "normalize_images": _boolean,
    "optimizer_kwargs": _table,
}


def _policy_kwargs(name: str, value: Any) -> None:
    _table(name, value)
    for key, item in value.items():
        if key not in POLICY_ARGUMENTS:
            raise ValueError(
                f"{name}.{key} cannot be set here; the policy arguments are {list(POLICY_ARGUMENTS)}"
            )
        POLICY_ARGUMENTS[key](f"{name}.{key}", item)


# The arguments of SB3's PPO and MaskablePPO that an experiment can set -> their check(name, value).
# The rest take Python objects, which no TOML file holds (rollout_buffer_class, ...); rates and clip
# ranges are numbers only, not the schedules (callables) SB3 also takes, for the same reason.
PPO_ARGUMENTS = {
    "learning_rate": check_positive_number,
    "n_steps": lambda name, value: check_int_range(name, value, 1, MAX_STEPS),
    "batch_size": check_positive_int,  # and below, a divisor of the rollout
    "n_epochs": lambda name, value: check_int_range(name, value, 1, MAX_EPOCHS),
    "gamma": _discount,
    "gae_lambda": check_probability,
    "clip_range": check_positive_number,
    "clip_range_vf": check_positive_number,
    "normalize_advantage": _boolean,
    "ent_coef": check_non_negative_number,
    "vf_coef": check_non_negative_number,
    "max_grad_norm": check_positive_number,
    "use_sde": _boolean,
    "sde_sample_freq": lambda name, value: check_int_range(name, value, -1, MAX_STEPS),  # -1: per rollout
    "target_kl": check_positive_number,
    "stats_window_size": lambda name, value: check_int_range(name, value, 1, MAX_EPISODES_KEPT),
    "policy_kwargs": _policy_kwargs,
}


def check_ppo_arguments(arguments: dict[str, Any], n_envs: int | None) -> None:
    """A ValueError, beginning with the argument's name, for the first of SB3 PPO's `arguments` out
    of its range (PPO_ARGUMENTS), then for the rules between them that SB3 asserts or warns about,
    with `n_envs` envs stepped together (None: not known yet, so the rollout is not checked)."""
    for name, value in arguments.items():
        PPO_ARGUMENTS[name](name, value)
    defaults = inspect.signature(PPO.__init__).parameters
    n_steps, batch_size, normalize = (
        arguments.get(name, defaults[name].default)
        for name in ("n_steps", "batch_size", "normalize_advantage")
    )
    if normalize and batch_size < 2:  # advantages are normalised over a minibatch
        raise ValueError(f"batch_size must be at least 2 with normalize_advantage, got {batch_size}")
    if n_envs is not None and n_steps * n_envs % batch_size:
        raise ValueError(
            f"batch_size must divide n_steps x n_envs ({n_steps * n_envs} samples, the rollout that SB3 "
            f"cuts into minibatches; SB3 warns of a cut-off minibatch otherwise), got {batch_size}"
        )


def training_logger(tensorboard: str | None) -> Logger:
    """SB3's logger for one learn call: SB3's scalars (rollout/, train/, time/) and the reports'
    metrics as TensorBoard events under `tensorboard`, or no output at all. Left to itself, SB3
    configures a logger without a folder on every learn, which creates a tempdir/SB3-<date> folder."""
    if tensorboard is None:
        return Logger(folder=None, output_formats=[])
    return configure(str(tensorboard), ["tensorboard"])


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
    and score of the episodes finished since the last report (the previous means if none finished),
    and records them in SB3's logger, which writes them with its own scalars after the rollout.

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
        self._report(self.num_timesteps, self.last)

    def _report(self, step: int, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            self.logger.record(name, value)
        if self.callback is not None and self.callback(step, dict(metrics)) is False:
            self.stop = True


@dataclass(frozen=True)
class SB3Config:
    """The adapter's own settings; the algorithm's hyperparameters come beside them."""

    algo: str = "MaskablePPO"  # "PPO" or "MaskablePPO"
    policy: str = "MlpPolicy"
    n_envs: int = 8  # copies of the env stepped together while learning
    normalize_reward: bool = False  # scale rewards by a running estimate of the return's spread
    deterministic: bool = True  # greedy actions when acting
    tensorboard: str | None = None  # a directory for TensorBoard scalars while learning, or None

    def __post_init__(self) -> None:
        check_choice("algo", self.algo, ALGORITHMS)
        check_choice("policy", self.policy, ALGORITHMS[self.algo].policy_aliases)
        check_int_range("n_envs", self.n_envs, 1, MAX_ENVS)
        _boolean("normalize_reward", self.normalize_reward)
        _boolean("deterministic", self.deterministic)
        if self.tensorboard is not None and not isinstance(self.tensorboard, str):
            raise ValueError(f"tensorboard must be a directory or None, got {self.tensorboard!r}")


class SB3Agent(AgentBase):
    """A stable-baselines3 learner for any gymnasium world of the suite.

    Arguments: the SB3Config fields (MaskablePPO reads `action_masks()` while training and
    `info["action_mask"]` while acting) and the algorithm's own hyperparameters. With `tensorboard`
    (a directory; `gridworlds run` gives each agent its own), learning writes SB3's scalars
    (rollout/, train/, time/) and the reports' metrics there, counted in SB3 timesteps; without it,
    nothing (SB3's tensorboard_log is refused: `tensorboard` replaces it).
    """

    name = "sb3"
    Config = SB3Config

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        self.check_params(settings)
        own = setting_names(SB3Config)
        super().__init__(world_id, seed, **{k: v for k, v in settings.items() if k in own})
        self.hyperparameters = {k: v for k, v in settings.items() if k not in own}
        self.model = None
        self._bounds: tuple[np.ndarray, np.ndarray] | None = None  # a Box world's action bounds
        # With normalize_reward: the running spread of the return, carried over learn calls.
        self.return_statistics = RunningMeanStd(shape=())

    @classmethod
    def check_params(cls, params: dict[str, Any], prefix: str = "") -> None:
        """A ValueError for a parameter that neither the algo nor the adapter takes, or the first
        value out of its range (SB3Config's checks, then check_ppo_arguments'); `prefix` goes
        before the parameter's name, as in AgentBase.check_params."""
        check_setting_names(params, prefix)
        own = {name: value for name, value in params.items() if name in setting_names(SB3Config)}
        arguments = {name: value for name, value in params.items() if name not in own}
        try:
            config = SB3Config(**own)
        except ValueError as error:
            raise ValueError(f"{prefix}{error}") from None
        signature = inspect.signature(ALGORITHMS[config.algo].__init__).parameters
        accepted = sorted((set(signature) - RESERVED) & set(PPO_ARGUMENTS))
        unknown = sorted(set(arguments) - set(accepted))
        if unknown:
            raise ValueError(
                f"{table_of(prefix)}{config.algo} does not take the parameters {unknown}; it takes "
                f"{accepted} beside the adapter's {setting_names(SB3Config)}"
            )
        try:
            check_ppo_arguments(arguments, config.n_envs)
        except ValueError as error:
            raise ValueError(f"{prefix}{error}") from None

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
        self.model.set_logger(training_logger(self.config.tensorboard))
        try:
            self.model.learn(total_timesteps=budget, callback=reporter, reset_num_timesteps=False)
        finally:
            self.model.logger.close()
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
        files.tensors(MODEL, model_state(self.model))
        statistics = self.return_statistics
        files.json(
            TRAINING,
            {
                "num_timesteps": self.model.num_timesteps,
                "return_statistics": {name: float(getattr(statistics, name)) for name in RETURN_STATISTICS},
            },
        )

    def restore(self, checkpoint: CheckpointReader) -> None:
        training = checkpoint.json(TRAINING)
        restore_model(self, checkpoint.tensors(MODEL), training["num_timesteps"])
        for name in RETURN_STATISTICS:
            setattr(self.return_statistics, name, training["return_statistics"][name])


def model_state(model: Any) -> dict[str, Any]:
    """What a checkpoint keeps of an SB3 model: its policy's and optimiser's weights, as tensors."""
    return {"policy": model.policy.state_dict(), "optimizer": model.policy.optimizer.state_dict()}


def restore_model(agent: Any, saved: dict[str, Any], num_timesteps: int) -> None:
    """Build `agent`'s model afresh from its parameters and put `model_state`'s weights back in."""
    vec_env = agent._vector_env(None)
    agent._build_model(vec_env)
    vec_env.close()  # learn gives the model its own
    agent.model.policy.load_state_dict(saved["policy"])
    agent.model.policy.optimizer.load_state_dict(saved["optimizer"])
    agent.model.num_timesteps = num_timesteps

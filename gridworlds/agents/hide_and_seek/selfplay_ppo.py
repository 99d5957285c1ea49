"""Self-play PPO for hide-and-seek: one policy for every agent, a centralised critic, the batched engine.

Every agent of both teams plays the same policy (the team flag is in its observation). Rollouts come
from `arenas` arenas stepped together by the engine, one numba call a step for all of them, with one
torch forward pass for every agent of every arena; a rollout is one whole episode of every arena
(they all start and end together), so a PPO update learns from arenas x horizon x agents samples.

The policy reads an agent's observation: its own features and the preparation progress, the other
agents, boxes and ramps as entity lists pooled by attention from the agent (hidden entities masked
out), and its local occupancy view through two 3x3 convolutions. The critic is centralised: it reads
the whole world (`global_state`, which includes the episode's elapsed fraction) and the agent's own
features, so the episode's end at the horizon is a terminal state of a time-aware value, not a cut to
bootstrap over.

Everything torch is imported here, lazily by `gridworlds.agents`; `PPOConfig` holds every
hyperparameter.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from gridworlds.agents import reporting
from gridworlds.agents.base import AgentBase, Callback, CheckpointReader, CheckpointWriter
from gridworlds.agents.hide_and_seek import scripted
from gridworlds.agents.ppo import PPOSettings, clipped_loss, gae, minibatches
from gridworlds.engines import hide_and_seek as engine
from gridworlds.engines.rng import seed_state
from gridworlds.envs.checks import check_choice, check_int_range, check_non_negative_int

# Each arena holds its world and a whole episode of rollout (horizon x agents samples): 64,000 of them,
# the default with three zeros too many, would not fit in memory.
MAX_ARENAS = 4_096
MAX_WIDTH = 4_096  # of a layer: a network that wide is a typo here, and its matrices run to gigabytes
MAX_THREADS = 256


@dataclass(frozen=True)
class PPOConfig(PPOSettings):
    arenas: int = 64  # arenas stepped together; a rollout is one episode of each
    gamma: float = 0.995
    ent_coef: float = 0.01
    hidden: int = 64
    threads: int = 2  # torch threads (the update dominates: 2 threads on 2 cores make it 1.6x faster)
    conv_channels: int = 16  # of the two 3x3 convolutions over the local view
    # A start-state curriculum for the quadrant game: over the first `staged_steps` env steps a share
    # of the arenas falling from `staged_share` to none starts one push from a closed door
    # (engine.stage_forts), because random play almost never carries a box into a door. The episode
    # statistics count the other arenas only.
    staged_steps: int = 0
    staged_share: float = 0.5
    # Who learns: "both" (self-play), "hiders" or "seekers" (that team; the other plays `opponent`:
    # "random", "still", or the scripted "chase" seekers / "fort" hiders).
    learning: str = "both"
    opponent: str = "random"
    tensorboard: str | None = None  # a directory for TensorBoard logs, or None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int_range("arenas", self.arenas, 1, MAX_ARENAS)
        check_int_range("hidden", self.hidden, 1, MAX_WIDTH)
        check_int_range("conv_channels", self.conv_channels, 1, MAX_WIDTH)
        check_int_range("threads", self.threads, 1, MAX_THREADS)
        check_non_negative_int("staged_steps", self.staged_steps)
        share = self.staged_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0.0 <= share < 1.0:
            raise ValueError(
                f"staged_share must be a number in [0, 1) (some arenas stay unstaged for the statistics), "
                f"got {share!r}"
            )
        check_choice("learning", self.learning, TEAMS_LEARNING)
        if self.opponent not in OPPONENTS[self.learning]:
            raise ValueError(
                f"opponent must be one of {list(OPPONENTS[self.learning])} when learning={self.learning!r}, "
                f"got {self.opponent!r}"
            )
        if self.tensorboard is not None and not isinstance(self.tensorboard, str):
            raise ValueError(f"tensorboard must be a directory or None, got {self.tensorboard!r}")


class EntityPolicy(nn.Module):
    """Actor and centralised critic over the engine's observation parts (shapes without the batch
    axis: own (7,), agents (A-1, 8), boxes (B, 8), ramps (R, 6), their masks, preparation (1,), local
    (4, k, k) with k = `view`) and the global state (S,)."""

    def __init__(self, view: int, state_size: int, hidden: int, channels: int):
        super().__init__()
        self.own = nn.Sequential(nn.Linear(engine.SELF_FEATURES + 1, hidden), nn.ReLU())
        self.agent = nn.Linear(engine.AGENT_FEATURES, hidden)
        self.box = nn.Linear(engine.BOX_FEATURES, hidden)
        self.ramp = nn.Linear(engine.RAMP_FEATURES, hidden)
        # A convolution, not a dense layer, over the local view: it sees "box ahead, door beyond" at
        # every position alike, and hiders learn to push boxes into doors with it (a dense layer
        # over the flattened view did not learn it in the same staged runs).
        self.local = nn.Sequential(
            nn.Unflatten(1, (engine.LOCAL_CHANNELS, view, view)),
            nn.Conv2d(engine.LOCAL_CHANNELS, channels, 3),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(channels * (view - 4) ** 2, hidden),
            nn.ReLU(),
        )
        self.trunk = nn.Sequential(
            nn.Linear(3 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.heads = nn.Linear(hidden, sum(engine.ACTION_NVEC))  # the four action parts' logits side by side
        self.critic = nn.Sequential(
            nn.Linear(state_size + engine.SELF_FEATURES, 2 * hidden),
            nn.ReLU(),
            nn.Linear(2 * hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def actor_parameters(self) -> list[nn.Parameter]:
        critic = {id(p) for p in self.critic.parameters()}
        return [p for p in self.parameters() if id(p) not in critic]

    def features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        own = self.own(torch.cat([obs["own"], obs["preparation"]], dim=-1))
        entities = torch.cat(
            [self.agent(obs["agents"]), self.box(obs["boxes"]), self.ramp(obs["ramps"])], dim=1
        )
        visible = torch.cat([obs["agents_mask"], obs["boxes_mask"], obs["ramps_mask"]], dim=1).bool()
        pooled = attend(own, torch.relu(entities), visible)
        local = self.local(obs["local"].flatten(1).float())
        return self.trunk(torch.cat([own, pooled, local], dim=-1))

    def log_policies(self, obs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The log-probabilities of each of the four action parts, [batch, choices of the part]."""
        logits = self.heads(self.features(obs)).split(list(engine.ACTION_NVEC), dim=-1)
        return [part.log_softmax(-1) for part in logits]

    def value(self, state: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        return self.critic(torch.cat([state, own], dim=-1)).squeeze(-1)


def attend(query: torch.Tensor, entities: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Dot-product attention of each agent's query (batch, H) over its entities (batch, E, H), hidden
    ones masked out; an agent that sees nothing gets zeros."""
    # Products and sums, not einsum: einsum runs as a batch of thousands of 1-row matrix products,
    # a sixth of an update's time on CPU.
    scores = (entities * query.unsqueeze(1)).sum(-1) / entities.shape[-1] ** 0.5
    scores = scores.masked_fill(~visible, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # a row of -inf gives NaN: no entity
    return (weights.unsqueeze(-1) * entities).sum(1)


class Trainer:
    """The self-play loop on `config.arenas` arenas of `scenario`: `rollout()` plays one episode in
    every arena, `update(batch)` learns from it. `learning` says which teams the policy plays and
    learns for; the others play `opponent`: "random" (uniform actions) or a scripted policy of
    `gridworlds.agents.hide_and_seek.scripted` ("still", "fort" for hiders, "chase" for seekers)."""

    def __init__(
        self,
        scenario: engine.Scenario,
        view_radius: int,
        config: PPOConfig,
        seed: int,
        learning: tuple[bool, bool] = (True, True),
        opponent: str = "random",
    ):
        if view_radius < 2:
            raise ValueError(f"selfplay-ppo's two 3x3 convolutions need view_radius >= 2, got {view_radius}")
        if config.staged_steps and not scenario.quadrant:
            raise ValueError(
                "staged_steps stages boxes before the quadrant room's doors: play the quadrant game"
            )
        self.scenario, self.config, self.view_radius = scenario, config, view_radius
        self.opponent = opponent
        n = config.arenas
        self.arenas = engine.Arenas.allocate(scenario, n)
        self.arenas.rng[:] = [seed_state(seed * 1_000_003 + i) for i in range(n)]
        self.opponent_rng = np.array([seed_state(seed * 1_000_003 + n + i) for i in range(n)], np.uint64)
        self.generator = torch.Generator().manual_seed(seed)
        k = 2 * view_radius + 1
        with torch.random.fork_rng():  # seeds the initial weights without touching the global stream
            torch.manual_seed(seed)
            self.net = EntityPolicy(k, engine.state_size(scenario), config.hidden, config.conv_channels)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.learning_rate, eps=1e-5)
        self.learns = np.array(
            [learning[engine.HIDERS]] * scenario.hiders + [learning[engine.SEEKERS]] * scenario.seekers
        )
        self.updates = 0

    def rollout(self) -> dict[str, Any]:
        """One whole episode in every arena: the observations, states, actions, log-probabilities,
        values and rewards of every step, [T, N, A, ...], and the episodes' statistics."""
        s, n, a = self.scenario, self.config.arenas, self.scenario.agents
        horizon = s.horizon
        obs = [
            np.empty((horizon + 1, *part.shape), part.dtype)
            for part in engine.Observations.allocate(s, n, self.view_radius)
        ]
        states = np.empty((horizon, n, engine.state_size(s)), np.float32)
        actions = np.empty((horizon, n, a, len(engine.ACTION_NVEC)), np.int64)
        logprobs = np.empty((horizon, n, a), np.float32)
        values = np.empty((horizon, n, a), np.float32)
        rewards = np.empty((horizon, n, a), np.float64)
        engine.reset(self.arenas, s, np.ones(n, np.bool_))
        staged = np.arange(n) < self.staged_arenas()
        if staged.any():
            engine.stage_forts(self.arenas, s, staged)
        engine.observe(self.arenas, s, engine.Observations(*(part[0] for part in obs)))
        for t in range(horizon):
            engine.global_state(self.arenas, s, states[t])
            step_obs = observation_tensors([part[t] for part in obs], n * a)
            with torch.no_grad():
                policies = self.net.log_policies(step_obs)
                chosen = torch.stack([sample(part, self.generator) for part in policies], dim=-1)
                logprobs[t] = log_prob(policies, chosen).view(n, a).numpy()
                own = step_obs["own"]
                values[t] = (
                    self.net.value(torch.from_numpy(states[t]).repeat_interleave(a, 0), own)
                    .view(n, a)
                    .numpy()
                )
            actions[t] = chosen.view(n, a, -1).numpy()
            if not self.learns.all():
                actions[t][:, ~self.learns] = self.opponent_actions()[:, ~self.learns]
            engine.step(
                self.arenas, s, actions[t], rewards[t], engine.Observations(*(part[t + 1] for part in obs))
            )
        stats = {name: float(v[~staged].mean()) for name, v in engine.episode_stats(self.arenas, s).items()}
        stats["staged_share"] = float(staged.mean())
        return {
            "obs": [part[:horizon] for part in obs],
            "states": states,
            "actions": actions,
            "logprobs": logprobs,
            "values": values,
            "rewards": rewards,
            "stats": stats,
        }

    def staged_arenas(self) -> int:
        """How many arenas the next rollout stages (see PPOConfig.staged_steps)."""
        c = self.config
        if c.staged_steps == 0:
            return 0
        done = self.updates * c.arenas * self.scenario.horizon
        return int(c.arenas * c.staged_share * max(0.0, 1.0 - done / c.staged_steps))

    def opponent_actions(self) -> np.ndarray:
        """Every agent's action [N, A, 4] by the opponent's policy (only the non-learning team's are used)."""
        n, a = self.config.arenas, self.scenario.agents
        if self.opponent == "random":
            return random_actions(self.generator, n, a)
        hiders = self.opponent if self.opponent in scripted.HIDER_POLICIES else "still"
        seekers = self.opponent if self.opponent in scripted.SEEKER_POLICIES else "still"
        return scripted.scripted_actions(self.arenas, self.scenario, hiders, seekers, self.opponent_rng)

    def update(self, batch: dict[str, Any]) -> dict[str, float]:
        """PPO epochs over one rollout's samples of the learning teams; returns the losses."""
        c, a = self.config, self.scenario.agents
        advantages, returns = gae(batch["rewards"], batch["values"].astype(np.float64), c.gamma, c.gae_lambda)
        keep = np.broadcast_to(self.learns, batch["rewards"].shape).reshape(-1)
        data = {
            name: torch.from_numpy(part.reshape(-1, *part.shape[3:])[keep])
            for name, part in zip(engine.Observations._fields, batch["obs"], strict=True)
        }
        data["state"] = torch.from_numpy(
            np.repeat(batch["states"], a, axis=1).reshape(-1, batch["states"].shape[-1])[keep]
        )
        data["action"] = torch.from_numpy(batch["actions"].reshape(-1, len(engine.ACTION_NVEC))[keep])
        data["old_logprob"] = torch.from_numpy(batch["logprobs"].reshape(-1)[keep])
        data["advantage"] = torch.from_numpy(advantages.reshape(-1)[keep].astype(np.float32))
        data["return"] = torch.from_numpy(returns.reshape(-1)[keep].astype(np.float32))
        totals = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "clip_fraction": 0.0}
        for idx in minibatches(len(data["action"]), c, self.generator):
            # index_select, not data[idx]: advanced indexing is several times slower on CPU
            mb = {name: part.index_select(0, idx) for name, part in data.items()}
            policies = self.net.log_policies(mb)
            new_logprob = log_prob(policies, mb["action"])
            adv = (mb["advantage"] - mb["advantage"].mean()) / (mb["advantage"].std() + 1e-8)
            policy_loss = clipped_loss(new_logprob, mb["old_logprob"], adv, c.clip_range)
            value_loss = 0.5 * (self.net.value(mb["state"], mb["own"]) - mb["return"]).pow(2).mean()
            mean_entropy = entropy(policies).mean()
            loss = policy_loss + c.value_coef * value_loss - c.ent_coef * mean_entropy
            self.optimizer.zero_grad()
            loss.backward()
            # The actor and the critic are clipped apart: value errors of tens of points would
            # otherwise set the shared norm and shrink the policy's gradient to nothing.
            nn.utils.clip_grad_norm_(self.net.actor_parameters(), c.max_grad_norm)
            nn.utils.clip_grad_norm_(self.net.critic.parameters(), c.max_grad_norm)
            self.optimizer.step()
            with torch.no_grad():
                clipped = ((new_logprob - mb["old_logprob"]).exp() - 1).abs() > c.clip_range
            totals["policy_loss"] += policy_loss.item()
            totals["value_loss"] += value_loss.item()
            totals["entropy"] += mean_entropy.item()
            totals["clip_fraction"] += clipped.float().mean().item()
        self.updates += 1
        return {name: value / (c.n_epochs * c.minibatches) for name, value in totals.items()}


def observation_tensors(parts: list[np.ndarray], rows: int) -> dict[str, torch.Tensor]:
    """One step's observation parts [N, A, ...] as tensors [N * A, ...] (views, no copies)."""
    return {
        name: torch.from_numpy(part).reshape(rows, *part.shape[2:])
        for name, part in zip(engine.Observations._fields, parts, strict=True)
    }


# Log-softmax and gathers rather than torch.distributions.Categorical: the same numbers without its
# per-call argument checks and bookkeeping, which cost more than the arithmetic at these sizes.
def sample(log_policy: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.multinomial(log_policy.exp(), 1, generator=generator).squeeze(-1)


def log_prob(log_policies: list[torch.Tensor], actions: torch.Tensor) -> torch.Tensor:
    """The joint log-probability of the four action components."""
    return sum(part.gather(1, actions[:, k : k + 1]).squeeze(1) for k, part in enumerate(log_policies))


def entropy(log_policies: list[torch.Tensor]) -> torch.Tensor:
    """The joint policy's entropy (the sum of the independent parts')."""
    return -sum((part.exp() * part).sum(-1) for part in log_policies)


def random_actions(generator: torch.Generator, n: int, agents: int) -> np.ndarray:
    """Uniform actions [n, agents, 4]."""
    return np.stack(
        [torch.randint(0, size, (n, agents), generator=generator).numpy() for size in engine.ACTION_NVEC],
        axis=-1,
    )


TEAMS_LEARNING = {"both": (True, True), "hiders": (True, False), "seekers": (False, True)}
OPPONENTS = {"both": ("random",), "hiders": scripted.SEEKER_POLICIES, "seekers": scripted.HIDER_POLICIES}
MODEL, TRAINING = "model.safetensors", "training.json"
ENV_TO_PART = {"self": "own"}  # the env's name of a part -> the engine's


class SelfPlayPPO(AgentBase):
    """Self-play PPO on the batched hide-and-seek engine (see the module docstring).

    Parameters: every field of PPOConfig (arenas, learning_rate, n_epochs, minibatches, gamma,
    gae_lambda, clip_range, ent_coef, value_coef, max_grad_norm, hidden, conv_channels, the quadrant
    game's start-state curriculum staged_steps, staged_share, and learning, opponent, tensorboard):
    `learning` is "both" (self-play), "hiders" or "seekers" (that team learns, the other plays
    `opponent`: "random" (uniform actions), "still", or the scripted "chase" seekers / "fort"
    hiders); `tensorboard` is a directory for every report's metrics as TensorBoard scalars
    (`gridworlds run` gives each agent its own), or None for none. The budget counts env steps
    of one arena (an episode of the quadrant game is 80); every update reports each team's mean
    return, the episode statistics, the losses and the agent steps per second. It plays the worlds'
    dict observations.
    """

    name = "selfplay-ppo"
    Config = PPOConfig

    def __init__(self, world_id: str, seed: int | None = None, **settings: Any):
        if not world_id.startswith("gridworlds/HideAndSeek"):
            raise ValueError(f"selfplay-ppo plays the hide-and-seek worlds, not {world_id}")
        super().__init__(world_id, seed, **settings)
        self.trainer: Trainer | None = None
        self.env_steps = 0
        self.generator = torch.Generator().manual_seed(seed or 0)  # for act

    def _trainer(self, scenario: engine.Scenario, view_radius: int) -> Trainer:
        if self.trainer is None:
            self.trainer = Trainer(
                scenario,
                view_radius,
                self.config,
                self.seed or 0,
                TEAMS_LEARNING[self.config.learning],
                self.config.opponent,
            )
        return self.trainer

    def learn(self, env: Any, budget: int, callback: Callback | None = None) -> dict[str, float]:
        """Train for `budget` env steps of one arena (whole rollouts); returns the last update's metrics."""
        env = getattr(env, "unwrapped", env)
        trainer = self._trainer(env.scenario, env.view_radius)
        torch.set_num_threads(self.config.threads)
        per_update = self.config.arenas * env.scenario.horizon
        metrics: dict[str, float] = {}
        end = self.env_steps + budget
        with reporting(self.config.tensorboard, callback) as report:
            while self.env_steps < end:
                start = time.perf_counter()
                batch = trainer.rollout()
                losses = trainer.update(batch)
                self.env_steps += per_update
                seconds = time.perf_counter() - start
                metrics = {
                    **batch["stats"],
                    **losses,
                    "agent_steps_per_second": per_update * env.scenario.agents / seconds,
                }
                if not report(self.env_steps, metrics):
                    break
        return metrics

    def act(self, observation: Any, info: dict[str, Any]) -> np.ndarray:
        """One agent's action for its dict observation, sampled from the policy."""
        if self.trainer is None:
            raise RuntimeError("this selfplay-ppo agent has no network yet: learn or load it first")
        if not isinstance(observation, dict):
            raise ValueError("selfplay-ppo plays the dict observations (observation='dict')")
        obs = {
            ENV_TO_PART.get(name, name): torch.as_tensor(np.asarray(part))[None]
            for name, part in observation.items()
        }
        with torch.no_grad():
            policies = self.trainer.net.log_policies(obs)
        return np.array([sample(part, self.generator).item() for part in policies], dtype=np.int64)

    def store(self, files: CheckpointWriter) -> None:
        if self.trainer is None:
            raise RuntimeError("nothing to save: this selfplay-ppo agent has not learned yet")
        t = self.trainer
        files.tensors(
            MODEL,
            {
                "net": t.net.state_dict(),
                "optimizer": t.optimizer.state_dict(),
                "generator": t.generator.get_state(),
            },
        )
        state = {
            "scenario": asdict(t.scenario),
            "view_radius": t.view_radius,
            "updates": t.updates,
            "env_steps": self.env_steps,
            "arena_rngs": [int(r) for r in t.arenas.rng],
            "opponent_rngs": [int(r) for r in t.opponent_rng],
        }
        files.json(TRAINING, state)

    def restore(self, checkpoint: CheckpointReader) -> None:
        state = checkpoint.json(TRAINING)
        trainer = self._trainer(engine.Scenario(**state["scenario"]).check(), state["view_radius"])
        saved = checkpoint.tensors(MODEL)
        trainer.net.load_state_dict(saved["net"])
        trainer.optimizer.load_state_dict(saved["optimizer"])
        trainer.generator.set_state(saved["generator"])
        trainer.arenas.rng[:] = np.array(state["arena_rngs"], dtype=np.uint64)
        trainer.opponent_rng[:] = np.array(state["opponent_rngs"], dtype=np.uint64)
        trainer.updates = state["updates"]
        self.env_steps = state["env_steps"]

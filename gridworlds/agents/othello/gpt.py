"""OthelloGPT: a decoder-only transformer over Othello move tokens, its training, and the `othello-gpt`
agent that plays with it.

The model (GPT-2 style: learned token and position embeddings, pre-LayerNorm blocks of causal
self-attention and a GELU MLP, a final LayerNorm and an unembedding) reads moves 1..t of a game as
OthelloGPT tokens (1..60, see engines/othello.py) and predicts move t+1 over the 60 playable squares.
Sizes go from a one-layer test model to Li et al.'s 8 layers of width 512 (`GPTConfig`).

Training (`Trainer`) reads games from a dataset written by `gridworlds data othello` or, without one,
generates them in memory from the seed, both from the engine's uniformly random legal play. The
target is chosen by `TrainConfig.target`:

    "next"   the move that was played next (Li et al.): cross-entropy against one sampled move;
    "legal"  the distribution that move was drawn from, uniform over the legal moves (the default).

Both have the same expected gradient, because a synthetic game's next move is a uniform draw from
the legal moves; "legal" removes the sampling noise of that draw (about 8.5 legal moves per
position), which is what lets a CPU reach the legality targets in minutes instead of hours.

Held-out metrics, every `eval_every` training games, on `eval_games` games of a separate seed:
`next_loss` (cross-entropy against the move played), `legal_loss` (against the uniform legal
distribution) and `legal_top1` (the share of positions whose most probable square is legal).

The agent `othello-gpt` (OthelloVs-v0) learns from data, its budget counting training games, and
plays its most probable legal move; it rebuilds the game's move sequence from the boards it is shown.
A GPU is used when one is present (`device="auto"`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gridworlds.agents import reporting
from gridworlds.agents.base import AgentBase, Callback, CheckpointReader, CheckpointWriter
from gridworlds.agents.othello.players import observation_to_discs
from gridworlds.engines import othello as engine
from gridworlds.engines.othello_labels import next_move_masks
from gridworlds.engines.rng import seed_state
from gridworlds.envs.checks import (
    check_int_range,
    check_non_negative_int,
    check_non_negative_number,
    check_positive_int,
    check_positive_number,
)

WORLD_ID = "gridworlds/OthelloVs-v0"
SQUARES = engine.MAX_MOVES  # output classes: token t in 1..60 is class t - 1
CONTEXT = engine.MAX_MOVES - 1  # moves 1..59 are read; move 60 is only ever predicted
TARGETS = ("legal", "next")
MODEL, TRAINING = "model.safetensors", "training.json"
_SQUARE_BITS = engine.PLAYABLE.astype(np.uint64)  # class c is the bit of square PLAYABLE[c]
EVAL_SEED_OFFSET = 1_000_003  # held-out games come from seed + this, never from the training stream
# Bounds of the sizes that allocate, each far above its default and Li et al.'s model (8 layers of
# width 512), so that only a typo (three zeros too many) meets them: the weights grow with
# layers x d_model^2 x mlp_ratio, and the games are held in memory, 120 bytes each (20 million, Li
# et al.'s synthetic set, is 2.4 GB).
MAX_MODEL_SIZE = {"layers": 64, "d_model": 8_192, "mlp_ratio": 64}
MAX_TRAINING_SIZE = {"batch_size": 65_536, "dataset_games": 20_000_000, "eval_games": 1_000_000}
MAX_THREADS = 256


@dataclass(frozen=True)
class GPTConfig:
    layers: int = 4
    d_model: int = 128
    heads: int = 4
    mlp_ratio: int = 4

    def check(self) -> GPTConfig:
        for name in ("layers", "d_model", "mlp_ratio"):
            check_int_range(name, getattr(self, name), 1, MAX_MODEL_SIZE[name])
        check_positive_int("heads", self.heads)  # and below, a divisor of d_model
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")
        return self


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 256
    learning_rate: float = 1e-3
    warmup_games: int = 25_600  # the learning rate rises linearly over these games ...
    decay_games: int = 0  # ... then falls along a cosine to a tenth over these (0: stays)
    weight_decay: float = 0.01
    target: str = "legal"
    dataset_games: int = 500_000  # generated in memory when the agent has no `data` directory
    eval_games: int = 1_000
    eval_every: int = 25_600  # training games between held-out evaluations
    threads: int = 0  # torch CPU threads, 0 for torch's default

    def check(self) -> TrainConfig:
        for name in ("batch_size", "dataset_games", "eval_games"):
            check_int_range(name, getattr(self, name), 1, MAX_TRAINING_SIZE[name])
        check_positive_int("eval_every", self.eval_every)
        for name in ("warmup_games", "decay_games"):
            check_non_negative_int(name, getattr(self, name))
        check_int_range("threads", self.threads, 0, MAX_THREADS)
        check_positive_number("learning_rate", self.learning_rate)
        check_non_negative_number("weight_decay", self.weight_decay)
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {list(TARGETS)}, got {self.target!r}")
        return self


@dataclass(frozen=True)
class OthelloGPTConfig(TrainConfig, GPTConfig):
    """The `othello-gpt` agent's parameters: the model's and its training's, and where they run."""

    data: str | None = None  # a dataset directory from `gridworlds data othello`; None: generate games
    device: str = "auto"  # "auto" (a GPU when there is one), "cpu", "cuda", ...
    tensorboard: str | None = None  # a log directory, or None

    def __post_init__(self) -> None:
        self.model()  # each checks its own fields
        self.training()
        if self.data is not None and not isinstance(self.data, str):
            raise ValueError(f"data must be a dataset directory or None, got {self.data!r}")
        if not isinstance(self.device, str):
            raise ValueError(
                f"device must be a torch device name such as 'cpu' or 'auto', got {self.device!r}"
            )
        if self.tensorboard is not None and not isinstance(self.tensorboard, str):
            raise ValueError(f"tensorboard must be a directory or None, got {self.tensorboard!r}")

    def model(self) -> GPTConfig:
        return GPTConfig(**{f.name: getattr(self, f.name) for f in fields(GPTConfig)}).check()

    def training(self) -> TrainConfig:
        return TrainConfig(**{f.name: getattr(self, f.name) for f in fields(TrainConfig)}).check()


# --- the model ---


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        d = config.d_model
        self.heads = config.heads
        self.attention_norm = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.attention_out = nn.Linear(d, d)
        self.mlp_norm = nn.LayerNorm(d)
        self.mlp_in = nn.Linear(d, config.mlp_ratio * d)
        self.mlp_out = nn.Linear(config.mlp_ratio * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, d = x.shape
        q, k, v = (
            self.qkv(self.attention_norm(x))
            .view(batch, length, 3, self.heads, d // self.heads)
            .permute(2, 0, 3, 1, 4)
        )
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attention_out(attended.transpose(1, 2).reshape(batch, length, d))
        return x + self.mlp_out(F.gelu(self.mlp_in(self.mlp_norm(x))))


class OthelloGPT(nn.Module):
    """tokens [batch, length <= 59] (1..60; padding 0 only after a game's end) -> logits
    [batch, length, 60] for the next move; `residuals=True` also returns the residual stream after
    the embedding and after every block, a list of layers + 1 tensors [batch, length, d_model]."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config.check()
        d = config.d_model
        self.token_embedding = nn.Embedding(SQUARES + 1, d)
        self.position_embedding = nn.Embedding(CONTEXT, d)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.final_norm = nn.LayerNorm(d)
        self.unembed = nn.Linear(d, SQUARES)
        # GPT-2's initialisation: the layers that write into the residual stream are scaled down by
        # the depth so the stream's variance does not grow with the number of blocks.
        for name, parameter in self.named_parameters():
            if name.endswith("weight") and parameter.dim() == 2:
                std = 0.02 / math.sqrt(2 * config.layers) if name.endswith("_out.weight") else 0.02
                nn.init.normal_(parameter, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)

    def forward(self, tokens: torch.Tensor, residuals: bool = False):
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        stream = [x]
        for block in self.blocks:
            x = block(x)
            stream.append(x)
        logits = self.unembed(self.final_norm(x))
        return (logits, stream) if residuals else logits


def untrained_model(config: GPTConfig, seed: int, device: torch.device | str = "cpu") -> OthelloGPT:
    """A randomly initialised model (the control of probes), the same for the same seed; torch's
    global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return OthelloGPT(config).to(device)


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# --- targets and metrics ---


def legal_classes(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """bool [n, 59, 60]: the squares (as classes) legal after moves 1..t+1 of each game, for the player
    to move next; all False once the game is over."""
    masks = next_move_masks(tokens, lengths)[:, :CONTEXT]
    return ((masks[:, :, None] >> _SQUARE_BITS) & np.uint64(1)).astype(bool)


def batch_tensors(tokens: np.ndarray, lengths: np.ndarray, device: torch.device) -> dict[str, torch.Tensor]:
    """A batch of games as model inputs and targets: `inputs` (moves 1..59), `next` (the class of the
    move that followed, -1 where none did), `legal` (bool classes) and `valid` (a next move exists)."""
    tokens64 = torch.as_tensor(tokens.astype(np.int64))
    following = tokens64[:, 1:] - 1
    return {
        "inputs": tokens64[:, :CONTEXT].to(device),
        "next": following.to(device),
        "legal": torch.as_tensor(legal_classes(tokens, lengths)).to(device),
        "valid": (following >= 0).to(device),
    }


def losses(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Mean over the positions that have a next move: `next_loss`, `legal_loss` and `legal_top1`."""
    valid = batch["valid"]
    log_probs = F.log_softmax(logits[valid].float(), dim=-1)
    legal = batch["legal"][valid]
    legal_loss = -(log_probs * legal).sum(-1) / legal.sum(-1)
    next_loss = -log_probs.gather(-1, batch["next"][valid][:, None])[:, 0]
    top1_legal = legal.gather(-1, log_probs.argmax(-1, keepdim=True))[:, 0]
    return {
        "next_loss": next_loss.mean(),
        "legal_loss": legal_loss.mean(),
        "legal_top1": top1_legal.float().mean(),
    }


@torch.no_grad()
def evaluate(
    model: OthelloGPT, tokens: np.ndarray, lengths: np.ndarray, batch_size: int = 512
) -> dict[str, float]:
    """Held-out metrics over whole games, weighted by their positions."""
    model.eval()
    device = next(model.parameters()).device
    totals: dict[str, float] = {}
    positions = 0
    for start in range(0, len(tokens), batch_size):
        batch = batch_tensors(tokens[start : start + batch_size], lengths[start : start + batch_size], device)
        count = int(batch["valid"].sum())
        for name, value in losses(model(batch["inputs"]), batch).items():
            totals[name] = totals.get(name, 0.0) + float(value) * count
        positions += count
    model.train()
    return {name: total / positions for name, total in totals.items()}


# --- training ---


def game_set(games: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`games` random games generated from `seed` (the same games on every machine)."""
    tokens, lengths, _ = engine.random_game_tokens(games, seed_state(seed))
    return tokens, lengths


class Trainer:
    """The model, its optimiser and where it is in its data: `games_seen` training games so far.

    Batches walk through a permutation of the training games that depends on (seed, epoch) alone,
    so a trainer restored from a checkpoint continues exactly where it stopped on the same games."""

    def __init__(self, model_config: GPTConfig, train_config: TrainConfig, seed: int, device: torch.device):
        self.train_config = train_config.check()
        self.seed, self.device = seed, device
        torch.manual_seed(seed)
        self.model = OthelloGPT(model_config).to(device)
        decayed = [p for p in self.model.parameters() if p.dim() == 2]
        others = [p for p in self.model.parameters() if p.dim() != 2]
        self.optimizer = torch.optim.AdamW(
            [
                {"params": decayed, "weight_decay": train_config.weight_decay},
                {"params": others, "weight_decay": 0.0},
            ],
            lr=train_config.learning_rate,
        )
        self.games_seen = 0

    def learning_rate(self) -> float:
        c = self.train_config
        if self.games_seen < c.warmup_games:
            return c.learning_rate * (self.games_seen + c.batch_size) / (c.warmup_games + c.batch_size)
        if c.decay_games == 0:
            return c.learning_rate
        progress = min(1.0, (self.games_seen - c.warmup_games) / c.decay_games)
        return c.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    def next_batch(self, games: int) -> np.ndarray:
        """Indices, among `games` training games, of the next batch (it never straddles two epochs)."""
        epoch, offset = divmod(self.games_seen, games)
        order = np.random.default_rng([self.seed, epoch]).permutation(games)
        return order[offset : offset + self.train_config.batch_size]

    def train_step(self, tokens: np.ndarray, lengths: np.ndarray) -> dict[str, float]:
        """One optimiser step on the next batch of the training games (tokens, lengths)."""
        indices = self.next_batch(len(tokens))
        batch = batch_tensors(tokens[indices], lengths[indices], self.device)
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        metrics = losses(self.model(batch["inputs"]), batch)
        loss = metrics[f"{self.train_config.target}_loss"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.games_seen += len(indices)
        return {f"train_{name}": float(value.detach()) for name, value in metrics.items()}


# --- the agent ---


class OthelloGPTAgent(AgentBase):
    """`othello-gpt`: trains an OthelloGPT on random games and plays its most probable legal move.

    Parameters: the OthelloGPTConfig fields, that is the GPTConfig fields (layers, d_model, heads,
    mlp_ratio), the TrainConfig fields (batch_size, learning_rate, warmup_games, decay_games,
    weight_decay, target, dataset_games, eval_games, eval_every, threads), `data` (a dataset
    directory written by `gridworlds data othello`, or None to generate `dataset_games` games from
    the seed), `device` ("auto", "cpu", "cuda", ...) and `tensorboard` (a directory for every
    report's metrics as TensorBoard scalars; `gridworlds run` gives each agent its own; or None).
    The budget of `learn` counts training games; every `eval_every` games it reports the held-out
    metrics (module docstring), the training batch's and the games per second.
    """

    name = "othello-gpt"
    budget_unit = "game"
    Config = OthelloGPTConfig

    def __init__(self, world_id: str = WORLD_ID, seed: int | None = None, **settings: Any):
        if world_id != WORLD_ID:
            raise ValueError(f"othello-gpt plays {WORLD_ID}, not {world_id}")
        super().__init__(world_id, seed, **settings)
        self.model_config = self.config.model()
        self.train_config = self.config.training()
        self.device = pick_device(self.config.device)
        self.trainer = Trainer(self.model_config, self.train_config, seed or 0, self.device)
        self._training_games: tuple[np.ndarray, np.ndarray] | None = None
        self._held_out: tuple[np.ndarray, np.ndarray] | None = None
        self.generator = np.random.default_rng(seed)
        self._game: list[int] = []  # the squares played so far in the game being played
        self._position = (engine.START_BLACK, engine.START_WHITE, True)  # black, white, black to move?

    @property
    def model(self) -> OthelloGPT:
        return self.trainer.model

    def training_games(self) -> tuple[np.ndarray, np.ndarray]:
        if self._training_games is None:
            if self.config.data is None:
                self._training_games = game_set(self.train_config.dataset_games, self.seed or 0)
            else:
                from gridworlds.datasets.othello import OthelloGames  # a dataset on disk

                games = OthelloGames(self.config.data)
                self._training_games = (games.tokens, games.lengths)
        return self._training_games

    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        if self._held_out is None:
            self._held_out = game_set(self.train_config.eval_games, (self.seed or 0) + EVAL_SEED_OFFSET)
        return self._held_out

    def evaluate(self) -> dict[str, float]:
        return evaluate(self.model, *self.held_out())

    def learn(self, env_or_data: Any, budget: int, callback: Callback | None = None) -> dict[str, float]:
        """Train on `budget` more games; returns the last report's metrics."""
        trainer = self.trainer
        tokens, lengths = self.training_games()
        if self.train_config.threads:
            torch.set_num_threads(self.train_config.threads)
        every = self.train_config.eval_every
        metrics: dict[str, float] = {}
        end = trainer.games_seen + budget
        start, games_at_start = time.perf_counter(), trainer.games_seen
        with reporting(self.config.tensorboard, callback) as report:
            while trainer.games_seen < end:
                before = trainer.games_seen
                train_metrics = trainer.train_step(tokens, lengths)
                if trainer.games_seen // every > before // every:
                    seconds = time.perf_counter() - start
                    metrics = {
                        **self.evaluate(),
                        **train_metrics,
                        "learning_rate": trainer.learning_rate(),
                        "games_per_second": (trainer.games_seen - games_at_start) / seconds,
                    }
                    if not report(trainer.games_seen, metrics):
                        break
        return metrics or self.evaluate()

    # playing

    def act(self, observation: Any, info: dict[str, Any]) -> int:
        """The most probable legal square after the game so far (rebuilt from the board shown)."""
        me, opp = observation_to_discs(observation)
        self._catch_up(me, opp)
        legal = engine.legal_moves(me, opp)
        if legal == 0:
            raise ValueError("othello-gpt was asked to move in a position without a legal move")
        legal_squares = [s for s in range(64) if (legal >> np.uint64(s)) & np.uint64(1)]
        if not self._game:  # nothing to read yet: the first move of the game is a uniform draw
            square = int(self.generator.choice(legal_squares))
        else:
            tokens = torch.as_tensor(engine.SQUARE_TO_TOKEN[self._game], device=self.device)[None]
            with torch.no_grad():
                logits = self.model(tokens)[0, -1].cpu().numpy()
            square = max(legal_squares, key=lambda s: logits[engine.SQUARE_TO_TOKEN[s] - 1])
        self._play(square)
        return square

    def _play(self, square: int) -> None:
        """Play `square` for the player to move on the tracked board; a player left without a move
        passes (the same player moves again)."""
        black, white, black_to_move = self._position
        me, opp = (black, white) if black_to_move else (white, black)
        me, opp = engine.play(me, opp, square)
        if engine.legal_moves(opp, me) != 0 or engine.legal_moves(me, opp) == 0:
            black_to_move = not black_to_move
        black, white = (me, opp) if self._position[2] else (opp, me)
        self._position = (black, white, black_to_move)
        self._game.append(square)

    def _catch_up(self, me: int, opp: int) -> None:
        """Append the opponent's moves since our last one: the squares newly occupied, in the one order
        that replays legally to the board shown. Four or five discs mean a new game."""
        occupied = int(me | opp)
        if bin(occupied).count("1") <= 5:
            self._game, self._position = [], (engine.START_BLACK, engine.START_WHITE, True)
        black, white, _ = self._position
        new = [s for s in range(64) if (occupied >> s) & 1 and not (int(black | white) >> s) & 1]
        order = self._replay_order(new, {int(me), int(opp)})
        if order is None:
            raise ValueError("othello-gpt cannot rebuild the game: the board does not follow from its moves")
        for square in order:
            self._play(square)

    def _replay_order(self, squares: list[int], board: set[int]) -> list[int] | None:
        """An order of `squares` that plays legally from the tracked position to `board` (the two
        players' discs), or None; the tracked position is left as it was."""
        black, white, black_to_move = self._position
        if not squares:
            return [] if {int(black), int(white)} == board else None
        mover, other = (black, white) if black_to_move else (white, black)
        saved = (list(self._game), self._position)
        for square in squares:
            if (engine.legal_moves(mover, other) >> np.uint64(square)) & np.uint64(1):
                self._play(square)
                rest = self._replay_order([s for s in squares if s != square], board)
                self._game, self._position = list(saved[0]), saved[1]
                if rest is not None:
                    return [square, *rest]
        return None

    # checkpoints

    def store(self, files: CheckpointWriter) -> None:
        trainer = self.trainer
        files.tensors(
            MODEL, {"model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict()}
        )
        files.json(TRAINING, {"games_seen": trainer.games_seen})

    @classmethod
    def loading_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """On a machine without the GPU it was saved with, the agent loads onto the CPU."""
        if params["device"] != "auto" and not torch.cuda.is_available():
            return {**params, "device": "cpu"}
        return params

    def restore(self, checkpoint: CheckpointReader) -> None:
        trainer = self.trainer
        saved = checkpoint.tensors(MODEL)  # on the CPU: loading copies it onto the model's device
        trainer.model.load_state_dict(saved["model"])
        trainer.optimizer.load_state_dict(saved["optimizer"])
        trainer.games_seen = checkpoint.json(TRAINING)["games_seen"]


@torch.no_grad()
def residual_stream(
    model: OthelloGPT, tokens: np.ndarray, lengths: np.ndarray, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """The residual stream at every position of these games that the model reads (position t holds
    moves 1..t+1, t < min(length, 59)): float32 [layers + 1, positions, d_model] (after the embedding,
    then after each block) and, per position, its (game, t) as int64 [positions, 2]."""
    model.eval()
    device = next(model.parameters()).device
    readable = np.arange(CONTEXT)[None, :] < np.minimum(lengths.astype(np.int64), CONTEXT)[:, None]
    games, moves = np.nonzero(readable)
    layers = []
    for start in range(0, len(tokens), batch_size):
        inputs = torch.as_tensor(tokens[start : start + batch_size, :CONTEXT].astype(np.int64), device=device)
        _, stream = model(inputs, residuals=True)
        keep = torch.as_tensor(readable[start : start + batch_size], device=device)
        layers.append(torch.stack([x[keep] for x in stream]).float().cpu().numpy())
    model.train()
    return np.concatenate(layers, axis=1), np.stack([games, moves], axis=1)

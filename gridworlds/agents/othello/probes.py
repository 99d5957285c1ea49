"""Probes and sparse autoencoders on OthelloGPT's residual stream (Li et al., Nanda et al., Du et al.).

The inputs, for one layer: `acts`, float32 [N, d_model], the residual stream at N held-out positions,
and labels from the engine, [N, 64], one column per square (square s = 8 * (row - 1) + column, a1 = 0
at the top-left, h8 = 63), for example `relative` (0 empty / 1 mine / 2 theirs) or the bool
`stable_heuristic`.

Read top to bottom:
1. Probes read every square at once: `train_probe` -> `probe_accuracy`, `probe_directions`.
2. Sparse autoencoders learn an overcomplete dictionary of the same vectors: `train_sae` ->
   `sae_metrics`, `sae_codes`.
3. Which SAE features decode which labels: `feature_aurocs` (against `board_targets` or any bool
   labels), summarised by `matched_features` and `count_distinct_labels`.
4. Whether the probes' directions are among the SAE's decoder directions: `probe_sae_cosines`.

Training is deterministic under its seed, on CPU or the given torch device, and leaves torch's
global random state as it found it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SQUARES = 64
SQUARE_NAMES = tuple(f"{'abcdefgh'[square % 8]}{square // 8 + 1}" for square in range(SQUARES))
RELATIVE_STATES = ("empty", "mine", "theirs")  # the values 0, 1, 2 of the `relative` labels
# The columns of `board_targets`, square by square: "a1:empty", "a1:mine", "a1:theirs", "b1:empty", ...
# the same order as a linear probe's directions reshaped to [64 * 3, d_model].
BOARD_TARGET_NAMES = tuple(f"{square}:{state}" for square in SQUARE_NAMES for state in RELATIVE_STATES)
EVAL_ROWS = 8192  # rows per forward pass when only evaluating: bounds memory, changes no result


# ------------------------------------------------------------------------------------- argument checks


def _check_matrix(name: str, array: Any, rows: int | None, columns: int | None, axes: str) -> None:
    """Raises unless `array` is 2-D with the given sizes (None: any size); `axes` names the two axes
    for the message, e.g. "N, d_model"."""
    shape = tuple(array.shape) if hasattr(array, "shape") else np.shape(array)
    if len(shape) != 2 or rows not in (None, shape[0]) or columns not in (None, shape[1]):
        row_axis, column_axis = axes.split(", ")
        sizes = [f"{axis} = {size}" for axis, size in ((row_axis, rows), (column_axis, columns)) if size]
        given = f" with {' and '.join(sizes)}" if sizes else ""
        raise ValueError(f"{name} must have shape [{axes}]{given}, got shape {list(shape)}")


def _float_matrix(name: str, array: Any, device: Any, columns: int | None = None) -> torch.Tensor:
    """A float32 [N, d_model] tensor on `device`; no copy when it already is one."""
    _check_matrix(name, array, None, columns, "N, d_model")
    return torch.as_tensor(array, dtype=torch.float32, device=device)


def _class_matrix(name: str, array: Any, rows: int, classes: int, device: Any) -> torch.Tensor:
    """An int64 [rows, 64] tensor of class indices in 0..classes-1 (bool labels are classes 0 and 1)."""
    _check_matrix(name, array, rows, SQUARES, "N, squares")
    labels = torch.as_tensor(array, device=device)
    if labels.is_floating_point() or labels.min() < 0 or labels.max() >= classes:
        raise ValueError(f"{name} must hold integer classes 0..{classes - 1} (or bool for 2 classes)")
    return labels.long()


def _numpy(array: Any) -> np.ndarray:
    return array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)


def _shuffled_batches(rows: int, batch_size: int, generator: torch.Generator, device: Any) -> Iterator:
    """Row indices, batch after batch, through one fresh shuffle of all rows after another."""
    while True:
        for batch in torch.randperm(rows, generator=generator).split(batch_size):
            yield batch.to(device)


# ----------------------------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class ProbeConfig:
    n_epochs: int = 1  # Du et al. train one epoch on about 100k games
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.0  # decoupled (AdamW); 0 is plain Adam
    layer_norm: bool = True  # probe each vector normalised to zero mean, unit variance, no learned gain
    hidden: int = 0  # 0: linear probe; > 0: an MLP probe with one hidden ReLU layer of this width
    bias: bool = False  # a linear probe's output bias (an MLP probe always has biases: XOR needs them)


class Probe(nn.Module):
    """Every square's state from one residual vector: x [N, d_model] -> logits [N, 64, classes]."""

    def __init__(self, d_model: int, classes: int, config: ProbeConfig):
        super().__init__()
        self.classes = classes
        self.layer_norm = config.layer_norm
        outputs = SQUARES * classes
        if config.hidden == 0:
            self.net = nn.Linear(d_model, outputs, bias=config.bias)
            # A linear probe's loss is convex, so it can start at zero, and then nothing of a random
            # start lingers in its directions along which the data hardly pull.
            nn.init.zeros_(self.net.weight)
            if config.bias:
                nn.init.zeros_(self.net.bias)
        else:
            self.net = nn.Sequential(
                nn.Linear(d_model, config.hidden), nn.ReLU(), nn.Linear(config.hidden, outputs)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layer_norm:
            x = F.layer_norm(x, x.shape[-1:])
        return self.net(x).view(len(x), SQUARES, self.classes)


def train_probe(
    train_x: Any,
    train_y: Any,
    classes: int,
    config: ProbeConfig = ProbeConfig(),
    seed: int = 0,
    device: Any = "cpu",
) -> Probe:
    """One probe for all 64 squares, trained by Adam on the cross-entropy averaged over squares and rows.

    train_x: float [N, d_model] activations; train_y: [N, 64] classes 0..classes-1 (bool for two).
    The seed fixes the initial weights of an MLP probe and the order of the batches.
    """
    x = _float_matrix("train_x", train_x, device)
    y = _class_matrix("train_y", train_y, len(x), classes, device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        probe = Probe(x.shape[1], classes, config).to(device)
    optimizer = torch.optim.AdamW(
        probe.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    order = torch.Generator().manual_seed(seed)
    steps = config.n_epochs * -(-len(x) // config.batch_size)
    for rows in islice(_shuffled_batches(len(x), config.batch_size, order, device), steps):
        loss = F.cross_entropy(probe(x[rows]).flatten(0, 1), y[rows].flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return probe.eval()


@torch.no_grad()
def probe_accuracy(probe: Probe, x: Any, y: Any) -> dict[str, Any]:
    """How well `probe` reads labels y [N, 64] from activations x [N, d_model].

    Returns "accuracy" (over every square of every row), "per_square" [64], "recall" [classes] (the
    fraction of each class's labels predicted right; NaN for a class absent from y) and
    "balanced_accuracy", the mean recall over the classes present: positives are rare for labels
    such as `flipped`, so plain accuracy flatters a probe that always answers "no".
    """
    device = next(probe.parameters()).device
    x = _float_matrix("x", x, device)
    y = _class_matrix("y", y, len(x), probe.classes, device)
    predictions = torch.cat([probe(rows).argmax(-1) for rows in x.split(EVAL_ROWS)])
    correct = (predictions == y).double()
    recall = np.array([correct[y == c].mean().item() for c in range(probe.classes)])
    return {
        "accuracy": correct.mean().item(),
        "per_square": _numpy(correct.mean(0)),
        "recall": recall,
        "balanced_accuracy": float(np.nanmean(recall)),
    }


def probe_directions(probe: Probe) -> torch.Tensor:
    """A linear probe's weights as [64, classes, d_model]: the direction each (square, class) logit reads.

    Nanda's "mine minus theirs" direction of a square is directions[:, 1] - directions[:, 2].
    """
    if not isinstance(probe.net, nn.Linear):
        raise ValueError("probe_directions needs a linear probe (hidden=0); this probe has a hidden layer")
    directions = probe.net.weight.detach().view(SQUARES, probe.classes, -1)
    if probe.layer_norm:
        # Layer-normed vectors have zero mean, so the weights' all-ones component reads nothing, yet
        # Adam (which scales each weight's step on its own) lets it drift: removed, it cannot blur the
        # cosines with SAE directions.
        directions = directions - directions.mean(2, keepdim=True)
    return directions


# ------------------------------------------------------------------------------ sparse autoencoders


@dataclass(frozen=True)
class SAEConfig:
    expansion: int = 2  # features = expansion * d_model (Du et al.: 2, so 1024 features for d_model 512)
    # The loss is (squared error + l1_coefficient * sum of the codes) per row, divided by d_model, on
    # inputs scaled to mean squared norm d_model with unit-norm decoder directions. Each code is thus
    # shrunk by about l1_coefficient / 2 in those units, whatever the layer. Du et al.'s 0.077 belongs
    # to another loss (an unsquared error norm, codes averaged over features) and does not carry over.
    l1_coefficient: float = 1.0
    steps: int = 10_000
    batch_size: int = 1024
    learning_rate: float = 1e-3
    tied: bool = True  # Du et al. tie the encoder to the decoder
    seed: int = 0


class SparseAutoencoder(nn.Module):
    """codes = relu(encoder @ (scale * x - pre_bias) + encoder_bias)  [N, features], codes >= 0
    reconstruction = (codes @ decoder + pre_bias) / scale             [N, d_model]

    `decoder` [features, d_model] holds one unit-norm direction per feature. Tied: the encoder is the
    decoder itself (one matrix, read transposed); untied: a separate matrix of the same shape.
    `input_scale` (a buffer, set by `train_sae`) makes the training activations' mean squared norm
    d_model, so codes and the L1 coefficient mean the same at every layer. x and reconstructions are
    in the activations' own units, codes in the scaled ones.
    """

    def __init__(self, d_model: int, features: int, tied: bool):
        super().__init__()
        self.tied = tied
        directions = F.normalize(torch.randn(features, d_model), dim=1)
        self.decoder = nn.Parameter(directions)
        self.encoder = None if tied else nn.Parameter(directions.clone())
        self.encoder_bias = nn.Parameter(torch.zeros(features))
        self.pre_bias = nn.Parameter(torch.zeros(d_model))
        self.register_buffer("input_scale", torch.ones(()))

    @property
    def d_model(self) -> int:
        return self.decoder.shape[1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        encoder = self.decoder if self.tied else self.encoder
        return F.relu((x * self.input_scale - self.pre_bias) @ encoder.T + self.encoder_bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction [N, d_model], codes [N, features])"""
        codes = self.encode(x)
        return (codes @ self.decoder + self.pre_bias) / self.input_scale, codes

    @torch.no_grad()
    def renormalise_decoder(self) -> None:
        # Unit-norm directions stop the L1 penalty from being dodged by small codes on long directions.
        self.decoder.copy_(F.normalize(self.decoder, dim=1))


def train_sae(
    acts: Any, config: SAEConfig = SAEConfig(), device: Any = "cpu"
) -> tuple[SparseAutoencoder, dict[str, np.ndarray]]:
    """An SAE of one layer's activations acts [N, d_model], trained by Adam for config.steps batches.

    Returns it with its history, one value per step: "reconstruction" (squared error per row over
    d_model, in the scaled units: about the fraction of the mean squared norm left unexplained), "l1"
    (sum of the codes per row over d_model) and "l0" (active features per row).
    """
    x = _float_matrix("acts", acts, device)
    rows, d_model = x.shape
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        sae = SparseAutoencoder(d_model, config.expansion * d_model, config.tied).to(device)
    with torch.no_grad():
        sae.input_scale.fill_((d_model / torch.linalg.vector_norm(x, dim=1).square().mean()).sqrt().item())
        # Starting the pre-encoder bias at the mean leaves the codes only the variation to explain.
        sae.pre_bias.copy_(x.mean(0) * sae.input_scale)
    optimizer = torch.optim.Adam(sae.parameters(), lr=config.learning_rate)
    order = torch.Generator().manual_seed(config.seed)
    # Kept on the device and read once at the end: a .item() per step would wait for the GPU every step.
    history = torch.zeros(config.steps, 3, device=device)
    batches = _shuffled_batches(rows, config.batch_size, order, device)
    for step, batch_rows in enumerate(islice(batches, config.steps)):
        batch = x[batch_rows]
        reconstruction, codes = sae(batch)
        squared_error = ((reconstruction - batch) * sae.input_scale).square().sum(1).mean() / d_model
        l1 = codes.sum(1).mean() / d_model
        loss = squared_error + config.l1_coefficient * l1
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sae.renormalise_decoder()
        history[step] = torch.stack([squared_error, l1, (codes > 0).sum(1).float().mean()]).detach()
    history = _numpy(history)
    return sae.eval(), {"reconstruction": history[:, 0], "l1": history[:, 1], "l0": history[:, 2]}


@torch.no_grad()
def sae_metrics(sae: SparseAutoencoder, acts: Any) -> dict[str, float]:
    """How well `sae` explains acts [N, d_model]: "fvu" (fraction of variance unexplained: summed
    squared error over summed squared deviation from the mean), "l0" (mean active features per row)
    and "dead_fraction" (features never active on any of these rows)."""
    x = _float_matrix("acts", acts, sae.decoder.device, columns=sae.d_model)
    mean = x.mean(0, dtype=torch.float64)
    squared_error = squared_deviation = active = 0.0
    ever_active = torch.zeros(sae.decoder.shape[0], dtype=torch.bool, device=x.device)
    for batch in x.split(EVAL_ROWS):
        reconstruction, codes = sae(batch)
        squared_error += (reconstruction - batch).double().square().sum().item()
        squared_deviation += (batch.double() - mean).square().sum().item()
        fired = codes > 0
        active += fired.sum().item()
        ever_active |= fired.any(0)
    return {
        "fvu": squared_error / squared_deviation,
        "l0": active / len(x),
        "dead_fraction": 1.0 - ever_active.double().mean().item(),
    }


@torch.no_grad()
def sae_codes(sae: SparseAutoencoder, acts: Any) -> np.ndarray:
    """The feature activations of acts [N, d_model] as a float32 numpy array [N, features]."""
    x = _float_matrix("acts", acts, sae.decoder.device, columns=sae.d_model)
    return _numpy(torch.cat([sae.encode(batch) for batch in x.split(EVAL_ROWS)]))


# --------------------------------------------------------------------- features against labels


def board_targets(relative: Any) -> np.ndarray:
    """relative [N, 64] (0 empty / 1 mine / 2 theirs) as bool [N, 192], one column per
    (square, state), named by BOARD_TARGET_NAMES."""
    _check_matrix("relative", relative, None, SQUARES, "N, squares")
    relative = _numpy(relative)
    if relative.min(initial=0) < 0 or relative.max(initial=0) > 2:
        raise ValueError("relative must hold 0 (empty), 1 (mine) or 2 (theirs)")
    return (relative[:, :, None] == np.arange(len(RELATIVE_STATES))).reshape(len(relative), -1)


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """The 1-based rank of every value within its row, [C, N] -> [C, N]; tied values share their mean rank."""
    ordered = values.sort(dim=1).values
    below = torch.searchsorted(ordered, values, side="left")
    at_or_below = torch.searchsorted(ordered, values, side="right")
    # A group of ties takes ranks below + 1 .. at_or_below: each gets their mean.
    return (below + at_or_below + 1).double() / 2


def feature_aurocs(codes: Any, labels: Any, chunk: int = 128, device: Any = "cpu") -> np.ndarray:
    """AUROC [F, K] of every feature's activation (codes [N, F]) for every bool label (labels [N, K]):
    the chance that a random positive row activates the feature more than a random negative row,
    ties counting one half. NaN for a label with no positives or no negatives.

    By the rank-sum (Mann-Whitney) formula: with every feature's activations ranked over the rows
    (ties sharing their average rank, which matters for ReLU codes full of exact zeros), the AUROC is
    1/2 + (sum of the positives' ranks minus their mean) / (positives * negatives), one matrix product
    for all labels. Features go `chunk` at a time, bounding memory to a few [chunk, N] arrays (about
    15 s on one CPU core for N = 100k, F = 1024, K = 192).
    """
    codes, labels = _numpy(codes), _numpy(labels)
    _check_matrix("codes", codes, None, None, "N, features")
    _check_matrix("labels", labels, len(codes), None, "N, labels")
    if labels.dtype != bool:
        raise ValueError(f"labels must be bool (one column per binary label), got dtype {labels.dtype}")
    rows, features = codes.shape
    targets = torch.as_tensor(labels, dtype=torch.float64, device=device)
    positives = targets.sum(0)
    negatives = rows - positives
    aurocs = np.empty((features, labels.shape[1]))
    for start in range(0, features, chunk):
        block = np.ascontiguousarray(codes[:, start : start + chunk].T, dtype=np.float64)
        centred_ranks = _average_ranks(torch.as_tensor(block, device=device)) - (rows + 1) / 2
        aurocs[start : start + chunk] = _numpy(0.5 + (centred_ranks @ targets) / (positives * negatives))
    aurocs[:, _numpy((positives == 0) | (negatives == 0))] = np.nan
    return aurocs


def matched_features(
    aurocs: np.ndarray, names: Sequence[str], threshold: float = 0.9
) -> list[tuple[int, str, float]]:
    """(feature, label name, AUROC) of every feature whose best label reaches `threshold`, best first.

    Only high AUROCs count (the feature fires for the label), as in Du et al.; a feature that fires
    for a label's absence would need the label negated.
    """
    _check_matrix("aurocs", aurocs, None, len(names), "features, names")
    scores = np.nan_to_num(aurocs, nan=-np.inf)
    best = scores.argmax(1)
    best_scores = scores[np.arange(len(scores)), best]
    matched = np.flatnonzero(best_scores >= threshold)
    return sorted(((int(f), names[best[f]], float(best_scores[f])) for f in matched), key=lambda m: -m[2])


def count_distinct_labels(aurocs: np.ndarray, threshold: float = 0.9) -> int:
    """How many labels (columns of aurocs [F, K]) some feature decodes with AUROC >= threshold."""
    _check_matrix("aurocs", aurocs, None, None, "features, labels")
    return int((np.nan_to_num(aurocs, nan=-np.inf) >= threshold).any(0).sum())


def probe_sae_cosines(
    probe_dirs: Any, decoder: Any, seed: int = 0, percentiles: Sequence[float] = (10, 50, 90)
) -> dict[str, Any]:
    """For every probe direction (probe_dirs [K, d_model]), the largest |cosine| to any SAE decoder
    direction (decoder [F, d_model]), and the same against a control of F random Gaussian directions:
    in high dimensions random directions are nearly orthogonal, so the control says how large a
    cosine means something.

    Returns "max_abs_cosine" [K], "control_max_abs_cosine" [K], and their "mean" / "control_mean" and
    "p10" / "control_p10" ... for each of `percentiles`.
    """
    probe_dirs, decoder = _numpy(probe_dirs).astype(np.float64), _numpy(decoder).astype(np.float64)
    _check_matrix("probe_dirs", probe_dirs, None, None, "K, d_model")
    _check_matrix("decoder", decoder, None, probe_dirs.shape[1], "features, d_model")
    control = np.random.default_rng(seed).standard_normal(decoder.shape)
    result: dict[str, Any] = {}
    for prefix, directions in (("", decoder), ("control_", control)):
        best = np.abs(_unit_rows(probe_dirs) @ _unit_rows(directions).T).max(1)
        result[f"{prefix}max_abs_cosine"] = best
        result[f"{prefix}mean"] = float(best.mean())
        for p in percentiles:
            result[f"{prefix}p{p:g}"] = float(np.percentile(best, p))
    return result


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

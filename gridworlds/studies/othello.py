"""OthelloGPT probing: train a GPT on random Othello games, then read its residual stream layer by
layer with linear probes, MLP probes and sparse autoencoders (the study of Du et al., "How GPT
learns layer by layer", at this machine's scale).

    gridworlds run experiments/othello-gpt-probing.toml

Stages, each resumed from its files when the run is resumed:

1. train      `othello-gpt` on `train.games` random games (each seen once unless `dataset_games` is
              smaller), its held-out legality and losses logged every `eval_every` games from the
              untrained model (0 games, the control) on; a checkpoint after every report.
2. probes     on held-out games (never trained on), the residual stream after the embedding and after
              every block, labelled by the engine (engines/othello_labels.py). Per layer and label, a
              linear probe trained on `probe.train_games` games, scored on `probe.test_games`; MLP
              probes for the two board bases; linear probes on a randomly initialised model as the
              control.
3. saes       per layer and per SAE seed, a sparse autoencoder on the probes' training activations,
              scored on the test ones: FVU, active and dead features; every feature's AUROC for each
              (square, mine/theirs/empty), (square, black/white) and (square, stable) label; the
              cosine between the linear probe's directions and the decoder's, against random ones.
4. report     report.md and PNG plots from the files above.

Parameters, the [study] table:

    seed       seeds the model, its training games and the held-out games
    device     "auto" (a GPU when there is one), "cpu", "cuda", ...
    model      GPTConfig fields: layers, d_model, heads, mlp_ratio
    train      games (the budget), data (a dataset directory from `gridworlds data othello`; without
               one, `dataset_games` games are generated from the seed), and TrainConfig fields
               (batch_size, learning_rate, ...)
    probe      train_games, test_games, and ProbeConfig fields for the linear probes (n_epochs,
               batch_size, learning_rate, weight_decay); mlp_hidden, the MLP probes' width
    sae        seeds, and SAEConfig fields (expansion, l1_coefficient, steps, batch_size,
               learning_rate, tied)

Files under runs/<name>/: training.csv, model/ (the agent's checkpoint: `gridworlds view
gridworlds/OthelloVs-v0 --agent runs/<name>/model`), tensorboard/, probes.json, saes.json,
report.md, legality.png, probes.png, sae_features.png, feature_maps.png.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gridworlds import atomic
from gridworlds.agents import load_agent
from gridworlds.agents.othello.gpt import (
    GPTConfig,
    OthelloGPT,
    OthelloGPTAgent,
    TrainConfig,
    game_set,
    residual_stream,
    untrained_model,
)
from gridworlds.agents.othello.probes import (
    BOARD_TARGET_NAMES,
    ProbeConfig,
    SAEConfig,
    board_targets,
    count_distinct_labels,
    feature_aurocs,
    probe_accuracy,
    probe_directions,
    probe_sae_cosines,
    sae_codes,
    sae_metrics,
    train_probe,
    train_sae,
)
from gridworlds.engines.othello_labels import LABEL_CLASSES, board_labels
from gridworlds.runner.config import POSITIVE, SEEDS, STRING, Fields, Kind
from gridworlds.runner.plots import panels, save_png

PREFIX = "study."
TRAINING_CSV, MODEL_DIR = "training.csv", "model"
PROBES, SAES, REPORT = "probes.json", "saes.json", "report.md"
PROBE_TRAIN_SEED, PROBE_TEST_SEED = 2_000_003, 3_000_017  # offsets from the seed: held-out game sets
PROBED_LABELS = tuple(LABEL_CLASSES)
BASES = ("relative", "colour")  # the two bases of the board state: mine/theirs/empty, black/white/empty
# Du et al.'s linear probes (mine/theirs/empty) on their 8-layer model, layers 0..7, for the report.
STUDY_PROBE_ACCURACY = (62.1, 82.1, 87.8, 90.1, 91.6, 92.6, 93.0, 93.1)
BOARD_AUROC, COLOUR_AUROC, STABILITY_AUROC = 0.9, 0.7, 0.8  # the thresholds of the issue and the study
STABILITY_LABELS = ("stable_heuristic", "stable_rule", "stable_final")


def _table_of(cls: type, extra: tuple[str, ...] = ()) -> Kind:
    names = [f.name for f in fields(cls)] + list(extra)
    return Kind(f"a table with some of {names}", lambda v: isinstance(v, dict) and set(v) <= set(names))


def check_params(params: dict[str, Any], fields_: Fields) -> dict[str, Any]:
    """The [study] parameters, checked (config.py calls this); the configs are checked when built."""
    fields_.no_unknown_keys(params, PREFIX, ["seed", "device", "model", "train", "probe", "sae"])
    for key in ("model", "train", "probe", "sae"):
        if isinstance(params.get(key), dict):
            fields_.no_renamed_settings(params[key], f"{PREFIX}{key}.")
    checked = {
        "seed": fields_.get(params, PREFIX, "seed", Kind("a non-negative integer", _non_negative), 0),
        "device": fields_.get(params, PREFIX, "device", STRING, "auto"),
        "model": fields_.get(params, PREFIX, "model", _table_of(GPTConfig), {}),
        "train": fields_.get(params, PREFIX, "train", _table_of(TrainConfig, ("games", "data")), {}),
        "probe": fields_.get(
            params, PREFIX, "probe", _table_of(ProbeConfig, ("train_games", "test_games", "mlp_hidden")), {}
        ),
        "sae": fields_.get(params, PREFIX, "sae", _table_of(SAEConfig, ("seeds",)), {}),
    }
    fields_.get(checked["train"], PREFIX + "train.", "games", POSITIVE)
    for key in ("train_games", "test_games", "mlp_hidden"):
        fields_.get(checked["probe"], PREFIX + "probe.", key, POSITIVE, 1)
    fields_.get(checked["sae"], PREFIX + "sae.", "seeds", SEEDS, [0])
    return checked


def _non_negative(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def probing_study(params: dict[str, Any], out: Path, resume: bool) -> dict[str, Any]:
    """Run (or resume) the four stages; returns the summary rows: per layer, probe and SAE numbers."""
    agent = train_stage(params, out, resume)
    held_out = functools.cache(lambda: _held_out(params))  # built once, and only when a stage runs
    probes = _stage(out / PROBES, resume, lambda: probe_stage(agent.model, *held_out(), params))
    saes = _stage(out / SAES, resume, lambda: sae_stage(agent.model, *held_out(), params))
    write_report(out, _read_training(out), probes, saes, params)
    return {"rows": summary_rows(probes, saes), "legal_top1": _read_training(out)[-1]["legal_top1"]}


probing_study.check = check_params


def _stage(path: Path, resume: bool, run: Any) -> dict[str, Any]:
    if resume and path.exists():
        return json.loads(path.read_text())
    result = run()
    atomic.write_text(path, json.dumps(result, indent=1))
    return result


# --- 1. training ---


def train_stage(params: dict[str, Any], out: Path, resume: bool) -> OthelloGPTAgent:
    train = dict(params["train"])
    games = train.pop("games")
    checkpoint = out / MODEL_DIR
    atomic.recover_directory(checkpoint)
    if resume and checkpoint.exists():
        agent = load_agent(checkpoint)
        rows = [row for row in _read_training(out) if row["games"] <= agent.trainer.games_seen]
    else:
        agent = OthelloGPTAgent(
            seed=params["seed"],
            device=params["device"],
            tensorboard=str(out / "tensorboard"),
            **params["model"],
            **train,
        )
        rows = [{"games": 0, **agent.evaluate()}]  # the untrained model: the control
    _write_training(out, rows)

    def report(games_seen: int, metrics: dict[str, float]) -> None:
        rows.append({"games": games_seen, **metrics})
        agent.save(checkpoint)  # before the log, so the log never runs ahead of the checkpoint
        _write_training(out, rows)

    remaining = games - agent.trainer.games_seen
    if remaining > 0:
        with tqdm(total=games, initial=agent.trainer.games_seen, unit="game", desc="training") as bar:

            def progress(games_seen: int, metrics: dict[str, float]) -> None:
                bar.update(games_seen - bar.n)
                bar.set_postfix(legal=f"{metrics['legal_top1']:.3f}")
                report(games_seen, metrics)

            agent.learn(None, remaining, progress)
        if rows[-1]["games"] != agent.trainer.games_seen:  # the budget ended between two reports
            report(agent.trainer.games_seen, agent.evaluate())
    return agent


def _write_training(out: Path, rows: list[dict[str, float]]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(out / TRAINING_CSV, buffer.getvalue())


def _read_training(out: Path) -> list[dict[str, float]]:
    with open(out / TRAINING_CSV) as file:
        rows = list(csv.DictReader(file))
    # games stay integers so that rewriting the log after a resume changes none of its rows
    return [
        {key: int(value) if key == "games" else float(value) for key, value in row.items() if value != ""}
        for row in rows
    ]


# --- 2. probes ---


class HeldOut:
    """Held-out games, their engine labels per readable position, and the residual streams of the
    models read on them (each computed once)."""

    def __init__(self, games: int, seed: int):
        self.tokens, self.lengths = game_set(games, seed)
        self.all_labels = board_labels(self.tokens, self.lengths)
        self.where: np.ndarray | None = None  # (game, t) of each position, set by `stream`
        self._streams: dict[int, tuple[OthelloGPT, np.ndarray]] = {}  # the model kept: its id stays its own

    def stream(self, model: OthelloGPT) -> np.ndarray:
        if id(model) not in self._streams:
            acts, self.where = residual_stream(model, self.tokens, self.lengths)
            self._streams[id(model)] = (model, acts)
        return self._streams[id(model)][1]

    def labels(self, name: str) -> np.ndarray:
        assert self.where is not None, "read a residual stream first"
        return getattr(self.all_labels, name)[self.where[:, 0], self.where[:, 1]]


def _held_out(params: dict[str, Any]) -> tuple[HeldOut, HeldOut]:
    probe = params["probe"]
    return (
        HeldOut(probe.get("train_games", 3000), params["seed"] + PROBE_TRAIN_SEED),
        HeldOut(probe.get("test_games", 1000), params["seed"] + PROBE_TEST_SEED),
    )


def _probe_config(params: dict[str, Any], **changes: Any) -> ProbeConfig:
    known = {f.name for f in fields(ProbeConfig)}
    return ProbeConfig(**{**{k: v for k, v in params["probe"].items() if k in known}, **changes})


def moves_only(held: HeldOut) -> np.ndarray:
    """float32 [positions, 60 + 59 + 60], for each position the models read (`held.where`): which
    squares have been played, the move number and the last move, one-hot. A model that remembered
    the moves but had not worked out the board could show a linear probe this much and no more: the
    yardstick for the random model, whose near-uniform attention averages the moves so far."""
    assert held.where is not None, "read a residual stream first"
    games, t = held.where[:, 0], held.where[:, 1]
    moves = np.eye(61, dtype=np.float32)[held.tokens][..., 1:]  # token 0 is padding
    played = np.cumsum(moves, axis=1)[games, t]
    return np.concatenate([played, np.eye(59, dtype=np.float32)[t], moves[games, t]], axis=1)


def probe_stage(model: OthelloGPT, train: HeldOut, test: HeldOut, params: dict[str, Any]) -> dict[str, Any]:
    """Accuracy per layer of every probe: {"linear": {label: [per layer]}, "mlp": {basis: [...]},
    "random_model": {basis: [...]}}, each entry a dict of accuracy and balanced accuracy, and
    "moves_only": {basis: that dict}, a linear probe on `moves_only` (no model)."""
    device = next(model.parameters()).device
    result: dict[str, Any] = {"linear": {}, "mlp": {}, "random_model": {}}
    mlp = _probe_config(params, hidden=params["probe"].get("mlp_hidden", 256))
    random_model = untrained_model(model.config, params["seed"], device)  # same shape, never trained
    jobs = [("linear", model, label, _probe_config(params)) for label in PROBED_LABELS]
    jobs += [("mlp", model, basis, mlp) for basis in BASES]
    jobs += [("random_model", random_model, basis, _probe_config(params)) for basis in BASES]
    for kind, probed, label, config in tqdm(jobs, desc="probes", unit="label"):
        train_acts, test_acts = train.stream(probed), test.stream(probed)
        per_layer = []
        for layer in range(len(train_acts)):
            probe = train_probe(
                train_acts[layer], train.labels(label), LABEL_CLASSES[label], config, params["seed"], device
            )
            scores = probe_accuracy(probe, test_acts[layer], test.labels(label))
            per_layer.append(
                {"accuracy": scores["accuracy"], "balanced_accuracy": scores["balanced_accuracy"]}
            )
        result[kind][label] = per_layer
    result["moves_only"] = {}
    train_moves, test_moves = moves_only(train), moves_only(test)
    for basis in BASES:
        probe = train_probe(
            train_moves, train.labels(basis), LABEL_CLASSES[basis], _probe_config(params), params["seed"]
        )
        scores = probe_accuracy(probe, test_moves, test.labels(basis))
        result["moves_only"][basis] = {
            "accuracy": scores["accuracy"],
            "balanced_accuracy": scores["balanced_accuracy"],
        }
    return result


# --- 3. sparse autoencoders ---


def sae_stage(model: OthelloGPT, train: HeldOut, test: HeldOut, params: dict[str, Any]) -> dict[str, Any]:
    """Per layer and SAE seed: metrics, feature counts and probe-decoder cosines; and the AUROC maps of
    the best board features of the layer with the most (for the report's boards)."""
    device = next(model.parameters()).device
    train_acts, test_acts = train.stream(model), test.stream(model)
    known = {f.name for f in fields(SAEConfig)}
    base = {k: v for k, v in params["sae"].items() if k in known}
    board = board_targets(test.labels("relative"))
    colour = test.labels("colour")
    colour_targets = (colour[:, :, None] == np.array([1, 2])).reshape(len(colour), -1)
    rows, maps = [], []
    jobs = [(layer, seed) for layer in range(len(train_acts)) for seed in params["sae"].get("seeds", [0])]
    for layer, seed in tqdm(jobs, desc="saes", unit="sae"):
        sae, _ = train_sae(train_acts[layer], SAEConfig(**base, seed=seed), device)
        codes = sae_codes(sae, test_acts[layer])
        board_auroc = feature_aurocs(codes, board)
        colour_auroc = feature_aurocs(codes, colour_targets)
        stability = {name: feature_aurocs(codes, test.labels(name)) for name in STABILITY_LABELS}
        probe = train_probe(
            train_acts[layer], train.labels("relative"), 3, _probe_config(params), params["seed"], device
        )
        cosines = probe_sae_cosines(
            probe_directions(probe).reshape(-1, model.config.d_model).cpu().numpy(),
            sae.decoder.detach().cpu().numpy(),
            seed,
        )
        rows.append(
            {
                "layer": layer,
                "seed": seed,
                **sae_metrics(sae, test_acts[layer]),
                "board_labels_matched": count_distinct_labels(board_auroc, BOARD_AUROC),
                "board_features": int((np.nan_to_num(board_auroc, nan=0) >= BOARD_AUROC).any(1).sum()),
                "colour_pairs": int((np.nan_to_num(colour_auroc, nan=0) > COLOUR_AUROC).sum()),
                **{
                    f"{name}_features": int((np.nan_to_num(auroc, nan=0) > STABILITY_AUROC).any(1).sum())
                    for name, auroc in stability.items()
                },
                "best_stability_auroc": float(np.nanmax(stability["stable_heuristic"])),
                "probe_cosine": cosines["mean"],
                "random_cosine": cosines["control_mean"],
            }
        )
        maps.append((rows[-1]["board_features"], layer, seed, _best_feature_maps(board_auroc)))
    _, layer, seed, best = max(maps, key=lambda entry: entry[0])
    return {"rows": rows, "feature_maps": {"layer": layer, "seed": seed, "features": best}}


def _best_feature_maps(board_auroc: np.ndarray, count: int = 4) -> list[dict[str, Any]]:
    """The `count` features with the highest board AUROC, each with its AUROC per square for its
    best state (an 8x8 map)."""
    scores = np.nan_to_num(board_auroc, nan=0.5)
    best = np.argsort(-scores.max(1))[:count]
    result = []
    for feature in best:
        label = int(scores[feature].argmax())
        state = label % 3
        result.append(
            {
                "feature": int(feature),
                "label": BOARD_TARGET_NAMES[label],
                "auroc": float(scores[feature, label]),
                "state": ("empty", "mine", "theirs")[state],
                "map": scores[feature, state::3].reshape(8, 8).round(3).tolist(),
            }
        )
    return result


# --- 4. report ---


def summary_rows(probes: dict[str, Any], saes: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    layers = len(probes["linear"]["relative"])
    for layer in range(layers):
        sae_rows = [row for row in saes["rows"] if row["layer"] == layer]
        rows.append(
            {
                "layer": layer,
                "mine/theirs %": round(100 * probes["linear"]["relative"][layer]["accuracy"], 1),
                "black/white %": round(100 * probes["linear"]["colour"][layer]["accuracy"], 1),
                "random model %": round(100 * probes["random_model"]["relative"][layer]["accuracy"], 1),
                "mlp mine/theirs %": round(100 * probes["mlp"]["relative"][layer]["accuracy"], 1),
                "sae fvu": round(float(np.mean([r["fvu"] for r in sae_rows])), 3),
                "sae dead": round(float(np.mean([r["dead_fraction"] for r in sae_rows])), 3),
                "board labels >= 0.9": round(
                    float(np.mean([r["board_labels_matched"] for r in sae_rows])), 1
                ),
            }
        )
    return rows


def write_report(
    out: Path, training: list[dict[str, float]], probes: dict[str, Any], saes: dict[str, Any], params: dict
) -> None:
    _plot_legality(out, training)
    _plot_probes(out, probes)
    _plot_sae_features(out, saes)
    _plot_feature_maps(out, saes["feature_maps"])
    atomic.write_text(out / REPORT, report_markdown(training, probes, saes, params))


def report_markdown(
    training: list[dict[str, float]], probes: dict[str, Any], saes: dict[str, Any], params: dict
) -> str:
    model = GPTConfig(**params["model"])
    final, control = training[-1], training[0]
    lines = [
        "# OthelloGPT probing",
        "",
        f"Model: {model.layers} layers, d_model {model.d_model}, {model.heads} heads; trained on "
        f"{int(final['games']):,} random games (seed {params['seed']}).",
        "",
        f"Held-out top-1 legal move rate: **{100 * final['legal_top1']:.2f}%** "
        f"(untrained control {100 * control['legal_top1']:.1f}%); next-move loss {final['next_loss']:.3f} "
        f"(the entropy floor of uniformly random play is about ln 8.5 = 2.14).",
        "",
        "![legality](legality.png)",
        "",
        "## Probes (held-out positions)",
        "",
        "| layer | mine/theirs/empty | black/white/empty | random model | MLP, mine/theirs "
        "| MLP, black/white | Du et al. (8 layers, 512) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for layer, relative in enumerate(probes["linear"]["relative"]):
        study = f"{STUDY_PROBE_ACCURACY[layer]:.1f}" if layer < len(STUDY_PROBE_ACCURACY) else ""
        cells = [
            relative,
            probes["linear"]["colour"][layer],
            probes["random_model"]["relative"][layer],
            probes["mlp"]["relative"][layer],
            probes["mlp"]["colour"][layer],
        ]
        lines.append(
            f"| {layer} | " + " | ".join(f"{100 * c['accuracy']:.1f}" for c in cells) + f" | {study} |"
        )
    moves = probes["moves_only"]
    lines += [
        "",
        "No model, the same linear probe on the moves alone (which squares have been played, the move "
        f"number and the last move, one-hot): {100 * moves['relative']['accuracy']:.1f}% mine/theirs/empty, "
        f"{100 * moves['colour']['accuracy']:.1f}% black/white/empty. The embedding shows the move number "
        "and the last move; a random model's near-uniform attention adds part of the set of played squares.",
        "",
        "Balanced accuracy (mean recall of the two classes) of linear probes for the per-square flags:",
        "",
        "| layer | " + " | ".join(label for label in PROBED_LABELS if label not in BASES) + " |",
        "|---|" + "---:|" * (len(PROBED_LABELS) - len(BASES)),
    ]
    for layer in range(len(probes["linear"]["relative"])):
        cells = [
            f"{100 * probes['linear'][label][layer]['balanced_accuracy']:.1f}"
            for label in PROBED_LABELS
            if label not in BASES
        ]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "![probes](probes.png)",
        "",
        "## Sparse autoencoders (mean over SAE seeds)",
        "",
        "| layer | FVU | active features | dead | board labels matched (AUROC >= 0.9) | colour pairs > 0.7 "
        "| stability features > 0.8 (heuristic / rule / final) | best stability AUROC "
        "| probe-decoder cosine (random) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    layers = sorted({row["layer"] for row in saes["rows"]})
    for layer in layers:
        rows = [row for row in saes["rows"] if row["layer"] == layer]

        def mean(key: str, rows: list = rows) -> float:
            return float(np.mean([row[key] for row in rows]))

        lines.append(
            f"| {layer} | {mean('fvu'):.3f} | {mean('l0'):.1f} | {100 * mean('dead_fraction'):.1f}% "
            f"| {mean('board_labels_matched'):.1f} | {mean('colour_pairs'):.1f} "
            f"| {mean('stable_heuristic_features'):.1f} / {mean('stable_rule_features'):.1f} / "
            f"{mean('stable_final_features'):.1f} | {mean('best_stability_auroc'):.3f} "
            f"| {mean('probe_cosine'):.3f} ({mean('random_cosine'):.3f}) |"
        )
    distinct = max(row["board_labels_matched"] for row in saes["rows"])
    lines += [
        "",
        f"Most distinct (square, state) labels matched by one SAE: {distinct}.",
        "",
        "![sae features](sae_features.png)",
        "",
        "![feature maps](feature_maps.png)",
        "",
    ]
    return "\n".join(lines)


def _plot_legality(out: Path, training: list[dict[str, float]]) -> None:
    figure, (legal, loss) = panels(2, "OthelloGPT on held-out random games")
    trained = [row for row in training if row["games"] > 0]
    games = [row["games"] for row in trained]
    legal.plot(games, [100 * row["legal_top1"] for row in trained], marker=".")
    legal.axhline(100 * training[0]["legal_top1"], color="grey", linestyle=":", label="untrained")
    legal.set(xscale="log", xlabel="training games", ylabel="top-1 legal %", title="legal move rate")
    legal.legend()
    for key in ("next_loss", "legal_loss"):
        loss.plot(games, [row[key] for row in trained], label=key)
        loss.axhline(training[0][key], color="grey", linestyle=":")
    loss.set(
        xscale="log",
        xlabel="training games",
        ylabel="cross-entropy",
        title="held-out losses (dotted: untrained)",
    )
    loss.legend()
    save_png(figure, out / "legality.png")


def _plot_probes(out: Path, probes: dict[str, Any]) -> None:
    figure, (bases, flags) = panels(2, "Probe accuracy by layer")
    layers = range(len(probes["linear"]["relative"]))
    for kind, label, style in [
        ("linear", "relative", "-"),
        ("linear", "colour", "-"),
        ("mlp", "relative", "--"),
        ("mlp", "colour", "--"),
        ("random_model", "relative", ":"),
    ]:
        bases.plot(
            layers,
            [100 * s["accuracy"] for s in probes[kind][label]],
            style,
            marker=".",
            label=f"{kind} {label}",
        )
    study = STUDY_PROBE_ACCURACY[: len(layers)]
    bases.plot(range(len(study)), study, "k", alpha=0.4, label="Du et al. linear relative")
    moves = 100 * probes["moves_only"]["relative"]["accuracy"]
    bases.axhline(moves, color="grey", linestyle="-.", label="moves only, relative (no model)")
    bases.set(xlabel="layer (0 = embedding)", ylabel="accuracy %", title="board state")
    bases.legend(fontsize=7)
    for label in PROBED_LABELS:
        if label not in BASES:
            flags.plot(
                layers,
                [100 * s["balanced_accuracy"] for s in probes["linear"][label]],
                marker=".",
                label=label,
            )
    flags.set(xlabel="layer (0 = embedding)", ylabel="balanced accuracy %", title="per-square flags (linear)")
    flags.legend(fontsize=7)
    save_png(figure, out / "probes.png")


def _plot_sae_features(out: Path, saes: dict[str, Any]) -> None:
    keys = ("board_labels_matched", "colour_pairs", "stable_heuristic_features", "stable_rule_features")
    figure, axes = panels(len(keys), "SAE features per layer (one dot per SAE seed, line: mean)")
    layers = sorted({row["layer"] for row in saes["rows"]})
    for ax, key in zip(axes[: len(keys)], keys, strict=True):
        for layer in layers:
            values = [row[key] for row in saes["rows"] if row["layer"] == layer]
            ax.scatter([layer] * len(values), values, color="C0", s=10)
        ax.plot(layers, [np.mean([r[key] for r in saes["rows"] if r["layer"] == layer]) for layer in layers])
        ax.set(xlabel="layer (0 = embedding)", title=key.replace("_", " "))
    save_png(figure, out / "sae_features.png")


def _plot_feature_maps(out: Path, feature_maps: dict[str, Any]) -> None:
    features = feature_maps["features"]
    figure, axes = panels(
        len(features),
        f"SAE features of layer {feature_maps['layer']} (seed {feature_maps['seed']}): AUROC per square",
    )
    for ax, feature in zip(axes[: len(features)], features, strict=True):
        image = ax.imshow(np.array(feature["map"]), vmin=0, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(8), list("abcdefgh"))
        ax.set_yticks(range(8), [str(r) for r in range(1, 9)])
        ax.set_title(f"#{feature['feature']}: {feature['label']} ({feature['auroc']:.2f})", fontsize=9)
    figure.colorbar(image, ax=axes[: len(features)], shrink=0.8)
    save_png(figure, out / "feature_maps.png")

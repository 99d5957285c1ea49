"""Probes and sparse autoencoders for OthelloGPT, checked on synthetic data whose answer is known."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gridworlds.agents.othello.probes import (  # noqa: E402
    BOARD_TARGET_NAMES,
    SQUARE_NAMES,
    Probe,
    ProbeConfig,
    SAEConfig,
    SparseAutoencoder,
    board_targets,
    count_distinct_labels,
    feature_aurocs,
    matched_features,
    probe_accuracy,
    probe_directions,
    probe_sae_cosines,
    sae_codes,
    sae_metrics,
    train_probe,
    train_sae,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def sparse_signal(rows=8192, d_model=32, atoms=64, active=3, seed=0):
    """Rows that are each `active` random atoms of a random unit-norm dictionary, weighted 1 to 2."""
    rng = np.random.default_rng(seed)
    dictionary = rng.standard_normal((atoms, d_model))
    dictionary /= np.linalg.norm(dictionary, axis=1, keepdims=True)
    codes = np.zeros((rows, atoms))
    chosen = np.argsort(rng.random((rows, atoms)), axis=1)[:, :active]
    np.put_along_axis(codes, chosen, rng.uniform(1, 2, (rows, active)), axis=1)
    return (codes @ dictionary).astype(np.float32), dictionary


def pairwise_auroc(scores, positive):
    """The AUROC by its definition: over every (positive, negative) pair, 1 if the positive scores
    higher, 1/2 for a tie."""
    pos, neg = scores[positive], scores[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return np.nan
    return np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))


# ----------------------------------------------------------------------------------------- probes


def test_linear_probe_reads_separable_squares_and_nothing_from_shuffled_labels():
    rng = np.random.default_rng(0)
    d_model, train = 16, 3000
    weights = rng.standard_normal((64, 3, d_model))
    weights -= weights.mean(2, keepdims=True)  # orthogonal to all-ones: layer norm keeps the classes apart
    x = rng.standard_normal((4000, d_model)).astype(np.float32)
    y = np.einsum("scd,nd->nsc", weights, x).argmax(2)
    config = ProbeConfig(n_epochs=10, learning_rate=3e-2)

    probe = train_probe(x[:train], y[:train], 3, config, seed=0)
    held_out = probe_accuracy(probe, x[train:], y[train:])
    assert held_out["accuracy"] > 0.95
    assert held_out["per_square"].shape == (64,) and held_out["per_square"].min() > 0.85

    shuffled = train_probe(x[:train], y[rng.permutation(train)], 3, config, seed=0)
    assert probe_accuracy(shuffled, x[train:], y[train:])["balanced_accuracy"] < 0.40  # chance: 1/3


def test_probe_accuracy_balances_rare_positives():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 8)).astype(np.float32)
    y = rng.random((500, 64)) < 0.1
    always_no = Probe(8, 2, ProbeConfig())  # a linear probe starts at zero, so it predicts class 0
    scores = probe_accuracy(always_no, x, y)
    assert scores["accuracy"] == pytest.approx(1 - y.mean())
    assert scores["recall"].tolist() == [1.0, 0.0]
    assert scores["balanced_accuracy"] == 0.5


def test_mlp_probe_learns_xor_that_a_linear_probe_cannot():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4000, 4)).astype(np.float32)
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    # Each square: do two coordinates have the same sign? No line separates the four quadrants.
    y = np.stack([x[:, pairs[s % 6][0]] * x[:, pairs[s % 6][1]] > 0 for s in range(64)], axis=1)
    accuracy = {}
    for hidden in (0, 64):
        config = ProbeConfig(n_epochs=20, learning_rate=1e-2, hidden=hidden, layer_norm=False)
        probe = train_probe(x[:3000], y[:3000], 2, config, seed=0)
        accuracy[hidden] = probe_accuracy(probe, x[3000:], y[3000:])["accuracy"]
    assert accuracy[0] < 0.6
    assert accuracy[64] > 0.9


def test_probe_directions_are_the_weights_read_from_the_layer_normed_vector():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 12)).astype(np.float32)
    y = rng.integers(0, 3, (300, 64))
    probe = train_probe(x, y, 3, ProbeConfig(n_epochs=2), seed=0)
    directions = probe_directions(probe)
    assert directions.shape == (64, 3, 12)
    normed = torch.nn.functional.layer_norm(torch.as_tensor(x), (12,))
    expected = torch.einsum("scd,nd->nsc", directions, normed)
    assert torch.allclose(probe(torch.as_tensor(x)).detach(), expected, atol=1e-5)
    # Layer norm hides the all-ones direction from the probe; none of it may linger in the weights.
    assert directions.sum(2).abs().max() < 1e-5

    mlp = train_probe(x, y, 3, ProbeConfig(hidden=8), seed=0)
    with pytest.raises(ValueError, match="linear probe"):
        probe_directions(mlp)


# ----------------------------------------------------------------------------- sparse autoencoders


@pytest.fixture(scope="module")
def signal():
    return sparse_signal()


@pytest.mark.parametrize(
    "tied, l1_coefficient, max_fvu",
    [
        (False, 0.6, 0.10),
        # A tied encoder has unit-norm rows, so it cannot scale up to undo the L1 shrinkage: the same
        # dictionary is found, at a somewhat higher reconstruction error.
        (True, 0.7, 0.15),
    ],
)
def test_sae_recovers_a_known_sparse_dictionary(signal, tied, l1_coefficient, max_fvu):
    acts, dictionary = signal
    config = SAEConfig(
        l1_coefficient=l1_coefficient, steps=3000, batch_size=256, learning_rate=3e-3, tied=tied
    )
    sae, history = train_sae(acts[:6000], config)
    metrics = sae_metrics(sae, acts[6000:])
    assert metrics["fvu"] < max_fvu
    assert metrics["dead_fraction"] < 0.1
    assert 3 <= metrics["l0"] < 16  # 3 atoms per row; far fewer than the 64 features
    best_cosine = np.abs(dictionary @ sae.decoder.detach().numpy().T).max(1)
    assert np.mean(best_cosine > 0.9) >= 0.9
    assert set(history) == {"reconstruction", "l1", "l0"} and history["l0"].shape == (3000,)
    assert history["reconstruction"][-100:].mean() < history["reconstruction"][:100].mean()


def test_sae_input_scale_makes_training_independent_of_the_activations_units(signal):
    acts = signal[0][:2000]
    config = SAEConfig(steps=200, batch_size=256, tied=False)
    sae, _ = train_sae(acts, config)
    scaled_sae, _ = train_sae(acts * 1000, config)
    scaled = acts * sae.input_scale.item()
    assert np.mean(np.sum(scaled**2, axis=1)) == pytest.approx(32, rel=1e-4)  # mean squared norm d_model
    assert scaled_sae.input_scale.item() == pytest.approx(sae.input_scale.item() / 1000, rel=1e-5)
    assert torch.allclose(scaled_sae.decoder, sae.decoder, atol=1e-3)
    assert np.allclose(sae_codes(scaled_sae, acts * 1000), sae_codes(sae, acts), atol=1e-2)


def test_sae_metrics_on_a_hand_built_exact_autoencoder():
    # Features +e_i and -e_i: relu(x) - relu(-x) rebuilds x exactly.
    sae = SparseAutoencoder(d_model=4, features=8, tied=True)
    with torch.no_grad():
        sae.decoder.copy_(torch.cat([torch.eye(4), -torch.eye(4)]))
        sae.encoder_bias.zero_()
    x = np.abs(np.random.default_rng(4).standard_normal((100, 4))).astype(np.float32)
    metrics = sae_metrics(sae, x)
    assert metrics["fvu"] < 1e-10
    assert metrics["l0"] == 4
    assert metrics["dead_fraction"] == 0.5  # x >= 0: the -e_i features never fire
    codes = sae_codes(sae, x)
    assert codes.dtype == np.float32 and np.array_equal(codes, np.concatenate([x, 0 * x], axis=1))


def test_training_is_deterministic_under_its_seed(signal):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 8)).astype(np.float32)
    y = rng.integers(0, 3, (200, 64))
    config = ProbeConfig(hidden=16, n_epochs=2)
    global_state = torch.random.get_rng_state()
    first, again, other = (train_probe(x, y, 3, config, seed=s) for s in (0, 0, 1))
    weights = [torch.cat([p.flatten() for p in probe.parameters()]) for probe in (first, again, other)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])

    acts = signal[0][:1000]
    runs = [train_sae(acts, SAEConfig(steps=50, batch_size=128, seed=s)) for s in (0, 0, 1)]
    assert torch.equal(runs[0][0].decoder, runs[1][0].decoder)
    assert np.array_equal(runs[0][1]["reconstruction"], runs[1][1]["reconstruction"])
    assert not torch.equal(runs[0][0].decoder, runs[2][0].decoder)
    assert torch.equal(torch.random.get_rng_state(), global_state)  # the caller's stream is untouched


# --------------------------------------------------------------------------- features against labels


def test_feature_aurocs_match_the_pairwise_definition_with_ties():
    rng = np.random.default_rng(6)
    codes = np.maximum(rng.integers(-3, 4, (60, 7)), 0).astype(np.float32)  # over half exact zeros
    labels = rng.random((60, 5)) < 0.3
    labels[:, 3] = False  # no positives
    labels[:, 4] = True  # no negatives
    expected = np.array([[pairwise_auroc(codes[:, f], labels[:, k]) for k in range(5)] for f in range(7)])
    aurocs = feature_aurocs(codes, labels, chunk=3)
    assert aurocs.shape == (7, 5)
    assert np.isnan(aurocs[:, 3:]).all() and np.isnan(expected[:, 3:]).all()
    assert np.allclose(aurocs[:, :3], expected[:, :3], rtol=0, atol=1e-12)


def test_feature_aurocs_on_constructed_features():
    label = np.arange(100) % 4 == 0
    codes = np.stack([label * 2.0, np.zeros(100), 1.0 - label], axis=1)  # perfect, constant, inverted
    assert feature_aurocs(codes, label[:, None])[:, 0].tolist() == [1.0, 0.5, 0.0]


def test_board_targets_name_squares_from_a1_at_the_top_left():
    assert (SQUARE_NAMES[0], SQUARE_NAMES[7], SQUARE_NAMES[26], SQUARE_NAMES[63]) == ("a1", "h1", "c4", "h8")
    relative = np.zeros((2, 64), dtype=np.int8)
    relative[0, 26] = 1  # c4 mine
    relative[1, 63] = 2  # h8 theirs
    targets = board_targets(relative)
    assert targets.shape == (2, 192) and targets.dtype == bool
    assert targets.sum(1).tolist() == [64, 64]  # one state per square
    column = BOARD_TARGET_NAMES.index
    assert targets[0, column("c4:mine")] and not targets[0, column("c4:empty")]
    assert targets[1, column("h8:theirs")] and targets[1, column("c4:empty")]


def test_matched_features_and_distinct_labels():
    names = ["a1:mine", "a1:theirs", "b1:mine"]
    aurocs = np.array(
        [
            [0.95, 0.20, 0.91],  # best: a1:mine
            [0.50, np.nan, 0.60],  # nothing above the threshold
            [0.97, 0.10, 0.40],  # a1:mine again, better
            [np.nan, np.nan, np.nan],
            [0.30, 0.92, 0.10],  # a1:theirs
        ]
    )
    assert matched_features(aurocs, names, threshold=0.9) == [
        (2, "a1:mine", 0.97),
        (0, "a1:mine", 0.95),
        (4, "a1:theirs", 0.92),
    ]
    # b1:mine is nobody's best label, but feature 0 still decodes it.
    assert count_distinct_labels(aurocs, threshold=0.9) == 3
    assert count_distinct_labels(aurocs, threshold=0.96) == 1


def test_probe_sae_cosines_find_probe_directions_in_the_decoder():
    rng = np.random.default_rng(7)
    probe_dirs = rng.standard_normal((10, 64))
    decoder = np.concatenate([-3 * probe_dirs[:5], rng.standard_normal((95, 64))])  # half of them, negated
    result = probe_sae_cosines(probe_dirs, decoder, seed=0)
    assert np.allclose(result["max_abs_cosine"][:5], 1.0)
    assert result["max_abs_cosine"][5:].max() < 0.7
    assert result["control_max_abs_cosine"].shape == (10,) and result["control_max_abs_cosine"].max() < 0.7
    assert result["control_mean"] < result["mean"]
    assert result["p90"] == pytest.approx(1.0) and {"p10", "p50", "control_p10", "control_p90"} <= set(result)


# ------------------------------------------------------------------------------------- bad shapes


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: train_probe(np.zeros((10, 4)), np.zeros((9, 64), int), 3),
            r"train_y must have shape \[N, squares\] with N = 10 and squares = 64",
        ),
        (
            lambda: train_probe(np.zeros(10), np.zeros((10, 64), int), 3),
            r"train_x must have shape \[N, d_model\]",
        ),
        (
            lambda: train_probe(np.zeros((10, 4)), np.full((10, 64), 3), 3),
            r"train_y must hold integer classes 0\.\.2",
        ),
        (
            lambda: sae_metrics(SparseAutoencoder(4, 8, True), np.zeros((5, 3))),
            r"acts must have shape \[N, d_model\] with d_model = 4, got shape \[5, 3\]",
        ),
        (
            lambda: feature_aurocs(np.zeros((5, 2)), np.zeros((4, 3), bool)),
            r"labels must have shape \[N, labels\] with N = 5",
        ),
        (lambda: feature_aurocs(np.zeros((5, 2)), np.zeros((5, 3))), "labels must be bool"),
        (
            lambda: board_targets(np.zeros((5, 63), int)),
            r"relative must have shape \[N, squares\] with squares = 64",
        ),
        (
            lambda: matched_features(np.zeros((3, 4)), ["a", "b"]),
            r"aurocs must have shape \[features, names\] with names = 2",
        ),
        (
            lambda: probe_sae_cosines(np.ones((2, 8)), np.ones((5, 7))),
            r"decoder must have shape \[features, d_model\] with d_model = 8",
        ),
    ],
)
def test_mismatched_shapes_raise_value_errors_that_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()

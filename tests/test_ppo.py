"""The PPO pieces every PPO learner here shares: advantages by hand, the clipped loss, the checks."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gridworlds.agents.ppo import PPOSettings, clipped_loss, gae, minibatches  # noqa: E402


def test_gae_matches_a_hand_computation():
    rewards = np.array([[1.0], [0.0], [2.0]])
    values = np.array([[0.5], [0.2], [0.1]])
    gamma, lam = 0.9, 0.8
    # deltas: r_t + gamma V_{t+1} - V_t, with no value after the last step
    d2 = 2.0 - 0.1
    d1 = 0.0 + 0.9 * 0.1 - 0.2
    d0 = 1.0 + 0.9 * 0.2 - 0.5
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    advantages, returns = gae(rewards, values, gamma, lam)
    np.testing.assert_allclose(advantages[:, 0], [a0, a1, a2])
    np.testing.assert_allclose(returns[:, 0], [a0 + 0.5, a1 + 0.2, a2 + 0.1])


def test_the_clipped_loss_stops_the_ratio_at_the_clip():
    old = torch.zeros(4)
    new = torch.log(torch.tensor([1.5, 0.5, 1.1, 0.9]))
    advantages = torch.tensor([1.0, -1.0, 1.0, -1.0])
    # ratio 1.5 with A > 0 counts as 1.2; 0.5 with A < 0 as 0.8 (the pessimistic side); inside: itself.
    expected = -torch.tensor([1.2 * 1.0, 0.8 * -1.0, 1.1 * 1.0, 0.9 * -1.0]).mean()
    assert clipped_loss(new, old, advantages, 0.2).item() == pytest.approx(expected.item())
    # Outside on the side that lowers the objective, the ratio is not clipped.
    assert clipped_loss(torch.log(torch.tensor([0.5])), torch.zeros(1), torch.tensor([1.0]), 0.2).item() == (
        pytest.approx(-0.5)
    )


def test_gae_stops_at_episode_ends_and_bootstraps_the_last_step():
    rewards = np.array([[1.0], [0.0], [2.0]])
    values = np.array([[0.5], [0.2], [0.1]])
    ends = np.array([[False], [True], [False]])
    gamma, lam, last = 0.9, 0.8, 3.0
    a2 = 2.0 + gamma * last - 0.1
    a1 = 0.0 - 0.2  # the episode ended after step 1: no value after it, no advantage carried back
    a0 = 1.0 + gamma * 0.2 - 0.5 + gamma * lam * a1
    advantages, returns = gae(rewards, values, gamma, lam, ends, np.array([last]))
    np.testing.assert_allclose(advantages[:, 0], [a0, a1, a2])
    np.testing.assert_allclose(returns[:, 0], [a0 + 0.5, a1 + 0.2, a2 + 0.1])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_epochs", 0, "n_epochs must be an integer from 1 to 1000, got 0"),
        ("n_epochs", 4_000, "n_epochs must be an integer from 1 to 1000, got 4000"),
        ("minibatches", True, "minibatches must be an integer from 1 to 10000, got True"),
        ("learning_rate", 0.0, "learning_rate must be a positive number, got 0.0"),
        ("clip_range", "0.2", "clip_range must be a positive number, got '0.2'"),
        ("gamma", 1.5, "gamma must be a number from 0 to 1, got 1.5"),
        ("gae_lambda", -0.1, "gae_lambda must be a number from 0 to 1"),
        ("ent_coef", -0.01, "ent_coef must be a non-negative number, got -0.01"),
        ("value_coef", None, "value_coef must be a non-negative number, got None"),
    ],
)
def test_ppo_settings_out_of_range_are_named(field, value, message):
    PPOSettings()  # the defaults pass the checks that building one runs
    with pytest.raises(ValueError, match=message):
        PPOSettings(**{field: value})


def test_minibatches_cover_each_epoch_once_in_equal_parts():
    settings = PPOSettings(n_epochs=3, minibatches=4)
    batches = list(minibatches(10, settings, torch.Generator().manual_seed(0)))
    assert len(batches) == 12 and all(len(batch) == 2 for batch in batches)  # 10 // 4; 2 sit out
    for epoch in range(3):
        seen = torch.cat(batches[4 * epoch : 4 * epoch + 4])
        assert len(set(seen.tolist())) == 8 and all(0 <= i < 10 for i in seen.tolist())
    assert not torch.equal(torch.cat(batches[:4]), torch.cat(batches[4:8]))  # a fresh order each epoch

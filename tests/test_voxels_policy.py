"""The shared voxel policy: per-voxel observations, the transformer's invariances, and its PPO."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gridworlds.agents import load_agent, make_agent  # noqa: E402
from gridworlds.agents.voxels.policy import (  # noqa: E402
    VOXEL_FEATURES,
    SharedPPO,
    VoxelPolicy,
    body_cells,
    cell_step,
    global_size,
    observe,
)
from gridworlds.engines.voxels.bodies import (  # noqa: E402
    EXAMPLE_BODIES,
    H_ACT,
    RIGID,
    SOFT,
    V_ACT,
    body_from_text,
)
from gridworlds.engines.voxels.tasks import TASKS  # noqa: E402
from gridworlds.envs.voxels import VoxelTask  # noqa: E402
from gridworlds.registry import make  # noqa: E402
from gridworlds.runner.evaluate import evaluate  # noqa: E402

WALKER = TASKS["Walker-v0"]
WALKER_ID = "gridworlds/Walker-v0"
TINY = {"worlds": 4, "rollout": 8, "n_epochs": 1, "minibatches": 2, "width": 16, "heads": 2, "layers": 1}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def example(name: str) -> np.ndarray:
    return body_from_text(EXAMPLE_BODIES[name])


class Worlds:
    """Bodies in one VoxelTask with their cells: what the policy reads and drives."""

    def __init__(self, bodies, horizon=10):
        self.core = VoxelTask("Walker-v0", bodies, horizon)
        self.cells = body_cells(self.core.bodies, self.core.actuators)

    def observe(self):
        return observe(self.core, self.cells)

    def step(self, cell_actions):
        return cell_step(self.core, self.cells, cell_actions)


def test_voxel_observations_of_a_two_voxel_body():
    two = np.array([[RIGID, H_ACT]])
    worlds = Worlds([two, example("walker")], horizon=10)
    voxels, globals_ = worlds.observe()
    assert voxels.shape == (2, 25, VOXEL_FEATURES) and voxels.dtype == np.float32  # padded to 5x5
    assert globals_.shape == (2, global_size(WALKER)) == (2, 2)  # Walker-v0: the centre velocity
    occupied = worlds.cells.occupied
    assert occupied[0].tolist() == [True, True] + [False] * 23
    np.testing.assert_array_equal(voxels[0, :2, :5], [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])  # R, H
    np.testing.assert_array_equal(voxels[0, 2:, 0], 1)  # the rest is EMPTY, and nothing else
    np.testing.assert_array_equal(voxels[0, 2:, 5:], 0)
    # At rest: the cells sit 0.05 m either side of the body's middle, and so do the voxels' corners
    # about the centre of mass of the 6 points; nothing moves.
    np.testing.assert_allclose(voxels[0, :2, 5:7], [[-0.05, 0], [0.05, 0]], atol=1e-7)
    np.testing.assert_allclose(voxels[0, :2, 7:9], [[-0.05, 0], [0.05, 0]], atol=1e-7)
    np.testing.assert_array_equal(voxels[0, :2, 9:11], 0)
    assert worlds.cells.actuator_cells[0, 0] == 1
    walker_actuators = np.flatnonzero(worlds.cells.actuated[1])
    np.testing.assert_array_equal(worlds.cells.actuator_cells[1], walker_actuators)  # row-major
    for _ in range(5):
        worlds.step(np.full((2, 25), 1.3))
    voxels, globals_ = worlds.observe()
    assert np.abs(voxels[0, :2, 9:11]).max() > 0 and np.abs(globals_).max() > 0
    np.testing.assert_array_equal(voxels[0, 2:, 5:], 0)  # empty cells stay empty
    # By hand: the robot's 6 points come first, and its voxels are the simulator's voxels 0 and 1.
    w = worlds.core.worlds
    for value, features in ((w.pos[0], slice(7, 9)), (w.vel[0], slice(9, 11))):
        centre = value[:6].mean(axis=0)
        for v in (0, 1):
            expected = value[w.corners[0, v]].mean(axis=0) - centre
            np.testing.assert_allclose(voxels[0, v, features], expected, rtol=1e-5, atol=1e-7)


def varied_policy(seed: int = 0) -> VoxelPolicy:
    """A policy whose actions differ from cell to cell (a new one's are all about the rest length)."""
    torch.manual_seed(seed)
    policy = VoxelPolicy(global_size(WALKER), width=16, heads=2, layers=2)
    torch.nn.init.normal_(policy.action_head.weight, std=1.0)
    return policy


def forward(policy: VoxelPolicy, worlds: Worlds):
    voxels, globals_ = worlds.observe()
    mean, value = policy(
        torch.from_numpy(voxels), torch.from_numpy(globals_), torch.from_numpy(worlds.cells.occupied)
    )
    actions = np.take_along_axis(mean.detach().numpy(), worlds.cells.actuator_cells, axis=1)
    return actions, value.detach().numpy()


def test_the_same_body_anywhere_in_the_grid_gives_the_same_actions_and_value():
    body = np.array([[H_ACT, SOFT], [V_ACT, H_ACT]])
    moved = np.zeros((4, 5), np.int64)
    moved[1:3, 2:4] = body  # empty cells around it, in a larger grid
    policy = varied_policy()
    alone, alone_value = forward(policy, Worlds([body], horizon=10))
    together, values = forward(policy, Worlds([moved, example("walker"), body], horizon=10))
    assert np.ptp(alone[0]) > 0.05  # the actuators do get different actions
    for row in (0, 2):
        np.testing.assert_allclose(together[row, :3], alone[0], atol=1e-5)
        np.testing.assert_allclose(values[row], alone_value[0], atol=1e-5)


def test_no_gradient_and_no_influence_from_empty_cells():
    worlds = Worlds([example("block3"), example("walker")], horizon=10)
    for _ in range(3):
        worlds.step(np.full((2, 25), 1.2))
    voxels, globals_ = (torch.from_numpy(part) for part in worlds.observe())
    occupied = torch.from_numpy(worlds.cells.occupied)
    actuated = torch.from_numpy(worlds.cells.actuated)
    policy = varied_policy()
    voxels.requires_grad_(True)
    mean, value = policy(voxels, globals_, occupied)
    (mean[actuated].sum() + value.sum()).backward()
    assert (voxels.grad[~occupied] == 0).all()
    assert (voxels.grad[occupied].abs().sum(dim=-1) > 0).all()
    scrambled = voxels.detach().clone()
    scrambled[~occupied] = torch.randn(int((~occupied).sum()), VOXEL_FEATURES) * 10
    with torch.no_grad():
        mean_again, value_again = policy(scrambled, globals_, occupied)
    torch.testing.assert_close(mean_again[actuated], mean[actuated].detach())
    torch.testing.assert_close(value_again, value.detach())


def tiny(seed: int = 0, **settings) -> SharedPPO:
    return make_agent("shared-ppo", WALKER_ID, seed=seed, **{**TINY, **settings})


def test_one_policy_drives_bodies_with_different_actuator_counts():
    bodies = [example("strip_h"), example("walker"), example("column_v"), np.array([[H_ACT]])]
    cells = body_cells(bodies, actuators=12)
    assert cells.actuated.sum(axis=1).tolist() == [2, 12, 5, 1]
    ppo = tiny(horizon=6)
    metrics = ppo.train(bodies, 32)
    assert metrics["env_steps"] == 32 and ppo.env_steps == 32  # one rollout of 4 worlds x 8 steps
    assert metrics["episodes"] == 4 and np.isfinite(metrics["episode_return"])  # each ended at step 6
    returns = ppo.evaluate(bodies, episodes=2)
    assert returns.shape == (4,) and np.isfinite(returns).all()
    assert ppo.env_steps == 32 + 4 * 2 * 6  # every world's every step


def test_training_raises_the_best_return_of_its_designs():
    bodies = [example("walker"), example("strip_h")]
    ppo = make_agent(
        "shared-ppo",
        WALKER_ID,
        seed=1,
        worlds=8,
        rollout=32,
        horizon=200,
        learning_rate=1e-3,
        width=32,
        heads=2,
        layers=1,
    )
    untrained = ppo.evaluate(bodies)
    assert ppo.env_steps == 2 * 200  # evaluation counts too
    reports = []
    ppo.train(bodies, 40_960, callback=lambda steps, metrics: reports.append(steps))
    trained = ppo.evaluate(bodies)
    assert reports == list(range(400 + 256, 400 + 40_961, 256))  # after every update: 8 worlds x 32 steps
    # What a design search reads is the best design's return. Measured for seeds 1-4: the best of the
    # two rises from about -0.01 to 0.26, 0.46, 0.11, 0.22 (the other design does not always gain:
    # seed 2 drives the walker into instability while the strip learns to crawl).
    assert trained.max() > untrained.max() + 0.1, (untrained, trained)


def test_a_checkpoint_plays_its_design_in_the_env_as_evaluate_scores_it(tmp_path):
    body = example("strip_h")
    ppo = tiny(seed=3)
    ppo.learn(make(WALKER_ID, body=body), 64)
    assert ppo.env_steps == 64
    ppo.save(tmp_path / "policy")
    agent = load_agent(tmp_path / "policy")
    assert isinstance(agent, SharedPPO) and agent.env_steps == 64 and agent.config == ppo.config
    np.testing.assert_array_equal(agent.body, body)
    # `gridworlds eval` and the viewer bind the agent to an env built with the body it shows.
    played = evaluate(agent, WALKER_ID, {"body": agent.body}, episodes=1, seed=0)
    assert played["return_mean"] == pytest.approx(ppo.evaluate([body])[0], abs=1e-9)
    with pytest.raises(RuntimeError, match="call bind"):
        tiny().act(None, {})


def test_save_and_load_resume_training_exactly(tmp_path):
    bodies = [example("walker"), example("strip_h")]
    straight = tiny(seed=4, horizon=10)
    straight.train(bodies, 64)
    straight.save(tmp_path / "policy")
    loaded = SharedPPO.load(tmp_path / "policy")
    np.testing.assert_array_equal(loaded.evaluate(bodies), straight.evaluate(bodies))
    straight.train(bodies, 32)
    loaded.train(bodies, 32)
    for a, b in zip(straight.policy.parameters(), loaded.policy.parameters(), strict=True):
        assert torch.equal(a, b)


def test_training_is_deterministic_under_a_seed():
    bodies = [example("walker"), example("block3")]

    def trained(seed: int) -> list:
        ppo = tiny(seed=seed, horizon=10)
        ppo.train(bodies, 64)
        return list(ppo.policy.parameters())

    first, again, other = trained(0), trained(0), trained(1)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("worlds", 0, "worlds must be an integer from 1 to 4096, got 0"),
        ("worlds", 16_000, "worlds must be an integer from 1 to 4096, got 16000"),
        ("rollout", True, "rollout must be an integer from 1 to 10000, got True"),
        ("learning_rate", -1e-3, "learning_rate must be a positive number"),
        ("heads", 3, r"heads must divide width \(64\)"),
        ("minibatches", 5000, r"minibatches must be at most worlds x rollout \(1024 samples\)"),
        ("horizon", 0, "horizon must be a positive integer or None"),
        ("seed", -1, r"seed must be None or an integer in \[0, 2\*\*63\)"),
        ("world", 1, r"unknown parameters \['world'\]; the shared-ppo parameters are"),
    ],
)
def test_bad_settings_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        make_agent("shared-ppo", WALKER_ID, **{field: value})


def test_bad_arguments_are_named():
    ppo = tiny()
    with pytest.raises(ValueError, match="agent 'shared-ppo' does not play 'gridworlds/2048-v0'"):
        make_agent("shared-ppo", "gridworlds/2048-v0")
    with pytest.raises(ValueError, match="env_steps must be a positive integer"):
        ppo.train([example("walker")], 0)
    with pytest.raises(ValueError, match="episodes must be a positive integer"):
        ppo.evaluate([example("walker")], episodes=0)
    with pytest.raises(ValueError, match="bodies must hold at least one body"):
        ppo.train([], 10)
    with pytest.raises(ValueError, match="body is not 4-connected"):
        ppo.evaluate([np.array([[H_ACT, 0, V_ACT]])])
    flipper = make("gridworlds/Flipper-v0")
    with pytest.raises(ValueError, match="learns in gridworlds/Walker-v0, not 'gridworlds/Flipper-v0'"):
        ppo.learn(flipper, 10)
    with pytest.raises(ValueError, match="plays gridworlds/Walker-v0, not 'gridworlds/Flipper-v0'"):
        ppo.bind(flipper)

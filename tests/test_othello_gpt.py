"""OthelloGPT: the model's shapes and causal masking, targets, training, checkpoints and the agent."""

import numpy as np
import pytest
import torch

import gridworlds
from gridworlds.agents import load_agent, make_agent
from gridworlds.agents.othello.gpt import (
    CONTEXT,
    GPTConfig,
    OthelloGPT,
    OthelloGPTAgent,
    TrainConfig,
    evaluate,
    game_set,
    legal_classes,
    residual_stream,
)
from gridworlds.engines import othello as engine

TINY = {"layers": 1, "d_model": 32, "heads": 2, "eval_games": 50, "eval_every": 64, "threads": 1}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_shapes_and_residual_stream():
    model = OthelloGPT(GPTConfig(layers=2, d_model=16, heads=4))
    tokens, lengths = game_set(3, seed=0)
    logits, stream = model(torch.as_tensor(tokens[:, :CONTEXT].astype(np.int64)), residuals=True)
    assert logits.shape == (3, CONTEXT, 60)
    assert len(stream) == 3 and all(x.shape == (3, CONTEXT, 16) for x in stream)
    acts, where = residual_stream(model, tokens, lengths)
    assert acts.shape == (3, int(np.minimum(lengths, CONTEXT).sum()), 16)
    first = where[:, 0] == 0
    assert np.allclose(acts[:, first], torch.stack(stream)[:, 0].detach().numpy(), atol=1e-5)


def test_no_position_sees_the_future():
    model = OthelloGPT(GPTConfig(layers=2, d_model=16, heads=2))
    tokens = torch.as_tensor(game_set(2, seed=1)[0][:, :CONTEXT].astype(np.int64))
    changed = tokens.clone()
    changed[:, 30:] = torch.randint(1, 61, changed[:, 30:].shape)
    before, after = model(tokens), model(changed)
    assert torch.allclose(before[:, :30], after[:, :30], atol=1e-6)
    assert not torch.allclose(before[:, 30:], after[:, 30:])


def test_legal_classes_are_the_engines_legal_moves():
    tokens, lengths = game_set(5, seed=2)
    legal = legal_classes(tokens, lengths)
    for i in range(5):
        boards = []
        me, opp = engine.START_BLACK, engine.START_WHITE
        for t in range(int(lengths[i])):
            if engine.legal_moves(me, opp) == 0:
                me, opp = opp, me
            me, opp = engine.play(me, opp, engine.TOKEN_TO_SQUARE[tokens[i, t]])
            me, opp = opp, me
            moves = engine.legal_moves(me, opp) or engine.legal_moves(opp, me)
            boards.append([int(moves >> np.uint64(s)) & 1 for s in engine.PLAYABLE])
        length = min(int(lengths[i]), CONTEXT)
        assert np.array_equal(legal[i, :length], np.array(boards[:length], dtype=bool))
        # the next move played is always among them
        following = tokens[i, 1 : length + 1].astype(np.int64) - 1
        has_next = following >= 0
        assert legal[i, np.arange(length)[has_next], following[has_next]].all()


def test_untrained_model_is_the_control():
    tokens, lengths = game_set(100, seed=3)
    metrics = evaluate(OthelloGPT(GPTConfig(layers=1, d_model=32, heads=2)), tokens, lengths)
    assert metrics["legal_top1"] < 0.3
    assert metrics["next_loss"] == pytest.approx(np.log(60), abs=0.1)


@pytest.mark.parametrize("target", ["legal", "next"])
def test_tiny_model_overfits_a_handful_of_games(target):
    agent = OthelloGPTAgent(
        seed=0,
        device="cpu",
        **{**TINY, "d_model": 64, "dataset_games": 8, "batch_size": 8, "eval_every": 10**9},
        learning_rate=3e-3,
        warmup_games=0,
        target=target,
    )
    tokens, lengths = agent.training_games()
    before = evaluate(agent.model, tokens, lengths)
    agent.learn(None, 8 * 300)
    after = evaluate(agent.model, tokens, lengths)
    assert after[f"{target}_loss"] < 0.5 * before[f"{target}_loss"]
    if target == "next":  # memorised: it predicts the moves that were played
        assert after["next_loss"] < 0.5


def test_learning_reports_held_out_metrics_and_beats_the_control():
    agent = OthelloGPTAgent(
        seed=0, device="cpu", **{**TINY, "dataset_games": 2048, "batch_size": 64}, warmup_games=256
    )
    control = agent.evaluate()
    reports = []
    metrics = agent.learn(None, 2048, lambda games, m: reports.append((games, m)))
    assert [games for games, _ in reports] == list(range(64, 2049, 64))
    assert {"next_loss", "legal_loss", "legal_top1", "games_per_second", "learning_rate"} <= set(metrics)
    assert metrics["legal_top1"] > control["legal_top1"] + 0.1


def test_trains_from_a_dataset_on_disk(tmp_path):
    from gridworlds.datasets.othello import OthelloGames, write_games

    write_games(tmp_path / "games", games=96, seed=5, shard_games=40, progress=False)
    agent = OthelloGPTAgent(seed=0, device="cpu", data=str(tmp_path / "games"), **{**TINY, "batch_size": 32})
    tokens, lengths = agent.training_games()
    assert np.array_equal(tokens, OthelloGames(tmp_path / "games").tokens) and len(lengths) == 96
    agent.learn(None, 96)
    assert agent.trainer.games_seen == 96


def test_checkpoint_round_trip_and_resume(tmp_path):
    params = {**TINY, "dataset_games": 300, "batch_size": 32, "eval_every": 10**9}
    straight = OthelloGPTAgent(seed=4, device="cpu", **params)
    straight.learn(None, 320)

    first = OthelloGPTAgent(seed=4, device="cpu", **params)
    first.learn(None, 160)
    first.save(tmp_path / "ckpt")
    resumed = load_agent(tmp_path / "ckpt")
    assert isinstance(resumed, OthelloGPTAgent) and resumed.trainer.games_seen == 160
    resumed.learn(None, 160)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def _replayed_board(squares: list[int]) -> set[int]:
    """The two players' discs after these moves, by the engine's own replay."""
    b, w, m = (np.zeros(len(squares), dtype) for dtype in (np.uint64, np.uint64, np.int8))
    assert engine.replay(np.array(squares, dtype=np.int64), len(squares), b, w, m) == len(squares)
    return {int(b[-1]), int(w[-1])} if squares else {int(engine.START_BLACK), int(engine.START_WHITE)}


def test_agent_plays_legal_moves_and_rebuilds_the_game():
    agent = make_agent("othello-gpt", "gridworlds/OthelloVs-v0", seed=0, device="cpu", **TINY)
    env = gridworlds.make("gridworlds/OthelloVs-v0", agent_colour="random", illegal_action="error")
    for episode in range(6):  # illegal_action="error": an illegal move would raise
        observation, info = env.reset(seed=episode)
        over = False
        while not over:
            shown = {int(sum(1 << s for s in range(64) if observation[p].ravel()[s])) for p in (0, 1)}
            action = agent.act(observation, info)
            assert _replayed_board(agent._game[:-1]) == shown
            observation, _, over, _, info = env.step(action)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"layers": 0}, "layers"),
        ({"d_model": 30, "heads": 4}, "d_model"),
        ({"target": "soft"}, "target"),
        ({"learning_rate": -1}, "learning_rate"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"depth": 3}, "unknown parameters"),
    ],
)
def test_bad_parameters_name_the_field(params, field):
    with pytest.raises(ValueError, match=field):
        OthelloGPTAgent(device="cpu", **params)


def test_configs_have_defaults_that_check():
    assert GPTConfig().check() and TrainConfig().check()

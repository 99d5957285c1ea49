"""Evaluation of every kind of world: agent against agent in Othello, every seat of hide-and-seek,
`gridworlds eval`'s --agent and --env, the progress of long episodes, and the experiment field
that records an evaluation episode."""

import importlib
import re

import numpy as np
import pytest

from gridworlds.agents import make_agent
from gridworlds.cli import main
from gridworlds.runner import evaluate, evaluate_command
from gridworlds.runner.config import validate
from gridworlds.viewer import app

# The module, which gridworlds.runner's function of the same name hides from attribute imports.
evaluate_module = importlib.import_module("gridworlds.runner.evaluate")

OTHELLO = "gridworlds/Othello-v0"
QUADRANT = "gridworlds/HideAndSeekQuadrant-v0"
GAME_2048 = "gridworlds/2048-v0"


def othello(*names):
    return [make_agent(name, OTHELLO, seed=i) for i, name in enumerate(names)]


# --- Othello: agent against agent ----------------------------------------------------------------


def test_alphabeta_beats_random_far_more_often_than_not():
    result = evaluate(othello("alphabeta", "random"), OTHELLO, {}, episodes=20, seed=0)
    assert result["wins"] + result["draws"] + result["losses"] == 20
    assert result["wins"] >= 16 and result["finished_mean"] == 1
    assert result["disc_difference_mean"] > 0
    # The same games from the other side: the results are the first agent's.
    swapped = evaluate(othello("random", "alphabeta"), OTHELLO, {}, episodes=20, seed=0)
    assert swapped["losses"] >= 16 and swapped["disc_difference_mean"] < 0
    assert swapped["return_mean"] == (swapped["wins"] - swapped["losses"]) / 20


class SeatRecorder:
    """Plays the first legal move and remembers the seat it was bound to before each game."""

    def __init__(self):
        self.seats = []

    def bind(self, env, seat=None):
        self.seats.append(seat)
        return self

    def act(self, observation, info):
        return int(np.flatnonzero(observation["action_mask"])[0])


def test_the_colours_change_every_game():
    first, second = SeatRecorder(), SeatRecorder()
    evaluate([first, second], OTHELLO, {}, episodes=4, seed=0)
    assert first.seats == ["black", "white", "black", "white"]
    assert second.seats == ["white", "black", "white", "black"]


def test_a_game_cut_off_is_neither_won_drawn_nor_lost():
    result = evaluate(othello("greedy", "random"), OTHELLO, {}, episodes=3, seed=0, max_steps=10)
    assert result["length_mean"] == 10 and result["finished_mean"] == 0
    assert result["wins"] == result["draws"] == result["losses"] == 0


def test_a_match_needs_an_agent_per_seat():
    with pytest.raises(ValueError, match="one per seat"):
        evaluate(make_agent("random", OTHELLO), OTHELLO, {}, 1, 0)
    with pytest.raises(ValueError, match="2 seats"):
        evaluate(othello("random"), OTHELLO, {}, 1, 0)
    with pytest.raises(ValueError, match=r"2 seats \(black, white\): give --agent once per seat"):
        evaluate_command(OTHELLO, "random", episodes=1)


def test_eval_command_plays_a_match(capsys):
    assert main(["eval", OTHELLO, "--agent", "alphabeta", "--agent", "random", "--episodes", "4"]) == 0
    out = capsys.readouterr().out
    assert "alphabeta against random" in out and "the results are alphabeta's" in out
    assert "alphabeta plays black, white in turn" in out
    assert "wins" in out and "disc_difference_mean" in out


# --- hide-and-seek: every seat --------------------------------------------------------------------


def test_scripted_players_on_every_seat(capsys):
    everyone = evaluate_command(QUADRANT, "scripted", episodes=2)
    assert (
        "hider_0 scripted, hider_1 scripted, seeker_0 scripted, seeker_1 scripted" in capsys.readouterr().out
    )
    # The forts hold: once the preparation is over the chasing seekers never see a hider.
    assert everyone["hider_reward_mean"] == 80 - 32 and everyone["doors_locked_prep_mean"] == 1


def test_scripted_hiders_against_random_seekers(capsys):
    mixed = evaluate_command(
        QUADRANT, ["scripted", "scripted", "random"], episodes=2, env_kwargs={"horizon": 40}
    )
    assert "hider_1 scripted, seeker_0 random, seeker_1 random" in capsys.readouterr().out
    assert mixed["length_mean"] == 40 and mixed["boxes_locked_prep_mean"] > 0


def test_eval_takes_world_arguments(capsys):
    assert main(["eval", QUADRANT, "--agent", "random", "--env", "horizon=7", "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    assert "env {'horizon': 7}" in out and re.search(r"\nlength_mean +7\n", out)
    assert main(["eval", QUADRANT, "--env", "horizon"]) == 2
    assert "--env 'horizon': expected KEY=VALUE" in capsys.readouterr().err
    assert main(["eval", QUADRANT, "--agent", "human"]) == 2
    assert "no person" in capsys.readouterr().err


# --- long episodes --------------------------------------------------------------------------------


class RepeatUp:
    """Plays "up" for ever: once up is illegal, 2048's no-op rule keeps the game going."""

    name = "repeat-up"
    plays_in_engine = False

    def bind(self, env, seat=None):
        return self

    def act(self, observation, info):
        return 0


def test_a_long_episode_shows_its_step_count(monkeypatch, capsys):
    monkeypatch.setattr(evaluate_module, "LONG_EPISODE", 200)
    monkeypatch.setattr(evaluate_module, "LONG_EPISODE_EVERY", 100)
    player = app.player
    monkeypatch.setattr(
        app,
        "player",
        lambda spec, world_id, seed=None: (
            (RepeatUp(), {}) if spec == "repeat-up" else player(spec, world_id, seed)
        ),
    )
    # The world's own bound on illegal moves in a row is lifted, so that only --max-steps ends the games.
    args = [
        "--agent",
        "repeat-up",
        "--env",
        "max_illegal_run=1000000",
        "--episodes",
        "2",
        "--max-steps",
        "450",
    ]
    assert main(["eval", GAME_2048, *args]) == 0
    err = capsys.readouterr().err
    assert "episode 1 at step 200" in err and "episode 2 at step 400" in err
    assert "at step 100" not in err and "at step 500" not in err


# --- the experiment field that records an episode -------------------------------------------------


def experiment(**evaluation):
    data = {"world": GAME_2048, "agents": [{"name": "greedy"}], "eval": evaluation}
    return validate(data, "tiny.toml", "tiny")


def test_an_experiment_may_record_an_evaluation_episode():
    assert experiment().eval.record is False
    assert experiment(record=True).eval.record is True
    assert experiment(record=True).to_dict()["eval"]["record"] is True
    with pytest.raises(ValueError, match="tiny.toml: eval.record must be true or false, got 1"):
        experiment(record=1)
    with pytest.raises(ValueError, match="eval.episodes must be a positive integer"):
        experiment(episodes=True)

"""The command line: option values, and each command's wiring on small inputs."""

import pytest

from gridworlds.cli import main
from gridworlds.values import parse_key_values, parse_value


def test_values_are_toml_when_they_parse():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value('"a b"') == "a b"
    assert parse_value("alphabeta") == "alphabeta"


def test_key_values():
    options = parse_key_values(["opponent=alphabeta", "depth=3", "x = 0.5"], "--env", "k=v")
    assert options == {"opponent": "alphabeta", "depth": 3, "x": 0.5}
    assert parse_key_values([], "--env", "k=v") == {}
    with pytest.raises(ValueError, match="--env 'opponent': expected KEY=VALUE"):
        parse_key_values(["opponent"], "--env", "k=v")


def test_view_command_plays_headless(capsys):
    watch = ["view", "gridworlds/Othello-v0", "--agent", "random", "--agent", "greedy", "--fps", "1000"]
    assert main([*watch, "--max-steps", "5"]) == 0
    assert main(["view", "gridworlds/OthelloVs-v0", "--agent", "alphabeta", "--env", "bogus"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_errors_exit_with_status_2(capsys):
    assert main(["eval", "gridworlds/Nope-v0"]) == 2
    assert "unknown world id" in capsys.readouterr().err


def test_data_command_writes_and_resumes(tmp_path, capsys):
    out = str(tmp_path / "games")
    args = ["data", "othello", "--games", "30", "--out", out, "--shard-games", "10", "--seed", "1"]
    assert main(args) == 0
    assert main(args) == 0  # a rerun finds the dataset complete
    from gridworlds.datasets.othello import OthelloGames

    assert len(OthelloGames(out)) == 30
    assert main(["data", "chess", "--games", "1", "--out", out]) == 2
    assert "othello" in capsys.readouterr().err

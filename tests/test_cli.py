"""The command line: option values, and each command's wiring on small inputs."""

from pathlib import Path

import pytest

import gridworlds
from gridworlds.cli import main
from gridworlds.runner.config import shipped_experiments
from gridworlds.values import parse_key_values, parse_value

REPOSITORY = Path(__file__).parents[1]


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


def test_view_records_a_game_without_opening_a_window(tmp_path, capsys):
    import imageio.v3 as iio
    import pygame

    pygame.display.quit()
    path = tmp_path / "match.gif"
    match = ["view", "gridworlds/Othello-v0", "--agent", "greedy", "--agent", "random", "--seed", "0"]
    assert main([*match, "--record", str(path), "--steps", "6", "--fps", "2"]) == 0
    assert not pygame.display.get_init()
    assert f"recorded 6 moves, 7 frames, to {path}" in capsys.readouterr().out
    assert iio.imread(path, index=None).shape[0] == 7 and iio.immeta(path)["duration"] == 500
    assert main([*match[:4], "--record", str(path)]) == 2  # white has no agent
    assert "a recording needs an agent for each" in capsys.readouterr().err


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


def test_run_takes_a_shipped_name_or_a_path(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no experiments/ folder here: the name finds the file the package ships
    quick = ["--set", "eval.episodes=2"]
    assert main(["run", "2048-baselines", *quick]) == 0
    assert (tmp_path / "runs" / "2048-baselines" / "summary.json").is_file()
    path = str(REPOSITORY / "experiments" / "2048-baselines.toml")
    assert main(["run", path, *quick, "--runs-dir", "by-path"]) == 0
    assert (tmp_path / "by-path" / "2048-baselines" / "summary.json").is_file()
    capsys.readouterr()
    assert main(["run", "2048-baseline"]) == 2
    error = capsys.readouterr().err
    assert "did you mean 2048-baselines?" in error and "the shipped experiments are: 2048-baselines," in error


def test_list_experiments_gives_each_name_and_its_first_sentence(capsys):
    assert main(["list", "--experiments"]) == 0
    rows = [line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 1 + len(shipped_experiments())
    first_line = (REPOSITORY / "experiments" / "2048-baselines.toml").read_text().splitlines()[0]
    assert ["2048-baselines", first_line.removeprefix("# ")] in rows  # a sentence on one line
    # A sentence that wraps over comment lines is joined, and ends at its full stop.
    ppo = dict(rows)["touching-loops-ppo"]
    assert ppo.startswith("PPO (stable-baselines3) editing cells") and ppo.endswith("on the same fields.")


def test_version_is_the_installed_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"gridworlds {gridworlds.__version__}"

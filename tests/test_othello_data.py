"""Othello game datasets: legal games on disk, reproducible, resumable, checked on every read."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gridworlds import atomic
from gridworlds.datasets.othello import METADATA, OthelloGames, data_command, write_games
from gridworlds.engines import othello as engine


def write(directory: Path, games: int, seed: int = 0, shard_games: int = 50) -> dict:
    return write_games(directory, games, seed=seed, shard_games=shard_games, progress=False)


def files(directory: Path) -> dict[str, bytes]:
    """Every file of a directory, hidden ones included, by name."""
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_round_trip_stores_legal_finished_games(tmp_path):
    metadata = write(tmp_path, 120, seed=1)
    assert [(entry["file"], entry["games"]) for entry in metadata["shards"]] == [
        ("shard-00000.npz", 50),
        ("shard-00001.npz", 50),
        ("shard-00002.npz", 20),
    ]
    assert json.loads((tmp_path / METADATA).read_text()) == metadata
    games = OthelloGames(tmp_path)
    assert len(games) == 120
    assert games.tokens.dtype == np.uint8 and games.tokens.shape == (120, engine.MAX_MOVES)
    for i in range(len(games)):
        length = int(games.lengths[i])
        row = games.tokens[i]
        assert (row[:length] >= 1).all() and (row[:length] <= 60).all()
        assert (row[length:] == engine.PAD_TOKEN).all()
        boards = games.boards(i)  # raises if a move does not replay legally
        assert len(boards.squares) == length
        assert (engine.SQUARE_TO_TOKEN[boards.squares] == row[:length]).all()
        assert len(set(boards.squares.tolist())) == length  # every square at most once
        assert engine.game_over(boards.black[-1], boards.white[-1])


def test_same_seed_same_bytes_other_seed_other_games(tmp_path):
    write(tmp_path / "a", 120, seed=3)
    write(tmp_path / "b", 120, seed=3)
    write(tmp_path / "c", 120, seed=4)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    assert (OthelloGames(tmp_path / "a").tokens != OthelloGames(tmp_path / "c").tokens).any(axis=1).all()


def test_crash_during_a_shard_write_leaves_no_partial_file_and_resumes_exactly(tmp_path, monkeypatch):
    write(tmp_path / "whole", 250)
    replace = os.replace

    def crash_on_shard_3(source, target):
        if Path(target).name == "shard-00003.npz":
            raise KeyboardInterrupt  # the shard is written to its temporary file, not yet renamed
        replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", crash_on_shard_3)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path / "resumed", 250)
    monkeypatch.undo()
    assert sorted(files(tmp_path / "resumed")) == [
        METADATA,
        "shard-00000.npz",
        "shard-00001.npz",
        "shard-00002.npz",
    ]
    assert len(json.loads((tmp_path / "resumed" / METADATA).read_text())["shards"]) == 3
    with pytest.raises(ValueError, match="unfinished, 150 of 250 games"):
        OthelloGames(tmp_path / "resumed")

    # A hard kill can leave a temporary file behind; the rerun removes it.
    (tmp_path / "resumed" / ".shard-00003.npz.x.tmp").write_bytes(b"half a shard")
    write(tmp_path / "resumed", 250)
    assert files(tmp_path / "resumed") == files(tmp_path / "whole")


def test_a_larger_games_extends_the_dataset_as_one_run_would(tmp_path):
    write(tmp_path / "extended", 120)  # its last shard holds 20 games and is written again, whole
    write(tmp_path / "extended", 230)
    write(tmp_path / "whole", 230)
    assert files(tmp_path / "extended") == files(tmp_path / "whole")


def test_rerun_with_another_seed_shard_size_or_fewer_games_is_refused(tmp_path):
    write(tmp_path, 120, seed=0, shard_games=50)
    with pytest.raises(ValueError, match="seed 0 in shards of 50, not of seed 1 in shards of 50"):
        write(tmp_path, 120, seed=1, shard_games=50)
    with pytest.raises(ValueError, match="not of seed 0 in shards of 40"):
        write(tmp_path, 120, seed=0, shard_games=40)
    with pytest.raises(ValueError, match="already holds 120 games, more than the 100"):
        write(tmp_path, 100, seed=0, shard_games=50)


def _edit_metadata(directory: Path, edit) -> None:
    metadata = json.loads((directory / METADATA).read_text())
    edit(metadata)
    (directory / METADATA).write_text(json.dumps(metadata))


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda d: (d / METADATA).unlink(), "no metadata.json"),
        (lambda d: (d / METADATA).write_text("{"), "metadata.json is unreadable"),
        (lambda d: _edit_metadata(d, lambda m: m.update(format="other")), "format field"),
        (
            lambda d: _edit_metadata(d, lambda m: m.update(version=99)),
            "has version 99; this gridworlds reads",
        ),
        (lambda d: _edit_metadata(d, lambda m: m.pop("seed")), "seed must be a non-negative integer"),
        (lambda d: _edit_metadata(d, lambda m: m["shards"][1].pop("sha256")), "shard 1 must be"),
        (lambda d: (d / "shard-00001.npz").unlink(), "shard-00001.npz is missing"),
        (lambda d: _flip_a_byte(d / "shard-00001.npz"), "shard-00001.npz is corrupt"),
    ],
)
def test_a_damaged_directory_is_a_clear_error_for_reader_and_writer(tmp_path, damage, problem):
    write(tmp_path, 120)
    damage(tmp_path)
    with pytest.raises(ValueError, match=problem):
        OthelloGames(tmp_path)
    if problem == "no metadata.json":
        problem = "not empty and has no metadata.json"  # the writer never adopts a foreign directory
    with pytest.raises(ValueError, match=problem):
        write(tmp_path, 120)


def test_batches_cover_every_game_once_per_epoch(tmp_path):
    write(tmp_path, 120)
    games = OthelloGames(tmp_path)

    def epoch(**kwargs) -> list[np.ndarray]:
        return list(games.batches(50, **kwargs))

    assert [len(batch) for batch in epoch()] == [50, 50, 20]
    assert [len(batch) for batch in epoch(drop_last=True)] == [50, 50]
    assert all(batch.dtype == np.uint8 and batch.shape[1] == engine.MAX_MOVES for batch in epoch())
    shuffled = np.concatenate(epoch(seed=5))
    assert not (shuffled == games.tokens).all()
    assert np.array_equal(np.unique(shuffled, axis=0), np.unique(games.tokens, axis=0))
    assert np.array_equal(np.concatenate(epoch(shuffle=False)), games.tokens)
    assert np.array_equal(np.concatenate(epoch(seed=5)), shuffled)
    assert not np.array_equal(np.concatenate(epoch(seed=6)), shuffled)


def test_random_games_have_the_known_statistics(tmp_path):
    write(tmp_path, 4000, seed=7, shard_games=4000)
    games = OthelloGames(tmp_path)
    assert abs(games.lengths.mean() - 59.97) < 0.2
    # A pass shows as a player moving twice in a row; about 34% of random games have one.
    passes = [(np.diff(games.boards(i).movers) == 0).any() for i in range(len(games))]
    assert abs(np.mean(passes) - 0.34) < 0.03


def test_data_command_writes_othello_and_names_the_known_worlds(tmp_path, capsys):
    data_command("othello", 60, tmp_path, seed=2, shard_games=50)
    assert "60 othello games of seed 2" in capsys.readouterr().out
    assert len(OthelloGames(tmp_path)) == 60
    with pytest.raises(ValueError, match=r"world must be one of \['othello'\], got 'chess'"):
        data_command("chess", 60, tmp_path / "chess", seed=0, shard_games=50)

"""Datasets of random Othello games on disk, for training OthelloGPT: write them, check them, read them.

    write_games("data/othello", games=1_000_000, seed=0)       # `gridworlds data othello ...`
    games = OthelloGames("data/othello")
    for tokens in games.batches(512, seed=epoch): ...          # uint8 [512, 60]
    games.boards(i)                                            # every board along game i

A dataset directory holds

    shard-00000.npz, shard-00001.npz, ...   `tokens` uint8 [n, 60] and `lengths` uint8 [n] each
    metadata.json                           format, version, games, seed, shard size, the token
                                            convention, the generator, and per shard its file,
                                            game count and sha256

Tokens are OthelloGPT's: the 60 playable squares are tokens 1..60 in square order (a1 = 0, row-major,
the centre four left out), PAD_TOKEN 0 fills a row after its game's end, and passes are implicit.
Every move is drawn uniformly from the legal moves (`engine.random_games`).

Shard k is generated from its own generator state, derived from (seed, k) alone, so its bytes do not
depend on which shards were written before it in the same process. That makes a resumed or extended
dataset byte for byte the one an uninterrupted run writes: rerunning the same command verifies the
shards already written against their checksums and continues after the last one; rerunning with a
larger `games` extends the dataset. Shards and metadata.json are written atomically (write beside,
then rename), metadata.json after every shard, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from tqdm import tqdm

from gridworlds import atomic
from gridworlds.engines import othello as engine
from gridworlds.envs.checks import check_choice, check_positive_int

FORMAT, VERSION = "gridworlds-othello-games", 1
METADATA = "metadata.json"
TOKEN_CONVENTION = (
    "OthelloGPT: token t in 1..60 is square token_to_square[t] (a1 = 0 at the top-left, row-major, "
    "h8 = 63; the centre squares d4 e4 d5 e5 are never played); 0 pads a row after its game's end; "
    "passes are implicit (a player without a legal move is skipped)"
)
GENERATOR = (
    "SplitMix64 (gridworlds.engines.rng), one stream per shard: shard k starts from "
    "numpy.random.SeedSequence([seed, k]).generate_state(1, numpy.uint64)[0]; engine.random_games "
    "plays the shard's games one after another, each move uniform over the legal moves"
)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp in the shard archives: same seed, same bytes


def write_games(
    out_dir: str | Path, games: int, seed: int = 0, shard_games: int = 100_000, progress: bool = True
) -> dict[str, Any]:
    """Write `games` random legal games into `out_dir` in shards of `shard_games`; return the metadata.

    An existing dataset in `out_dir` is verified and continued (or extended, when `games` is larger);
    one written with another seed or shard size is a ValueError, as is a non-empty directory that is
    not a dataset.
    """
    games = check_positive_int("games", games)
    shard_games = check_positive_int("shard_games", shard_games)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    out = Path(out_dir)
    plan = _plan(games, shard_games)
    shards = _shards_to_keep(out, games, seed, shard_games, plan)
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "games": games,
        "seed": seed,
        "shard_games": shard_games,
        "tokens": {
            "convention": TOKEN_CONVENTION,
            "pad": engine.PAD_TOKEN,
            "max_moves": engine.MAX_MOVES,
            "token_to_square": engine.TOKEN_TO_SQUARE.tolist(),
        },
        "generator": GENERATOR,
        "shards": shards,
    }
    # Written before the first shard, so that a rerun with another seed is caught even then.
    atomic.write_text(out / METADATA, json.dumps(metadata, indent=2))
    done = sum(entry["games"] for entry in shards)
    with tqdm(total=games, initial=done, unit="game", desc="othello games", disable=not progress) as bar:
        for k in range(len(shards), len(plan)):
            data = _shard_bytes(seed, k, plan[k])
            name = _shard_name(k)
            atomic.write_bytes(out / name, data)
            shards.append({"file": name, "games": plan[k], "sha256": hashlib.sha256(data).hexdigest()})
            atomic.write_text(out / METADATA, json.dumps(metadata, indent=2))
            bar.update(plan[k])
    return metadata


_WRITERS = {"othello": write_games}


def data_command(
    world: str, games: int, out: str | Path, seed: int = 0, shard_games: int = 100_000
) -> dict[str, Any]:
    """`gridworlds data WORLD --games N --out DIR [--seed S] [--shard-games K]`: write (or finish)
    a dataset of random games, print what was written, return its metadata."""
    write = _WRITERS[check_choice("world", world, tuple(_WRITERS))]
    start = time.perf_counter()
    metadata = write(out, games, seed, shard_games)
    print(
        f"{metadata['games']} {world} games of seed {metadata['seed']} in {out}/: "
        f"{len(metadata['shards'])} shards of up to {metadata['shard_games']} games and {METADATA} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return metadata


class GameBoards(NamedTuple):
    """One game move by move: the square of move t, the discs after it, and who played it."""

    squares: np.ndarray  # int64 [length]
    black: np.ndarray  # uint64 [length] bitboards, bit s = square s
    white: np.ndarray  # uint64 [length]
    movers: np.ndarray  # int8 [length]: engine.BLACK or engine.WHITE


class OthelloGames:
    """A complete dataset written by write_games, checked against its metadata and checksums.

    All games are read into memory once, as one array: 61 bytes per game (1M games take 61 MB,
    Li et al.'s 20M take 1.2 GB), which makes shuffled batches plain fancy indexing.
    `tokens` is uint8 [len, 60], `lengths` uint8 [len].
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.metadata = _read_metadata(self.directory)
        shards = self.metadata["shards"]
        written = sum(entry["games"] for entry in shards)
        if [entry["games"] for entry in shards] != _plan(
            self.metadata["games"], self.metadata["shard_games"]
        ):
            raise ValueError(
                f"{self.directory / METADATA}: the dataset is unfinished, {written} of "
                f"{self.metadata['games']} games written; rerun the command that wrote it to finish it"
            )
        # Filled shard by shard rather than concatenated, so loading never holds two copies.
        self.tokens = np.empty((written, engine.MAX_MOVES), dtype=np.uint8)
        self.lengths = np.empty(written, dtype=np.uint8)
        start = 0
        for entry in shards:
            tokens, lengths = _load_shard(self.directory, entry)
            self.tokens[start : start + len(tokens)] = tokens
            self.lengths[start : start + len(tokens)] = lengths
            start += len(tokens)

    def __len__(self) -> int:
        return len(self.lengths)

    def batches(
        self, batch_size: int, shuffle: bool = True, seed: int = 0, drop_last: bool = False
    ) -> Iterator[np.ndarray]:
        """One epoch: every game once, in uint8 token arrays [batch_size, 60] (the last one shorter
        unless drop_last). A shuffled order depends on `seed` alone; pass the epoch number for a new
        order each epoch."""
        check_positive_int("batch_size", batch_size)
        order = np.random.default_rng(seed).permutation(len(self)) if shuffle else np.arange(len(self))
        stop = len(order) - len(order) % batch_size if drop_last else len(order)
        for start in range(0, stop, batch_size):
            yield self.tokens[order[start : start + batch_size]]

    def boards(self, i: int) -> GameBoards:
        """Replay game i: the information needed to rebuild every board along it."""
        length = int(self.lengths[i])
        squares = engine.TOKEN_TO_SQUARE[self.tokens[i, :length]]
        black = np.zeros(length, dtype=np.uint64)
        white = np.zeros(length, dtype=np.uint64)
        movers = np.zeros(length, dtype=np.int8)
        legal = engine.replay(squares, length, black, white, movers)
        if legal < length:
            raise ValueError(
                f"game {i} of {self.directory}: move {legal + 1} (square {squares[legal]}) is illegal"
            )
        return GameBoards(squares, black, white, movers)


def _plan(games: int, shard_games: int) -> list[int]:
    """The game count of each shard."""
    return [min(shard_games, games - start) for start in range(0, games, shard_games)]


def _shard_name(k: int) -> str:
    return f"shard-{k:05d}.npz"


def _shard_bytes(seed: int, k: int, count: int) -> bytes:
    """Shard k of a seed's dataset as the bytes of an .npz file."""
    state = np.random.SeedSequence([seed, k]).generate_state(1, np.uint64)[0]
    tokens, lengths, _ = engine.random_game_tokens(count, state)
    # np.savez stamps each member with the current time; written by hand, a shard's bytes (and so
    # its checksum) depend on the seed alone. Stored, not deflated: compression saves only a quarter.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, array in (("tokens", tokens), ("lengths", lengths)):
            # force_zip64 as in np.savez: the size of a member is not known before it is written.
            info = zipfile.ZipInfo(f"{name}.npy", _ZIP_TIME)
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    return buffer.getvalue()


def _shards_to_keep(out: Path, games: int, seed: int, shard_games: int, plan: list[int]) -> list[dict]:
    """The verified shards of an earlier run into `out` that this run keeps; [] for a new directory."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a directory")
    if not out.is_dir() or not any(out.iterdir()):
        return []
    if not (out / METADATA).exists():
        raise ValueError(
            f"{out} is not empty and has no {METADATA}: write datasets into a new or empty directory"
        )
    metadata = _read_metadata(out)
    if (metadata["seed"], metadata["shard_games"]) != (seed, shard_games):
        raise ValueError(
            f"{out} holds games of seed {metadata['seed']} in shards of {metadata['shard_games']}, not of "
            f"seed {seed} in shards of {shard_games}; use the same seed and shard size, or another directory"
        )
    written = sum(entry["games"] for entry in metadata["shards"])
    if written > games:
        raise ValueError(f"{out} already holds {written} games, more than the {games} asked for")
    kept = []
    for k, entry in enumerate(metadata["shards"]):
        # A last shard cut short by a smaller earlier `games` is written again, whole.
        if entry["games"] != plan[k]:
            break
        _load_shard(out, entry)
        kept.append(entry)
    # Temporary files of writes that a hard kill cut short; a rerun writes those shards anew.
    for stray in out.glob(".shard-*.tmp"):
        stray.unlink()
    return kept


def _read_metadata(directory: Path) -> dict[str, Any]:
    """metadata.json, checked field by field; a ValueError names the file and what is wrong."""
    path = directory / METADATA
    if not path.is_file():
        raise ValueError(f"{directory} has no {METADATA}: not a games dataset (write one with write_games)")
    try:
        metadata = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is unreadable: {error}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file (its format field is missing or wrong)")
    if metadata.get("version") != VERSION:
        raise ValueError(
            f"{path} has version {metadata.get('version')!r}; this gridworlds reads version {VERSION}"
        )
    for field in ("games", "shard_games"):
        if not _is_int(metadata.get(field), minimum=1):
            raise ValueError(f"{path}: {field} must be a positive integer, got {metadata.get(field)!r}")
    if not _is_int(metadata.get("seed"), minimum=0):
        raise ValueError(f"{path}: seed must be a non-negative integer, got {metadata.get('seed')!r}")
    shards = metadata.get("shards")
    if not isinstance(shards, list):
        raise ValueError(f"{path}: shards must be a list, got {shards!r}")
    for k, entry in enumerate(shards):
        if (
            not isinstance(entry, dict)
            or entry.get("file") != _shard_name(k)
            or not _is_int(entry.get("games"), minimum=1)
            or entry["games"] > metadata["shard_games"]
            or not isinstance(entry.get("sha256"), str)
        ):
            raise ValueError(
                f"{path}: shard {k} must be {{file: {_shard_name(k)}, games: 1..{metadata['shard_games']}, "
                f"sha256}}, got {entry!r}"
            )
    return metadata


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _load_shard(directory: Path, entry: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A shard's (tokens, lengths), after checking its checksum, arrays and game count."""
    path = directory / entry["file"]
    if not path.is_file():
        raise ValueError(f"{path} is missing ({METADATA} lists it)")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ValueError(f"{path} is corrupt: its sha256 differs from the one in {METADATA}")
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        tokens, lengths = arrays["tokens"], arrays["lengths"]
    count = entry["games"]
    if tokens.shape != (count, engine.MAX_MOVES) or lengths.shape != (count,):
        raise ValueError(
            f"{path}: tokens {tokens.shape} and lengths {lengths.shape} do not hold the {count} games "
            f"that {METADATA} lists"
        )
    return tokens, lengths

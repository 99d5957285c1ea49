"""Writes that a crash cannot leave half done: write beside the target, then rename over it.

A write killed part-way leaves its temporary beside the target (`.<name>.<random>.tmp`, a file or
a directory) and, for a directory, maybe its previous version (`.<name>.old`); the target itself is
always whole. `remove_leftovers` clears them when the writer starts again.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TEMPORARY = re.compile(r"\..+\.tmp")
_PREVIOUS = re.compile(r"\.(.+)\.old")


def _read_umask() -> int:
    """The process's umask: reading it means setting it, so it is set straight back, once, when
    this module loads (not at every write, where another thread could create a file meanwhile)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


# mkstemp and mkdtemp make private files (0600) and directories (0700); what they write is given
# the modes an ordinary write would, 0666 and 0777 less the umask, so that others can read a run as
# they could read any other file of its user.
_UMASK = _read_umask()
FILE_MODE, DIRECTORY_MODE = 0o666 & ~_UMASK, 0o777 & ~_UMASK


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.chmod(tmp, FILE_MODE)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode())


def recover_directory(path: str | os.PathLike) -> None:
    """Finish a replacement that `directory` left half done: a crash between its two renames leaves
    the previous version at `.<name>.old` and nothing at `path`."""
    path = Path(path)
    old = path.with_name(f".{path.name}.old")
    if not path.exists() and old.is_dir():
        os.replace(old, path)


@contextmanager
def directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces `path` once the block ends without error.

    An existing `path` stays whole until the new one is complete; it is moved aside, the new one
    renamed in, and only then the old one deleted. Readers call `recover_directory` first, so a
    crash between the two renames leaves the previous version in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_directory(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        tmp.chmod(DIRECTORY_MODE)
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(root: str | os.PathLike) -> None:
    """Finish the directory replacements that a crash left half done anywhere under `root`, and
    delete the temporaries and previous versions that killed writes left there. Only for a tree
    that nothing is writing to now (a run holds its directory's lock while it calls this)."""
    for folder, subfolders, files in os.walk(root):
        for name in [*subfolders, *files]:
            path = Path(folder) / name
            previous = _PREVIOUS.fullmatch(name)
            if previous and path.is_dir():
                recover_directory(path.with_name(previous[1]))  # moves it back if nothing replaced it
            if _TEMPORARY.fullmatch(name) or previous:
                _remove(path)
        subfolders[:] = [name for name in subfolders if (Path(folder) / name).is_dir()]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)

"""Robot bodies of the voxel-robot world (EvoGym, Bhatia et al. 2021): what a body is, when it is
valid, how to draw one at random, and how it is written to text and JSON files.

A body is a 2-D integer array of materials, row 0 at the top and column 0 at the left (the way EvoGym
prints its structures); a cell is named (row, column). The materials, with their letters in the
text form:

    0 EMPTY  '.'  no voxel
    1 RIGID  'R'
    2 SOFT   'S'
    3 H_ACT  'H'  an actuator that stretches and shrinks horizontally
    4 V_ACT  'V'  an actuator that stretches and shrinks vertically
    5 FIXED  'F'  terrain only, pinned in place; never part of a robot

A body is valid when its voxels are 4-connected (voxels that touch only at a corner are not joined)
and at least one of them is an actuator; holes are allowed. The actuators in row-major order give
the order of the action vector, as in EvoGym.

Text form: one line per row, one letter per voxel, each line ending in a newline; a 2x3 body:

    RSR
    H.V

Blank lines and whitespace around a row are ignored when reading.

JSON form: the rows top to bottom, materials as integers: {"body": [[1, 2, 1], [3, 0, 4]]}.

Files whose name ends in ".json" hold the JSON form, any other file the text form.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gridworlds import atomic

EMPTY, RIGID, SOFT, H_ACT, V_ACT, FIXED = 0, 1, 2, 3, 4, 5
ROBOT_MATERIALS = (EMPTY, RIGID, SOFT, H_ACT, V_ACT)
ACTUATORS = (H_ACT, V_ACT)
MATERIAL_NAMES = dict(enumerate(("EMPTY", "RIGID", "SOFT", "H_ACT", "V_ACT", "FIXED")))
LETTERS = {EMPTY: ".", RIGID: "R", SOFT: "S", H_ACT: "H", V_ACT: "V", FIXED: "F"}
_ROBOT_MATERIAL_OF_LETTER = {LETTERS[m]: m for m in ROBOT_MATERIALS}
_ALLOWED = ", ".join(f"{m} {MATERIAL_NAMES[m]}" for m in ROBOT_MATERIALS)
_ALLOWED_LETTERS = ", ".join(f"'{LETTERS[m]}' {MATERIAL_NAMES[m]}" for m in ROBOT_MATERIALS)
_TERRAIN_ONLY = " (FIXED is terrain only, never part of a robot)"

# EvoGym's `sample_robot` (evogym/utils.py) sets pd = get_uniform(5) and then pd[0] = 0.6; its `draw`
# divides by the sum, so the probabilities it really uses are 3/7 EMPTY and 1/7 for each other material.
DEFAULT_PROBABILITIES = (0.6, 0.2, 0.2, 0.2, 0.2)
# EvoGym retries forever; a bound turns probabilities that (almost) never give a valid body into an error.
RANDOM_BODY_TRIES = 10_000

BodyLike = np.ndarray | Sequence[Sequence[int]]

# Well-known bodies in the text form. A body of soft voxels alone (EvoGym's "soft block") is not a
# robot, having no actuator, so it is not among them.
EXAMPLE_BODIES = {
    # A rigid bar on a soft layer, over two legs of a vertical and a horizontal actuator side by side.
    "walker": "RRRRR\nSSSSS\nVH.HV\nVH.HV\nVH.HV\n",
    # A soft 3x3 block around one horizontal actuator.
    "block3": "SSS\nSHS\nSSS\n",
    "strip_h": "HH\n",
    "column_v": "V\nV\nV\nV\nV\n",
}


def _as_grid(body: Any) -> np.ndarray:
    """The body as a 2-D integer array with at least one row and one column; no copy is made."""
    try:
        grid = np.asarray(body)
    except ValueError:  # numpy refuses nested lists of unequal lengths
        raise ValueError(
            f"body must be a 2-D array of integers with rows of equal length, got {body!r}"
        ) from None
    if grid.ndim != 2:
        raise ValueError(
            f"body must be a 2-D array of integers, got a {grid.ndim}-D array of shape {grid.shape}"
        )
    if grid.size == 0:
        raise ValueError(f"body must have at least one row and one column, got shape {grid.shape}")
    if grid.dtype.kind not in "iu":
        raise ValueError(f"body must be a 2-D array of integers, got dtype {grid.dtype}")
    return grid


def _pieces(grid: np.ndarray) -> np.ndarray:
    """Each voxel labelled with its 4-connected piece, 1, 2, ... in the row-major order of the pieces'
    first voxels; empty cells get 0."""
    labels = np.zeros(grid.shape, dtype=np.int64)
    rows, columns = grid.shape
    count = 0
    for start in zip(*np.nonzero(grid), strict=True):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        stack = [start]
        while stack:
            row, column = stack.pop()
            for r, c in ((row - 1, column), (row + 1, column), (row, column - 1), (row, column + 1)):
                if 0 <= r < rows and 0 <= c < columns and grid[r, c] != EMPTY and labels[r, c] == 0:
                    labels[r, c] = count
                    stack.append((r, c))
    return labels


def _actuator_mask(grid: np.ndarray) -> np.ndarray:
    return (grid == H_ACT) | (grid == V_ACT)


def is_connected(body: BodyLike) -> bool:
    """Whether the voxels form one 4-connected piece; a body without voxels is not connected."""
    return bool(_pieces(_as_grid(body)).max() == 1)


def has_actuator(body: BodyLike) -> bool:
    return bool(_actuator_mask(_as_grid(body)).any())


def actuator_cells(body: BodyLike) -> np.ndarray:
    """The (row, column) of every actuator, int64 [n, 2], in row-major order: the order of the action
    vector."""
    return np.argwhere(_actuator_mask(_as_grid(body))).astype(np.int64)


def check_body(body: BodyLike) -> np.ndarray:
    """The body as an int8 C-contiguous copy, or a ValueError that says why it is not a valid robot."""
    grid = _as_grid(body)
    outside = np.argwhere((grid < EMPTY) | (grid > V_ACT))
    if len(outside):
        row, column = (int(i) for i in outside[0])
        value = int(grid[row, column])
        terrain = _TERRAIN_ONLY if value == FIXED else ""
        raise ValueError(
            f"body has material {value} at (row, column) = ({row}, {column}){terrain}; "
            f"a robot's materials are {_ALLOWED}"
        )
    labels = _pieces(grid)
    if labels.max() == 0:
        raise ValueError("body has no voxel: every cell is EMPTY (0)")
    if labels.max() > 1:
        first, other = (tuple(int(i) for i in np.argwhere(labels == piece)[0]) for piece in (1, 2))
        raise ValueError(
            f"body is not 4-connected: the voxels at (row, column) = {first} and {other} lie in different "
            "pieces (voxels that touch only at a corner are not connected)"
        )
    if not _actuator_mask(grid).any():
        raise ValueError(
            f"body has no actuator: at least one H ({H_ACT} H_ACT) or V ({V_ACT} V_ACT) voxel is needed"
        )
    return grid.astype(np.int8, order="C")


def _check_shape(shape: Any) -> tuple[int, int]:
    if (
        not isinstance(shape, tuple | list)
        or len(shape) != 2
        or any(isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 for n in shape)
    ):
        raise ValueError(f"shape must be two positive integers (rows, columns), got {shape!r}")
    return int(shape[0]), int(shape[1])


def _check_probabilities(probabilities: Any) -> np.ndarray:
    """The probabilities of the five robot materials, normalised to sum to 1."""
    try:
        p = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError):
        p = None
    if p is None or p.shape != (5,) or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
        names = ", ".join(MATERIAL_NAMES[material] for material in ROBOT_MATERIALS)
        raise ValueError(
            f"probabilities must be 5 non-negative numbers ({names}) with a positive sum, "
            f"got {probabilities!r}"
        )
    return p / p.sum()


def random_body(
    rng: np.random.Generator,
    shape: tuple[int, int] = (5, 5),
    probabilities: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """A random valid body (int8), as EvoGym's `sample_robot` draws one: every voxel independently from
    the material probabilities (EMPTY, RIGID, SOFT, H_ACT, V_ACT; normalised to sum to 1;
    `DEFAULT_PROBABILITIES` when None), the whole body drawn again until it is connected and has an
    actuator, at most `RANDOM_BODY_TRIES` times."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {rng!r}")
    shape = _check_shape(shape)
    p = _check_probabilities(DEFAULT_PROBABILITIES if probabilities is None else probabilities)
    if p[H_ACT] + p[V_ACT] == 0:
        raise ValueError(
            f"probabilities give H_ACT and V_ACT probability 0, so no body can have an actuator: {p.tolist()}"
        )
    for _ in range(RANDOM_BODY_TRIES):
        body = rng.choice(len(ROBOT_MATERIALS), size=shape, p=p).astype(np.int8)
        if _actuator_mask(body).any() and _pieces(body).max() == 1:
            return body
    raise ValueError(
        f"no valid body (connected, with an actuator) in {RANDOM_BODY_TRIES} random draws of shape {shape} "
        f"with probabilities {p.tolist()}; give the actuators and the non-empty materials more probability"
    )


def body_to_text(body: BodyLike) -> str:
    """One line per row, one letter per voxel, each line ending in a newline."""
    return "".join("".join(LETTERS[material] for material in row) + "\n" for row in check_body(body).tolist())


def body_from_text(text: str) -> np.ndarray:
    """A body from its text form; errors name lines and columns counted from 1, as editors do."""
    rows: list[list[int]] = []
    first_line = 0
    for number, line in enumerate(text.splitlines(), start=1):
        letters = line.strip()
        if not letters:
            continue
        indent = len(line) - len(line.lstrip())
        row = []
        for index, letter in enumerate(letters):
            if letter not in _ROBOT_MATERIAL_OF_LETTER:
                terrain = _TERRAIN_ONLY if letter == LETTERS[FIXED] else ""
                raise ValueError(
                    f"unknown letter {letter!r} at line {number}, column {indent + index + 1}{terrain}; "
                    f"a robot's letters are {_ALLOWED_LETTERS}"
                )
            row.append(_ROBOT_MATERIAL_OF_LETTER[letter])
        if not rows:
            first_line = number
        elif len(row) != len(rows[0]):
            raise ValueError(
                f"line {number} has {len(row)} voxels but line {first_line} has {len(rows[0])}; "
                "rows must have equal lengths"
            )
        rows.append(row)
    if not rows:
        raise ValueError("body text has no rows")
    return check_body(rows)


def body_to_json(body: BodyLike) -> str:
    """{"body": [[...], ...]} with one row per line, so that a file reads like the body it holds."""
    rows = ",\n  ".join(json.dumps(row) for row in check_body(body).tolist())
    return f'{{"body": [\n  {rows}\n]}}\n'


def body_from_json(text: str) -> np.ndarray:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"body JSON is not valid JSON: {error}") from None
    if not isinstance(data, dict) or "body" not in data:
        raise ValueError(f'body JSON must be an object {{"body": [[...], ...]}}, got {text[:80]!r}')
    return check_body(data["body"])


def _is_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def read_body(path: str | os.PathLike) -> np.ndarray:
    """The body in a file: the JSON form for a ".json" file, the text form for any other."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"no body file at {path}") from None
    parse = body_from_json if _is_json(path) else body_from_text
    try:
        return parse(text)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def write_body(path: str | os.PathLike, body: BodyLike) -> None:
    """Write the body atomically: the JSON form for a ".json" file, the text form for any other."""
    path = Path(path)
    atomic.write_text(path, body_to_json(body) if _is_json(path) else body_to_text(body))

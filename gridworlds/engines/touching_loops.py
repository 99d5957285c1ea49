"""Touching loops: a probabilistic cellular-automaton rule that grows loop patterns from tiles.

After Hoffmann, "Touching Loop Patterns with Cellular Automata" (ACRI 2024); the tile set is the
reconstruction in docs/touching-loops.md and is data: `parse_tiles` reads any tile set.

A field is n x n cells of 0 or 1 inside a constant-0 border. A *tile* is a 3x3 pattern of 1, 0 and
don't-care pixels centred on a path cell; the basic tiles and their rotations cover the plane.
Each tile yields one 5x5 *template* per non-null pixel p: the tile shifted so p sits at the centre;
the template's centre value is the tile's value at p, its outer pixels the tile's other pixels.
Kernel templates are the ones whose p is the tile's centre.

Field storage: one uint64 per row of the field with a 2-cell 0 margin on each side, `rows[r + 2]`
holding cell (r, c) at bit c + 2, so a cell's 5x5 neighbourhood is five 5-bit windows. A template is
a pair of 25-bit masks (which pixels it cares about, and their values), the neighbourhood word having
bit 5 * (dr + 2) + (dc + 2) for the cell at offset (dr, dc). Fields are at most MAX_N cells wide.

Kernels that hand back a generator state carry explicit signatures, so the state stays a uint64
when it comes back in from Python.

The rule, per visited cell (asynchronous: a sweep visits all n^2 cells in a random order):
1. count the matching templates with centre 0 (h0) and centre 1 (h1); kernel = a kernel template matches;
2. the cell is valid if it is 1 and a kernel matches, or it is 0 and h0 > 0; a valid cell stays;
3. an invalid cell, with probability `noise`: a random cell of its 3x3 block inside the field takes
   a random value; otherwise, if any template matched, it becomes 1 with probability h1 / (h0 + h1).
A sweep in which every visited cell was valid leaves a stable pattern: no cell can change any more.
"""

from __future__ import annotations

import numba
import numpy as np

from gridworlds.engines.rng import next_below, next_float

MAX_N = 60
CENTRE_BIT = 12
DONT_CARE = -1

TOUCHING_TILES = """
# straight: a path cell between two path cells, free above and below
- 0 -
1 1 1
- 0 -

# corner: the inner diagonal is 0 (no 2x2 block of 1s); the outer diagonals are free, so loops may touch
- 1 0
0 1 1
- 0 -
"""

NON_TOUCHING_TILES = """
- 0 -
1 1 1
- 0 -

# corner whose outer diagonals are 0 too: loops cannot touch at corners
0 1 0
0 1 1
0 0 0
"""

TILE_SETS = {"touching": TOUCHING_TILES, "non-touching": NON_TOUCHING_TILES}


def parse_tiles(text: str) -> np.ndarray:
    """The basic tiles of a tile-set text (3 lines of 3 pixels `1`, `0` or `-` each, tiles separated
    by blank lines; `#` starts a comment) as an int8 array (k, 3, 3) with DONT_CARE for `-`."""
    tiles, rows, number = [], [], 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#")[0].split()
        if not line:
            if 0 < len(rows) < 3:
                raise ValueError(f"tile set line {number}: a tile has 3 rows, this one {len(rows)}")
            rows = []
            continue
        if len(rows) == 3:
            raise ValueError(f"tile set line {number}: a tile has 3 rows; separate tiles by a blank line")
        if len(line) != 3 or any(p not in ("0", "1", "-") for p in line):
            raise ValueError(f"tile set line {number}: expected 3 pixels of 1, 0 or -, got {raw.strip()!r}")
        rows.append([DONT_CARE if p == "-" else int(p) for p in line])
        if len(rows) == 2 and rows[1][1] != 1:
            raise ValueError(f"tile set line {number}: a tile is centred on a path cell, so its centre is 1")
        if len(rows) == 3:
            tiles.append(rows)
    if 0 < len(rows) < 3:
        raise ValueError(f"tile set line {number}: the text ends inside a tile of {len(rows)} rows")
    if not tiles:
        raise ValueError("tile set: no tiles")
    return np.array(tiles, dtype=np.int8)


def rotations(tiles: np.ndarray) -> np.ndarray:
    """Every distinct rotation of the basic tiles."""
    seen: dict[bytes, np.ndarray] = {}
    for tile in tiles:
        for k in range(4):
            turned = np.rot90(tile, k)
            seen.setdefault(turned.tobytes(), turned)
    return np.array(list(seen.values()), dtype=np.int8)


def templates(tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 5x5 templates of a tile set's rotations: (care, value, centre, kernel) arrays.

    care and value are 25-bit neighbourhood masks without the centre bit; centre is the value the
    template gives the cell; kernel marks the templates made from a tile's own centre pixel.
    """
    care, value, centre, kernel = [], [], [], []
    for tile in rotations(tiles):
        pixels = [(r, c, int(tile[r, c])) for r in range(3) for c in range(3) if tile[r, c] != DONT_CARE]
        for pr, pc, pv in pixels:
            care_bits = value_bits = 0
            for r, c, v in pixels:
                if (r, c) == (pr, pc):
                    continue
                bit = 5 * (r - pr + 2) + (c - pc + 2)
                care_bits |= 1 << bit
                value_bits |= v << bit
            care.append(care_bits)
            value.append(value_bits)
            centre.append(pv)
            kernel.append((pr, pc) == (1, 1))
    return (
        np.array(care, dtype=np.uint64),
        np.array(value, dtype=np.uint64),
        np.array(centre, dtype=np.int64),
        np.array(kernel, dtype=np.bool_),
    )


def tile_set_templates(name_or_text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Templates of a named tile set ("touching", "non-touching") or of a tile-set text."""
    if name_or_text not in TILE_SETS and "\n" not in name_or_text:
        raise ValueError(
            f"unknown tile set {name_or_text!r}: name one of {sorted(TILE_SETS)} or give a tile text"
        )
    return templates(parse_tiles(TILE_SETS.get(name_or_text, name_or_text)))


# --- fields ---


def check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 3 <= n <= MAX_N:
        raise ValueError(f"n must be an integer from 3 to {MAX_N}, got {n!r}")
    return int(n)


@numba.njit(cache=True)
def field_to_rows(field, rows):
    """Pack an (n, n) 0/1 field into rows (n + 4 uint64, margins 0)."""
    n = field.shape[0]
    rows[:] = 0
    for r in range(n):
        word = np.uint64(0)
        for c in range(n):
            if field[r, c]:
                word |= np.uint64(1) << np.uint64(c + 2)
        rows[r + 2] = word


@numba.njit(cache=True)
def rows_to_field(rows, field):
    n = field.shape[0]
    for r in range(n):
        for c in range(n):
            field[r, c] = (rows[r + 2] >> np.uint64(c + 2)) & np.uint64(1)


@numba.njit(cache=True, inline="always")
def neighbourhood(rows, r, c):
    """The 25-bit word of the 5x5 block centred on cell (r, c)."""
    word = np.uint64(0)
    for dr in range(5):
        word |= ((rows[r + dr] >> np.uint64(c)) & np.uint64(31)) << np.uint64(5 * dr)
    return word


@numba.njit(cache=True, inline="always")
def test_cell(word, care, value, centre, kernel):
    """(h0, h1, kernel matched) for a neighbourhood word: one branch-free pass over all templates,
    which numba vectorises; cheaper than stopping at the first match."""
    h0 = h1 = 0
    has_kernel = False
    for t in range(care.shape[0]):
        match = word & care[t] == value[t]
        h1 += match and centre[t] == 1
        h0 += match and centre[t] == 0
        has_kernel |= match and kernel[t]
    return h0, h1, has_kernel


@numba.njit(cache=True, inline="always")
def is_valid(word, h0, has_kernel):
    if (word >> np.uint64(CENTRE_BIT)) & np.uint64(1):
        return has_kernel
    return h0 > 0


@numba.njit(cache=True)
def valid_cells(rows, n, care, value, centre, kernel, out):
    """out[r, c] = whether cell (r, c) is valid; returns how many are."""
    count = 0
    for r in range(n):
        for c in range(n):
            word = neighbourhood(rows, r, c)
            h0, _, has_kernel = test_cell(word, care, value, centre, kernel)
            out[r, c] = is_valid(word, h0, has_kernel)
            count += out[r, c]
    return count


@numba.njit(cache=True)
def all_valid(rows, n, care, value, centre, kernel):
    """Whether every cell is valid: a stable pattern (stops at the first invalid cell)."""
    for r in range(n):
        for c in range(n):
            word = neighbourhood(rows, r, c)
            h0, _, has_kernel = test_cell(word, care, value, centre, kernel)
            if not is_valid(word, h0, has_kernel):
                return False
    return True


@numba.njit(cache=True)
def _set_cell(rows, r, c, v):
    bit = np.uint64(1) << np.uint64(c + 2)
    if v:
        rows[r + 2] |= bit
    else:
        rows[r + 2] &= ~bit


@numba.njit("Tuple((u8, b1))(u8[::1], i8, i8, i8, f8, u8, u8[::1], u8[::1], i8[::1], b1[::1])", cache=True)
def update_cell(rows, n, r, c, noise, rng, care, value, centre, kernel):
    """Apply the rule to cell (r, c); returns (rng, the cell was valid)."""
    word = neighbourhood(rows, r, c)
    h0, h1, has_kernel = test_cell(word, care, value, centre, kernel)
    if is_valid(word, h0, has_kernel):
        return rng, True
    rng, u = next_float(rng)
    if u < noise:
        r0, r1 = max(r - 1, 0), min(r + 1, n - 1)
        c0, c1 = max(c - 1, 0), min(c + 1, n - 1)
        width = c1 - c0 + 1
        rng, k = next_below(rng, (r1 - r0 + 1) * width)
        rng, v = next_below(rng, 2)
        _set_cell(rows, r0 + k // width, c0 + k % width, v)
    elif h0 + h1 > 0:
        rng, u = next_float(rng)
        _set_cell(rows, r, c, u * (h0 + h1) < h1)
    return rng, False


@numba.njit("u8(i8[::1], i8, u8)", cache=True)
def shuffle(order, cells, rng):
    """order[:cells] = a random permutation of 0 .. cells - 1, a sweep's visiting order; returns rng."""
    for i in range(cells):
        order[i] = i
    for i in range(cells - 1, 0, -1):
        rng, j = next_below(rng, i + 1)
        order[i], order[j] = order[j], order[i]
    return rng


@numba.njit("Tuple((u8, i8))(u8[::1], i8, f8, u8, i8[::1], u8[::1], u8[::1], i8[::1], b1[::1])", cache=True)
def sweep(rows, n, noise, rng, order, care, value, centre, kernel):
    """Visit all n^2 cells once in a fresh random order; returns (rng, invalid cells visited).

    0 invalid visits means the field is a stable pattern. `order` is scratch space of n^2 ints.
    """
    cells = n * n
    rng = shuffle(order, cells, rng)
    invalid = 0
    for i in range(cells):
        rng, ok = update_cell(rows, n, order[i] // n, order[i] % n, noise, rng, care, value, centre, kernel)
        invalid += not ok
    return rng, invalid


@numba.njit("u8(u8[::1], i8, f8, u8)", cache=True)
def random_field(rows, n, density, rng):
    """Fill the field with independent cells that are 1 with probability `density`; returns rng."""
    rows[:] = 0
    for r in range(n):
        for c in range(n):
            rng, u = next_float(rng)
            if u < density:
                rows[r + 2] |= np.uint64(1) << np.uint64(c + 2)
    return rng


@numba.njit(cache=True)
def run_batch(rows, n, noise, rngs, max_sweeps, care, value, centre, kernel, sweeps_done, converged):
    """Sweep each field of rows[B, n + 4] until it is stable or max_sweeps have passed.

    Writes the sweeps taken (the last one the stable check) and whether the field became stable.
    """
    order = np.empty(n * n, dtype=np.int64)
    for b in range(rows.shape[0]):
        rng = rngs[b]
        converged[b] = False
        sweeps_done[b] = max_sweeps
        for s in range(max_sweeps):
            rng, invalid = sweep(rows[b], n, noise, rng, order, care, value, centre, kernel)
            if invalid == 0:
                converged[b] = True
                sweeps_done[b] = s + 1
                break
        rngs[b] = rng


# --- the pattern checker: the global definition, independent of tiles and templates ---

_ORTHOGONAL = ((-1, 0), (0, 1), (1, 0), (0, -1))
_DIAGONAL = ((-1, -1), (-1, 1), (1, -1), (1, 1))


@numba.njit(cache=True, inline="always")
def _at(field, r, c):
    n = field.shape[0]
    return field[r, c] if 0 <= r < n and 0 <= c < n else 0


@numba.njit(cache=True, inline="always")
def _is_corner(field, r, c):
    """A 1-cell whose path turns: a vertical and a horizontal neighbour are 1."""
    vertical = _at(field, r - 1, c) or _at(field, r + 1, c)
    horizontal = _at(field, r, c - 1) or _at(field, r, c + 1)
    return field[r, c] and vertical and horizontal


@numba.njit(cache=True)
def is_loop_pattern(field, touching):
    """Whether a 0/1 field (the border around it 0) is a valid loop pattern:
    every 1-cell has exactly two orthogonal 1-neighbours; there is no 2x2 block of 1s; every 0-cell
    lies next to the path (an orthogonal 1-neighbour). Without `touching`, the three diagonals of a
    corner cell other than the one between its arms are 0, so loops cannot touch at corners; those
    diagonals then also count as next to the path."""
    n = field.shape[0]
    for r in range(n):
        for c in range(n):
            around = 0
            for dr, dc in _ORTHOGONAL:
                around += _at(field, r + dr, c + dc)
            if field[r, c] == 0:
                if around == 0 and (touching or not _diagonal_to_corner(field, r, c)):
                    return False
                continue
            if around != 2:
                return False
            if r + 1 < n and c + 1 < n and field[r, c + 1] and field[r + 1, c] and field[r + 1, c + 1]:
                return False
            if not touching and _is_corner(field, r, c):
                for dr, dc in _DIAGONAL:
                    inner = _at(field, r + dr, c) and _at(field, r, c + dc)
                    if not inner and _at(field, r + dr, c + dc):
                        return False
    return True


@numba.njit(cache=True)
def _diagonal_to_corner(field, r, c):
    n = field.shape[0]
    for dr, dc in _DIAGONAL:
        rr, cc = r + dr, c + dc
        if 0 <= rr < n and 0 <= cc < n and _is_corner(field, rr, cc):
            return True
    return False


@numba.njit(cache=True)
def loop_labels(field, labels):
    """Label the orthogonally connected groups of 1-cells 1, 2, ... (0 for 0-cells); returns the count."""
    n = field.shape[0]
    labels[:] = 0
    stack = np.empty(n * n, dtype=np.int64)
    count = 0
    for start in range(n * n):
        if field[start // n, start % n] == 0 or labels[start // n, start % n]:
            continue
        count += 1
        labels[start // n, start % n] = count
        top = 0
        stack[0] = start
        top = 1
        while top:
            top -= 1
            r, c = stack[top] // n, stack[top] % n
            for dr, dc in _ORTHOGONAL:
                rr, cc = r + dr, c + dc
                if 0 <= rr < n and 0 <= cc < n and field[rr, cc] and not labels[rr, cc]:
                    labels[rr, cc] = count
                    stack[top] = rr * n + cc
                    top += 1
    return count


@numba.njit(cache=True)
def touching_contacts(field):
    """Diagonal pairs of 1-cells whose two shared orthogonal neighbours are both 0: where loops touch."""
    n = field.shape[0]
    contacts = 0
    for r in range(n - 1):
        for c in range(n):
            for dc in (-1, 1):
                cc = c + dc
                if (
                    0 <= cc < n
                    and field[r, c]
                    and field[r + 1, cc]
                    and not field[r, cc]
                    and not field[r + 1, c]
                ):
                    contacts += 1
    return contacts


@numba.njit(cache=True)
def cover_levels(field, touching, levels):
    """levels[r, c] = how many path cells' tiles cover cell (r, c). A path cell's tile covers itself
    and its four orthogonal neighbours; a corner's also covers the diagonal between its arms, and
    without `touching` its three other diagonals. In a valid pattern every cell is covered."""
    n = field.shape[0]
    levels[:] = 0
    for r in range(n):
        for c in range(n):
            if not field[r, c]:
                continue
            levels[r, c] += 1
            for dr, dc in _ORTHOGONAL:
                if 0 <= r + dr < n and 0 <= c + dc < n:
                    levels[r + dr, c + dc] += 1
            if _is_corner(field, r, c):
                for dr, dc in _DIAGONAL:
                    inner = _at(field, r + dr, c) and _at(field, r, c + dc)
                    if (inner or not touching) and 0 <= r + dr < n and 0 <= c + dc < n:
                        levels[r + dr, c + dc] += 1


def pattern_stats(field: np.ndarray, touching: bool = True) -> dict[str, object]:
    """What the checker says of a field: validity, loops and their lengths, contacts, density, and
    cover levels (how many cells are covered by 1, 2, ... tiles)."""
    field = np.ascontiguousarray(field, dtype=np.int8)
    labels = np.zeros(field.shape, dtype=np.int64)
    count = loop_labels(field, labels)
    levels = np.zeros(field.shape, dtype=np.int64)
    cover_levels(field, touching, levels)
    return {
        "valid": bool(is_loop_pattern(field, touching)),
        "loops": int(count),
        "loop_lengths": sorted(np.bincount(labels.ravel(), minlength=count + 1)[1:].tolist()),
        "contacts": int(touching_contacts(field)),
        "density": float(field.mean()),
        "cover_levels": {int(k): int(v) for k, v in enumerate(np.bincount(levels.ravel())) if v},
    }


@numba.njit(cache=True)
def count_patterns(n, touching, care, value, centre, kernel):
    """Brute force over all 2^(n*n) fields: (patterns the checker accepts, fields the rule finds
    stable, fields where the two disagree)."""
    field = np.zeros((n, n), dtype=np.int8)
    rows = np.zeros(n + 4, dtype=np.uint64)
    checker = rule = disagree = 0
    for code in range(1 << (n * n)):
        for i in range(n * n):
            field[i // n, i % n] = (code >> i) & 1
        field_to_rows(field, rows)
        a = is_loop_pattern(field, touching)
        b = all_valid(rows, n, care, value, centre, kernel)
        checker += a
        rule += b
        disagree += a != b
    return checker, rule, disagree


@numba.njit(cache=True)
def lowest_bit(x):
    index = 0
    while not (x >> np.uint64(index)) & np.uint64(1):
        index += 1
    return index


@numba.njit("Tuple((u8, i8, i8))(u8[::1], i8, f8, u8, u8[::1], u8[::1], i8[::1], b1[::1], i8)", cache=True)
def rule_edit(rows, n, noise, rng, care, value, centre, kernel, max_visits):
    """The rule's next change as one edit: visit uniformly random cells, applying the rule, until a
    cell changes. Returns (rng, changed cell r * n + c or -1 if none within max_visits, its value).
    `rows` is left as it was; the edit is for the caller to make."""
    scratch = rows.copy()
    for _ in range(max_visits):
        rng, cell = next_below(rng, n * n)
        rng, _ = update_cell(scratch, n, cell // n, cell % n, noise, rng, care, value, centre, kernel)
        for r in range(n):
            changed = scratch[r + 2] ^ rows[r + 2]
            if changed:
                c = lowest_bit(changed) - 2
                return rng, r * n + c, np.int64((scratch[r + 2] >> np.uint64(c + 2)) & np.uint64(1))
    return rng, -1, 0


# --- split noise: noise where the rule is stuck, a schedule that beats constant noise ---
#
# An invalid cell that the adoption step can change (a 1-cell with a centre-0 template matching, a
# 0-cell with a centre-1 one) is on its way to repair; noise there slows the runs (measured). An invalid
# cell that adoption cannot change (no such template matches) only moves through noise. Splitting
# the noise probability between the two cases, noise_free and noise_stuck, with noise_free = 0 and
# noise_stuck about 0.7, reaches stable patterns 2 to 3 times sooner than the best constant noise
# for n = 8 to 16 and both tile sets (experiments/touching-loops-convergence.toml measures it). With
# noise_free == noise_stuck it is the rule itself: run_batch_split_noise then gives run_batch's
# trajectories bit for bit.


@numba.njit(cache=True, inline="always")
def adoption_is_stuck(word, h0, h1):
    """Whether adopting a matching template's centre cannot change an invalid cell: it is 1 and no
    centre-0 template matches, or it is 0 and no centre-1 template matches."""
    if (word >> np.uint64(CENTRE_BIT)) & np.uint64(1):
        return h0 == 0
    return h1 == 0


@numba.njit(
    "Tuple((u8, i8))(u8[::1], i8, f8, f8, u8, i8[::1], u8[::1], u8[::1], i8[::1], b1[::1])", cache=True
)
def sweep_split_noise(rows, n, noise_free, noise_stuck, rng, order, care, value, centre, kernel):
    """sweep with the noise probability of each invalid cell split by adoption_is_stuck: noise_stuck
    where adoption cannot change the cell, noise_free where it can. Returns (rng, invalid cells visited)."""
    rng = shuffle(order, n * n, rng)
    invalid = 0
    for i in range(n * n):
        r, c = order[i] // n, order[i] % n
        word = neighbourhood(rows, r, c)
        h0, h1, has_kernel = test_cell(word, care, value, centre, kernel)
        if is_valid(word, h0, has_kernel):
            continue
        invalid += 1
        # update_cell tests the cell again: a cost paid on invalid cells only, which are few.
        noise = noise_stuck if adoption_is_stuck(word, h0, h1) else noise_free
        rng, _ = update_cell(rows, n, r, c, noise, rng, care, value, centre, kernel)
    return rng, invalid


@numba.njit(cache=True)
def run_batch_split_noise(
    rows, n, noise_free, noise_stuck, rngs, max_sweeps, care, value, centre, kernel, sweeps_done, converged
):
    """run_batch with sweep_split_noise: sweep each field of rows[B, n + 4] until it is stable or
    max_sweeps have passed; writes the sweeps taken and whether the field became stable."""
    order = np.empty(n * n, dtype=np.int64)
    for b in range(rows.shape[0]):
        rng = rngs[b]
        converged[b] = False
        sweeps_done[b] = max_sweeps
        for s in range(max_sweeps):
            rng, invalid = sweep_split_noise(
                rows[b], n, noise_free, noise_stuck, rng, order, care, value, centre, kernel
            )
            if invalid == 0:
                converged[b] = True
                sweeps_done[b] = s + 1
                break
        rngs[b] = rng

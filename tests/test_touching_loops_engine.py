"""The touching-loops engine: tiles and templates, the rule against the independent pattern checker
(exhaustively for small fields, by hypothesis for larger ones), absorbing states, the border,
determinism, convergence, and the checker's statistics."""

import functools
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gridworlds.engines import touching_loops as tl
from gridworlds.engines.rng import seed_state

TEMPLATES = {name: tl.tile_set_templates(name) for name in tl.TILE_SETS}
TILE_SETS = st.sampled_from(list(tl.TILE_SETS))


def field_of(picture: str) -> np.ndarray:
    """A field from a picture: `#` a path cell, `.` a 0-cell, one line per row."""
    return np.array([[ch == "#" for ch in line] for line in picture.split()], dtype=np.int8)


def packed(field: np.ndarray) -> np.ndarray:
    rows = np.zeros(len(field) + 4, dtype=np.uint64)
    tl.field_to_rows(np.ascontiguousarray(field, dtype=np.int8), rows)
    return rows


def unpacked(rows: np.ndarray, n: int) -> np.ndarray:
    field = np.zeros((n, n), dtype=np.int8)
    tl.rows_to_field(rows, field)
    return field


def cell_validity(field: np.ndarray, tile_set: str) -> np.ndarray:
    """The rule's verdict on every cell of a field."""
    n = len(field)
    out = np.zeros((n, n), dtype=np.bool_)
    tl.valid_cells(packed(field), n, *TEMPLATES[tile_set], out)
    return out


def random_fields(n: int, seeds, density: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(rows[B, n + 4], rngs[B]): one random field per seed, made by the engine's own generator."""
    rows = np.zeros((len(seeds), n + 4), dtype=np.uint64)
    rngs = np.array([seed_state(s) for s in seeds], dtype=np.uint64)
    for b in range(len(seeds)):
        rngs[b] = tl.random_field(rows[b], n, density, rngs[b])
    return rows, rngs


def run(rows, rngs, n, tile_set, noise=0.4, max_sweeps=20_000):
    """run_batch in place; returns (sweeps taken, converged)."""
    sweeps = np.zeros(len(rows), dtype=np.int64)
    converged = np.zeros(len(rows), dtype=np.bool_)
    tl.run_batch(rows, n, noise, rngs, max_sweeps, *TEMPLATES[tile_set], sweeps, converged)
    return sweeps, converged


@functools.cache
def valid_patterns(tile_set: str, n: int) -> list[np.ndarray]:
    """A few stable patterns the rule grows from random fields: material for near-valid fields."""
    rows, rngs = random_fields(n, range(3))
    _, converged = run(rows, rngs, n, tile_set, max_sweeps=200_000)
    assert converged.all()
    return [unpacked(r, n) for r in rows]


# --- tiles and templates ---


def test_tile_sets_give_six_rotated_tiles_and_the_known_template_counts():
    for tile_set, count in (("touching", 34), ("non-touching", 46)):
        assert len(tl.rotations(tl.parse_tiles(tl.TILE_SETS[tile_set]))) == 6
        care, value, centre, kernel = TEMPLATES[tile_set]
        assert len(care) == count
        assert kernel.sum() == 6
        assert (centre[kernel] == 1).all()  # a kernel template is centred on the tile's path cell
        assert (value & ~care == 0).all()  # values only where the template cares
        assert ((care >> np.uint64(tl.CENTRE_BIT)) & np.uint64(1) == 0).all()  # outer pixels only


def bit(dr: int, dc: int) -> int:
    """The neighbourhood-word bit of the cell at offset (dr, dc) from the centre."""
    return 1 << (5 * (dr + 2) + (dc + 2))


def test_straight_kernel_template_cares_about_exactly_its_four_other_pixels():
    care, value, centre, kernel = TEMPLATES["touching"]
    up, down, left, right = bit(-1, 0), bit(1, 0), bit(0, -1), bit(0, 1)
    # The horizontal and the vertical straight: same four pixels cared about, different values.
    straights = kernel & (care == up | down | left | right)
    assert set(value[straights].tolist()) == {up | down, left | right}
    assert (centre[straights] == 1).all()
    # A horizontal path cell in a field has exactly that neighbourhood word (plus its own centre bit).
    rows = packed(field_of("..... ..... .###. ..... ....."))
    assert tl.neighbourhood(rows, 2, 2) == left | right | 1 << tl.CENTRE_BIT


def test_corner_kernels_ignore_the_outer_diagonals_only_when_loops_may_touch():
    # The straight kernels care about 4 pixels; the corner kernels about their 4 neighbours and the
    # inner diagonal when touching, about all 8 surrounding pixels when not.
    for tile_set, corner in (("touching", 5), ("non-touching", 8)):
        care, _, _, kernel = TEMPLATES[tile_set]
        assert sorted(int(c).bit_count() for c in care[kernel]) == [4, 4] + [corner] * 4


def test_a_replacement_tile_set_needs_no_code():
    straight_only = "# just the straight tile\n- 0 -\n1 1 1\n- 0 -\n"
    care, _, _, kernel = tl.tile_set_templates(straight_only)
    assert len(care) == 10 and kernel.sum() == 2  # 2 rotations, 5 non-null pixels each


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["- 0 -", "1 1", "- 0 -"], "line 2: expected 3 pixels"),
        (["- 0 -", "1 1 1 1", "- 0 -"], "line 2: expected 3 pixels"),
        (["- 0 -", "1 1 2", "- 0 -"], "line 2: expected 3 pixels of 1, 0 or -, got '1 1 2'"),
        (["- 0 -", "1 1 1", "", "- 0 -", "1 1 1", "- 0 -"], "line 3: a tile has 3 rows, this one 2"),
        (["- 1 0", "0 1 1", "- 0 -", "", "- 0 -", "1 1 1"], "line 6"),  # the text ends inside a tile
        (["- 1 0", "0 1 1", "- 0 -", "", "- 0 -", "1 0 1", "- 0 -"], "line 6"),  # centre not 1
        (["# nothing but a comment"], "no tiles"),
    ],
)
def test_bad_tile_sets_raise_errors_that_name_the_line(lines, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        tl.parse_tiles("\n".join(lines))


# --- field size and storage ---


@pytest.mark.parametrize("bad", [2, 0, -4, tl.MAX_N + 1, 5.0, "5", True, None])
def test_check_n_rejects_sizes_outside_3_to_max_n_and_non_integers(bad):
    with pytest.raises(ValueError, match=rf"n must be .*got {re.escape(repr(bad))}"):
        tl.check_n(bad)


def test_check_n_accepts_the_bounds_and_numpy_integers():
    assert tl.check_n(3) == 3 and tl.check_n(tl.MAX_N) == tl.MAX_N
    assert tl.check_n(np.int64(7)) == 7 and type(tl.check_n(np.int64(7))) is int


@settings(max_examples=200)
@given(n=st.integers(3, tl.MAX_N), seed=st.integers(0, 2**32 - 1))
def test_rows_round_trip_with_cell_r_c_at_bit_c_plus_2_of_row_r_plus_2(n, seed):
    field = (np.random.default_rng(seed).random((n, n)) < 0.5).astype(np.int8)
    rows = np.full(n + 4, np.uint64(2**64 - 1))  # stale bits that field_to_rows must clear
    tl.field_to_rows(field, rows)
    assert (unpacked(rows, n) == field).all()
    expected = [sum(int(v) << (c + 2) for c, v in enumerate(row)) for row in field]
    assert rows.tolist() == [0, 0, *expected, 0, 0]


# --- the rule against the checker ---


@pytest.mark.parametrize(
    ("tile_set", "n", "expected"),
    [
        ("touching", 3, (1, 1, 0)),
        ("touching", 4, (11, 11, 0)),
        ("non-touching", 3, (1, 1, 0)),
        ("non-touching", 4, (9, 9, 0)),
    ],
)
def test_brute_force_counts_and_no_disagreement(tile_set, n, expected):
    assert tl.count_patterns(n, tile_set == "touching", *TEMPLATES[tile_set]) == expected


@pytest.mark.slow
@pytest.mark.parametrize(("tile_set", "expected"), [("touching", (74, 74, 0)), ("non-touching", (15, 15, 0))])
def test_brute_force_over_all_5x5_fields(tile_set, expected):
    assert tl.count_patterns(5, tile_set == "touching", *TEMPLATES[tile_set]) == expected


@st.composite
def fields(draw) -> tuple[str, np.ndarray]:
    """(tile set, field): random fields, sparse to dense, or a stable pattern with 0-3 cells flipped,
    so that valid fields and fields one edit from valid come up often."""
    tile_set, n = draw(TILE_SETS), draw(st.integers(3, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        density = draw(st.sampled_from([0.05, 0.3, 0.5, 0.7, 0.95]))
        return tile_set, (rng.random((n, n)) < density).astype(np.int8)
    field = draw(st.sampled_from(valid_patterns(tile_set, n))).copy()
    for _ in range(draw(st.integers(0, 3))):
        r, c = rng.integers(n, size=2)
        field[r, c] ^= 1
    return tile_set, field


@settings(max_examples=500)
@given(case=fields())
def test_rule_validity_matches_the_checker(case):
    tile_set, field = case
    n = len(field)
    valid = tl.is_loop_pattern(field, tile_set == "touching")
    assert tl.all_valid(packed(field), n, *TEMPLATES[tile_set]) == valid
    out = np.zeros((n, n), dtype=np.bool_)
    count = tl.valid_cells(packed(field), n, *TEMPLATES[tile_set], out)
    assert count == out.sum()
    assert (count == n * n) == valid


# --- absorbing states ---


def sweep(rows, n, tile_set, noise, rng):
    return tl.sweep(rows, n, noise, rng, np.empty(n * n, dtype=np.int64), *TEMPLATES[tile_set])


@settings(max_examples=60)
@given(
    tile_set=TILE_SETS,
    n=st.integers(3, 12),
    which=st.integers(0, 2),
    noise=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_valid_pattern_never_changes(tile_set, n, which, noise, seed):
    rows = packed(valid_patterns(tile_set, n)[which])
    start, rng = rows.copy(), seed_state(seed)
    for _ in range(30):
        rng, invalid = sweep(rows, n, tile_set, noise, rng)
        assert invalid == 0
        assert (rows == start).all()


@settings(max_examples=100)
@given(
    tile_set=TILE_SETS,
    n=st.integers(3, 12),
    density=st.floats(0.0, 1.0),
    noise=st.floats(0.2, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_an_invalid_field_eventually_changes(tile_set, n, density, noise, seed):
    field = (np.random.default_rng(seed).random((n, n)) < density).astype(np.int8)
    assume(not tl.is_loop_pattern(field, tile_set == "touching"))
    rows, rng = packed(field), seed_state(seed)
    # While unchanged, every sweep visits an invalid cell, and each such visit changes a cell with
    # probability at least noise / 2: staying put for 200 sweeps has odds below 1e-9.
    for _ in range(200):
        rng, _ = sweep(rows, n, tile_set, noise, rng)
        if (unpacked(rows, n) != field).any():
            return
    pytest.fail("the field never changed")


def test_without_noise_an_empty_field_is_stuck():
    # No template matches a field of 0s, so there is no centre value to adopt: only noise helps.
    n, rng = 6, seed_state(0)
    rows = packed(np.zeros((n, n), dtype=np.int8))
    for _ in range(20):
        rng, invalid = sweep(rows, n, "touching", 0.0, rng)
        assert invalid == n * n and not rows.any()
    rng, _ = sweep(rows, n, "touching", 0.4, rng)
    assert rows.any()


# --- the border ---


def test_a_ring_filling_a_3x3_field_is_valid_against_the_border():
    ring = field_of("### #.# ###")
    for tile_set in tl.TILE_SETS:
        assert tl.is_loop_pattern(ring, tile_set == "touching")
        assert cell_validity(ring, tile_set).all()


@pytest.mark.parametrize("turns", range(4))
def test_the_border_is_zero_on_every_side(turns):
    # A ring against the border has all its path cells valid; the same ring without its border-side
    # row is a U whose two tips lack a second neighbour: the border does not supply one.
    ring = np.rot90(field_of(".###. .#.#. .###. ..... ....."), turns)
    u = np.rot90(field_of(".#.#. .#.#. .###. ..... ....."), turns)
    tips = np.rot90(field_of(".#.#. ..... ..... ..... ....."), turns).astype(bool)
    for tile_set in tl.TILE_SETS:
        assert cell_validity(ring, tile_set)[ring == 1].all()
        validity = cell_validity(u, tile_set)
        assert not validity[tips].any()
        assert validity[(u == 1) & ~tips].all()


@pytest.mark.parametrize("n", [3, 5, 8, 13, tl.MAX_N])
def test_noise_never_writes_outside_the_field(n):
    rows, rngs = random_fields(n, range(4))
    inside = np.uint64(((1 << n) - 1) << 2)
    for tile_set in tl.TILE_SETS:
        for b in range(len(rows)):
            rng = rngs[b]
            for _ in range(400 if n < tl.MAX_N else 40):
                rng, _ = sweep(rows[b], n, tile_set, 1.0, rng)
            assert not rows[b, :2].any() and not rows[b, n + 2 :].any()
            assert not (rows[b, 2 : n + 2] & ~inside).any()


# --- determinism ---


def test_the_same_seeds_give_the_same_runs():
    first, second = (random_fields(8, range(6)) for _ in range(2))
    assert (first[0] == second[0]).all()
    results = [run(rows, rngs, 8, "touching", max_sweeps=2000) for rows, rngs in (first, second)]
    assert (first[0] == second[0]).all() and (first[1] == second[1]).all()
    assert (results[0][0] == results[1][0]).all()
    assert len({r.tobytes() for r in first[0]}) > 1  # and different seeds give different patterns


def test_run_batch_equals_single_runs():
    n, max_sweeps = 8, 300
    rows, rngs = random_fields(n, range(12))
    starts, start_rngs = rows.copy(), rngs.copy()
    sweeps, converged = run(rows, rngs, n, "touching", max_sweeps=max_sweeps)
    # Some fields converge within the budget and some do not, so both endings are compared.
    assert 0 < converged.sum() < len(rows)
    for b in range(len(rows)):
        single, rng, taken, invalid = starts[b].copy(), start_rngs[b], 0, -1
        while invalid != 0 and taken < max_sweeps:
            rng, invalid = sweep(single, n, "touching", 0.4, rng)
            taken += 1
        assert (single == rows[b]).all() and rng == rngs[b]
        assert sweeps[b] == taken and converged[b] == (invalid == 0)


# --- convergence and the checker's statistics ---


@pytest.mark.parametrize("n", [6, 8])
def test_random_fields_converge_to_patterns_the_checker_accepts(n):
    rows, rngs = random_fields(n, range(10))
    sweeps, converged = run(rows, rngs, n, "touching", noise=0.4, max_sweeps=20_000)
    assert converged.all(), sweeps
    for r in rows:
        assert tl.pattern_stats(unpacked(r, n))["valid"]


def test_pattern_stats_of_two_touching_loops():
    # A 3x3 ring in the lower-left corner, and a 24-cell loop winding round it that touches it
    # diagonally once, at (3, 3) and (4, 2).
    field = field_of(
        """
        #######
        #.....#
        ####..#
        ...##.#
        ###.#.#
        #.#.#.#
        ###.###
        """
    )
    stats = tl.pattern_stats(field)
    levels = stats.pop("cover_levels")
    assert stats == {
        "valid": True,
        "loops": 2,
        "loop_lengths": [8, 24],
        "contacts": 1,
        "density": 32 / 49,
    }
    assert 0 not in levels and sum(levels.values()) == 49  # the tiles cover every cell
    assert tl.all_valid(packed(field), 7, *TEMPLATES["touching"])
    # Loops that touch are not a non-touching pattern, by the checker or by the rule.
    assert not tl.pattern_stats(field, touching=False)["valid"]
    assert not tl.all_valid(packed(field), 7, *TEMPLATES["non-touching"])


def test_cover_levels_of_the_ring_and_of_stable_patterns():
    ring = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.int8)
    # The centre lies under the four straight tiles (a side each) and the four corners' inner diagonals.
    assert tl.pattern_stats(ring)["cover_levels"] == {3: 8, 8: 1}
    for tiles in ("touching", "non-touching"):
        templates = tl.tile_set_templates(tiles)
        rows = np.zeros((4, 12), dtype=np.uint64)
        rngs = np.array([seed_state(k) for k in range(4)], dtype=np.uint64)
        for b in range(4):
            rngs[b] = tl.random_field(rows[b], 8, 0.5, rngs[b])
        sweeps, converged = np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.bool_)
        tl.run_batch(rows, 8, 0.4, rngs, 50_000, *templates, sweeps, converged)
        assert converged.all()
        for b in range(4):
            field = np.zeros((8, 8), dtype=np.int8)
            tl.rows_to_field(rows[b], field)
            levels = tl.pattern_stats(field, tiles == "touching")["cover_levels"]
            assert 0 not in levels and sum(levels.values()) == 64  # the tiles cover the whole field

"""Voxel-robot bodies: validity, random bodies, and the text, JSON and file forms."""

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridworlds.engines.voxels import bodies as vb
from gridworlds.engines.voxels.bodies import EMPTY, FIXED, H_ACT, RIGID, SOFT, V_ACT

E, R, S, H, V = EMPTY, RIGID, SOFT, H_ACT, V_ACT

shapes = st.tuples(st.integers(1, 7), st.integers(1, 7))
seeds = st.integers(0, 2**32 - 1)


def test_materials_match_evogym():
    assert (EMPTY, RIGID, SOFT, H_ACT, V_ACT, FIXED) == (0, 1, 2, 3, 4, 5)
    assert vb.ROBOT_MATERIALS == (0, 1, 2, 3, 4)
    assert vb.ACTUATORS == (3, 4)
    assert vb.LETTERS == {0: ".", 1: "R", 2: "S", 3: "H", 4: "V", 5: "F"}


# --- validity ---


def test_check_body_returns_an_int8_c_contiguous_copy():
    body = np.asfortranarray(np.array([[R, S], [H, V]], dtype=np.int64))
    checked = vb.check_body(body)
    assert checked.dtype == np.int8
    assert checked.flags.c_contiguous
    np.testing.assert_array_equal(checked, body)
    checked[0, 0] = SOFT
    assert body[0, 0] == RIGID
    already_int8 = np.array([[H]], dtype=np.int8)
    assert not np.shares_memory(vb.check_body(already_int8), already_int8)


def test_lists_of_lists_are_bodies():
    np.testing.assert_array_equal(vb.check_body([[R, H], [E, V]]), [[R, H], [E, V]])


def test_a_hole_in_the_middle_is_fine():
    ring = [[S, S, S], [S, E, H], [S, S, S]]
    assert vb.is_connected(ring)
    vb.check_body(ring)


def test_diagonal_contact_does_not_connect():
    body = [[H, E], [E, V]]
    assert not vb.is_connected(body)
    with pytest.raises(ValueError, match=r"not 4-connected.*\(0, 0\) and \(1, 1\).*corner"):
        vb.check_body(body)


def test_disconnected_pieces_are_named_by_a_voxel_of_each():
    body = [[E, H, E, E], [E, S, E, R], [E, E, E, R]]
    with pytest.raises(ValueError, match=r"\(0, 1\) and \(1, 3\)"):
        vb.check_body(body)


def test_a_body_without_actuator_is_refused():
    soft_block = [[S] * 3] * 3
    assert vb.is_connected(soft_block)
    assert not vb.has_actuator(soft_block)
    with pytest.raises(ValueError, match=r"no actuator: at least one H .* or V .* voxel is needed"):
        vb.check_body(soft_block)


def test_a_body_without_voxel_is_refused():
    assert not vb.is_connected(np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError, match="no voxel"):
        vb.check_body(np.zeros((3, 3), dtype=int))


@pytest.mark.parametrize(
    ("body", "place"),
    [
        ([[H, 7], [S, S]], r"material 7 at \(row, column\) = \(0, 1\)"),
        ([[H, S], [S, -1]], r"material -1 at \(row, column\) = \(1, 1\)"),
        ([[H, S], [FIXED, S]], r"material 5 at \(row, column\) = \(1, 0\) \(FIXED is terrain only"),
    ],
)
def test_bad_materials_are_named_with_their_place(body, place):
    with pytest.raises(ValueError, match=place + r".*0 EMPTY, 1 RIGID, 2 SOFT, 3 H_ACT, 4 V_ACT"):
        vb.check_body(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([H, V], r"2-D array of integers, got a 1-D array of shape \(2,\)"),
        (np.full((1, 1, 1), H), r"2-D array of integers, got a 3-D array"),
        ([[H, V], [S]], "rows of equal length"),
        ([[1.0, 3.0]], "integers, got dtype float64"),
        ([[True]], "integers, got dtype bool"),
        ([["H"]], "integers, got dtype <U1"),
        ([[]], r"at least one row and one column, got shape \(1, 0\)"),
        (np.zeros((0, 3), dtype=int), r"at least one row and one column, got shape \(0, 3\)"),
    ],
)
def test_what_is_not_a_2d_integer_array_is_refused(body, message):
    with pytest.raises(ValueError, match=message):
        vb.check_body(body)


def test_actuator_cells_are_in_row_major_order():
    body = [[V, R, H], [S, E, S], [H, S, V]]
    cells = vb.actuator_cells(body)
    assert cells.dtype == np.int64
    np.testing.assert_array_equal(cells, [[0, 0], [0, 2], [2, 0], [2, 2]])
    assert vb.actuator_cells([[S, R]]).shape == (0, 2)


def test_has_actuator_sees_either_kind():
    assert vb.has_actuator([[S, H]])
    assert vb.has_actuator([[V, R]])
    assert not vb.has_actuator([[S, R]])


# --- random bodies ---


@settings(max_examples=60)
@given(shape=shapes, seed=seeds)
def test_random_bodies_are_valid(shape, seed):
    body = vb.random_body(np.random.default_rng(seed), shape)
    assert body.shape == shape
    assert body.dtype == np.int8
    vb.check_body(body)


@settings(max_examples=20)
@given(shape=shapes, seed=seeds)
def test_random_bodies_are_deterministic_for_a_seed(shape, seed):
    first = vb.random_body(np.random.default_rng(seed), shape)
    np.testing.assert_array_equal(first, vb.random_body(np.random.default_rng(seed), shape))


def test_random_bodies_differ_between_seeds():
    bodies = {vb.body_to_text(vb.random_body(np.random.default_rng(seed))) for seed in range(10)}
    assert len(bodies) > 5


@settings(max_examples=40)
@given(shape=shapes, seed=seeds, banned=st.sampled_from([RIGID, SOFT, H_ACT, V_ACT]))
def test_random_bodies_respect_zero_probabilities(shape, seed, banned):
    probabilities = list(vb.DEFAULT_PROBABILITIES)
    probabilities[banned] = 0.0
    body = vb.random_body(np.random.default_rng(seed), shape, probabilities)
    assert banned not in body


def test_default_probabilities_are_evogyms():
    assert vb.DEFAULT_PROBABILITIES == (0.6, 0.2, 0.2, 0.2, 0.2)
    default = vb.random_body(np.random.default_rng(3))
    np.testing.assert_array_equal(default, vb.random_body(np.random.default_rng(3), (5, 5), [3, 1, 1, 1, 1]))


def test_single_voxel_bodies_are_either_actuator_equally_often():
    # A 1x1 body is valid exactly when its voxel is an actuator, so this checks the draw itself:
    # with 1/7 for each actuator, H and V come out equally often.
    rng = np.random.default_rng(0)
    draws = np.array([vb.random_body(rng, (1, 1))[0, 0] for _ in range(400)])
    assert set(draws.tolist()) == {H_ACT, V_ACT}
    assert 150 < (draws == H_ACT).sum() < 250


def test_probabilities_are_normalised():
    scaled = vb.random_body(np.random.default_rng(5), (4, 6), [30, 10, 0, 20, 5])
    np.testing.assert_array_equal(scaled, vb.random_body(np.random.default_rng(5), (4, 6), [6, 2, 0, 4, 1]))


@pytest.mark.parametrize("shape", [(0, 5), (5,), (5, 5, 5), (2.0, 3), (True, 3), "5x5", (-1, 2)])
def test_a_bad_shape_is_refused(shape):
    with pytest.raises(ValueError, match="shape must be two positive integers"):
        vb.random_body(np.random.default_rng(0), shape)


@pytest.mark.parametrize(
    "probabilities",
    [[0.2] * 4, [0.2] * 6, [0.5, -0.1, 0.2, 0.2, 0.2], [0, 0, 0, 0, 0], [np.nan, 1, 1, 1, 1], "abcde"],
)
def test_bad_probabilities_are_refused(probabilities):
    with pytest.raises(ValueError, match="probabilities must be 5 non-negative numbers"):
        vb.random_body(np.random.default_rng(0), (3, 3), probabilities)


def test_a_bad_rng_is_refused():
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        vb.random_body(0)


def test_probabilities_without_actuators_are_refused_at_once():
    with pytest.raises(ValueError, match="H_ACT and V_ACT probability 0"):
        vb.random_body(np.random.default_rng(0), (5, 5), [1, 0, 0, 0, 0])


def test_the_number_of_tries_is_bounded():
    with pytest.raises(ValueError, match=f"no valid body .* in {vb.RANDOM_BODY_TRIES} random draws"):
        vb.random_body(np.random.default_rng(0), (1, 1), [1, 0, 0, 0, 1e-12])


# --- text and JSON forms ---


@settings(max_examples=50)
@given(shape=shapes, seed=seeds)
def test_text_round_trip(shape, seed):
    body = vb.random_body(np.random.default_rng(seed), shape)
    text = vb.body_to_text(body)
    assert text.endswith("\n")
    assert len(text.splitlines()) == shape[0]
    np.testing.assert_array_equal(vb.body_from_text(text), body)


@settings(max_examples=50)
@given(shape=shapes, seed=seeds)
def test_json_round_trip(shape, seed):
    body = vb.random_body(np.random.default_rng(seed), shape)
    text = vb.body_to_json(body)
    assert json.loads(text) == {"body": body.tolist()}
    np.testing.assert_array_equal(vb.body_from_json(text), body)


def test_text_form_has_one_letter_per_voxel_with_row_zero_on_top():
    assert vb.body_to_text([[R, S, E], [H, V, E]]) == "RS.\nHV.\n"


def test_text_ignores_blank_lines_and_surrounding_whitespace():
    text = "\n\n   RS.  \n\t HV.\n\n"
    np.testing.assert_array_equal(vb.body_from_text(text), [[R, S, E], [H, V, E]])


def test_unknown_letters_are_named_with_their_line_and_column():
    with pytest.raises(ValueError, match=r"unknown letter 'x' at line 3, column 4; .*'H' H_ACT"):
        vb.body_from_text("\nRSH\n  Sx\n")


def test_the_fixed_letter_is_terrain_only():
    with pytest.raises(ValueError, match=r"'F' at line 1, column 2 \(FIXED is terrain only"):
        vb.body_from_text("HF\n")


def test_text_rows_must_have_equal_lengths():
    with pytest.raises(ValueError, match="line 3 has 1 voxels but line 1 has 2"):
        vb.body_from_text("HS\nSS\nS\n")


def test_text_without_rows_is_refused():
    with pytest.raises(ValueError, match="no rows"):
        vb.body_from_text(" \n\n")


def test_text_of_an_invalid_body_is_refused():
    with pytest.raises(ValueError, match="not 4-connected"):
        vb.body_from_text("H.\n.V\n")
    with pytest.raises(ValueError, match="no actuator"):
        vb.body_to_text([[S]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"robot": [[3]]}', "must be an object"),
        ("[[3]]", "must be an object"),
        ('{"body": [[3.5]]}', "integers, got dtype float64"),
        ('{"body": [[2, 2]]}', "no actuator"),
    ],
)
def test_bad_json_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        vb.body_from_json(text)


# --- files ---


@pytest.mark.parametrize("name", ["walker.json", "walker.JSON", "walker.txt", "walker"])
def test_file_round_trip(tmp_path, name):
    body = vb.random_body(np.random.default_rng(11), (6, 4))
    path = tmp_path / "bodies" / name
    vb.write_body(path, body)
    written = path.read_text()
    if name.lower().endswith(".json"):
        assert json.loads(written) == {"body": body.tolist()}
    else:
        assert written == vb.body_to_text(body)
    np.testing.assert_array_equal(vb.read_body(path), body)
    np.testing.assert_array_equal(vb.read_body(str(path)), body)
    assert [p.name for p in path.parent.iterdir()] == [name]


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.json"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        vb.read_body(path)


def test_a_bad_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("HZ\n")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": unknown letter 'Z'"):
        vb.read_body(path)


def test_an_invalid_body_is_not_written(tmp_path):
    path = tmp_path / "soft.json"
    with pytest.raises(ValueError, match="no actuator"):
        vb.write_body(path, [[S, S]])
    assert list(tmp_path.iterdir()) == []


# --- examples ---


def test_example_bodies_are_valid_and_written_as_the_text_form_writes_them():
    assert {"walker", "block3", "strip_h", "column_v"} <= set(vb.EXAMPLE_BODIES)
    for text in vb.EXAMPLE_BODIES.values():
        body = vb.body_from_text(text)
        vb.check_body(body)
        assert vb.body_to_text(body) == text


def test_example_bodies_have_their_documented_shapes():
    bodies = {name: vb.body_from_text(text) for name, text in vb.EXAMPLE_BODIES.items()}
    assert bodies["walker"].shape == (5, 5)
    assert bodies["block3"].shape == (3, 3)
    np.testing.assert_array_equal(bodies["strip_h"], [[H, H]])
    np.testing.assert_array_equal(bodies["column_v"], [[V]] * 5)

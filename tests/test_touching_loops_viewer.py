"""The touching-loops viewer (text, frames, clicks on cells), both worlds rendering, and a click in view."""

import subprocess
import sys

import numpy as np
import pygame
import pytest

import gridworlds
from gridworlds import registry
from gridworlds.engines import touching_loops as engine
from gridworlds.viewer import touching_loops as viewer
from gridworlds.viewer.app import view

EDITING = "gridworlds/TouchingLoops-v0"
CA = "gridworlds/TouchingLoopsCA-v0"
WORLDS_MISSING = pytest.mark.skipif(
    not {EDITING, CA} <= set(registry.WORLDS), reason="the touching-loops worlds are not registered yet"
)

# One loop round the edge of a 4x4 field, and two loops one above the other in a 7x7 field.
RING = np.array([[1, 1, 1, 1], [1, 0, 0, 1], [1, 0, 0, 1], [1, 1, 1, 1]], dtype=np.int8)
TWO_LOOPS = np.ones((7, 7), dtype=np.int8)
TWO_LOOPS[1, 1:6] = TWO_LOOPS[3] = TWO_LOOPS[5, 1:6] = 0
# The ring without its top-left corner: the cells around the gap lose their tiles.
BROKEN = RING.copy()
BROKEN[0, 0] = 0


def state(field, **changes):
    """The state an env would render for `field`, its valid cells found by the rule."""
    n = field.shape[0]
    rows = np.zeros(n + 4, dtype=np.uint64)
    engine.field_to_rows(field, rows)
    valid = np.zeros((n, n), dtype=np.bool_)
    count = engine.valid_cells(rows, n, *engine.tile_set_templates("touching"), valid)
    base = {
        "field": field.copy(),
        "valid": valid,
        "step": 5,
        "sweeps": 0,
        "stable": count == n * n,
        "tiles": "touching",
        "last_cell": None,
    }
    return {**base, **changes}


def centre(where, row, col):
    x, y, width, height = where.cell_rect(row, col)
    return x + width // 2, y + height // 2


def colour_at(frame, row, col):
    height, width, _ = frame.shape
    x, y = centre(viewer.frame_layout((width, height)), row, col)
    return tuple(frame[y, x])


def render(field, **changes):
    return viewer.TouchingLoopsRenderer("rgb_array", 0).render(state(field, **changes))


def click(pos, button=1):
    return pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=button)


def test_the_hand_made_fields_are_what_the_tests_say():
    assert engine.is_loop_pattern(RING, True) and engine.is_loop_pattern(TWO_LOOPS, True)
    assert engine.pattern_stats(TWO_LOOPS)["loops"] == 2
    assert state(RING)["stable"] and state(TWO_LOOPS)["stable"] and not state(BROKEN)["stable"]


def test_ansi_of_a_ring_shows_its_cells_and_that_it_is_stable():
    lines = viewer.ansi(state(RING)).splitlines()
    assert lines[0] == "step 5  sweeps 0  valid 16/16  density 0.75  touching tiles: stable, 1 loop"
    assert lines[1:] == ["# # # #", "# . . #", "# . . #", "# # # #"]


def test_ansi_marks_the_cells_the_rule_rejects():
    lines = viewer.ansi(state(BROKEN)).splitlines()
    assert lines[0].startswith("step 5  sweeps 0  valid 12/16") and lines[0].endswith("forming")
    assert lines[1:] == ["? x # #", "x ? . #", "# . . #", "# # # #"]


def test_rgb_array_is_a_deterministic_frame_of_the_state():
    frame = render(RING)
    width, height = viewer.layout(4).size
    assert frame.shape == (height, width, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame, render(RING))
    for changes in (
        {"step": 6},
        {"sweeps": 1},
        {"last_cell": (1, 1)},
        {"stable": False},
        {"tiles": "custom"},
    ):
        assert not np.array_equal(frame, render(RING, **changes)), changes


def test_valid_path_cells_take_their_loops_colour_and_rejected_cells_are_red():
    frame = render(TWO_LOOPS)
    top, bottom = colour_at(frame, 0, 0), colour_at(frame, 6, 6)
    assert top == viewer.PALETTE[0] and bottom == viewer.PALETTE[1]
    assert colour_at(frame, 1, 1) == colour_at(frame, 3, 3) == viewer.EMPTY
    frame = render(BROKEN)
    assert colour_at(frame, 0, 1) == viewer.INVALID_PATH != colour_at(frame, 0, 2) == viewer.PALETTE[0]
    assert colour_at(frame, 0, 0) == viewer.INVALID_EMPTY != colour_at(frame, 1, 2) == viewer.EMPTY


def test_the_last_edited_cell_is_outlined():
    where = viewer.layout(4)
    x, y, _, _ = where.cell_rect(1, 2)
    assert tuple(render(RING, last_cell=(1, 2))[y, x]) == viewer.LAST_CELL
    assert tuple(render(RING)[y, x]) == viewer.EMPTY


@pytest.mark.parametrize("n", [3, 10, 60])
def test_frames_of_every_size_keep_the_board_480_to_600_pixels_wide(n):
    where = viewer.layout(n)
    field = np.zeros((n, n), dtype=np.int8)
    frame = render(field)
    width, height = where.size
    assert frame.shape == (height, width, 3)
    assert 480 <= n * where.cell <= 600
    assert where.left > viewer.BORDER and where.left + n * where.cell + viewer.BORDER < width
    assert viewer.frame_layout(where.size) == where


@pytest.mark.parametrize(
    "size", [(0, 0), (viewer.FRAME_BASE + 2, viewer.FRAME_BASE + 2 + viewer.BAR), (700, 700)]
)
def test_frame_layout_rejects_sizes_no_frame_has(size):
    with pytest.raises(ValueError, match="not the size of a touching-loops frame"):
        viewer.frame_layout(size)


@pytest.mark.parametrize("n", [3, 10, 60])
def test_a_click_at_a_cell_centre_is_that_cells_index(n):
    where = viewer.layout(n)
    for row in range(n):
        for col in range(n):
            assert viewer.action_from_event(click(centre(where, row, col)), where.size) == row * n + col


def test_clicks_off_the_board_and_other_events_are_no_action():
    where = viewer.layout(10)
    width, height = where.size
    board_end = where.left + 10 * where.cell
    for pos in [
        (0, 0),
        (where.left - 1, where.top + 5),
        (board_end, where.top + 5),
        (width // 2, height - 5),
    ]:
        assert viewer.action_from_event(click(pos), where.size) is None, pos
    assert viewer.action_from_event(click(centre(where, 2, 2), button=3), where.size) is None
    assert viewer.action_from_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_x), where.size) is None


def test_a_human_window_follows_the_fields_size():
    renderer = viewer.TouchingLoopsRenderer("human", 0)
    try:
        assert renderer.render(state(RING)) is None
        assert pygame.display.get_surface().get_size() == viewer.layout(4).size
        assert renderer.render(state(TWO_LOOPS)) is None
        assert pygame.display.get_surface().get_size() == viewer.layout(7).size
    finally:
        renderer.close()


def test_importing_the_viewer_does_not_import_pygame():
    code = "import sys, gridworlds.viewer.touching_loops; assert 'pygame' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@WORLDS_MISSING
@pytest.mark.parametrize(("world_id", "action"), [(EDITING, 0), (CA, np.array([0.4], dtype=np.float32))])
@pytest.mark.parametrize("mode", ["ansi", "rgb_array", "human"])
def test_both_worlds_render_in_every_mode(world_id, action, mode):
    env = gridworlds.make(world_id, render_mode=mode, n=10)
    env.reset(seed=0)
    first = env.render()
    env.step(action)
    second = env.render()
    env.close()
    if mode == "ansi":
        assert isinstance(first, str) and first != second
    elif mode == "rgb_array":
        width, height = viewer.layout(10).size
        assert first.shape == (height, width, 3) and not np.array_equal(first, second)
    else:
        assert first is None and second is None


@WORLDS_MISSING
def test_a_click_in_view_flips_that_cell(monkeypatch):
    made = []
    make = registry.make

    def recording_make(*args, **kwargs):
        env = make(*args, **kwargs)
        step = env.step
        env.step = lambda action: made.append(action) or step(action)
        return env

    monkeypatch.setattr(registry, "make", recording_make)
    pygame.display.init()  # the event queue lives with the display; view's window keeps it
    where = viewer.layout(5)
    pygame.event.post(click(centre(where, 2, 3)))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q))
    assert view(EDITING, seed=0, env_kwargs={"n": 5})["steps"] == 1
    assert made == [2 * 5 + 3]

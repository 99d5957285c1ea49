"""Every test runs headless: pygame gets dummy video and audio drivers before anything imports it.
Tests of small torch models ask for `one_torch_thread`."""

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


@pytest.fixture
def one_torch_thread():
    # Tiny models gain nothing from a second thread, and on two shared cores it fights the other
    # jobs (a contended second thread slowed small training loops many times over).
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

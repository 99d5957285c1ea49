"""Every test runs headless: pygame gets dummy video and audio drivers before anything imports it.
Hypothesis has no deadline: CI machines are noisy, and an example's time is not behaviour (a
two-means test exceeded the default 200 ms beside an experiment run). Tests of small torch models
ask for `one_torch_thread`."""

import os

import pytest
from hypothesis import settings

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

settings.register_profile("gridworlds", deadline=None)
settings.load_profile("gridworlds")


@pytest.fixture
def one_torch_thread():
    # Tiny models gain nothing from a second thread, and on two shared cores it fights the other
    # jobs (a contended second thread slowed small training loops many times over).
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

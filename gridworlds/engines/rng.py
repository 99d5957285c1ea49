"""A counter-based generator (SplitMix64) that numba kernels carry as one uint64 per environment.

Engines draw all their randomness from here, so a world's state is plain arrays: the generator state
is passed in and the advanced state comes back. Explicit signatures keep the state uint64 when a
Python caller passes a plain int. One uint64 per environment keeps a batch of N worlds
bit-for-bit identical to N single worlds seeded the same way.
"""

import numba
import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@numba.njit("UniTuple(u8, 2)(u8)", cache=True, inline="always")
def next_u64(state):
    """Return (new_state, a uniformly random uint64)."""
    state = state + _GAMMA
    z = state
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return state, z ^ (z >> _S31)


@numba.njit("Tuple((u8, i8))(u8, i8)", cache=True, inline="always")
def next_below(state, n):
    """Return (new_state, an integer uniform in [0, n)) for 0 < n < 2**32 (Lemire's multiply-shift)."""
    state, z = next_u64(state)
    return state, np.int64(((z >> _S32) * np.uint64(n)) >> _S32)


@numba.njit("Tuple((u8, f8))(u8)", cache=True, inline="always")
def next_float(state):
    """Return (new_state, a float uniform in [0, 1))."""
    state, z = next_u64(state)
    return state, np.float64(z >> _S11) * _TO_UNIT


# Seeds are integers in [0, SEED_LIMIT): larger ones would wrap around onto smaller seeds' games.
SEED_LIMIT = 2**63


def seed_state(seed: int) -> np.uint64:
    """The generator state for an integer seed; nearby seeds give unrelated streams."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    # One mixing round so that seeds 0, 1, 2 ... do not start on neighbouring counters.
    return np.uint64(next_u64(np.uint64(int(seed)))[1])

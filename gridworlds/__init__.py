"""gridworlds: fast numba game and cellular-automaton worlds for reinforcement learning.

import gridworlds, gymnasium as gym
env = gym.make("gridworlds/2048-v0")        # or gridworlds.make(...) for any world, pettingzoo too
"""

from gridworlds import registry
from gridworlds.registry import WORLDS, make

__version__ = "0.1.0"  # the one place the version is written: setup.cfg reads it from here
__all__ = ["WORLDS", "make", "registry"]

registry.register_gymnasium_ids()

"""Drawing every world: text, RGB frames and pygame windows, plus the `gridworlds view` app.

pygame is imported lazily, only where a frame or a window is made.
"""

import os

# pygame greets on import with a line on stdout, which would land in every training log that renders.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

"""`python -m gridworlds ...`: the `gridworlds` command, where its script is not on the PATH."""

import sys

from gridworlds.cli import main

sys.exit(main())

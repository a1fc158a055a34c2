"""The bundle's entry point: the same `pasa` launcher as the installed console script."""

from __future__ import annotations

import multiprocessing
import sys

from ui.launcher import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes re-enter this executable on macOS and Windows
    sys.exit(main())

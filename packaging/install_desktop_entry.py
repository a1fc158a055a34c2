"""Install (or with --uninstall remove) the PaSa Desktop menu entry and icon; same as `pasa desktop install`.

    python packaging/install_desktop_entry.py [--exec "COMMAND"] [--uninstall]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pasa_desktop.cli.main import main  # after the sys.path line: the source tree comes first

if __name__ == "__main__":
    args = sys.argv[1:]
    action = "uninstall" if "--uninstall" in args else "install"
    sys.exit(main(["desktop", action, *[a for a in args if a != "--uninstall"]]))

"""The ``evpath`` command line (entry point :func:`evpath.cli.app.main`).

When the ``evpath`` script starts, Ctrl-C while the command line is still being imported
exits 130 with one line, like Ctrl-C during a command (see :mod:`evpath.cli.console`).
Importing this package from Python changes nothing.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _interrupted_at_start(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stderr.write("interrupted\n")
    raise SystemExit(130)


def _started_as_script() -> bool:
    argv = getattr(sys, "argv", None) or [""]
    return os.path.basename(argv[0]) in ("evpath", "evpath.exe")


if _started_as_script() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted_at_start)

"""Worker processes that die with the process that started them.

Face detection runs in worker processes of about 135 MB each. When the command or server
that started them is killed (``kill -9``, the out-of-memory killer, a closed terminal), no
code of its own runs to stop them, and they would go on working for nobody. So each worker
asks the kernel to kill it when its parent dies (Linux's ``PR_SET_PDEATHSIG``), and, on
every system, watches its parent's process id and leaves when it changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading

__all__ = ["WATCH_EVERY_S", "die_with_parent"]

PR_SET_PDEATHSIG = 1
WATCH_EVERY_S = 1.0


def die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` (the pid that started it) ends."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before the request above was made; and elsewhere this is
    # the only way.
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="opendvi-lifeline", daemon=True).start()


def _watch(parent: int) -> None:
    event = threading.Event()
    while not event.wait(WATCH_EVERY_S):
        if os.getppid() != parent:
            os._exit(1)

"""What a killed process leaves behind, removed when an import or the server starts.

A photo is written to a hidden partial file beside its place in the photo store, then
renamed (``infra.private.write_private``); a process killed in between leaves the partial
file, and a server killed during an upload leaves its spooled upload in the uploads
folder. Nothing refers to either, and both may hold a photo of the dead or of the missing,
so they are deleted, never kept.

Another process may be writing right now (an import beside the server): a file it is
writing is locked by it (``flock``) until it is renamed, and a file only just made may not
be locked yet, so only files that no process holds and that are older than ``GRACE_S`` are
deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from opendvi.infra.private import private_folder

__all__ = [
    "GRACE_S",
    "clear_partial_writes",
    "clear_uploads",
    "start_server_clean",
    "uploads_folder",
]

GRACE_S = 10.0


def uploads_folder(data_dir: Path) -> Path:
    """Where the web server spools the photos being uploaded: inside the data directory,
    for its owner only (made so if it was not), never the machine's shared temporary
    folder."""
    folder = private_folder(data_dir / "uploads")
    os.chmod(folder, 0o700)
    return folder


def start_server_clean(data_dir: Path, media_root: Path) -> Path:
    """At a server's start: the leftovers of a killed one deleted, and its uploads folder
    made the temporary folder of this process and of those it starts (``TMPDIR``), where
    the web framework spools the photos being uploaded. Returns that folder."""
    folder = uploads_folder(data_dir)
    clear_uploads(folder)
    clear_partial_writes(media_root)
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)
    return folder


def clear_partial_writes(media_root: Path) -> int:
    """Delete the partial files left in the photo store; how many were deleted."""
    if not media_root.is_dir():
        return 0
    partial = (
        entry
        for folder in media_root.iterdir()
        if folder.is_dir()
        for entry in folder.iterdir()
        if entry.name.startswith(".")
    )
    return _delete_unheld(partial)


def clear_uploads(folder: Path) -> int:
    """Delete the uploads left in the uploads folder by a server that was killed."""
    if not folder.is_dir():
        return 0
    return _delete_unheld(folder.iterdir())


def _delete_unheld(paths: Iterable[Path]) -> int:
    deleted = 0
    now = time.time()
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            if not path.is_file() or path.is_symlink():
                continue
            if now - path.stat().st_mtime < GRACE_S or _held(path):
                continue
            path.unlink()
            deleted += 1
    return deleted


def _held(path: Path) -> bool:
    """Whether a live process holds ``path``'s lock (it is writing the file)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return True  # not ours to judge: leave it
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # the lock, if taken, goes with it
    return False

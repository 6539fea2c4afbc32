"""Files only their owner may read. OpenDVI keeps photos of the dead and of the missing,
face templates and families' contacts: the folders it makes are 0700 and the files 0600,
whatever the process's umask, and the files that must never be half-written are written
whole or not at all."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["owner_only", "private_file", "private_folder", "write_private"]


def private_folder(path: Path) -> Path:
    """Make ``path`` and any missing folder above it, each for its owner only (a folder
    that already exists keeps the mode its owner gave it)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is narrowed by the umask, never widened
    return path


def private_file(path: Path) -> Path:
    """Make ``path`` empty and for its owner only if it is not there yet."""
    private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def write_private(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` for its owner only, whole or not at all, and on disk
    before this returns (a power cut leaves the old file or the new one, never a part).
    Not ``durable``: whole or not at all still, but a power cut may leave the old file."""
    private_folder(path.parent)
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            # Locked until renamed, so that no start-up clean-up takes it for the leftover
            # of a killed process (infra.leftovers).
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    if not durable:
        return
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def owner_only(path: Path) -> bool:
    """Whether nobody but ``path``'s owner may read or enter it."""
    return not stat.S_IMODE(path.stat().st_mode) & 0o077

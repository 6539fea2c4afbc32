"""The photo store: files named by their SHA-256, written atomically, never changed.

Originals are kept byte for byte as evidence; their hash is stored with the record and can be
checked at any time. A file is written before the database transaction that refers to it, so
an interrupted import can leave an unreferenced file behind (harmless, and reused when the
import is run again) but never a record that points at a missing file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from opendvi.infra.private import private_folder

__all__ = ["MediaStore", "sha256_hex"]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` under its hash (once) and return the hash."""
        digest = sha256_hex(data)
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data) and self.intact(digest):
            return digest
        private_folder(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # The rename must be on disk before the database commits a row that refers to it.
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def intact(self, sha256: str) -> bool:
        """Whether the stored file still hashes to its name."""
        path = self.path(sha256)
        return path.exists() and sha256_hex(path.read_bytes()) == sha256

"""The photo store: files named by their SHA-256, written atomically, never changed.

Originals are kept byte for byte as evidence; their hash is stored with the record and can be
checked at any time. A file is written before the database transaction that refers to it, so
an interrupted import can leave an unreferenced file behind (harmless, and reused when the
import is run again) but never a record that points at a missing file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from opendvi.infra.private import write_private

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
        # On disk, rename included, before the database commits a row that refers to it.
        write_private(target, data)
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def intact(self, sha256: str) -> bool:
        """Whether the stored file still hashes to its name."""
        path = self.path(sha256)
        return path.exists() and sha256_hex(path.read_bytes()) == sha256

"""The photo store keeps files by their hash, once, and can tell when one was changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from opendvi.infra.media import MediaStore


def test_a_file_is_stored_under_its_sha256_once(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    digest = store.put(b"photo bytes")
    assert digest == hashlib.sha256(b"photo bytes").hexdigest()
    assert store.get(digest) == b"photo bytes"
    assert store.put(b"photo bytes") == digest
    assert len([p for p in (tmp_path / "media").rglob("*") if p.is_file()]) == 1


def test_a_changed_file_no_longer_counts_as_intact(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    digest = store.put(b"original")
    assert store.intact(digest)
    store.path(digest).write_bytes(b"altered!")
    assert not store.intact(digest)
    assert not store.intact("0" * 64)

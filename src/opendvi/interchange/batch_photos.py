"""The photos of a batch of imported rows, read, hashed and kept in a pool of threads before
the rows are saved, so the loop that writes the rows only attaches what is ready."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.core.fields import SEPARATOR
from opendvi.core.uncertain import DateRange
from opendvi.db.tables import Photo
from opendvi.errors import OpenDVIError
from opendvi.records.photos import StoredPhoto, store_photo

__all__ = ["Wanted", "prepare_photos", "separator_hint"]


def separator_hint(value: str) -> str:
    """What to say when a value that failed holds a separator other than ``|``."""
    found = next((c for c in ";," if c in value), None)
    return f"; several values are separated by {SEPARATOR}, not {found}" if found else ""


@dataclass(frozen=True)
class Wanted:
    """One photo a row lists: a file (``path``) or a photo already stored (``sha256``)."""

    entry: str
    path: Path | None
    sha256: str
    taken: DateRange | None


def _hash(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None  # store_photo says what is wrong with the file


def _known(app: OpenDVI, hashes: set[str]) -> dict[str, StoredPhoto]:
    """Photos already stored under these hashes (one query), so they are not decoded again."""
    found: dict[str, StoredPhoto] = {}
    if not hashes:
        return found
    with app.db.read() as session:
        for photo in session.execute(select(Photo).where(Photo.sha256.in_(hashes))).scalars():
            found.setdefault(photo.sha256, StoredPhoto.of(photo))
    return found


def prepare_photos(
    app: OpenDVI, rows: Sequence[Sequence[Wanted]], *, workers: int
) -> list[tuple[list[StoredPhoto], str]]:
    """For each row, its photos kept in the photo store, or the first problem ("" when none)."""
    files = [w.path for wanted in rows for w in wanted if w.path is not None]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        hashes = {h for h in pool.map(_hash, files) if h}
        hashes |= {w.sha256 for wanted in rows for w in wanted if w.path is None}
        known = _known(app, hashes)

        def keep(w: Wanted) -> StoredPhoto | str:
            if w.path is None:
                return _by_hash(app, known, w)
            try:
                return store_photo(
                    w.path, media=app.media, settings=app.settings, taken=w.taken, known=known.get
                )
            except OpenDVIError as exc:
                return f"{exc}{separator_hint(w.entry)}"

        kept = list(pool.map(keep, [w for wanted in rows for w in wanted]))
    out: list[tuple[list[StoredPhoto], str]] = []
    at = 0
    for wanted in rows:
        mine, at = kept[at : at + len(wanted)], at + len(wanted)
        problem = next((k for k in mine if isinstance(k, str)), "")
        out.append(([k for k in mine if isinstance(k, StoredPhoto)], problem))
    return out


def _by_hash(app: OpenDVI, known: dict[str, StoredPhoto], w: Wanted) -> StoredPhoto | str:
    previous = known.get(w.sha256)
    if previous is None or not app.media.path(previous.sha256).exists():
        return (
            f"{w.entry}: no photo with this SHA-256 is in this installation's photo store; "
            "export with --photos-dir to move photos to another installation"
        )
    return replace(previous, taken=w.taken)

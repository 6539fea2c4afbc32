"""What erasing takes away, inside the caller's transaction: a photo with its faces and their
embeddings, a report's person and its contacts' details, and the pairs matching built on
them; the photo store's files once the transaction has committed.

Each photo erased writes one audit event holding digests (the SHA-256 of the original and of
the served copy) and counts, never a name, so the chain still verifies and says what went.
Files go after the commit: a crash in between leaves a file no row refers to (swept by the
next erasure of the same photo, or by hand), never a row that points at a missing file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate, Contact, MissingPerson, Photo
from opendvi.infra.jobs import Side, queue_match
from opendvi.matching.lists import rank_lists

__all__ = [
    "Erased",
    "erase_contact",
    "erase_person",
    "erase_photo",
    "forget_pairs",
    "remove_unused",
]


@dataclass
class Erased:
    """What one transaction erased, and the files to remove once it has committed."""

    photos: int = 0
    faces: int = 0
    contacts: int = 0
    candidates: int = 0
    files: set[str] = field(default_factory=set)


def erase_photo(session: Session, photo: Photo, *, actor: str, reason: str, erased: Erased) -> None:
    """Inside the caller's transaction: the photo's row, its faces and their embeddings go;
    one audit event keeps the digests."""
    owner = photo.missing_person or photo.remains
    faces = list(photo.faces)
    audit.record(
        session,
        actor=actor,
        action="photo.erased",
        about=photo,
        ref=owner.ref if owner is not None else "",
        details={
            "sha256": photo.sha256,
            "served_sha256": photo.served_sha256,
            "faces": len(faces),
            "embeddings": sum(f.embedding is not None for f in faces),
            "reason": reason,
        },
    )
    erased.files |= {photo.sha256, photo.served_sha256}
    erased.photos += 1
    erased.faces += len(faces)
    if owner is not None and photo in owner.photos:
        owner.photos.remove(photo)  # the record lets go of it: deleted with its faces
    else:
        session.delete(photo)


# Numbering the other records' lists again drops none of their pairs: each list was trimmed
# when it was built, and this only closes the gap a pair leaves.
_EVERY_PAIR = 2**31


def forget_pairs(session: Session, side: Side, record_id: int) -> int:
    """Inside the caller's transaction: every pair of the record leaves the lists at once
    (the other records' lists numbered again) and the record is queued to be matched on what
    it still holds. Returns how many pairs went."""
    column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    other = Candidate.remains_id if side == "missing" else Candidate.missing_person_id
    others = set(session.execute(select(other).where(column == record_id)).scalars())
    gone = len(session.execute(select(Candidate.id).where(column == record_id)).all())
    session.execute(delete(Candidate).where(column == record_id))
    if others:
        remains, missing = (others, set()) if side == "missing" else (set(), others)
        rank_lists(session, remains, missing, _EVERY_PAIR)
    queue_match(session, side, record_id)
    return gone


def erase_contact(contact: Contact) -> None:
    """A reporting contact's details cleared; whether and when they consented is kept."""
    contact.name = contact.relationship_ = contact.email = contact.phone = ""
    contact.address = contact.language = contact.consent_channels = ""
    contact.sharing_scope = "none"
    contact.entitled = False


def erase_person(record: MissingPerson) -> None:
    """Everything a report says about its person cleared; the reference stays."""
    record.full_name = record.other_names = record.hair = record.eyes = ""
    record.description = record.circumstances = record.last_seen_place = ""
    record.sex = "U"
    record.birth_earliest = record.birth_latest = None
    record.last_seen_earliest = record.last_seen_latest = None
    record.height_min_cm = record.height_max_cm = None
    record.last_seen_lat = record.last_seen_lon = None
    record.dna_reference = record.dental_records = record.fingerprint_records = None
    record.marks = []
    record.effects = []


def remove_unused(app: OpenDVI, hashes: Iterable[str]) -> int:
    """After the commit: remove each file of the photo store that no photo refers to any
    more (the same file may be another record's photo too). Returns how many went."""
    hashes = set(hashes)
    if not hashes:
        return 0
    with app.db.read() as session:
        originals = select(Photo.sha256).where(Photo.sha256.in_(hashes))
        served = select(Photo.served_sha256).where(Photo.served_sha256.in_(hashes))
        used = set(session.execute(originals).scalars()) | set(session.execute(served).scalars())
    removed = 0
    for digest in sorted(hashes - used):
        with contextlib.suppress(FileNotFoundError):
            app.media.path(digest).unlink()
            removed += 1
    return removed

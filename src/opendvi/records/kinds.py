"""A file imported as the wrong kind of record: the family photos of living people taken
for remains, or the other way round, then matched against themselves. Inside the caller's
transaction, the save of a record checks that no photo it adds is already a photo of a
record of the other kind (refused, unless someone gives a reason, audited), and says when
its reference is already one of the other kind; the import refuses a file whose columns
are mostly the other kind's (``interchange.csv_import``). And what a save says to the
person saving: the reference is one of the other kind too, or photos were added to an
identified record."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.db.tables import MissingPerson, Photo, Remains
from opendvi.errors import PhotoError

__all__ = ["WHAT", "check_photo", "notes_on_save", "other_kind_note"]

WHAT = {MissingPerson: "missing-person report", Remains: "remains record"}


def _other(kind: type[MissingPerson] | type[Remains]) -> type[MissingPerson] | type[Remains]:
    return Remains if kind is MissingPerson else MissingPerson


def other_kind_note(
    session: Session, kind: type[MissingPerson] | type[Remains], ref: str
) -> str | None:
    """A warning when ``ref`` is also the reference of a record of the other kind."""
    other = _other(kind)
    if session.execute(select(other.id).where(other.ref == ref)).first() is None:
        return None
    return (
        f"{ref}: a {WHAT[other]} has this reference too; check that the file was imported "
        f"as {WHAT[kind]}s, not {WHAT[other]}s"
    )


def check_photo(
    session: Session,
    kind: type[MissingPerson] | type[Remains],
    record: MissingPerson | Remains,
    *,
    sha256: str,
    name: str,
    actor: str,
    force_reason: str,
) -> None:
    """Refuse a photo new to ``record`` that is already a photo of a record of the other
    kind, unless ``force_reason`` says why it belongs to both (audited on the record)."""
    other = _other(kind)
    owner = Photo.remains_id if other is Remains else Photo.missing_person_id
    found = session.execute(
        select(other.ref).join(Photo, owner == other.id).where(Photo.sha256 == sha256).limit(1)
    ).scalar_one_or_none()
    if found is None:
        return
    if not force_reason.strip():
        raise PhotoError(
            f"{name}: the same photo (SHA-256 {sha256[:12]}…) is already a photo of the "
            f"{WHAT[other]} {found}; was the file imported as the wrong kind? Nothing was "
            f"saved. If the photo belongs to both, give the reason (the form's reason field, "
            f"--force-reason on the command line)"
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="photo.kept_on_both_kinds",
        about=record,
        ref=record.ref,
        details={
            "sha256": sha256,
            "other_kind": other.__tablename__,
            "other_ref": found,
            "reason": force_reason.strip(),
        },
    )


def notes_on_save(
    session: Session,
    kind: type[MissingPerson] | type[Remains],
    record: MissingPerson | Remains,
    added: int,
    *,
    other_has_ref: bool | None = None,
) -> tuple[str, ...]:
    """What the person saving ``record`` (with ``added`` new photos) should be told;
    ``other_has_ref``: whether a record of the other kind has its reference, when known."""
    note = other_kind_note(session, kind, record.ref) if other_has_ref is not False else None
    notes = [note] if note else []
    if added and record.status == "identified":
        photos = "photo" if added == 1 else f"{added} photos"
        notes.append(
            f"{record.ref} is identified: its new {photos} will be matched again, and the "
            "identification stands (revoke it if the new evidence says otherwise)"
        )
    return tuple(notes)

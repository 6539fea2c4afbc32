"""Use-cases that create and change records: missing-person reports and unidentified remains.

Each call works inside the caller's transaction and writes one audit event for the record it
changes, with digests of the record before and after. Saving a record with the values it
already has changes nothing and writes nothing, which is what makes imports idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.core.fields import ContactInput, MarkInput, ParsedRecord
from opendvi.core.uncertain import DateRange
from opendvi.db.tables import (
    Contact,
    Effect,
    Event,
    Mark,
    MissingPerson,
    Photo,
    Remains,
    utcnow,
)
from opendvi.errors import PhotoError
from opendvi.images import inspect_image, served_copy
from opendvi.jobs import queue_match
from opendvi.media import MediaStore, sha256_hex
from opendvi.settings import Settings

__all__ = [
    "SaveResult",
    "StoredPhoto",
    "known_photo",
    "save_missing_person",
    "save_parsed",
    "save_remains",
    "snapshot",
    "store_photo",
]

Record = MissingPerson | Remains
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class StoredPhoto:
    """A photo already checked and written to the photo store, ready to attach to a record."""

    sha256: str
    served_sha256: str
    original_name: str
    media_type: str
    byte_size: int
    width: int
    height: int
    taken: DateRange | None = None


@dataclass(frozen=True)
class SaveResult:
    outcome: Outcome
    record_id: int
    ref: str


def known_photo(session: Session, sha256: str) -> StoredPhoto | None:
    """A photo already stored under this hash, so its checks and served copy can be reused."""
    photo = session.execute(
        select(Photo).where(Photo.sha256 == sha256).limit(1)
    ).scalar_one_or_none()
    if photo is None:
        return None
    return StoredPhoto(
        sha256=photo.sha256,
        served_sha256=photo.served_sha256,
        original_name=photo.original_name,
        media_type=photo.media_type,
        byte_size=photo.byte_size,
        width=photo.width,
        height=photo.height,
    )


def store_photo(
    path: Path,
    *,
    media: MediaStore,
    settings: Settings,
    taken: DateRange | None = None,
    known: Callable[[str], StoredPhoto | None] | None = None,
) -> StoredPhoto:
    """Check a photo file and keep it: the original unchanged, plus a metadata-free copy.

    ``known`` looks a hash up among photos already stored; a photo seen before (an import run
    again) is not decoded again.
    """
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise PhotoError(f"{name}: no such file; check the path in the photos column") from None
    except OSError as exc:
        raise PhotoError(f"{name}: cannot be read ({exc.strerror})") from None
    if path.is_dir():
        raise PhotoError(f"{name}: is a folder, not a photo file")
    if size > settings.max_photo_bytes:
        raise PhotoError(
            f"{name}: {size:,} bytes is above the limit of {settings.max_photo_bytes:,} "
            "(setting OPENDVI_MAX_PHOTO_BYTES)"
        )
    if size == 0:
        raise PhotoError(f"{name}: the file is empty")
    data = path.read_bytes()
    previous = known(sha256_hex(data)) if known else None
    if previous is not None and media.path(previous.served_sha256).exists():
        media.put(data)
        return replace(previous, original_name=path.name, taken=taken)
    info = inspect_image(data, name=name, max_pixels=settings.max_image_pixels)
    served = served_copy(
        data, name=name, max_pixels=settings.max_image_pixels, max_side=settings.served_max_side
    )
    return StoredPhoto(
        sha256=media.put(data),
        served_sha256=media.put(served),
        original_name=path.name,
        media_type=info.media_type,
        byte_size=len(data),
        width=info.width,
        height=info.height,
        taken=taken,
    )


_SKIP = {"id", "created_at", "updated_at", "event_id", "merged_into_id", "linked_to_id"}


def snapshot(record: Record) -> dict[str, Any]:
    """The record's whole state as plain values: what an audit digest is taken of."""
    mapper = sa_inspect(type(record))
    state: dict[str, Any] = {
        column.key: getattr(record, column.key)
        for column in mapper.column_attrs
        if column.key not in _SKIP
    }
    state["event"] = record.event.code if record.event else None
    state["marks"] = [[m.kind, m.body_location, m.description] for m in record.marks]
    state["effects"] = [[e.category, e.description] for e in record.effects]
    state["photos"] = [
        [p.sha256, p.taken_earliest, p.taken_latest]
        for p in sorted(record.photos, key=lambda p: p.position)
        if not p.withdrawn_at
    ]
    if isinstance(record, MissingPerson):
        state["contacts"] = [
            [
                c.name,
                c.relationship_,
                c.email,
                c.phone,
                c.language,
                c.consent_contact,
                c.consent_channels,
                c.sharing_scope,
                c.consent_withdrawn_at,
            ]
            for c in record.contacts
        ]
    return {key: _plain(value) for key, value in state.items()}


def _plain(value: Any) -> Any:
    """Dates and times as text that reads the same before and after a database round trip."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _event(session: Session, code: str | None, *, actor: str) -> Event | None:
    if not code:
        return None
    event = session.execute(select(Event).where(Event.code == code)).scalar_one_or_none()
    if event is None:
        event = Event(code=code, name=code)
        session.add(event)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="event.created",
            entity_type="event",
            entity_id=event.id,
            entity_ref=code,
            after={"code": code},
        )
    return event


def _set_marks(record: Record, marks: Sequence[MarkInput]) -> None:
    wanted = [(m.kind, m.body_location, m.description) for m in marks]
    if [(m.kind, m.body_location, m.description) for m in record.marks] != wanted:
        record.marks = [Mark(kind=k, body_location=loc, description=d) for k, loc, d in wanted]


def _set_effects(record: Record, effects: Sequence[str]) -> None:
    if [e.description for e in record.effects] != list(effects):
        record.effects = [Effect(category="clothing", description=d) for d in effects]


def _set_contacts(record: MissingPerson, contacts: Sequence[ContactInput]) -> None:
    for given in contacts:
        known = next(
            (c for c in record.contacts if c.name.casefold() == given.name.casefold()), None
        )
        if known is None:
            known = Contact(name=given.name)
            record.contacts.append(known)
        known.name = given.name
        known.relationship_ = given.relationship
        known.email, known.phone, known.language = given.email, given.phone, given.language
        known.consent_channels, known.sharing_scope = given.consent_channels, given.sharing_scope
        # A yes that becomes a no is a withdrawal (dated); a first no is a refusal.
        had_consented = known.consent_contact is True
        if known.consent_contact is not False or given.consent_contact is not None:
            known.consent_contact = given.consent_contact
        if given.consent_contact:
            known.consent_withdrawn_at = None
        elif (
            given.consent_contact is False and had_consented and known.consent_withdrawn_at is None
        ):
            known.consent_withdrawn_at = utcnow()


def _set_photos(record: Record, photos: Sequence[StoredPhoto]) -> int:
    """Make ``photos`` the record's active photos, in order; others are withdrawn, not deleted."""
    by_sha = {p.sha256: p for p in record.photos}
    wanted = {p.sha256 for p in photos}
    added = 0
    for position, given in enumerate(photos):
        taken_earliest = given.taken.earliest if given.taken else None
        taken_latest = given.taken.latest if given.taken else None
        photo = by_sha.get(given.sha256)
        if photo is None:
            photo = Photo(
                sha256=given.sha256,
                served_sha256=given.served_sha256,
                original_name=given.original_name,
                media_type=given.media_type,
                byte_size=given.byte_size,
                width=given.width,
                height=given.height,
            )
            record.photos.append(photo)
            by_sha[given.sha256] = photo
            added += 1
        photo.withdrawn_at = None
        photo.position = position
        photo.taken_earliest, photo.taken_latest = taken_earliest, taken_latest
    for photo in record.photos:
        if photo.sha256 not in wanted and photo.withdrawn_at is None:
            photo.withdrawn_at = utcnow()
    return added


def _save(
    session: Session,
    kind: type[Record],
    *,
    actor: str,
    ref: str,
    fields: dict[str, Any],
    event_code: str | None,
    marks: Sequence[MarkInput] | None,
    effects: Sequence[str] | None,
    photos: Sequence[StoredPhoto] | None,
    contacts: Sequence[ContactInput] | None = None,
    source: str = "",
) -> SaveResult:
    record = session.execute(select(kind).where(kind.ref == ref)).scalar_one_or_none()
    before = snapshot(record) if record is not None else None
    if record is None:
        record = kind(ref=ref)
        session.add(record)
    for key, value in fields.items():
        setattr(record, key, value)
    if event_code is not None:
        record.event = _event(session, event_code, actor=actor)
    if marks is not None:
        _set_marks(record, marks)
    if effects is not None:
        _set_effects(record, effects)
    if contacts is not None and isinstance(record, MissingPerson):
        from opendvi.notify.tasks import cancel_for_contacts

        _set_contacts(record, contacts)
        session.flush()
        # A contact who withdrew consent gets nothing more: pending tasks are cancelled.
        cancel_for_contacts(session, list(record.contacts), actor=actor)
    added = _set_photos(record, photos) if photos is not None else 0
    # Flushing applies column defaults, so the snapshot is the one a later read would take.
    session.flush()
    after = snapshot(record)
    if after == before:
        return SaveResult("unchanged", record.id, ref)
    entity = "missing_person" if kind is MissingPerson else "remains"
    outcome: Outcome = "created" if before is None else "updated"
    details: dict[str, Any] = {"photos_added": added}
    if before is not None:
        details["changed"] = sorted(k for k in after if before.get(k) != after[k])
    if source:
        details["source"] = source
    audit.record(
        session,
        actor=actor,
        action=f"{entity}.{outcome}",
        entity_type=entity,
        entity_id=record.id,
        entity_ref=ref,
        before=before,
        after=after,
        details=details,
    )
    queue_match(session, "missing" if kind is MissingPerson else "remains", record.id)
    return SaveResult(outcome, record.id, ref)


def save_missing_person(
    session: Session,
    *,
    actor: str,
    ref: str,
    fields: dict[str, Any],
    event_code: str | None = None,
    contacts: Sequence[ContactInput] | None = None,
    marks: Sequence[MarkInput] | None = None,
    effects: Sequence[str] | None = None,
    photos: Sequence[StoredPhoto] | None = None,
    source: str = "",
) -> SaveResult:
    """Create or update the missing-person report ``ref`` with the values given.

    Values not given (``None`` lists, absent keys) are left as stored. ``photos``, when
    given, become the report's active photos; photos no longer listed are withdrawn.
    """
    return _save(
        session,
        MissingPerson,
        actor=actor,
        ref=ref,
        fields=fields,
        event_code=event_code,
        marks=marks,
        effects=effects,
        photos=photos,
        contacts=contacts,
        source=source,
    )


def save_remains(
    session: Session,
    *,
    actor: str,
    ref: str,
    fields: dict[str, Any],
    event_code: str | None = None,
    marks: Sequence[MarkInput] | None = None,
    effects: Sequence[str] | None = None,
    photos: Sequence[StoredPhoto] | None = None,
    source: str = "",
) -> SaveResult:
    """Create or update the unidentified-remains record ``ref`` with the values given."""
    return _save(
        session,
        Remains,
        actor=actor,
        ref=ref,
        fields=fields,
        event_code=event_code,
        marks=marks,
        effects=effects,
        photos=photos,
        source=source,
    )


def save_parsed(
    session: Session,
    *,
    kind: Literal["missing", "remains", "unidentified"],
    parsed: ParsedRecord,
    photos: Sequence[StoredPhoto] | None,
    actor: str,
    source: str = "",
) -> SaveResult:
    """Save a record read by ``core.fields`` (a CSV row or a web form) with its photos."""
    if kind == "missing":
        return save_missing_person(
            session,
            actor=actor,
            ref=parsed.ref,
            fields=parsed.fields,
            event_code=parsed.event_code,
            contacts=parsed.contacts,
            marks=parsed.marks,
            effects=parsed.effects,
            photos=photos,
            source=source,
        )
    return save_remains(
        session,
        actor=actor,
        ref=parsed.ref,
        fields=parsed.fields,
        event_code=parsed.event_code,
        marks=parsed.marks,
        effects=parsed.effects,
        photos=photos,
        source=source,
    )

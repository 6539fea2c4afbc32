"""A record's parts set to what a save was given: its event, marks, effects, reporting
contacts and photos (``records.intake``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.core.fields import ContactInput, MarkInput
from opendvi.db.tables import Contact, Effect, Event, Mark, MissingPerson, Photo, Remains, utcnow
from opendvi.records.erasure import Erased, erase_photo
from opendvi.records.kinds import check_photo
from opendvi.records.photos import StoredPhoto
from opendvi.records.prefetch import Prefetched

__all__ = ["event_named", "set_contacts", "set_effects", "set_marks", "set_photos"]

Record = MissingPerson | Remains


def event_named(
    session: Session, code: str | None, *, actor: str, known: Prefetched
) -> Event | None:
    """The event ``code`` (None for no code), created with its audit event if new."""
    if not code:
        return None
    event = (
        known.events.get(code) or session.scalars(select(Event).where(Event.code == code)).first()
    )
    if event is None:
        event = Event(code=code, name=code)
        session.add(event)
        audit.record(
            session,
            actor=actor,
            action="event.created",
            about=event,
            ref=code,
            after={"code": code},
        )
    return event


def set_marks(record: Record, marks: Sequence[MarkInput]) -> None:
    """Make ``marks`` the record's marks, unless they already are."""
    wanted = [(m.kind, m.body_location, m.description) for m in marks]
    if [(m.kind, m.body_location, m.description) for m in record.marks] != wanted:
        record.marks = [Mark(kind=k, body_location=loc, description=d) for k, loc, d in wanted]


def set_effects(record: Record, effects: Sequence[str]) -> None:
    """Make ``effects`` the record's effects (clothing), unless they already are."""
    if [e.description for e in record.effects] != list(effects):
        record.effects = [Effect(category="clothing", description=d) for d in effects]


def set_contacts(record: MissingPerson, contacts: Sequence[ContactInput]) -> None:
    """Add or update the reporting ``contacts`` by name; a consent given then refused is
    a withdrawal, dated."""
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


def set_photos(
    session: Session,
    record: Record,
    photos: Sequence[StoredPhoto],
    actor: str,
    erased: Erased,
    force_reason: str = "",
) -> int:
    """Make ``photos`` the record's photos, in order; the others are erased (a withdrawal).
    A photo already on a record of the other kind is refused, unless ``force_reason``.
    How many photos were added."""
    by_sha = {p.sha256: p for p in record.photos}
    wanted = {p.sha256 for p in photos}
    for dropped in [p for p in record.photos if p.sha256 not in wanted]:
        erase_photo(session, dropped, actor=actor, reason="not_listed", erased=erased)
        del by_sha[dropped.sha256]
    added = 0
    for position, given in enumerate(photos):
        taken_earliest = given.taken.earliest if given.taken else None
        taken_latest = given.taken.latest if given.taken else None
        photo = by_sha.get(given.sha256)
        if photo is None:
            check_photo(
                session,
                type(record),
                record,
                sha256=given.sha256,
                name=given.original_name,
                actor=actor,
                force_reason=force_reason,
            )
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
    return added

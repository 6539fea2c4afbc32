"""Retention: what the settings say is kept no longer, listed and erased.

Three kinds, each off until its setting gives a number of days (``OPENDVI_RETENTION_*``):
the photos, faces and embeddings of reports whose case was closed (``biometric``), the photos
of remains after their release (``remains_photos``), and the reporting contacts' details once
the case is closed (``contacts``). Photos withdrawn before withdrawal erased them are always
due (``withdrawn_photos``). "Closed" and "released" are the dates ``records.closing`` sets.

``plan_retention`` lists what is due and changes nothing; ``apply_retention`` erases it a few
records per transaction, each photo and each report's contacts with an audit event, and
removes the photo store's files after each transaction commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.vocabulary import RecordStatus
from opendvi.db.tables import Contact, Face, MissingPerson, Photo, Remains, utcnow
from opendvi.infra.jobs import Side
from opendvi.records.erasure import Erased, erase_contact, erase_photo, forget_pairs, remove_unused

__all__ = ["BATCH", "Due", "RetentionDone", "RetentionPlan", "apply_retention", "plan_retention"]

BATCH = 50  # records per transaction: each a short one, so the web application keeps working

WORDS = {
    "biometric": "photos, faces and embeddings of reports closed",
    "remains_photos": "photos of remains released",
    "contacts": "reporting contacts' details of reports closed",
    "withdrawn_photos": "photos withdrawn before withdrawal erased them",
}


@dataclass(frozen=True)
class Due:
    """One kind of data due for erasure: its records (by reference) and how much."""

    kind: str
    days: int | None
    refs: list[str]
    photos: int = 0
    faces: int = 0
    contacts: int = 0

    @property
    def words(self) -> str:
        after = f" over {self.days} days ago" if self.days is not None else ""
        return WORDS[self.kind] + (after if self.kind != "withdrawn_photos" else "")


@dataclass(frozen=True)
class RetentionPlan:
    kinds: list[Due]

    @property
    def empty(self) -> bool:
        return not any(due.refs for due in self.kinds)


@dataclass(frozen=True)
class RetentionDone:
    """What ``apply_retention`` erased."""

    photos: int
    faces: int
    contacts: int


# (kind, side, days, {record id: ref}, photo ids, contact ids) for each kind due
_Work = tuple[str, Side, int | None, dict[int, str], list[int], list[int]]


def _closed_reports(session: Session, before: dt.datetime) -> dict[int, str]:
    rows = session.execute(
        select(MissingPerson.id, MissingPerson.ref).where(
            MissingPerson.status == RecordStatus.CLOSED, MissingPerson.closed_at <= before
        )
    )
    return {record_id: ref for record_id, ref in rows}


def _released_remains(session: Session, before: dt.datetime) -> dict[int, str]:
    rows = session.execute(select(Remains.id, Remains.ref).where(Remains.released_at <= before))
    return {record_id: ref for record_id, ref in rows}


def _photos(session: Session, side: Side, records: dict[int, str]) -> list[int]:
    column = Photo.missing_person_id if side == "missing" else Photo.remains_id
    ids: list[int] = []
    chunk = sorted(records)
    for start in range(0, len(chunk), 500):
        query = select(Photo.id).where(column.in_(chunk[start : start + 500]))
        ids += session.execute(query.order_by(Photo.id)).scalars().all()
    return ids


def _contacts(session: Session, records: dict[int, str]) -> list[int]:
    ids: list[int] = []
    chunk = sorted(records)
    for start in range(0, len(chunk), 500):
        query = select(Contact.id).where(
            Contact.missing_person_id.in_(chunk[start : start + 500]),
            or_(
                Contact.name != "", Contact.email != "", Contact.phone != "", Contact.address != ""
            ),
        )
        ids += session.execute(query.order_by(Contact.id)).scalars().all()
    return ids


def _work(session: Session, app: OpenDVI, now: dt.datetime) -> list[_Work]:
    settings = app.settings
    out: list[_Work] = []
    if (days := settings.retention_biometric_days) is not None:
        reports = _closed_reports(session, now - dt.timedelta(days=days))
        out.append(
            ("biometric", "missing", days, reports, _photos(session, "missing", reports), [])
        )
    if (days := settings.retention_remains_photos_days) is not None:
        remains = _released_remains(session, now - dt.timedelta(days=days))
        photos = _photos(session, "remains", remains)
        out.append(("remains_photos", "remains", days, remains, photos, []))
    if (days := settings.retention_contacts_days) is not None:
        reports = _closed_reports(session, now - dt.timedelta(days=days))
        out.append(("contacts", "missing", days, reports, [], _contacts(session, reports)))
    for side in ("missing", "remains"):
        column = Photo.missing_person_id if side == "missing" else Photo.remains_id
        kind = MissingPerson if side == "missing" else Remains
        rows = session.execute(
            select(Photo.id, kind.id, kind.ref)
            .join(kind, column == kind.id)
            .where(Photo.withdrawn_at.is_not(None))
            .order_by(Photo.id)
        ).all()
        if rows:
            refs = {record_id: ref for _, record_id, ref in rows}
            out.append(("withdrawn_photos", side, None, refs, [r[0] for r in rows], []))
    return out


def _owners(session: Session, photo_ids: Sequence[int], contact_ids: Sequence[int]) -> set[int]:
    """The records that still hold something of the kind (not every closed record does)."""
    owners: set[int] = set()
    for start in range(0, len(photo_ids), 500):
        chunk = photo_ids[start : start + 500]
        rows = session.execute(
            select(Photo.missing_person_id, Photo.remains_id).where(Photo.id.in_(chunk))
        )
        owners |= {owner for am, pm in rows if (owner := am or pm) is not None}
    for start in range(0, len(contact_ids), 500):
        chunk = contact_ids[start : start + 500]
        owners |= set(
            session.execute(select(Contact.missing_person_id).where(Contact.id.in_(chunk)))
            .scalars()
            .all()
        )
    return owners


def _faces(session: Session, photo_ids: Sequence[int]) -> int:
    total = 0
    for start in range(0, len(photo_ids), 500):
        chunk = photo_ids[start : start + 500]
        query = select(func.count()).select_from(Face).where(Face.photo_id.in_(chunk))
        total += int(session.execute(query).scalar_one())
    return total


def plan_retention(app: OpenDVI, *, now: dt.datetime | None = None) -> RetentionPlan:
    """What the retention settings make due at ``now`` (default: now); nothing changes."""
    now = now or utcnow()
    kinds = []
    with app.db.read() as session:
        for kind, _, days, records, photos, contacts in _work(session, app, now):
            holding = _owners(session, photos, contacts)
            refs = sorted(ref for record_id, ref in records.items() if record_id in holding)
            faces = _faces(session, photos)
            kinds.append(Due(kind, days, refs, len(photos), faces, len(contacts)))
    return RetentionPlan(kinds)


def _erase_batch(
    app: OpenDVI,
    kind: str,
    side: Side,
    photo_ids: Sequence[int],
    contact_ids: Sequence[int],
    actor: str,
) -> Erased:
    erased = Erased()
    reason = f"retention:{kind}"
    with app.db.write() as session:
        touched: set[int] = set()
        for photo_id in photo_ids:
            photo = session.get(Photo, photo_id)
            if photo is not None:
                touched.add(photo.missing_person_id or photo.remains_id or 0)
                erase_photo(session, photo, actor=actor, reason=reason, erased=erased)
        session.flush()
        for record_id in sorted(touched - {0}):
            forget_pairs(session, side, record_id)
        by_report: dict[int, list[Contact]] = {}
        for contact_id in contact_ids:
            contact = session.get(Contact, contact_id)
            if contact is not None:
                by_report.setdefault(contact.missing_person_id, []).append(contact)
        for report_id, contacts in by_report.items():
            for contact in contacts:
                erase_contact(contact)
            erased.contacts += len(contacts)
            report = session.get(MissingPerson, report_id)
            audit.record(
                session,
                actor=actor,
                action="missing_person.contacts_erased",
                about=("missing_person", report_id),
                ref=report.ref if report else "",
                details={"contacts": len(contacts), "reason": reason},
            )
    remove_unused(app, erased.files)
    return erased


def apply_retention(
    app: OpenDVI,
    *,
    actor: str,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RetentionDone:
    """Erase what ``plan_retention`` lists, ``BATCH`` photos or contacts per transaction."""
    now = now or utcnow()
    with app.db.read() as session:
        work = _work(session, app, now)
    total = sum(len(photos) + len(contacts) for *_, photos, contacts in work)
    done, photos_done, faces, contacts_done = 0, 0, 0, 0
    for kind, side, _, _, photos, contacts in work:
        for start in range(0, max(len(photos), len(contacts)), BATCH):
            some_photos = photos[start : start + BATCH]
            some_contacts = contacts[start : start + BATCH]
            erased = _erase_batch(app, kind, side, some_photos, some_contacts, actor)
            photos_done += erased.photos
            faces += erased.faces
            contacts_done += erased.contacts
            done += len(some_photos) + len(some_contacts)
            if progress:
                progress(done, total)
    return RetentionDone(photos_done, faces, contacts_done)

"""Withdrawing a photo, or a whole missing-person report at the reporting contact's request.

A withdrawn photo is erased at once: its original and served copy, its faces and their
embeddings, and every pair of its record, which is queued to be matched again on what it
still holds, so no candidate is shown on the photo's strength once the withdrawal has
committed. A withdrawn report keeps its reference, its status (withdrawn) and its history;
its person's description, its photos, marks and effects, and its contacts' details are
erased, and the contacts' consent is withdrawn (their pending tasks cancelled,
``notify.revocation``). The reason is a word of ``core.vocabulary.WithdrawalReason``, so the
audit events that outlive the data name nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.vocabulary import RecordStatus, WithdrawalReason
from opendvi.db.tables import Identification, MissingPerson, Photo, utcnow
from opendvi.errors import InputError, NotFound, Refused
from opendvi.notify.revocation import cancel_for_contacts
from opendvi.people.accounts import check_if_user
from opendvi.records.erasure import (
    Erased,
    erase_contact,
    erase_person,
    erase_photo,
    forget_pairs,
    remove_unused,
)
from opendvi.records.intake import ADDED_BY, WHAT, Kind, find, snapshot

__all__ = ["REASONS", "Withdrawal", "reason_of", "withdraw_photo", "withdraw_report"]

REASONS = tuple(reason.value for reason in WithdrawalReason)


@dataclass(frozen=True)
class Withdrawal:
    """What a withdrawal erased, of which record."""

    kind: Kind
    ref: str
    photos: int
    faces: int
    candidates: int
    contacts: int = 0


def reason_of(text: str) -> WithdrawalReason:
    """The reason given, as a word of the list; anything else is refused."""
    try:
        return WithdrawalReason(text.strip().lower())
    except ValueError:
        raise InputError(
            f"reason: {text!r} is not one of {', '.join(REASONS)}; choose one of these words "
            "(the audit log keeps it after the data are erased, so it must name nobody)",
            field="reason",
        ) from None


def _may_change(session: Session, actor: str, kind: Kind, doing: str) -> None:
    check_if_user(session, actor, ADDED_BY[kind], doing=doing)


def withdraw_photo(app: OpenDVI, photo_id: int, *, actor: str, reason: str) -> Withdrawal:
    """Erase one photo of a record (``actor``: one who may change that record)."""
    why = reason_of(reason)
    erased = Erased()
    with app.db.write() as session:
        photo = session.get(Photo, photo_id)
        if photo is None:
            raise NotFound(f"there is no photo {photo_id}; `opendvi faces list REF` shows ids")
        kind: Kind = "missing" if photo.missing_person_id is not None else "remains"
        _may_change(session, actor, kind, f"withdraw a photo of {WHAT[kind]}")
        owner = photo.missing_person or photo.remains
        assert owner is not None  # a photo has exactly one owner (the table checks it)
        erase_photo(session, photo, actor=actor, reason=why.value, erased=erased)
        session.flush()
        pairs = forget_pairs(session, kind, owner.id)
        done = Withdrawal(kind, owner.ref, erased.photos, erased.faces, pairs)
    remove_unused(app, erased.files)
    return done


def _identification(session: Session, record: MissingPerson) -> int | None:
    return session.execute(
        select(Identification.id).where(
            Identification.missing_person_id == record.id, Identification.status != "revoked"
        )
    ).scalar()


def withdraw_report(app: OpenDVI, ref: str, *, actor: str, reason: str) -> Withdrawal:
    """Withdraw the report ``ref`` at its reporting contact's request (``actor``: one who may
    change reports). Refused while an identification of it stands: it is revoked first."""
    why = reason_of(reason)
    erased = Erased()
    with app.db.write() as session:
        record = find(session, MissingPerson, ref)
        if not isinstance(record, MissingPerson):
            raise NotFound(f"there is no missing-person report {ref}")
        _may_change(session, actor, "missing", "withdraw a missing-person report")
        if record.status == RecordStatus.WITHDRAWN:
            raise Refused(f"report {ref} is already withdrawn")
        standing = _identification(session, record)
        if standing is not None:
            raise Refused(
                f"report {ref} is part of identification {standing}; a reviewer must revoke "
                f"it first (`opendvi identify revoke {standing}`), or the closed case's data "
                "are erased by retention (`opendvi retention`)"
            )
        before = snapshot(record)
        for photo in list(record.photos):
            erase_photo(session, photo, actor=actor, reason=why.value, erased=erased)
        for contact in record.contacts:
            contact.consent_contact = False
            contact.consent_withdrawn_at = contact.consent_withdrawn_at or utcnow()
        session.flush()
        cancel_for_contacts(session, list(record.contacts), actor=actor)
        for contact in record.contacts:
            erase_contact(contact)
        erase_person(record)
        record.status = RecordStatus.WITHDRAWN
        session.flush()
        pairs = forget_pairs(session, "missing", record.id)
        contacts = len(record.contacts)
        audit.record(
            session,
            actor=actor,
            action="missing_person.withdrawn",
            about=record,
            ref=ref,
            before=before,
            after=snapshot(record),
            details={
                "reason": why.value,
                "photos": erased.photos,
                "faces": erased.faces,
                "contacts": contacts,
                "candidates": pairs,
            },
        )
        done = Withdrawal("missing", ref, erased.photos, erased.faces, pairs, contacts)
    remove_unused(app, erased.files)
    return done

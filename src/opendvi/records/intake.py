"""Use-cases that create and change records: missing-person reports and unidentified remains.

Each saves one record in its own transaction with one audit event, holding digests of the
record before and after. Saving a record with the values it already has changes nothing and
writes nothing, which is what makes imports idempotent. A record added or changed from a
form or the API is read by the import's parsers (``core.fields``), so a typed value means
what it means in a CSV file, and every problem is reported at once before anything is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.fields import (
    ContactInput,
    MarkInput,
    ParsedRecord,
    numbered_fields,
    parse_missing_person,
    parse_remains,
)
from opendvi.core.roles import Permission
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
from opendvi.errors import FormProblems, NotFound, PhotoError
from opendvi.infra.jobs import Side, queue_match
from opendvi.people.accounts import acting_user
from opendvi.records.erasure import Erased, erase_photo, forget_pairs, remove_unused
from opendvi.records.kinds import check_photo, notes_on_save
from opendvi.records.photos import (
    StoredPhoto,
    accept_photo,
    check_photo_bytes,
    current_photos,
    known_photo,
)

__all__ = [
    "KINDS",
    "SaveResult",
    "Upload",
    "add_record",
    "change_record",
    "find",
    "save_parsed",
    "save_record",
    "snapshot",
]

Record = MissingPerson | Remains
Kind = Literal["missing", "remains"]
KINDS: dict[str, type[Record]] = {"missing": MissingPerson, "remains": Remains}
# Who adds and changes each kind of record from a form or the API (core.roles).
ADDED_BY = {"missing": Permission.ADD_REPORTS, "remains": Permission.ADD_REMAINS}
WHAT = {"missing": "a missing-person report", "remains": "a remains record"}
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class SaveResult:
    outcome: Outcome
    record_id: int
    ref: str
    # Files of the photos the save erased, removed from the photo store once it commits.
    erased: frozenset[str] = field(default=frozenset(), compare=False)
    # What the person saving should know: its reference is one of the other kind too, or
    # photos were added to an identified record (matched again; the identification stands).
    notes: tuple[str, ...] = field(default=(), compare=False)


def find(session: Session, kind: type[Record], ref: str) -> Record | None:
    """The record ``ref`` of ``kind``, or None."""
    found = session.execute(select(kind).where(kind.ref == ref)).scalar_one_or_none()
    return cast("Record | None", found)  # SQLAlchemy types a choice of two classes as Base


_SKIP = {"id", "created_at", "updated_at", "event_id", "merged_into_id", "linked_to_id"}


def snapshot(record: Record) -> dict[str, Any]:
    """The record's whole state as plain values: what an audit digest is taken of."""
    state: dict[str, Any] = {
        column.key: getattr(record, column.key)
        for column in type(record).__mapper__.column_attrs
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
        audit.record(
            session,
            actor=actor,
            action="event.created",
            about=event,
            ref=code,
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


def _set_photos(
    session: Session,
    record: Record,
    photos: Sequence[StoredPhoto],
    actor: str,
    erased: Erased,
    force_reason: str = "",
) -> int:
    """Make ``photos`` the record's photos, in order; the others are erased (a withdrawal).
    A photo already on a record of the other kind is refused, unless ``force_reason``."""
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


def save_record(
    session: Session,
    kind: type[Record],
    *,
    actor: str,
    ref: str,
    fields: dict[str, Any],
    event_code: str | None = None,
    marks: Sequence[MarkInput] | None = None,
    effects: Sequence[str] | None = None,
    photos: Sequence[StoredPhoto] | None = None,
    contacts: Sequence[ContactInput] | None = None,
    source: str = "",
    force_reason: str = "",
) -> SaveResult:
    """Inside the caller's transaction: create or update the record ``ref`` of ``kind``.

    Values not given (``None`` lists, absent keys) are left as stored. ``photos``, when
    given, become the record's photos; photos no longer listed are erased, and the caller
    removes the files in ``SaveResult.erased`` once the transaction has committed
    (``records.erasure.remove_unused``). A photo already on a record of the other kind is
    refused (``PhotoError``) unless ``force_reason`` says why it belongs here too.
    """
    record = find(session, kind, ref)
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
        from opendvi.notify.revocation import cancel_for_contacts

        _set_contacts(record, contacts)
        session.flush()
        # A contact who withdrew consent gets nothing more: pending tasks are cancelled.
        cancel_for_contacts(session, list(record.contacts), actor=actor)
    erased = Erased()
    added = (
        _set_photos(session, record, photos, actor, erased, force_reason)
        if photos is not None
        else 0
    )
    # Flushing applies column defaults, so the snapshot is the one a later read would take.
    session.flush()
    after = snapshot(record)
    side: Side = "missing" if kind is MissingPerson else "remains"
    if erased.photos:
        forget_pairs(session, side, record.id)  # no pair stands on an erased photo
    notes = notes_on_save(session, kind, record, added)
    if after == before:
        return SaveResult("unchanged", record.id, ref, frozenset(erased.files), notes)
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
        about=record,
        ref=ref,
        before=before,
        after=after,
        details=details,
    )
    queue_match(session, side, record.id)
    return SaveResult(outcome, record.id, ref, frozenset(erased.files), notes)


def _save_parsed(
    session: Session,
    kind: type[Record],
    parsed: ParsedRecord,
    photos: Sequence[StoredPhoto] | None,
    actor: str,
    source: str,
    force_reason: str = "",
) -> SaveResult:
    return save_record(
        session,
        kind,
        actor=actor,
        ref=parsed.ref,
        fields=parsed.fields,
        event_code=parsed.event_code,
        marks=parsed.marks,
        effects=parsed.effects,
        photos=photos,
        contacts=parsed.contacts if kind is MissingPerson else None,
        source=source,
        force_reason=force_reason,
    )


def save_parsed(
    app: OpenDVI,
    *,
    kind: Literal["missing", "remains", "unidentified"],
    parsed: ParsedRecord,
    photos: Sequence[StoredPhoto] | None,
    actor: str,
    source: str = "",
    force_reason: str = "",
) -> SaveResult:
    """Save a record read by ``core.fields`` (a CSV row) with its photos."""
    model = MissingPerson if kind == "missing" else Remains
    with app.db.write() as session:
        saved = _save_parsed(session, model, parsed, photos, actor, source, force_reason)
    remove_unused(app, saved.erased)
    return saved


@dataclass(frozen=True)
class Upload:
    """A photo file sent from a form: its name and its bytes."""

    name: str
    data: bytes


def _parse(kind: Kind, values: dict[str, str], *, every_field: bool) -> ParsedRecord:
    parse = parse_missing_person if kind == "missing" else parse_remains
    # A new record reads the fields filled in; a change reads every field given, so one
    # sent empty is cleared (as an empty cell of an imported row is) and one not sent is
    # kept as it is.
    given = {f: values[f].strip() for f in numbered_fields(kind) if f in values}
    return parse(given if every_field else {k: v for k, v in given.items() if v})


def _may_add(app: OpenDVI, kind: Kind, actor: str, doing: str) -> None:
    """Refused, before any photo is kept, to a user who may not add this kind of record."""
    with app.db.read() as session:
        acting_user(session, actor, ADDED_BY[kind], doing=f"{doing} {WHAT[kind]}")


def _ref_taken(app: OpenDVI, kind: Kind, ref: str) -> bool:
    model = KINDS[kind]
    with app.db.read() as session:
        return session.execute(select(model.id).where(model.ref == ref)).first() is not None


def _keep(
    app: OpenDVI, uploads: Sequence[Upload], problems: dict[str, str], *, keep: bool
) -> list[StoredPhoto]:
    """Each photo checked from its header and, with ``keep``, kept (the background worker
    decodes it). Every photo is checked, so that one answer names each bad file."""
    stored, bad = [], []
    for upload in uploads:
        try:
            if not keep:
                check_photo_bytes(upload.data, name=upload.name, settings=app.settings)
                continue
            stored.append(
                accept_photo(
                    upload.data,
                    name=upload.name,
                    media=app.media,
                    settings=app.settings,
                    known=lambda sha: known_photo(app, sha),
                )
            )
        except PhotoError as exc:
            bad.append(str(exc))
    if bad:
        many = f"{len(bad)} of the {len(uploads)} photos cannot be used: " if bad[1:] else ""
        problems["photos"] = many + "; ".join(bad)
    return stored


def _checked(
    app: OpenDVI, kind: Kind, parsed: ParsedRecord, photos: Sequence[Upload], taken: str = ""
) -> list[StoredPhoto]:
    """The photos kept, once every field reads well (``taken``: a problem with the
    reference found by the caller); else every problem at once, and nothing kept."""
    problems = dict(parsed.problems)
    if taken and "ref" not in problems:
        problems["ref"] = taken
    # Photos are checked, not kept, while a field is wrong: nothing is kept then.
    stored = _keep(app, photos, problems, keep=not problems)
    if problems:
        raise FormProblems(problems, order=numbered_fields(kind))
    return stored


def _in_form(save: Callable[[], SaveResult], kind: Kind) -> SaveResult:
    """A photo refused by the save, as the form's problem with its photos."""
    try:
        return save()
    except PhotoError as exc:
        raise FormProblems({"photos": str(exc)}, order=numbered_fields(kind)) from None


def add_record(
    app: OpenDVI,
    *,
    kind: Kind,
    values: dict[str, str],
    actor: str,
    photos: Sequence[Upload] = (),
    source: str,
    force_reason: str = "",
) -> SaveResult:
    """A new record from the import's fields as text (a form, the API), with its photos,
    by ``actor``, a user who may add that kind of record. Every problem is reported at once
    (``FormProblems``) and nothing is kept then; a photo already on a record of the other
    kind too, unless ``force_reason``."""
    _may_add(app, kind, actor, "add")
    parsed = _parse(kind, values, every_field=False)
    taken = parsed.ref and _ref_taken(app, kind, parsed.ref)
    problem = f"{parsed.ref!r} is already taken; choose another reference" if taken else ""
    stored = _checked(app, kind, parsed, photos, problem)
    with app.db.write() as session:
        return _in_form(
            lambda: _save_parsed(session, KINDS[kind], parsed, stored, actor, source, force_reason),
            kind,
        )


def change_record(
    app: OpenDVI,
    *,
    kind: Kind,
    ref: str,
    values: dict[str, str],
    actor: str,
    photos: Sequence[Upload] = (),
    source: str,
    force_reason: str = "",
) -> SaveResult:
    """Change the record ``ref`` to the values given (a field given empty is cleared, a
    field not given is kept) and add ``photos`` to those it has (``SaveResult.notes``
    says what adding them to an identified record changes)."""
    _may_add(app, kind, actor, "change")
    if not _ref_taken(app, kind, ref):
        raise NotFound(f"there is no record {ref}")
    parsed = _parse(kind, {**values, "ref": ref}, every_field=True)
    stored = _checked(app, kind, parsed, photos)
    model = KINDS[kind]
    with app.db.write() as session:
        record = find(session, model, ref)
        added = current_photos(record) + stored if stored and record is not None else None
        saved = _in_form(
            lambda: _save_parsed(session, model, parsed, added, actor, source, force_reason),
            kind,
        )
    remove_unused(app, saved.erased)
    return saved

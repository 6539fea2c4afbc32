"""Use-cases that create and change records: missing-person reports and unidentified remains.

Each saves one record in its own transaction with one audit event, holding digests of the
record before and after. Saving a record with the values it already has changes nothing and
writes nothing, which is what makes imports idempotent. A record added or changed from a
form or the API is read by the import's parsers (``core.fields``), so a typed value means
what it means in a CSV file, and every problem is reported at once before anything is kept.
"""

from __future__ import annotations

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
from opendvi.db.tables import MissingPerson, Remains
from opendvi.errors import FormProblems, NotFound, PhotoError
from opendvi.infra.jobs import Side, queue_match
from opendvi.people.accounts import acting_user
from opendvi.records.erasure import Erased, forget_pairs, remove_unused
from opendvi.records.kinds import notes_on_save
from opendvi.records.parts import event_named, set_contacts, set_effects, set_marks, set_photos
from opendvi.records.photos import (
    StoredPhoto,
    accept_photo,
    check_photo_bytes,
    current_photos,
    known_photo,
)
from opendvi.records.prefetch import Prefetched
from opendvi.records.state import snapshot

__all__ = [
    "KINDS",
    "SaveResult",
    "Staged",
    "Upload",
    "add_record",
    "change_record",
    "find",
    "finish_record",
    "save_parsed",
    "save_record",
    "snapshot",
    "stage_record",
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
    known: Prefetched | None = None,
    queue: bool = True,
) -> SaveResult:
    """Inside the caller's transaction: create or update the record ``ref`` of ``kind``.

    Values not given (``None`` lists, absent keys) are left as stored. ``photos``, when
    given, become the record's photos; photos no longer listed are erased, and the caller
    removes the files in ``SaveResult.erased`` once the transaction has committed
    (``records.erasure.remove_unused``). A photo already on a record of the other kind is
    refused (``PhotoError``) unless ``force_reason`` says why it belongs here too. A batch of
    saves passes what it looked up at once (``known``), and with ``queue`` false queues the
    match jobs of the records it changed itself (``infra.jobs.queue_matches``).
    """
    staged = stage_record(
        session,
        kind,
        actor=actor,
        ref=ref,
        fields=fields,
        event_code=event_code,
        marks=marks,
        effects=effects,
        photos=photos,
        contacts=contacts,
        source=source,
        force_reason=force_reason,
        known=known,
    )
    session.flush()
    return finish_record(session, staged, queue=queue)


@dataclass(frozen=True)
class Staged:
    """A record created or changed in the session, to ``finish_record`` once flushed."""

    kind: type[Record]
    record: Record
    before: dict[str, Any] | None
    added: int  # photos added
    erased: Erased
    actor: str
    source: str
    other_has_ref: bool | None  # a record of the other kind has its ref (None: not known)


def stage_record(
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
    known: Prefetched | None = None,
) -> Staged:
    """The first half of ``save_record``: the record changed in the session, not yet
    flushed, so that a batch of saves flushes its records together."""
    known = known or Prefetched()
    looked_up, record = known.take(ref)
    record = record if looked_up else find(session, kind, ref)
    before = snapshot(record) if record is not None else None
    if record is None:
        # Its parts start empty, so reading them once it is stored asks the database nothing.
        record = kind(ref=ref, marks=[], effects=[], photos=[])
        if isinstance(record, MissingPerson):
            record.contacts = []
        session.add(record)
    for key, value in fields.items():
        setattr(record, key, value)
    if event_code is not None:
        record.event = event_named(session, event_code, actor=actor, known=known)
    if marks is not None:
        set_marks(record, marks)
    if effects is not None:
        set_effects(record, effects)
    if contacts is not None and isinstance(record, MissingPerson):
        from opendvi.notify.revocation import cancel_for_contacts

        set_contacts(record, contacts)
        session.flush()
        # A contact who withdrew consent gets nothing more: pending tasks are cancelled.
        cancel_for_contacts(session, list(record.contacts), actor=actor)
    erased = Erased()
    added = (
        set_photos(session, record, photos, actor, erased, force_reason)
        if photos is not None
        else 0
    )
    other = (ref in known.other_refs) if looked_up else None
    return Staged(kind, record, before, added, erased, actor, source, other)


def finish_record(session: Session, staged: Staged, *, queue: bool = True) -> SaveResult:
    """The second half of ``save_record``, once the session is flushed (which applies the
    column defaults, so the snapshot is the one a later read would take): the outcome, its
    audit event and, with ``queue``, its match job."""
    kind, record, before, added = staged.kind, staged.record, staged.before, staged.added
    ref, files = record.ref, frozenset(staged.erased.files)
    after = snapshot(record)
    side: Side = "missing" if kind is MissingPerson else "remains"
    if staged.erased.photos:
        forget_pairs(session, side, record.id)  # no pair stands on an erased photo
    notes = notes_on_save(session, kind, record, added, other_has_ref=staged.other_has_ref)
    if after == before:
        return SaveResult("unchanged", record.id, ref, files, notes)
    entity = "missing_person" if kind is MissingPerson else "remains"
    outcome: Outcome = "created" if before is None else "updated"
    details: dict[str, Any] = {"photos_added": added}
    if before is not None:
        details["changed"] = sorted(k for k in after if before.get(k) != after[k])
    if staged.source:
        details["source"] = staged.source
    audit.record(
        session,
        actor=staged.actor,
        action=f"{entity}.{outcome}",
        about=record,
        ref=ref,
        before=before,
        after=after,
        details=details,
    )
    if queue:
        queue_match(session, side, record.id)
    return SaveResult(outcome, record.id, ref, files, notes)


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

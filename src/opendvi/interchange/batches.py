"""The rows of an import saved a batch to a transaction, a row that is refused failing alone.

A batch is first saved in one go, row after row. Should the save refuse any row, that
transaction is rolled back whole and the batch saved again with each row in its own
savepoint, so that the row refused fails alone and the others are kept. A savepoint costs
about as much as the row it holds, and most batches hold no bad row: those pay for none.
Either way a batch commits whole or not at all, each record with its audit event and its
match job, so an import stopped at any moment leaves no half record.

What the saves look up is read once for the batch (the stored records of its refs, the
refs of the other kind, its events, the audit chain's head), the audit events are chained
in memory and written together (``audit.hold_head``), and the match jobs of the records
that changed are queued together, all before the transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.fields import ParsedRecord
from opendvi.db.tables import MissingPerson, Remains
from opendvi.errors import OpenDVIError, PhotoError
from opendvi.infra.jobs import queue_matches
from opendvi.records.erasure import remove_unused
from opendvi.records.intake import SaveResult, Staged, finish_record, stage_record
from opendvi.records.photos import StoredPhoto
from opendvi.records.prefetch import prefetch

__all__ = ["BatchRow", "Saved", "save_batch"]


@dataclass(frozen=True)
class BatchRow:
    """A row that read well, with its photos kept."""

    line: int
    ref: str
    parsed: ParsedRecord
    photos: list[StoredPhoto]
    source: str  # where its audit event says it came from: file:line


@dataclass
class Saved:
    """What saving a batch did, once it committed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # The rows refused, each with the field to blame (None: the row) and why.
    failed: list[tuple[BatchRow, str | None, str]] = field(default_factory=list)
    notes: list[tuple[BatchRow, str]] = field(default_factory=list)
    erased: set[str] = field(default_factory=set)


class _Refused(Exception):
    """A row of a batch saved in one go was refused: the batch is saved again, row by row."""


def save_batch(
    app: OpenDVI,
    model: type[MissingPerson | Remains],
    rows: Sequence[BatchRow],
    *,
    actor: str,
    force_reason: str = "",
    photos_field: str | None = "photos",
) -> Saved:
    """Save ``rows`` in one transaction by ``actor``; a row the save refuses fails alone
    (a photo refused is blamed on ``photos_field``). The files of the photos erased are
    removed once the transaction has committed."""
    try:
        saved = _write(app, model, rows, actor, force_reason, photos_field, alone=False)
    except _Refused:
        saved = _write(app, model, rows, actor, force_reason, photos_field, alone=True)
    remove_unused(app, frozenset(saved.erased))
    return saved


def _write(
    app: OpenDVI,
    model: type[MissingPerson | Remains],
    rows: Sequence[BatchRow],
    actor: str,
    force_reason: str,
    photos_field: str | None,
    *,
    alone: bool,
) -> Saved:
    """One transaction for ``rows``: with ``alone``, each row saved in its own savepoint (a
    savepoint rolled back takes the row's audit events with it); else all changed, then
    flushed together, then audited in order, and the first row refused rolls the whole
    transaction back (``_Refused``)."""
    saved = Saved()
    changed: list[int] = []
    with app.db.write() as session:
        audit.hold_head(session)
        known = prefetch(
            session,
            model,
            [row.ref for row in rows],
            event_codes=[row.parsed.event_code for row in rows if row.parsed.event_code],
        )

        def stage(row: BatchRow) -> Staged:
            parsed = row.parsed
            return stage_record(
                session,
                model,
                actor=actor,
                ref=parsed.ref,
                fields=parsed.fields,
                event_code=parsed.event_code,
                marks=parsed.marks,
                effects=parsed.effects,
                photos=row.photos,
                contacts=parsed.contacts if model is MissingPerson else None,
                source=row.source,
                force_reason=force_reason,
                known=known,
            )

        done: list[tuple[BatchRow, SaveResult]] = []
        if alone:
            for row in rows:
                try:
                    with session.begin_nested():
                        staged = stage(row)
                        session.flush()
                        done.append((row, finish_record(session, staged, queue=False)))
                except Exception as exc:  # one row must never stop the others
                    saved.failed.append((row, *_why(exc, photos_field)))
        else:
            try:
                staged_rows = [(row, stage(row)) for row in rows]
                session.flush()
                done = [(row, finish_record(session, s, queue=False)) for row, s in staged_rows]
            except Exception as exc:
                raise _Refused from exc
        for row, result in done:
            saved.erased |= result.erased
            saved.notes.extend((row, note) for note in result.notes)
            if result.outcome == "created":
                saved.created += 1
            elif result.outcome == "updated":
                saved.updated += 1
            else:
                saved.unchanged += 1
            if result.outcome != "unchanged":
                changed.append(result.record_id)
        queue_matches(session, "missing" if model is MissingPerson else "remains", changed)
    return saved


def _why(exc: Exception, photos_field: str | None) -> tuple[str | None, str]:
    """The field to blame for a row refused, and what to say."""
    if isinstance(exc, PhotoError):
        return photos_field, str(exc)
    if isinstance(exc, OpenDVIError | SQLAlchemyError):
        return None, f"not saved: {str(exc).splitlines()[0]}"
    return None, f"not imported, unexpected error: {type(exc).__name__}: {exc}"

"""A rebuild of every list (``opendvi match --all``) that survives a crash.

The new lists are staged beside the stored ones (``rebuild_rows``), batch by batch, each
batch committed with the records it scored (``rebuild_records``); one transaction then swaps
them in: the lists, their ranks, the audit events and the jobs together. Killed at any
moment, the database holds the old lists or the new ones, never a mix, and the next run
(``opendvi match`` or ``--all``) resumes the staging where it stopped. A resumed rebuild
scores again only the records whose evidence changed since they were staged; it starts the
staging over when what every score depends on changed (the model, the calibration, the
number of reports, the list settings).

The scoring, which is most of a rebuild's time, is shared by worker processes (one per
core by default): each holds the loaded registry (inherited on Linux, sent once
elsewhere) and scores whole batches while this process stages the ones done, in order.
The lists are the same whatever the number of processes.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, cast

from sqlalchemy import Table, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import (
    Candidate,
    CandidateNumber,
    Identification,
    Job,
    Rebuild,
    RebuildRecord,
    RebuildRow,
    utcnow,
)
from opendvi.infra.jobs import MATCH, Side, finish, purge_done
from opendvi.matching import gallery
from opendvi.matching.context import MatchReport, exclusions, listings, load_context, record_event
from opendvi.matching.gallery import Progress
from opendvi.matching.pairs import Context, decided_status, face_hits, listed_pairs

__all__ = ["rebuild", "unfinished"]

CHUNK = 500  # ids per statement
SIDES: tuple[Side, Side] = ("missing", "remains")
STAGED_BATCHES = 4  # batches staged per transaction, at most

# The columns a staged pair carries over into ``candidates`` as they are.
CARRIED = (
    "remains_id",
    "missing_person_id",
    "score",
    "face_score",
    "false_candidate_rate",
    "credible",
    "factors",
    "model_name",
    "model_version",
    "evidence_digest",
    "status",
    "record_identified",
    "computed_at",
)


def unfinished(session: Session) -> bool:
    """Whether a rebuild was started and not swapped in."""
    return session.execute(select(Rebuild.id).limit(1)).first() is not None


def _context(ctx: Context) -> str:
    """Digest of what every pair's score depends on besides its two records."""
    calibration = ctx.calibration.calibration
    body = {
        "model": list(ctx.model),
        "calibration": calibration.to_json() if calibration is not None else None,
        "source": ctx.calibration.source,
        "reports": len(ctx.am.refs),
        "max_rate": ctx.max_rate,
        "keep": ctx.keep,
    }
    return hashlib.sha256(audit.canonical_json(body).encode()).hexdigest()


def _chunks(values: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _own(side: Side) -> tuple[Any, Any]:
    """The record's column and its rank column in the staging."""
    if side == "missing":
        return RebuildRow.missing_person_id, RebuildRow.rank_for_missing
    return RebuildRow.remains_id, RebuildRow.rank_for_remains


def _clear(session: Session) -> None:
    session.execute(delete(RebuildRow))
    session.execute(delete(RebuildRecord))
    session.execute(delete(Rebuild))


def _unstage(session: Session, side: Side, record_ids: Iterable[int]) -> None:
    """Take records' lists out of the staging (to be scored again)."""
    column, rank = _own(side)
    for chunk in _chunks(record_ids):
        session.execute(update(RebuildRow).where(column.in_(chunk)).values({rank.key: None}))
        session.execute(
            delete(RebuildRecord).where(
                RebuildRecord.side == side, RebuildRecord.record_id.in_(chunk)
            )
        )
    session.execute(
        delete(RebuildRow).where(
            RebuildRow.rank_for_remains.is_(None), RebuildRow.rank_for_missing.is_(None)
        )
    )


def _begin(session: Session, ctx: Context, actor: str) -> set[tuple[Side, int]]:
    """The records staged already by an unfinished rebuild on the same context, less those
    whose evidence changed since; a rebuild started now when there is none."""
    context = _context(ctx)
    run = session.execute(select(Rebuild)).scalars().first()
    if run is None or run.context != context:
        _clear(session)
        session.add(
            Rebuild(
                context=context,
                model_name=ctx.model[0],
                model_version=ctx.model[1],
                last_job=session.scalar(select(func.max(Job.id))) or 0,
                actor=actor,
            )
        )
        return set()
    staged: set[tuple[Side, int]] = set()
    changed: dict[Side, list[int]] = {"missing": [], "remains": []}
    for stored_side, record_id, digest in session.execute(
        select(RebuildRecord.side, RebuildRecord.record_id, RebuildRecord.evidence_digest)
    ):
        side: Side = "missing" if stored_side == "missing" else "remains"
        mine = ctx.am if side == "missing" else ctx.pm
        if mine.digests.get(record_id) == digest:
            staged.add((side, record_id))
        else:
            changed[side].append(record_id)
    for side, ids in changed.items():
        _unstage(session, side, ids)
    return staged


def _score(ctx: Context, batch: list[tuple[Side, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    """The pairs listed for a batch of records, scored, each marked with the records it is
    listed for (a rank of 0)."""
    pairs: dict[tuple[int, int], dict[str, Any]] = {}
    # The batch's faces searched together: a matrix product per side, not one per face.
    hits = {
        side: face_hits(ctx, side, [record_id for s, record_id in batch if s == side])
        for side in SIDES
    }
    for side, record_id in batch:
        own = "rank_for_missing" if side == "missing" else "rank_for_remains"
        for row in listed_pairs(ctx, side, record_id, hits[side].get(record_id, {})):
            key = (row["remains_id"], row["missing_person_id"])
            staged = pairs.setdefault(key, {"rank_for_remains": None, "rank_for_missing": None})
            face = row["factors"]["face"]
            staged.update(
                {k: v for k, v in row.items() if k not in ("rank_for_remains", "rank_for_missing")},
                face_points=None if row["face_score"] is None else face.get("points", 0.0),
                computed_at=utcnow(),
            )
            staged[own] = 0  # listed for this record
    return pairs


# The registry of a scoring process (``_install``), for the batches it is given.
_registry: Context | None = None


def _install(ctx: Context, threads: int) -> None:
    global _registry
    _registry = ctx
    # The processes share the cores: each one's matrix products on its share of them.
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


def _score_installed(batch: list[tuple[Side, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    assert _registry is not None, "a scoring process without its registry"
    return _score(_registry, batch)


def _scored(
    ctx: Context, batches: list[list[tuple[Side, int]]], processes: int
) -> Iterator[tuple[list[tuple[Side, int]], dict[tuple[int, int], dict[str, Any]]]]:
    """Each batch with its scored pairs, in order: scored here with one process, else by
    ``processes`` processes, each working ahead on the batches not yet staged."""
    if processes <= 1 or len(batches) <= 1:
        for batch in batches:
            yield batch, _score(ctx, batch)
        return
    # Forked on Linux: the processes share the loaded registry's memory until it changes.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    with ProcessPoolExecutor(
        max_workers=min(processes, len(batches)),
        mp_context=multiprocessing.get_context(method),
        initializer=_install,
        initargs=(ctx, max(1, (os.cpu_count() or 1) // processes)),
    ) as pool:
        yield from zip(batches, pool.map(_score_installed, batches), strict=True)


def _stage(
    session: Session,
    ctx: Context,
    batch: list[tuple[Side, int]],
    pairs: dict[tuple[int, int], dict[str, Any]],
) -> None:
    """Stage a batch's scored lists (``_score``) with the records themselves: a pair
    staged already (listed for the other record by an earlier batch) is replaced, and stays
    listed for that record."""
    if pairs:
        table = cast(Table, RebuildRow.__table__)
        names = [c.name for c in table.columns if c.name != "id"]
        postgres = session.get_bind().dialect.name == "postgresql"
        upsert: Any = postgresql_insert(table) if postgres else sqlite_insert(table)
        ranks = ("rank_for_remains", "rank_for_missing")
        upsert = upsert.on_conflict_do_update(
            index_elements=["remains_id", "missing_person_id"],
            set_={
                name: (
                    func.coalesce(upsert.excluded[name], table.c[name])
                    if name in ranks
                    else upsert.excluded[name]
                )
                for name in names
                if name not in ("remains_id", "missing_person_id")
            },
        )
        session.connection().execute(
            upsert, [{name: row.get(name) for name in names} for row in pairs.values()]
        )
    session.execute(
        insert(RebuildRecord),
        [
            {
                "side": side,
                "record_id": record_id,
                "evidence_digest": (ctx.am if side == "missing" else ctx.pm).digests[record_id],
            }
            for side, record_id in batch
        ],
    )


def _decide(session: Session) -> None:
    """Each staged pair's status read from the decisions standing now: a reviewer may have
    excluded, referred or reopened a pair since it was staged."""
    standing = exclusions(session)
    wanted = select(
        RebuildRow.id,
        RebuildRow.remains_id,
        RebuildRow.missing_person_id,
        RebuildRow.evidence_digest,
        RebuildRow.factors,
        RebuildRow.status,
    )
    rows = list(session.execute(wanted.where(RebuildRow.status != "open")))
    for chunk in _chunks({pm for pm, _ in standing}):
        for row in session.execute(wanted.where(RebuildRow.remains_id.in_(chunk))):
            if (row[1], row[2]) in standing and row[5] == "open":
                rows.append(row)
    changes = []
    for number, pm, am, digest, factors, status in rows:
        shown = dict(factors)
        new = decided_status(shown, digest, standing.get((pm, am)))
        if new != status or shown != factors:
            changes.append({"id": number, "status": new, "factors": shown})
    if changes:
        session.execute(update(RebuildRow), changes)


def _ranked(listed: Any, record: Any, rank: Any) -> Any:
    """A staged pair's rank for one record: 1, 2, … by total score, then face, among the
    pairs listed for it and not excluded."""
    face_first = case((RebuildRow.face_score.is_(None), 1), else_=0)
    number = func.row_number().over(
        partition_by=(record, case((listed, 1), else_=0)),
        order_by=(
            RebuildRow.score.desc(),
            face_first,
            RebuildRow.face_points.desc(),
            RebuildRow.face_score.desc(),
            CandidateNumber.id,
        ),
    )
    return case((listed, number), else_=None).label(rank)


def _swap_lists(session: Session) -> None:
    """The staged lists in place of the stored ones: each pair under its own number (given
    now if it never had one), ranked both ways."""
    session.execute(
        insert(CandidateNumber).from_select(
            ["remains_id", "missing_person_id"],
            select(RebuildRow.remains_id, RebuildRow.missing_person_id)
            .where(
                ~exists().where(
                    CandidateNumber.remains_id == RebuildRow.remains_id,
                    CandidateNumber.missing_person_id == RebuildRow.missing_person_id,
                )
            )
            .order_by(RebuildRow.remains_id, RebuildRow.missing_person_id),
        )
    )
    session.execute(delete(Candidate))
    kept = RebuildRow.status != "excluded"
    session.execute(
        insert(Candidate).from_select(
            ["id", *CARRIED, "rank_for_remains", "rank_for_missing"],
            select(
                CandidateNumber.id,
                *(getattr(RebuildRow, name) for name in CARRIED),
                _ranked(
                    and_(RebuildRow.rank_for_remains.is_not(None), kept),
                    RebuildRow.remains_id,
                    "rank_for_remains",
                ),
                _ranked(
                    and_(RebuildRow.rank_for_missing.is_not(None), kept),
                    RebuildRow.missing_person_id,
                    "rank_for_missing",
                ),
            ).join(
                CandidateNumber,
                and_(
                    CandidateNumber.remains_id == RebuildRow.remains_id,
                    CandidateNumber.missing_person_id == RebuildRow.missing_person_id,
                ),
            ),
        )
    )
    # Whether a record of each pair is identified, from the identifications standing now.
    confirmed = Identification.status == "confirmed"
    session.execute(
        update(Candidate).values(
            record_identified=or_(
                exists().where(confirmed, Identification.remains_id == Candidate.remains_id),
                exists().where(
                    confirmed, Identification.missing_person_id == Candidate.missing_person_id
                ),
            )
        ),
        execution_options={"synchronize_session": False},
    )


def _lists(session: Session) -> dict[tuple[Side, int], list[dict[str, Any]]]:
    """Each record's staged list, with what its audit event says of it."""
    out: dict[tuple[Side, int], list[dict[str, Any]]] = {}
    for (
        pm,
        am,
        rank_pm,
        rank_am,
        digest,
        score,
        status,
        face,
        points,
        rate,
        credible,
    ) in session.execute(
        select(
            RebuildRow.remains_id,
            RebuildRow.missing_person_id,
            RebuildRow.rank_for_remains,
            RebuildRow.rank_for_missing,
            RebuildRow.evidence_digest,
            RebuildRow.score,
            RebuildRow.status,
            RebuildRow.face_score,
            RebuildRow.face_points,
            RebuildRow.false_candidate_rate,
            RebuildRow.credible,
        )
    ):
        row = {
            "remains_id": pm,
            "missing_person_id": am,
            "evidence_digest": digest,
            "score": score,
            "status": status,
            "face_score": face,
            "factors": {"face": {"points": points or 0.0}},
            "false_candidate_rate": rate,
            "credible": credible,
        }
        if rank_pm is not None:
            out.setdefault(("remains", pm), []).append(row)
        if rank_am is not None:
            out.setdefault(("missing", am), []).append(row)
    return out


def _swap(session: Session, ctx: Context, actor: str, report: MatchReport) -> None:
    """One transaction: the new lists in, an audit event for each list that changed, the
    jobs the rebuild covers done, the staging cleared."""
    audit.hold_head(session)  # the events of every list chained in memory, written together
    before = {side: listings(session, side, None) for side in ("missing", "remains")}
    _decide(session)
    staged = _lists(session)
    _swap_lists(session)
    work: list[tuple[Side, int]] = [("remains", i) for i in ctx.pm.refs]
    work += [("missing", i) for i in ctx.am.refs]
    for side, record_id in work:
        rows = staged.get((side, record_id), [])
        summary = record_event(
            session, ctx, side, record_id, rows, actor, before[side].get(record_id, [])
        )
        report.records += 1
        if side == "remains":
            report.remains += 1
            if summary["credible"] == 0:
                report.no_candidate.append(ctx.pm.refs[record_id])
    last_job = session.scalar(select(Rebuild.last_job)) or 0
    covered = session.scalars(
        select(Job.id).where(Job.kind == MATCH, Job.status == "queued", Job.id <= last_job)
    ).all()
    finish(session, list(covered))
    _clear(session)
    purge_done(session)


def rebuild(
    app: OpenDVI,
    *,
    actor: str,
    recalibrate: bool,
    progress: Progress | None = None,
    processes: int = 1,
) -> MatchReport:
    """Rebuild every list, or finish the rebuild a crash interrupted, its pairs scored by
    ``processes`` processes."""
    ctx = load_context(app, actor=actor, recalibrate=recalibrate)
    report = MatchReport(calibration=ctx.calibration.describe())
    with app.db.write() as session:
        staged = _begin(session, ctx, actor)
    work: list[tuple[Side, int]] = [("remains", i) for i in ctx.pm.refs]
    work += [("missing", i) for i in ctx.am.refs]
    todo = [item for item in work if item not in staged]
    done = len(work) - len(todo)
    batches = [todo[start : start + gallery.BATCH] for start in range(0, len(todo), gallery.BATCH)]
    # Scored outside the write: no write waits on the scoring. Staged a few batches per
    # transaction: a commit is a disk flush.
    waiting: list[tuple[list[tuple[Side, int]], dict[tuple[int, int], dict[str, Any]]]] = []
    for number, (batch, scored) in enumerate(_scored(ctx, batches, processes), start=1):
        waiting.append((batch, scored))
        if len(waiting) < STAGED_BATCHES and number < len(batches):
            continue
        with app.db.write() as session:
            for staged_batch, staged_pairs in waiting:
                _stage(session, ctx, staged_batch, staged_pairs)
        done += sum(len(b) for b, _ in waiting)
        waiting = []
        if progress:
            progress(done, len(work))
    with app.db.write() as session:
        _swap(session, ctx, actor, report)
    return report

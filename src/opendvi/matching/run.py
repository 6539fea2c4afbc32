"""The matching use-case: the queued records (or all of them) matched and their lists
stored, one audit event per list that changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from opendvi.app import OpenDVI
from opendvi.infra.jobs import Claim, Side, finish, matching_turn, pending_matches, purge_done
from opendvi.matching.context import (
    MatchReport,
    listings,
    load_context,
    open_context,
    record_event,
)
from opendvi.matching.gallery import BATCH, Progress
from opendvi.matching.lists import (
    EntryTotals,
    clear_record,
    entering,
    listing_records,
    rank_lists,
    upsert,
)
from opendvi.matching.pairs import Context, search_record, select_pairs
from opendvi.matching.rebuild import rebuild, unfinished

if TYPE_CHECKING:
    from opendvi.matching.service import MatchingService

__all__ = ["MatchReport", "listings", "open_context", "run_matching"]


def run_matching(
    app: OpenDVI,
    *,
    actor: str,
    everything: bool = False,
    progress: Progress | None = None,
    claim: Claim | None = None,
    service: MatchingService | None = None,
    processes: int = 1,
) -> MatchReport:
    """Match the records whose jobs are queued (only those of ``claim``, a worker's, when
    given), or every record with ``everything``; a rebuild of every list that was
    interrupted is finished first. A worker's ``service`` gives the registry it keeps
    loaded (brought up to date); without one the registry is loaded for this run. A
    rebuild's pairs are scored by ``processes`` processes.

    Without a claim (``opendvi match``, an import), the run takes the matching turn the
    workers take (``jobs.matching_turn``), so it never stores lists while one of them does."""
    if claim is None:
        with matching_turn(app.db):
            return _run(app, actor, everything, progress, None, service, processes)
    return _run(app, actor, everything, progress, claim, service, processes)


def _run(
    app: OpenDVI,
    actor: str,
    everything: bool,
    progress: Progress | None,
    claim: Claim | None,
    service: MatchingService | None,
    processes: int,
) -> MatchReport:
    with app.db.read() as session:
        resume = unfinished(session)
    if everything or resume:
        return rebuild(
            app, actor=actor, recalibrate=everything, progress=progress, processes=processes
        )
    if claim is not None:
        jobs, holder = claim.jobs, claim.worker
    else:
        with app.db.read() as session:
            jobs, holder = pending_matches(session), None
    report = MatchReport()
    if not jobs:
        return report
    if service is not None:
        ctx = service.context()
    else:
        ctx = load_context(app, actor=actor, recalibrate=False)
    report.calibration = ctx.calibration.describe()
    seen: dict[tuple[Side, int], None] = {}
    for _, side, record_id in jobs:
        mine = ctx.am if side == "missing" else ctx.pm
        if record_id in mine.refs:
            seen[(side, record_id)] = None
    work = list(seen)
    job_ids = [job_id for job_id, _, _ in jobs]
    bars = EntryTotals(ctx.keep)
    for done, (side, record_id) in enumerate(work, start=1):
        # Scored in a read, so no write waits on the scoring; then stored in a short write.
        with app.db.read() as session:
            # A pair of this record may enter another's list: search for those too.
            rows = search_record(ctx, side, record_id, entry=bars.of(session, side, record_id))
        with app.db.write() as session:
            _store(session, ctx, bars, side, record_id, rows, actor, report)
            if done == len(work):
                finish(session, job_ids, holder=holder)
        if progress and (done % BATCH == 0 or done == len(work)):
            progress(done, len(work))
    with app.db.write() as session:
        if not work:
            finish(session, job_ids, holder=holder)
        purge_done(session)  # once a run: the jobs finished over a week ago
    return report


def _store(
    session: Session,
    ctx: Context,
    bars: EntryTotals,
    side: Side,
    record_id: int,
    rows: list[dict[str, Any]],
    actor: str,
    report: MatchReport,
) -> None:
    """One record's scored pairs stored: its list, the pairs that enter other records'
    lists, every list they touch ranked again, and the event of a list that changed."""
    listed = select_pairs(rows, ctx.keep)
    own_rank, other_rank = (
        ("rank_for_missing", "rank_for_remains")
        if side == "missing"
        else ("rank_for_remains", "rank_for_missing")
    )
    # A rank of 0 marks "listed for this record"; rank_lists numbers them.
    for row in rows:
        row[own_rank] = row[other_rank] = None
    for row in listed:
        row[own_rank] = 0
    before = listings(session, side, [record_id]).get(record_id, [])
    touched_pm = listing_records(session, side, record_id, "pm")
    touched_am = listing_records(session, side, record_id, "am")
    for row in entering(session, ctx, side, record_id, rows):
        row[other_rank] = 0
    stored = [r for r in rows if r[own_rank] == 0 or r[other_rank] == 0]
    clear_record(session, side, record_id)
    upsert(session, stored)
    ranked_pm = {r["remains_id"] for r in stored} | touched_pm
    ranked_am = {r["missing_person_id"] for r in stored} | touched_am
    rank_lists(session, ranked_pm, ranked_am, ctx.keep)
    bars.changed(session, ranked_pm, ranked_am)
    summary = record_event(session, ctx, side, record_id, listed, actor, before)
    report.records += 1
    if side == "remains":
        report.remains += 1
        if summary["credible"] == 0:
            report.no_candidate.append(ctx.pm.refs[record_id])

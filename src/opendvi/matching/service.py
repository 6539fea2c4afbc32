"""The long-lived matching service of a worker: the registry loaded once (faces, their
index, facts, the calibration, the standing decisions) and kept current from the job
queue, instead of loaded again for every run.

Every change to what matching reads queues a ``match`` job for its record in the same
transaction (``infra.jobs``), so the records to read again before a run are those of the
jobs created since the last look, and those still queued (a change made while a job waited
joins that job instead of adding one). Each worker reads every such record, whichever
worker claims its job: each holds a registry of its own. Decisions only ever add rows, so
those since the last look are applied to the standing ones. The calibration is kept until
the reports with faces have changed by a tenth (``gallery.RECALIBRATE``; then it is fitted
again, outside any write) or another process stored a newer one (a rebuild of every
list)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opendvi.app import OpenDVI
from opendvi.db.tables import Calibration as CalibrationRow
from opendvi.db.tables import Decision, Job
from opendvi.infra.jobs import MATCH, Side, parsed_subjects
from opendvi.matching.calibration import fit_calibration, keep_calibration
from opendvi.matching.context import exclusions, identified, load_context
from opendvi.matching.gallery import RECALIBRATE, GallerySample, SideData, load_side
from opendvi.matching.pairs import Context
from opendvi.matching.splice import splice

__all__ = ["MatchingService"]


class MatchingService:
    """One worker's loaded registry, brought up to date before each run (``context``)."""

    def __init__(self, app: OpenDVI, *, actor: str) -> None:
        self.app = app
        self.actor = actor
        self._ctx: Context | None = None
        self._jobs_seen = 0
        self._decisions_seen = 0
        self._calibration_id: int | None = None
        self._fitted_at = 0  # reports with faces when the calibration was last fitted or tried
        self.loads = 0  # whole-registry loads (once, unless the model changed)
        self.spliced = 0  # records read again since

    def context(self) -> Context:
        """The registry as the database holds it now."""
        if self._ctx is None:
            self._load()
        else:
            self._refresh()
        assert self._ctx is not None
        return self._ctx

    def forget(self) -> None:
        """Drop the loaded registry (its memory); the next run loads it again."""
        self._ctx = None

    def _load(self) -> None:
        with self.app.db.read() as session:
            # Read before the registry: a change made during the load comes again next time.
            jobs_seen, decisions_seen = _last_job(session), _last_decision(session)
        self._ctx = load_context(self.app, actor=self.actor, recalibrate=False)
        self._jobs_seen, self._decisions_seen = jobs_seen, decisions_seen
        with self.app.db.read() as session:
            self._calibration_id = _calibration_id(session, self._ctx.model)
        self._fitted_at = len(self._ctx.am.groups)
        self.loads += 1

    def _refresh(self) -> None:
        ctx = self._ctx
        assert ctx is not None
        sample = ctx.am._sample
        with self.app.db.read() as session:
            jobs_seen, changed = _changed(session, self._jobs_seen)
            for side, ids in changed.items():
                data = ctx.am if side == "missing" else ctx.pm
                fresh = load_side(session, side, ctx.model, ids=sorted(ids))
                self._apply(ctx, side, data, fresh, ids)
            decisions_seen = _last_decision(session)
            exclusions(session, after=self._decisions_seen, into=ctx.exclusions)
            ctx.identified = identified(session)
            refit = self._calibration_due(session, ctx)
        self._jobs_seen, self._decisions_seen = jobs_seen, decisions_seen
        if refit:
            self._recalibrate(ctx)
        elif changed.get("missing"):
            self._reference(ctx, sample)

    def _apply(
        self, ctx: Context, side: Side, data: SideData, fresh: SideData, ids: set[int]
    ) -> None:
        splice(data, fresh, ids)
        self.spliced += len(ids)
        if side == "remains":
            for record_id in ids:
                ctx.spreads.pop(record_id, None)
        for key, blocks in ctx.blocks.items():
            if blocks.side != side:
                continue
            faceless = key.endswith("faceless")
            for record_id in ids:
                if record_id in data.refs and (not faceless or record_id not in data.position):
                    blocks.add(record_id, data.facts[record_id])
                else:
                    blocks.remove(record_id)

    def _reference(self, ctx: Context, before: GallerySample | None) -> None:
        """The reports spreads are measured against, after reports changed: the ones the
        calibration drew, read again; every spread afresh only if their faces moved."""
        reference = ctx.calibration.reference
        if reference is not None:
            ctx.am.sample_of(reference)
        sample = ctx.am.sample()
        if (
            before is None
            or before.records != sample.records
            or len(before.vectors) != len(sample.vectors)
            or not (before.vectors == sample.vectors).all()
        ):
            ctx.spreads.clear()

    def _calibration_due(self, session: Session, ctx: Context) -> bool:
        if _calibration_id(session, ctx.model) != self._calibration_id:
            return True  # another process stored one (a rebuild)
        # Fitted from the reports: refitted once they changed by a tenth, as every run
        # does. None fitted yet (too few reports): tried again once they changed by a tenth.
        base = ctx.calibration.records if ctx.calibration.source == "reports" else self._fitted_at
        return abs(len(ctx.am.groups) - base) > RECALIBRATE * max(base, 1)

    def _recalibrate(self, ctx: Context) -> None:
        with self.app.db.read() as session:
            ctx.am._sample = None
            calibration, fitted = fit_calibration(session, ctx.am, ctx.model)
        if fitted is not None:
            with self.app.db.write() as session:
                keep_calibration(session, fitted, actor=self.actor)
        ctx.calibration = calibration
        if calibration.reference is not None:
            ctx.am.sample_of(calibration.reference)
        ctx.spreads.clear()
        self._fitted_at = len(ctx.am.groups)
        with self.app.db.read() as session:
            self._calibration_id = _calibration_id(session, ctx.model)


def _last_job(session: Session) -> int:
    return int(session.execute(select(func.max(Job.id))).scalar_one() or 0)


def _last_decision(session: Session) -> int:
    return int(session.execute(select(func.max(Decision.id))).scalar_one() or 0)


def _calibration_id(session: Session, model: tuple[str, str]) -> int | None:
    return session.execute(
        select(func.max(CalibrationRow.id)).where(
            CalibrationRow.model_name == model[0], CalibrationRow.model_version == model[1]
        )
    ).scalar_one()


def _changed(session: Session, seen: int) -> tuple[int, dict[Side, set[int]]]:
    """The newest job's id, and the records of the match jobs created after job ``seen``
    or still queued, by side."""
    last = _last_job(session)
    # Two queries, each read through an index (an OR of the two would read every job).
    created = select(Job.id, Job.subject).where(Job.id > seen, Job.id <= last)
    queued = select(Job.id, Job.subject).where(Job.status == "queued", Job.id <= last)
    rows = [
        *session.execute(created.where(Job.kind == MATCH)).all(),
        *session.execute(queued.where(Job.kind == MATCH)).all(),
    ]
    out: dict[Side, set[int]] = defaultdict(set)
    for _, side, record_id in parsed_subjects(rows):
        out[side].add(record_id)
    return last, dict(out)

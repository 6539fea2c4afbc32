"""What a matching run works with: the loaded registry and its calibration (the context),
the standing decisions, what each record's list holds, and the event a changed list writes;
shared by the queued run and the rebuild of every list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import (
    Candidate,
    Decision,
    Identification,
    MissingPerson,
    User,
)
from opendvi.errors import NotFound
from opendvi.infra.jobs import Side
from opendvi.matching.calibration import (
    CalibrationInUse,
    calibrate,
    calibration_in_use,
    fit_calibration,
    keep_calibration,
)
from opendvi.matching.gallery import SideData, load_side, spread_reference
from opendvi.matching.pairs import Context, total_order


def exclusions(
    session: Session,
    pair: tuple[int, int] | None = None,
    *,
    after: int = 0,
    into: dict[tuple[int, int], dict[str, Any]] | None = None,
) -> dict[tuple[int, int], dict[str, Any]]:
    """The standing decision on each pair (or on ``pair``, remains id and report id): an
    exclusion or a referral for primary identifiers (``kind``); a later reopen cancels
    either, and a later proposal of an identification an exclusion (it was proposed once
    the pair had resurfaced, so the exclusion no longer stands even if the evidence goes
    back to what it was). With ``into`` (the standing decisions up to decision ``after``),
    only the decisions since are read, and applied to it."""
    out: dict[tuple[int, int], dict[str, Any]] = {} if into is None else into
    query = (
        select(Decision, User.username)
        .join(User, Decision.user_id == User.id)
        .where(
            Decision.kind.in_(("exclude", "possible_match", "reopen", "propose_identification")),
            Decision.id > after,
        )
        .order_by(Decision.id)
    )
    if pair is not None:
        query = query.where(Decision.remains_id == pair[0], Decision.missing_person_id == pair[1])
    rows = session.execute(query).all()
    for decision, username in rows:
        pair = (decision.remains_id, decision.missing_person_id)
        if decision.kind == "reopen":
            out.pop(pair, None)
            continue
        if decision.kind == "propose_identification":
            if out.get(pair, {}).get("kind") == "exclude":
                del out[pair]
            continue
        out[pair] = {
            "kind": decision.kind,
            "decision_id": decision.id,
            "by": username,
            "on": decision.created_at.date().isoformat(),
            "reason": decision.reason,
            "evidence_digest": decision.evidence_digest,
        }
    return out


def identified(
    session: Session, pair: tuple[int, int] | None = None
) -> tuple[frozenset[int], frozenset[int]]:
    """The remains and the reports of the confirmed identifications (of those naming
    either record of ``pair``)."""
    query = select(Identification.remains_id, Identification.missing_person_id).where(
        Identification.status == "confirmed"
    )
    if pair is not None:
        query = query.where(
            (Identification.remains_id == pair[0]) | (Identification.missing_person_id == pair[1])
        )
    rows = session.execute(query).all()
    return frozenset(r[0] for r in rows), frozenset(r[1] for r in rows)


def _current_model(app: OpenDVI) -> tuple[str, str]:
    from opendvi.faces import model_identity

    return model_identity(app.settings)


def open_context(session: Session, app: OpenDVI, *, actor: str, recalibrate: bool) -> Context:
    """The registry loaded in ``session``, a calibration fitted there stored in it."""
    model = _current_model(app)
    am = load_side(session, "missing", model)
    calibration = calibrate(session, am, model, actor=actor, force=recalibrate)
    return _context(session, app, model, am, calibration)


def load_context(app: OpenDVI, *, actor: str, recalibrate: bool) -> Context:
    """The registry loaded, and the calibration fitted when it is due, in a read: no write
    waits on them; a newly fitted calibration is then stored in a short write of its own."""
    model = _current_model(app)
    with app.db.read() as session:
        am = load_side(session, "missing", model)
        calibration, fitted = fit_calibration(session, am, model, force=recalibrate)
        ctx = _context(session, app, model, am, calibration)
    if fitted is not None:
        with app.db.write() as session:
            keep_calibration(session, fitted, actor=actor)
    return ctx


def _context(
    session: Session,
    app: OpenDVI,
    model: tuple[str, str],
    am: SideData,
    calibration: CalibrationInUse,
) -> Context:
    pm = load_side(session, "remains", model)
    if calibration.reference is not None:
        am.sample_of(calibration.reference)  # the reports drawn when it was fitted
    return Context(
        am=am,
        pm=pm,
        calibration=calibration,
        model=model,
        max_rate=app.settings.candidate_max_rate,
        keep=app.settings.candidates_per_record,
        exclusions=exclusions(session),
        identified=identified(session),
    )


def pair_context(session: Session, app: OpenDVI, pm_id: int, am_id: int) -> Context:
    """What scoring one pair needs, and no more: its two records, the calibration in use
    as stored (a matching run fits it; none is fitted here), the number of reports, the
    faces of the reports a spread is measured against when the calibration reads scores
    that way, and the standing decision on the pair. Its cost does not grow with the
    registry's faces."""
    model = _current_model(app)
    am = load_side(session, "missing", model, ids=[am_id])
    pm = load_side(session, "remains", model, ids=[pm_id])
    for side, record_id, what in ((am, am_id, "report"), (pm, pm_id, "remains record")):
        if record_id not in side.refs:
            raise NotFound(f"the {what} was withdrawn and is matched no more")
    calibration = calibration_in_use(session, model)
    reference = None
    if calibration.calibration is not None and calibration.calibration.spread:
        reference = spread_reference(session, model, calibration.reference)
    reports = session.execute(
        select(func.count()).select_from(MissingPerson).where(MissingPerson.status != "withdrawn")
    ).scalar_one()
    return Context(
        am=am,
        pm=pm,
        calibration=calibration,
        model=model,
        max_rate=app.settings.candidate_max_rate,
        keep=app.settings.candidates_per_record,
        exclusions=exclusions(session, (pm_id, am_id)),
        identified=identified(session, (pm_id, am_id)),
        reports=int(reports),
        reference=reference,
    )


@dataclass
class MatchReport:
    records: int = 0  # records whose lists were computed
    remains: int = 0  # of them, remains records
    calibration: str = ""
    no_candidate: list[str] = field(default_factory=list)  # remains refs with none credible


def _summary(
    ctx: Context, side: Side, record_id: int, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    listed = sorted((r for r in rows if r["status"] != "excluded"), key=total_order, reverse=True)
    other = ctx.pm if side == "missing" else ctx.am
    top = listed[0] if listed else None
    top_id = None
    if top is not None:
        top_id = top["remains_id"] if side == "missing" else top["missing_person_id"]
    return {
        "candidates": len(listed),
        "credible": sum(r["credible"] for r in listed),
        "top": other.refs.get(top_id, "") if top_id is not None else "",
        "top_rate": top["false_candidate_rate"] if top else None,
    }


def listing_of(rows: Iterable[Any]) -> list[list[Any]]:
    return sorted([r[0], round(float(r[1]), 3), r[2]] for r in rows)


def listings(session: Session, side: Side, ids: Iterable[int] | None) -> dict[int, list[list[Any]]]:
    """What each record's list holds now: (evidence digest, score, status) per pair."""
    column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    rank = Candidate.rank_for_missing if side == "missing" else Candidate.rank_for_remains
    query = select(column, Candidate.evidence_digest, Candidate.score, Candidate.status).where(
        rank.is_not(None) | (Candidate.status == "excluded")
    )
    if ids is not None:
        query = query.where(column.in_(list(ids)))
    grouped: dict[int, list[Any]] = {}
    for record_id, *rest in session.execute(query):
        grouped.setdefault(record_id, []).append(rest)
    return {k: listing_of(v) for k, v in grouped.items()}


def record_event(
    session: Session,
    ctx: Context,
    side: Side,
    record_id: int,
    rows: list[dict[str, Any]],
    actor: str,
    before: list[list[Any]],
) -> dict[str, Any]:
    summary = _summary(ctx, side, record_id, rows)
    after = listing_of((r["evidence_digest"], r["score"], r["status"]) for r in rows)
    if after == before:
        return summary  # the same list as before: nothing changed, nothing to record
    mine = ctx.am if side == "missing" else ctx.pm
    audit.record(
        session,
        actor=actor,
        action="candidates.computed",
        about=("missing_person" if side == "missing" else "remains", record_id),
        ref=mine.refs[record_id],
        before={"list": before} if before else None,
        after={"list": after},
        details={**summary, "model": f"{ctx.model[0]} {ctx.model[1]}"},
    )
    return summary

"""Candidate matching: every remains record against the missing-person reports (PM→AM) and
every report against the remains (AM→PM), by face and description, calibrated to a
false-candidate rate.

For one record, the faces of the other side are searched through a ``VectorIndex`` (the
best face pairs pick the records worth comparing in full); each of those, and every record
of the other side without a usable face, is then scored in full: face evidence fused over
all usable faces (``core.scoring``) plus every descriptive factor (``core.evidence``). A
record keeps the best ``candidates_per_record`` by total score and, so that description
never hides a strong face, the best as many by face alone. Each pair is stored once with
its rank in both directions.

A pair is *credible* when the estimated chance that a search of this many reports shows a
stranger scoring this high is at most ``candidate_max_rate``; the others are kept "below
threshold". Pairs a reviewer excluded stay excluded while their evidence is the same, and
come back flagged as *resurfaced* when it changes.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, selectinload

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.evidence import AMFacts, PMFacts, compare
from opendvi.core.scoring import (
    Calibration,
    FaceEvidence,
    FaceSet,
    fuse,
    fuse_many,
    in_words,
    points_rate,
    search_rate,
)
from opendvi.db.tables import Calibration as CalibrationRow
from opendvi.db.tables import (
    Candidate,
    Decision,
    Face,
    MissingPerson,
    Photo,
    Remains,
    User,
    utcnow,
)
from opendvi.errors import InputError, NotFound, Refused
from opendvi.index import ExactIndex
from opendvi.jobs import Side, finish, pending_matches

__all__ = [
    "Explanation",
    "MatchReport",
    "calibrate",
    "exclude",
    "explain",
    "impostor_scores",
    "load_side",
    "run_matching",
]

PRESELECT = 100  # records per search compared in full, chosen by their best face pair
BATCH = 64  # records matched per transaction
CALIBRATION_PAIRS = 20_000_000  # most impostor pairs scored when calibrating
RECALIBRATE = 0.1  # recalibrate when the number of reports with faces moved by this share
DEFAULT_QUALITY = 0.5

Progress = Callable[[int, int], None]


# -- what is loaded for one side -------------------------------------------------------------


@dataclass
class SideData:
    """The records of one side: their facts, digests and usable faces, grouped by record."""

    side: Side
    refs: dict[int, str]
    facts: dict[int, AMFacts | PMFacts]
    digests: dict[int, str]
    groups: np.ndarray  # record id of each face group, in row order
    starts: np.ndarray  # first face row of each group
    ends: np.ndarray
    vectors: np.ndarray
    quality: np.ndarray
    face_ids: np.ndarray
    owner: np.ndarray  # group position of each face row
    position: dict[int, int]
    index: ExactIndex | None
    faceless: list[int] = field(default_factory=list)

    def faces(self, record_id: int) -> FaceSet:
        where = self.position.get(record_id)
        if where is None:
            return FaceSet((), np.empty((0, 1), np.float32), np.empty(0, np.float32))
        rows = slice(int(self.starts[where]), int(self.ends[where]))
        return FaceSet(
            [int(i) for i in self.face_ids[rows]], self.vectors[rows], self.quality[rows]
        )


def _am_facts(record: MissingPerson) -> AMFacts:
    return AMFacts(
        sex=record.sex or "U",
        birth=(record.birth_earliest, record.birth_latest)
        if record.birth_earliest and record.birth_latest
        else None,
        height=(record.height_min_cm, record.height_max_cm)
        if record.height_min_cm is not None or record.height_max_cm is not None
        else None,
        last_seen=(record.last_seen_earliest, record.last_seen_latest)
        if record.last_seen_earliest and record.last_seen_latest
        else None,
        place=(record.last_seen_lat, record.last_seen_lon)
        if record.last_seen_lat is not None and record.last_seen_lon is not None
        else None,
        marks=tuple((m.body_location, m.description) for m in record.marks),
        effects=tuple(e.description for e in record.effects),
    )


def _pm_facts(record: Remains) -> PMFacts:
    return PMFacts(
        sex=record.sex or "U",
        age=(record.age_min, record.age_max)
        if record.age_min is not None or record.age_max is not None
        else None,
        height=(record.height_min_cm, record.height_max_cm)
        if record.height_min_cm is not None or record.height_max_cm is not None
        else None,
        found=(record.found_earliest, record.found_latest)
        if record.found_earliest and record.found_latest
        else None,
        place=(record.found_lat, record.found_lon)
        if record.found_lat is not None and record.found_lon is not None
        else None,
        marks=tuple((m.body_location, m.description) for m in record.marks),
        effects=tuple(e.description for e in record.effects),
    )


def load_side(session: Session, side: Side, model: tuple[str, str]) -> SideData:
    kind = MissingPerson if side == "missing" else Remains
    owner_column = Photo.missing_person_id if side == "missing" else Photo.remains_id
    records = (
        session.execute(select(kind).options(selectinload(kind.marks), selectinload(kind.effects)))
        .scalars()
        .all()
    )
    refs = {r.id: r.ref for r in records}
    facts: dict[int, AMFacts | PMFacts] = {
        r.id: _am_facts(r) if isinstance(r, MissingPerson) else _pm_facts(r)  # type: ignore[arg-type]
        for r in records
    }
    rows = session.execute(
        select(owner_column, Face.id, Face.embedding, Face.quality)
        .join(Photo, Face.photo_id == Photo.id)
        .where(
            owner_column.is_not(None),
            Photo.withdrawn_at.is_(None),
            Face.usable,
            Face.is_subject,
            Face.embedding.is_not(None),
            Face.model_name == model[0],
            Face.model_version == model[1],
        )
        .order_by(owner_column, Face.id)
    ).all()
    owners = np.array([r[0] for r in rows], dtype=np.int64)
    face_ids = np.array([r[1] for r in rows], dtype=np.int64)
    vectors = (
        np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
        if rows
        else np.empty((0, 1), np.float32)
    )
    quality = np.array(
        [r[3] if r[3] is not None else DEFAULT_QUALITY for r in rows], dtype=np.float32
    )
    if len(owners):
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]).astype(np.int64)
    else:
        starts = np.empty(0, dtype=np.int64)
    groups = owners[starts] if len(owners) else np.empty(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(owners)].astype(np.int64)
    owner = np.repeat(np.arange(len(starts)), ends - starts)
    position = {int(g): i for i, g in enumerate(groups)}
    index = None
    if len(vectors):
        index = ExactIndex(vectors.shape[1])
        index.add(np.arange(len(vectors)), vectors)
    faceless = [r.id for r in records if r.id not in position]
    digests = {}
    for record_id in refs:
        where = position.get(record_id)
        faces = [] if where is None else face_ids[starts[where] : ends[where]].tolist()
        body = {"facts": facts[record_id], "faces": faces, "model": list(model)}
        digests[record_id] = hashlib.sha256(audit.canonical_json(body).encode()).hexdigest()
    return SideData(
        side=side,
        refs=refs,
        facts=facts,
        digests=digests,
        groups=groups,
        starts=starts,
        ends=ends,
        vectors=vectors,
        quality=quality,
        face_ids=face_ids,
        owner=owner,
        position=position,
        index=index,
        faceless=faceless,
    )


# -- calibration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationInUse:
    calibration: Calibration | None
    source: str  # "reports", "built-in", or "" when none
    records: int

    def describe(self) -> str:
        if self.calibration is None:
            return "not calibrated: too few reports with faces to estimate rates"
        where = (
            f"{self.calibration.pairs:,} pairs of different reports"
            if self.source == "reports"
            else "the built-in estimate for this model (too few reports here yet)"
        )
        return f"calibrated on {where}"


def impostor_scores(am: SideData, *, seed: int = 0) -> np.ndarray:
    """Fused scores of pairs known to be different people: one face of a report (as a
    remains record with one photo would have) against each other report."""
    count = len(am.groups)
    if count < 2:
        return np.empty(0)
    probes = min(count, max(1, CALIBRATION_PAIRS // max(1, len(am.vectors))))
    chosen = sorted(random.Random(seed).sample(range(count), probes))
    out = []
    for where in chosen:
        rows = range(int(am.starts[where]), int(am.ends[where]))
        row = max(rows, key=lambda r: float(am.quality[r]))
        probe = FaceSet(
            [int(am.face_ids[row])], am.vectors[row : row + 1], am.quality[row : row + 1]
        )
        fused, _ = fuse_many(probe, am.vectors, am.quality, am.starts)
        out.append(np.delete(fused, where))
    return np.concatenate(out)


def _stored_calibration(session: Session, model: tuple[str, str]) -> CalibrationRow | None:
    return session.execute(
        select(CalibrationRow)
        .where(CalibrationRow.model_name == model[0], CalibrationRow.model_version == model[1])
        .order_by(CalibrationRow.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def calibrate(
    session: Session, am: SideData, model: tuple[str, str], *, actor: str, force: bool = False
) -> CalibrationInUse:
    """The calibration to use for ``model``: refitted from this database's reports when
    there is none yet, when ``force``, or when the reports with faces changed by a tenth."""
    from opendvi.faces.priors import prior_for

    records = len(am.groups)
    stored = _stored_calibration(session, model)
    fresh_enough = (
        stored is not None
        and stored.source == "reports"
        and abs(records - stored.records) <= RECALIBRATE * max(stored.records, 1)
    )
    if stored is not None and fresh_enough and not force:
        return CalibrationInUse(Calibration.from_json(stored.params), "reports", stored.records)
    scores = impostor_scores(am)
    try:
        fitted: Calibration | None = Calibration.fit(scores)
        source = "reports"
    except ValueError:
        fitted, source = prior_for(*model), "built-in"
    if fitted is None:
        return CalibrationInUse(None, "", records)
    if source == "built-in":
        return CalibrationInUse(fitted, source, records)  # part of the program, not data
    if stored is None or stored.params != fitted.to_json() or stored.records != records:
        row = CalibrationRow(
            model_name=model[0],
            model_version=model[1],
            source=source,
            records=records,
            pairs=fitted.pairs,
            params=fitted.to_json(),
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="calibration.computed",
            entity_type="calibration",
            entity_id=row.id,
            entity_ref=f"{model[0]} {model[1]}",
            after=fitted.to_json(),
            details={"source": source, "reports": records, "pairs": fitted.pairs},
        )
    return CalibrationInUse(fitted, source, records)


# -- scoring one pair --------------------------------------------------------------------------


@dataclass
class Context:
    am: SideData
    pm: SideData
    calibration: CalibrationInUse
    model: tuple[str, str]
    max_rate: float
    keep: int
    exclusions: dict[tuple[int, int], dict[str, Any]]

    @property
    def gallery(self) -> int:
        return max(1, len(self.am.refs))


def _face_factor(ctx: Context, evidence: FaceEvidence | None) -> dict[str, Any]:
    if evidence is None:
        return {"points": 0.0, "why": "no usable face on one side"}
    calibration = ctx.calibration.calibration
    factor: dict[str, Any] = {
        "score": round(evidence.score, 4),
        "best_pair": round(evidence.best, 4),
        "weighted": round(evidence.weighted, 4),
        "pair": list(evidence.pair),  # (AM face id, PM face id)
        "pairs": evidence.pairs,
    }
    if calibration is None:
        factor.update(points=0.0, why=f"face score {evidence.score:.3f} (not calibrated)")
        return factor
    pair_rate = calibration.pair_rate(evidence.score)
    rate = search_rate(pair_rate, ctx.gallery)
    factor.update(
        points=round(-math.log(pair_rate) - 1.0, 3),  # as Calibration.points
        rate=rate,
        why=f"face score {evidence.score:.3f}: {in_words(rate, ctx.gallery)}",
    )
    return factor


def score_pair(ctx: Context, am_id: int, pm_id: int) -> dict[str, Any]:
    """Every factor of one pair, the total, the false-candidate rate and whether credible."""
    am_faces, pm_faces = ctx.am.faces(am_id), ctx.pm.faces(pm_id)
    return _row(ctx, am_id, pm_id, fuse(am_faces, pm_faces))


def _row(ctx: Context, am_id: int, pm_id: int, evidence: FaceEvidence | None) -> dict[str, Any]:
    factors: dict[str, Any] = {"face": _face_factor(ctx, evidence)}
    am_facts, pm_facts = ctx.am.facts[am_id], ctx.pm.facts[pm_id]
    assert isinstance(am_facts, AMFacts) and isinstance(pm_facts, PMFacts)
    for factor in compare(am_facts, pm_facts):
        entry: dict[str, Any] = {"points": round(factor.points, 3), "why": factor.why}
        if factor.flags:
            entry["flags"] = list(factor.flags)
        factors[factor.name] = entry
    total = round(sum(f["points"] for f in factors.values()), 3)
    calibrated = ctx.calibration.calibration is not None
    rate = search_rate(points_rate(total), ctx.gallery) if calibrated else None
    digest = hashlib.sha256((ctx.am.digests[am_id] + ctx.pm.digests[pm_id]).encode()).hexdigest()
    status = "open"
    exclusion = ctx.exclusions.get((pm_id, am_id))
    if exclusion is not None:
        status = "excluded" if exclusion["evidence_digest"] == digest else "resurfaced"
        factors["exclusion"] = {k: v for k, v in exclusion.items() if k != "evidence_digest"}
    return {
        "remains_id": pm_id,
        "missing_person_id": am_id,
        "score": total,
        "face_score": evidence.score if evidence else None,
        "false_candidate_rate": rate,
        "credible": bool(calibrated and rate is not None and rate <= ctx.max_rate),
        "factors": factors,
        "model_name": ctx.model[0],
        "model_version": ctx.model[1],
        "evidence_digest": digest,
        "status": status,
    }


def _face_of(row: dict[str, Any]) -> float:
    score = row["face_score"]
    return float(score) if score is not None else float("-inf")


def _order(row: dict[str, Any]) -> tuple[float, float]:
    return (float(row["score"]), _face_of(row))


def _search(ctx: Context, side: Side, record_id: int) -> list[dict[str, Any]]:
    """Every pair worth scoring for one record, scored in full."""
    mine, other = (ctx.am, ctx.pm) if side == "missing" else (ctx.pm, ctx.am)
    probe = mine.faces(record_id)
    chosen: dict[int, FaceEvidence | None] = {}
    if len(probe) and other.index is not None:
        k = min(len(other.vectors), PRESELECT * 4)
        best: dict[int, float] = {}
        for vector in probe.vectors:
            hits = other.index.search(vector, k)
            for row, score in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
                group = int(other.owner[row])
                if score > best.get(group, -2.0):
                    best[group] = score
        for group in sorted(best, key=best.__getitem__, reverse=True)[:PRESELECT]:
            other_id = int(other.groups[group])
            chosen[other_id] = fuse(probe, other.faces(other_id))
    for other_id in other.refs if not len(probe) else other.faceless:
        chosen.setdefault(other_id, None)
    rows = []
    for other_id, evidence in chosen.items():
        am_id, pm_id = (record_id, other_id) if side == "missing" else (other_id, record_id)
        if evidence is not None and side == "remains":
            # Keep the pair as (AM face, PM face) whichever side searched.
            evidence = FaceEvidence(
                evidence.score,
                evidence.best,
                evidence.weighted,
                (evidence.pair[1], evidence.pair[0]),
                evidence.pairs,
            )
        rows.append(_row(ctx, am_id, pm_id, evidence))
    return rows


def _select(rows: list[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
    """The best ``keep`` by total, and the best ``keep`` by face alone."""
    by_total = sorted(rows, key=_order, reverse=True)[:keep]
    by_face = sorted((r for r in rows if r["face_score"] is not None), key=_face_of, reverse=True)[
        :keep
    ]
    seen: dict[tuple[int, int], dict[str, Any]] = {}
    for row in by_total + by_face:
        seen[(row["remains_id"], row["missing_person_id"])] = row
    return list(seen.values())


# -- storing ---------------------------------------------------------------------------------


def _upsert(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if not rows:
        return
    remains_ids = {r["remains_id"] for r in rows}
    missing_ids = {r["missing_person_id"] for r in rows}
    existing = {
        (pm, am): (cid, rank_pm, rank_am)
        for cid, pm, am, rank_pm, rank_am in session.execute(
            select(
                Candidate.id,
                Candidate.remains_id,
                Candidate.missing_person_id,
                Candidate.rank_for_remains,
                Candidate.rank_for_missing,
            ).where(
                Candidate.remains_id.in_(remains_ids),
                Candidate.missing_person_id.in_(missing_ids),
            )
        )
    }
    inserts, updates = [], []
    for row in rows:
        found = existing.get((row["remains_id"], row["missing_person_id"]))
        if found is None:
            inserts.append({**row, "computed_at": utcnow()})
            continue
        cid, rank_pm, rank_am = found
        change = {**row, "id": cid, "computed_at": utcnow()}
        # Listed for the other record already: keep it listed.
        if change["rank_for_remains"] is None:
            change["rank_for_remains"] = rank_pm
        if change["rank_for_missing"] is None:
            change["rank_for_missing"] = rank_am
        updates.append(change)
    if inserts:
        session.execute(insert(Candidate), inserts)
    if updates:
        session.execute(update(Candidate), updates)


def _rank(
    session: Session, remains_ids: Iterable[int], missing_ids: Iterable[int], keep: int
) -> None:
    """Number each record's list 1, 2, … by total score; a list longer than ``keep`` by total
    and ``keep`` by face (a new pair pushed in) drops its last; pairs then listed for neither
    record are deleted, unless a reviewer excluded them."""
    columns = (
        Candidate.id,
        Candidate.remains_id,
        Candidate.missing_person_id,
        Candidate.score,
        Candidate.face_score,
        Candidate.status,
        Candidate.rank_for_remains,
        Candidate.rank_for_missing,
    )
    for side, ids in (("remains", set(remains_ids)), ("missing", set(missing_ids))):
        column = Candidate.remains_id if side == "remains" else Candidate.missing_person_id
        mine, theirs = (6, 7) if side == "remains" else (7, 6)
        for chunk in _chunks(sorted(ids), 500):
            grouped: dict[int, list[list[Any]]] = {}
            for row in session.execute(select(*columns).where(column.in_(chunk))):
                grouped.setdefault(row[1] if side == "remains" else row[2], []).append(list(row))
            changes, gone = [], []
            for group in grouped.values():
                listed = [r for r in group if r[5] != "excluded" and r[mine] is not None]
                listed.sort(
                    key=lambda r: (r[3], r[4] if r[4] is not None else -np.inf), reverse=True
                )
                by_face = sorted(
                    (r for r in listed if r[4] is not None), key=lambda r: r[4], reverse=True
                )
                kept = {r[0] for r in listed[:keep]} | {r[0] for r in by_face[:keep]}
                rank = 0
                new: dict[int, int | None] = {}
                for r in listed:
                    if r[0] in kept:
                        rank += 1
                        new[r[0]] = rank
                    else:
                        new[r[0]] = None
                for r in group:
                    value = None if r[5] == "excluded" else new.get(r[0], r[mine])
                    if value is None and r[theirs] is None and r[5] != "excluded":
                        gone.append(r[0])
                    elif value != r[mine]:
                        changes.append({"id": r[0], f"rank_for_{side}": value})
            if changes:
                session.execute(update(Candidate), changes)
            if gone:
                session.execute(delete(Candidate).where(Candidate.id.in_(gone)))


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _exclusions(session: Session) -> dict[tuple[int, int], dict[str, Any]]:
    """The standing exclusion of each pair (a later reopen cancels it)."""
    out: dict[tuple[int, int], dict[str, Any]] = {}
    rows = session.execute(
        select(Decision, User.username)
        .join(User, Decision.user_id == User.id)
        .where(Decision.kind.in_(("exclude", "reopen")))
        .order_by(Decision.id)
    ).all()
    for decision, username in rows:
        pair = (decision.remains_id, decision.missing_person_id)
        if decision.kind == "reopen":
            out.pop(pair, None)
            continue
        out[pair] = {
            "decision_id": decision.id,
            "by": username,
            "on": decision.created_at.date().isoformat(),
            "reason": decision.reason,
            "evidence_digest": decision.evidence_digest,
        }
    return out


def _current_model(app: OpenDVI) -> tuple[str, str]:
    from opendvi.faces import model_identity

    return model_identity(app.settings)


def _context(session: Session, app: OpenDVI, *, actor: str, recalibrate: bool) -> Context:
    model = _current_model(app)
    am = load_side(session, "missing", model)
    pm = load_side(session, "remains", model)
    calibration = calibrate(session, am, model, actor=actor, force=recalibrate)
    return Context(
        am=am,
        pm=pm,
        calibration=calibration,
        model=model,
        max_rate=app.settings.candidate_max_rate,
        keep=app.settings.candidates_per_record,
        exclusions=_exclusions(session),
    )


# -- the use-case ----------------------------------------------------------------------------


@dataclass
class MatchReport:
    records: int = 0  # records whose lists were computed
    remains: int = 0  # of them, remains records
    calibration: str = ""
    no_candidate: list[str] = field(default_factory=list)  # remains refs with none credible


def _summary(ctx: Context, side: Side, record_id: int, rows: list[dict[str, Any]]) -> dict:
    listed = sorted((r for r in rows if r["status"] != "excluded"), key=_order, reverse=True)
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


def _listing_of(rows: Iterable[Any]) -> list[list[Any]]:
    return sorted([r[0], round(float(r[1]), 3), r[2]] for r in rows)


def _listings(session: Session, side: Side, ids: Iterable[int] | None) -> dict[int, list]:
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
    return {k: _listing_of(v) for k, v in grouped.items()}


def _record_event(
    session: Session,
    ctx: Context,
    side: Side,
    record_id: int,
    rows: list[dict],
    actor: str,
    before: list[list[Any]],
) -> dict:
    summary = _summary(ctx, side, record_id, rows)
    after = _listing_of((r["evidence_digest"], r["score"], r["status"]) for r in rows)
    if after == before:
        return summary  # the same list as before: nothing changed, nothing to record
    mine = ctx.am if side == "missing" else ctx.pm
    audit.record(
        session,
        actor=actor,
        action="candidates.computed",
        entity_type="missing_person" if side == "missing" else "remains",
        entity_id=record_id,
        entity_ref=mine.refs[record_id],
        before={"list": before} if before else None,
        after={"list": after},
        details={**summary, "model": f"{ctx.model[0]} {ctx.model[1]}"},
    )
    return summary


def run_matching(
    app: OpenDVI,
    *,
    actor: str,
    everything: bool = False,
    progress: Progress | None = None,
) -> MatchReport:
    """Match the records whose jobs are queued, or every record with ``everything``."""
    with app.db.read() as session:
        jobs = pending_matches(session)
    report = MatchReport()
    if not jobs and not everything:
        return report
    with app.db.write() as session:
        ctx = _context(session, app, actor=actor, recalibrate=everything)
    report.calibration = ctx.calibration.describe()
    if everything:
        work: list[tuple[Side, int]] = [("remains", i) for i in ctx.pm.refs] + [
            ("missing", i) for i in ctx.am.refs
        ]
        with app.db.write() as session:
            previous = {
                "missing": _listings(session, "missing", None),
                "remains": _listings(session, "remains", None),
            }
            session.execute(delete(Candidate))
    else:
        seen: dict[tuple[Side, int], None] = {}
        for _, side, record_id in jobs:
            mine = ctx.am if side == "missing" else ctx.pm
            if record_id in mine.refs:
                seen[(side, record_id)] = None
        work = list(seen)
    job_ids = [job_id for job_id, _, _ in jobs]
    total = len(work)
    done = 0
    for start in range(0, total, BATCH):
        batch = work[start : start + BATCH]
        with app.db.write() as session:
            for side, record_id in batch:
                rows = _search(ctx, side, record_id)
                mine = _select(rows, ctx.keep)
                own_rank, other_rank = (
                    ("rank_for_missing", "rank_for_remains")
                    if side == "missing"
                    else ("rank_for_remains", "rank_for_missing")
                )
                # A rank of 0 marks "listed for this record"; _rank numbers them.
                for row in rows:
                    row[own_rank] = row[other_rank] = None
                for row in mine:
                    row[own_rank] = 0
                touched_pm: set[int] = set()
                touched_am: set[int] = set()
                if everything:
                    stored = mine
                    before = previous[side].get(record_id, [])
                else:
                    before = _listings(session, side, [record_id]).get(record_id, [])
                    touched_pm = _touched(session, side, record_id, "pm")
                    touched_am = _touched(session, side, record_id, "am")
                    for row in _entering(session, ctx, side, record_id, rows):
                        row[other_rank] = 0
                    stored = [r for r in rows if r[own_rank] == 0 or r[other_rank] == 0]
                    _clear(session, side, record_id)
                _upsert(session, stored)
                if not everything:
                    _rank(
                        session,
                        {r["remains_id"] for r in stored} | touched_pm,
                        {r["missing_person_id"] for r in stored} | touched_am,
                        ctx.keep,
                    )
                summary = _record_event(session, ctx, side, record_id, mine, actor, before)
                report.records += 1
                if side == "remains":
                    report.remains += 1
                    if summary["credible"] == 0:
                        report.no_candidate.append(ctx.pm.refs[record_id])
            if start + BATCH >= total:
                finish(session, job_ids)
        done += len(batch)
        if progress:
            progress(done, total)
    if everything:
        with app.db.write() as session:
            _rank(session, ctx.pm.refs, ctx.am.refs, ctx.keep)
    if not work:
        with app.db.write() as session:
            finish(session, job_ids)
    return report


def _clear(session: Session, side: Side, record_id: int) -> None:
    column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    session.execute(delete(Candidate).where(column == record_id))


def _touched(session: Session, side: Side, record_id: int, want: str) -> set[int]:
    """Records on the other side that list this one (their ranks move with it)."""
    if (side == "missing") == (want == "am"):
        return {record_id}
    column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    target = Candidate.remains_id if want == "pm" else Candidate.missing_person_id
    return set(session.execute(select(target).where(column == record_id)).scalars())


def _entering(
    session: Session, ctx: Context, side: Side, record_id: int, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Pairs that belong in the other record's list: they beat its last by total or by face."""
    other_key = "remains_id" if side == "missing" else "missing_person_id"
    own_column = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    other_column = Candidate.remains_id if side == "missing" else Candidate.missing_person_id
    other_rank = Candidate.rank_for_remains if side == "missing" else Candidate.rank_for_missing
    out = []
    for row in rows:
        listed = session.execute(
            select(Candidate.score, Candidate.face_score).where(
                other_column == row[other_key], own_column != record_id, other_rank.is_not(None)
            )
        ).all()
        totals = sorted((s for s, _ in listed), reverse=True)
        faces = sorted((f for _, f in listed if f is not None), reverse=True)
        beats_total = len(totals) < ctx.keep or row["score"] > totals[ctx.keep - 1]
        beats_face = row["face_score"] is not None and (
            len(faces) < ctx.keep or row["face_score"] > faces[ctx.keep - 1]
        )
        if beats_total or beats_face:
            out.append(row)
    return out


# -- explanation -----------------------------------------------------------------------------


@dataclass
class Explanation:
    pm_ref: str
    am_ref: str
    score: float
    face_score: float | None
    rate: float | None
    credible: bool
    status: str
    factors: dict[str, Any]
    model: tuple[str, str]
    calibration: str
    gallery: int
    max_rate: float
    stored: bool
    rank_for_remains: int | None
    rank_for_missing: int | None

    def verdict(self) -> str:
        if self.status == "excluded":
            return "excluded by a reviewer on this same evidence"
        if self.rate is None:
            return "not calibrated: review by score"
        words = in_words(self.rate, self.gallery)
        if self.credible:
            return f"candidate: {words}"
        return (
            f"below threshold ({words}; the line is 1 in {1 / self.max_rate:,.0f}, "
            "setting OPENDVI_CANDIDATE_MAX_RATE)"
        )


def _resolve(session: Session, pm_ref: str, am_ref: str) -> tuple[Remains, MissingPerson]:
    remains = session.execute(select(Remains).where(Remains.ref == pm_ref)).scalar_one_or_none()
    if remains is None:
        raise NotFound(
            f"there is no remains record {pm_ref!r}; `opendvi export unidentified` lists them"
        )
    report = session.execute(
        select(MissingPerson).where(MissingPerson.ref == am_ref)
    ).scalar_one_or_none()
    if report is None:
        raise NotFound(
            f"there is no missing-person report {am_ref!r}; `opendvi export missing` lists them"
        )
    return remains, report


def explain(app: OpenDVI, pm_ref: str, am_ref: str, *, actor: str = "explain") -> Explanation:
    """Every factor of one pair, scored now, with what is stored for it."""
    with app.db.write() as session:
        remains, report = _resolve(session, pm_ref, am_ref)
        ctx = _context(session, app, actor=actor, recalibrate=False)
        row = score_pair(ctx, report.id, remains.id)
        stored = session.execute(
            select(Candidate).where(
                Candidate.remains_id == remains.id, Candidate.missing_person_id == report.id
            )
        ).scalar_one_or_none()
    return Explanation(
        pm_ref=pm_ref,
        am_ref=am_ref,
        score=row["score"],
        face_score=row["face_score"],
        rate=row["false_candidate_rate"],
        credible=row["credible"],
        status=row["status"],
        factors=row["factors"],
        model=ctx.model,
        calibration=ctx.calibration.describe(),
        gallery=ctx.gallery,
        max_rate=ctx.max_rate,
        stored=stored is not None,
        rank_for_remains=stored.rank_for_remains if stored else None,
        rank_for_missing=stored.rank_for_missing if stored else None,
    )


# -- exclusion -------------------------------------------------------------------------------

REVIEW_ROLES = ("admin", "reviewer", "forensic")


def exclude(app: OpenDVI, pm_ref: str, am_ref: str, *, reason: str, username: str) -> int:
    """Record a reviewer's exclusion of a pair, on the evidence as it stands now. The pair
    leaves both lists; it comes back, flagged, when that evidence changes."""
    if not reason.strip():
        raise InputError(
            "reason: say why the pair is excluded (e.g. 'dental records differ')", field="reason"
        )
    with app.db.write() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.active:
            raise NotFound(f"there is no active user {username!r}; `opendvi users add` adds one")
        if user.role not in REVIEW_ROLES:
            raise Refused(
                f"{username} is a {user.role}; only a reviewer, forensic specialist or admin "
                "may exclude a candidate"
            )
        remains, report = _resolve(session, pm_ref, am_ref)
        ctx = _context(session, app, actor=username, recalibrate=False)
        row = score_pair(ctx, report.id, remains.id)
        decision = Decision(
            remains_id=remains.id,
            missing_person_id=report.id,
            kind="exclude",
            reason=reason.strip(),
            evidence_digest=row["evidence_digest"],
            user_id=user.id,
        )
        session.add(decision)
        session.flush()
        candidate = session.execute(
            select(Candidate).where(
                Candidate.remains_id == remains.id, Candidate.missing_person_id == report.id
            )
        ).scalar_one_or_none()
        if candidate is not None:
            candidate.status = "excluded"
            candidate.factors = {
                **candidate.factors,
                "exclusion": {
                    "decision_id": decision.id,
                    "by": username,
                    "on": decision.created_at.date().isoformat(),
                    "reason": decision.reason,
                },
            }
            _rank(session, {remains.id}, {report.id}, app.settings.candidates_per_record)
        audit.record(
            session,
            actor=username,
            action="candidate.excluded",
            entity_type="decision",
            entity_id=decision.id,
            entity_ref=f"{pm_ref} / {am_ref}",
            after={
                "kind": "exclude",
                "reason": decision.reason,
                "evidence": row["evidence_digest"],
            },
            details={"remains": pm_ref, "missing_person": am_ref},
        )
        return decision.id

"""Scoring pairs: the face factor and every descriptive factor of one pair, and the
pairs worth scoring in full for one record."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opendvi.core.evidence import AMFacts, PMFacts, compare, effects_factor, marks_factor
from opendvi.core.odds import face_why
from opendvi.core.scoring import (
    FaceEvidence,
    Spread,
    fuse,
    fuse_groups,
    points_rate,
    search_rate,
    spreads_of,
)
from opendvi.infra.jobs import Side
from opendvi.matching.blocking import (
    DescriptionBlocks,
    EntryBars,
    measured_points,
    row_of,
    shortlist,
)
from opendvi.matching.calibration import CalibrationInUse
from opendvi.matching.gallery import PRESELECT, GallerySample, SideData


@dataclass
class Context:
    am: SideData
    pm: SideData
    calibration: CalibrationInUse
    model: tuple[str, str]
    max_rate: float
    keep: int
    exclusions: dict[tuple[int, int], dict[str, Any]]
    spreads: dict[int, Spread] = field(default_factory=dict)
    # Each side's facts as columns (all records; those without a face), built on first use.
    blocks: dict[str, DescriptionBlocks] = field(default_factory=dict)
    # Records of a confirmed identification (remains ids, report ids): their pairs are
    # stored out of the review queue.
    identified: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())
    # A context of one pair (``context.pair_context``) loads just its two records: the
    # registry's number of reports and the reports a spread is measured against are given.
    reports: int | None = None
    reference: GallerySample | None = None

    @property
    def gallery(self) -> int:
        return max(1, len(self.am.refs) if self.reports is None else self.reports)

    def spread(self, pm_id: int, am_id: int, score: float) -> tuple[float, float]:
        """The mean and standard deviation of the remains record's face scores against the
        reports (a fixed sample of them in a large registry), leaving out the report of the
        pair being judged; the sums are computed once per run."""
        sample = self._sample()
        if pm_id not in self.spreads:
            self.measure_spreads([pm_id])
        return self.spreads[pm_id].without(score if am_id in sample.records else None)

    def _sample(self) -> GallerySample:
        return self.reference if self.reference is not None else self.am.sample()

    def measure_spreads(self, pm_ids: Sequence[int]) -> None:
        """The spreads of these remains records not measured yet, measured together (as
        measured one by one, to the bit: ``spreads_of``)."""
        wanted = sorted({int(i) for i in pm_ids} - set(self.spreads))
        if wanted:
            sample = self._sample()
            measured = spreads_of([self.pm.faces(i) for i in wanted], sample.vectors, sample.starts)
            self.spreads.update(zip(wanted, measured, strict=True))

    def face_value(self, pm_id: int, am_id: int, score: float) -> float:
        """What the calibration reads for a pair's face score."""
        calibration = self.calibration.calibration
        if calibration is None or not calibration.spread:
            return score
        return calibration.standardise(score, self.spread(pm_id, am_id, score))


def _no_face(ctx: Context, am_id: int, pm_id: int) -> str:
    """Why a pair has no face evidence, in words that say what to do about it."""
    waiting = [
        f"{side.refs[record]} has a photo of several faces where nobody chose the person"
        for side, record in ((ctx.am, am_id), (ctx.pm, pm_id))
        if record in side.unchosen and not len(side.faces(record).ids)
    ]
    if waiting:
        return "no face compared: " + "; ".join(waiting) + " (choose them on its page)"
    return "no usable face on one side"


def _face_factor(
    ctx: Context, evidence: FaceEvidence | None, am_id: int, pm_id: int
) -> dict[str, Any]:
    if evidence is None:
        return {"points": 0.0, "why": _no_face(ctx, am_id, pm_id)}
    calibration = ctx.calibration.calibration
    factor: dict[str, Any] = {
        "score": round(evidence.score, 4),
        "best_pair": round(evidence.best, 4),
        "weighted": round(evidence.weighted, 4),
        "pair": list(evidence.pair),  # (AM face id, PM face id)
        "pairs": evidence.pairs,
    }
    if calibration is None:
        factor.update(
            points=0.0,
            why=f"face similarity {evidence.score:.3f} (1 is the same face); not calibrated, "
            "so not weighed",
        )
        return factor
    value = evidence.score
    if calibration.spread:
        mean, deviation = ctx.spread(pm_id, am_id, evidence.score)
        value = calibration.standardise(evidence.score, (mean, deviation))
        factor.update(spread=[round(mean, 4), round(deviation, 4)], standardised=round(value, 3))
    pair_rate = calibration.pair_rate(value)
    # The face's own rate is kept for the record; what people read is the pair's one figure
    # (core.odds), so the face's line gives its score with its scale, not odds of its own.
    factor.update(points=_points(pair_rate), rate=search_rate(pair_rate, ctx.gallery))
    factor["why"] = face_why(factor)
    return factor


def _points(pair_rate: float) -> float:
    return round(-math.log(pair_rate) - 1.0, 3)  # as Calibration.points


def face_points(ctx: Context, evidence: FaceEvidence | None, am_id: int, pm_id: int) -> float:
    """The points of a pair's face factor, as ``_face_factor`` gives them."""
    calibration = ctx.calibration.calibration
    if evidence is None or calibration is None:
        return 0.0
    return _points(calibration.pair_rate(ctx.face_value(pm_id, am_id, evidence.score)))


def score_pair(ctx: Context, am_id: int, pm_id: int) -> dict[str, Any]:
    """Every factor of one pair, the total, the false-candidate rate and whether credible."""
    am_faces, pm_faces = ctx.am.faces(am_id), ctx.pm.faces(pm_id)
    return _row(ctx, am_id, pm_id, fuse(am_faces, pm_faces))


def _row(ctx: Context, am_id: int, pm_id: int, evidence: FaceEvidence | None) -> dict[str, Any]:
    factors: dict[str, Any] = {"face": _face_factor(ctx, evidence, am_id, pm_id)}
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
    status = decided_status(factors, digest, ctx.exclusions.get((pm_id, am_id)))
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
        "record_identified": pm_id in ctx.identified[0] or am_id in ctx.identified[1],
    }


def decided_status(factors: dict[str, Any], digest: str, decided: dict[str, Any] | None) -> str:
    """A pair's status under the reviewer's standing decision on it (``decided``, or none),
    the decision shown among its factors."""
    factors.pop("referral", None)
    factors.pop("exclusion", None)
    if decided is None:
        return "open"
    shown = {k: v for k, v in decided.items() if k not in ("evidence_digest", "kind")}
    if decided["kind"] == "possible_match":
        factors["referral"] = shown
        return "referred"
    factors["exclusion"] = shown
    return "excluded" if decided["evidence_digest"] == digest else "resurfaced"


def face_order(face_score: float | None, factors: dict[str, Any]) -> tuple[float, float]:
    """How strong a pair's face evidence is, to compare pairs of different records: its
    points (which, read against a spread, depend on the remains record), then its score."""
    if face_score is None:
        return (float("-inf"), float("-inf"))
    return (float(factors.get("face", {}).get("points", 0.0)), float(face_score))


def _face_of(row: dict[str, Any]) -> tuple[float, float]:
    return face_order(row["face_score"], row["factors"])


def total_order(row: dict[str, Any]) -> tuple[float, tuple[float, float]]:
    return (float(row["score"]), _face_of(row))


def search_record(
    ctx: Context,
    side: Side,
    record_id: int,
    *,
    entry: Mapping[int, float] | EntryBars | None = None,
) -> list[dict[str, Any]]:
    """Every pair worth scoring for one record, scored in full: its best face pairs, and
    the description-only pairs that may reach its list or, with ``entry`` (the total a new
    pair must beat to enter each other record's full list: ``lists.EntryTotals``), the
    other record's. Without ``entry`` only the record's own list is served (a rebuild
    lists each record from its own search)."""
    has_faces, chosen = _face_pairs(ctx, side, record_id)
    rows = [_row(ctx, *_pair(side, record_id, i), evidence) for i, evidence in chosen.items()]
    key = "remains_id" if side == "missing" else "missing_person_id"
    return rows + _described(
        ctx,
        side,
        record_id,
        [r[key] for r in rows],
        [r["score"] for r in rows],
        entry,
        has_faces=has_faces,
    )


# Face rows searched together by ``face_hits``: one matrix product each.
HIT_ROWS = 128


def face_hits(ctx: Context, side: Side, record_ids: Sequence[int]) -> dict[int, dict[int, float]]:
    """For each of the records with a usable face: the other side's records (their group
    numbers) among the ``PRESELECT * 4`` nearest faces of any of its faces, each with its
    best face score, as one search of the other side's index per face would give them.

    The faces of all the records are searched together, ``HIT_ROWS`` at a time, each as
    one matrix product with the other side's faces (a rebuild passes a whole batch)."""
    mine, other = (ctx.am, ctx.pm) if side == "missing" else (ctx.pm, ctx.am)
    probes = [(record_id, mine.faces(record_id)) for record_id in record_ids]
    probes = [(record_id, faces) for record_id, faces in probes if len(faces)]
    size = len(other.vectors)
    if not probes or other.index is None or not size:
        return {}
    vectors = np.concatenate([faces.vectors for _, faces in probes]).astype(np.float32)
    owner = np.repeat(np.arange(len(probes)), [len(faces) for _, faces in probes])
    k = min(size, PRESELECT * 4)
    references = np.ascontiguousarray(other.vectors, dtype=np.float32)
    groups = np.empty((len(vectors), k), dtype=np.int64)
    scores = np.empty((len(vectors), k), dtype=np.float32)
    for start in range(0, len(vectors), HIT_ROWS):
        block = vectors[start : start + HIT_ROWS] @ references.T
        if k < size:
            top = np.argpartition(block, size - k, axis=1)[:, size - k :]
        else:
            top = np.broadcast_to(np.arange(size), block.shape)
        groups[start : start + len(block)] = other.owner[top]
        scores[start : start + len(block)] = np.take_along_axis(block, top, axis=1)
    out: dict[int, dict[int, float]] = {}
    for at, (record_id, _) in enumerate(probes):
        rows = owner == at
        found, best = groups[rows].ravel(), scores[rows].ravel()
        # Each group once, with its best score; the best first, then the first group.
        order = np.lexsort((found, -best))
        found, best = found[order], best[order]
        first = np.unique(found, return_index=True)[1]
        first.sort()
        out[record_id] = dict(
            zip(found[first].tolist(), best[first].astype(np.float64).tolist(), strict=True)
        )
    return out


def _face_pairs(
    ctx: Context, side: Side, record_id: int, hits: Mapping[int, float] | None = None
) -> tuple[bool, dict[int, FaceEvidence | None]]:
    """Whether the record has a usable face, and the other side's records it is compared
    with in full by face (``PRESELECT``), with the pair's face evidence as (AM face, PM
    face) whichever side searched. ``hits``: the record's ``face_hits``, found already."""
    mine, other = (ctx.am, ctx.pm) if side == "missing" else (ctx.pm, ctx.am)
    probe = mine.faces(record_id)
    chosen: dict[int, FaceEvidence | None] = {}
    if len(probe) and other.index is not None:
        best = face_hits(ctx, side, [record_id]).get(record_id, {}) if hits is None else hits

        calibration = ctx.calibration.calibration
        if side == "missing" and calibration is not None and calibration.spread:
            # Each remains record found is read against its spread: those not measured
            # yet are measured together.
            ctx.measure_spreads([int(other.groups[g]) for g in best])

        def read(group: int) -> float:  # what the calibration reads for this pair
            other_id = int(other.groups[group])
            pair = (other_id, record_id) if side == "missing" else (record_id, other_id)
            return ctx.face_value(pair[0], pair[1], best[group])

        groups = np.asarray(sorted(best, key=read, reverse=True)[:PRESELECT], dtype=np.int64)
        fused = fuse_groups(
            probe,
            other.vectors,
            other.quality,
            other.face_ids,
            other.starts[groups],
            other.ends[groups],
        )
        for group, evidence in zip(groups.tolist(), fused, strict=True):
            other_id = int(other.groups[group])
            if evidence is not None and side == "remains":
                evidence = FaceEvidence(
                    evidence.score,
                    evidence.best,
                    evidence.weighted,
                    (evidence.pair[1], evidence.pair[0]),
                    evidence.pairs,
                )
            chosen[other_id] = evidence
    return bool(len(probe)), chosen


# How far a quick total (``_quick_totals``) may lie from the stored one: seven factors and
# the total each rounded to 3 decimals, and numpy's log and sin beside the math module's.
QUICK_MARGIN = 0.01


def listed_pairs(
    ctx: Context, side: Side, record_id: int, hits: Mapping[int, float] | None = None
) -> list[dict[str, Any]]:
    """``select_pairs(search_record(...))``, the pairs a rebuild lists for one record, with
    the factors and their explanations made only for the pairs that may be kept: the face
    pairs are first totalled on arrays (``_quick_totals``) and those that cannot reach the
    record's list by total or by face are left there. ``hits``: the record's
    ``face_hits``, when a rebuild found them for its whole batch."""
    has_faces, chosen = _face_pairs(ctx, side, record_id, hits)
    others = list(chosen)
    quick, faces = _quick_totals(ctx, side, record_id, chosen)
    described = _described(
        ctx,
        side,
        record_id,
        others,
        [t - QUICK_MARGIN for t in quick.tolist()],  # never above a stored total
        None,
        has_faces=has_faces,
    )
    keep = ctx.keep
    totals = sorted([*quick.tolist(), *(r["score"] for r in described)], reverse=True)
    # A pair whose stored total reaches the keep-th is at most a margin below it here, and
    # the keep-th here at most a margin above the stored one.
    bar = totals[keep - 1] - 2 * QUICK_MARGIN if len(totals) >= keep else -math.inf
    ordered = sorted((f for f in faces if f is not None), reverse=True)
    face_bar = ordered[keep - 1] if len(ordered) >= keep else (-math.inf, -math.inf)
    rows = [
        _row(ctx, *_pair(side, record_id, other_id), chosen[other_id])
        for other_id, total, face in zip(others, quick.tolist(), faces, strict=True)
        if total >= bar or (face is not None and face >= face_bar)
    ]
    return select_pairs(rows + described, keep)


def _quick_totals(
    ctx: Context, side: Side, record_id: int, chosen: Mapping[int, FaceEvidence | None]
) -> tuple[np.ndarray, list[tuple[float, float] | None]]:
    """Each face pair's total within ``QUICK_MARGIN`` of ``_row``'s, with its face order
    (``face_order``, exact; None without face evidence): the description on arrays, marks
    and effects compared only where both records describe some."""
    if not chosen:
        return np.empty(0), []
    others = list(chosen)
    other_side: Side = "remains" if side == "missing" else "missing"
    mine = (ctx.am if side == "missing" else ctx.pm).facts[record_id]
    probe = row_of(mine)[None, :]
    theirs = blocks_of(ctx, other_side, faceless=False).rows(others)
    described, words = measured_points(*((probe, theirs) if side == "missing" else (theirs, probe)))
    faces: list[tuple[float, float] | None] = []
    totals = described
    for at, other_id in enumerate(others):
        am_id, pm_id = _pair(side, record_id, other_id)
        evidence = chosen[other_id]
        points = face_points(ctx, evidence, am_id, pm_id)
        faces.append(None if evidence is None else (points, float(evidence.score)))
        totals[at] += points
        if words[at]:
            am_facts, pm_facts = ctx.am.facts[am_id], ctx.pm.facts[pm_id]
            assert isinstance(am_facts, AMFacts) and isinstance(pm_facts, PMFacts)
            for factor in (marks_factor(am_facts, pm_facts), effects_factor(am_facts, pm_facts)):
                totals[at] += round(factor.points, 3)
    return totals, faces


def blocks_of(ctx: Context, side: Side, *, faceless: bool) -> DescriptionBlocks:
    """The side's records (or those without a usable face) as columns of facts, built on
    first use."""
    data = ctx.am if side == "missing" else ctx.pm
    key = f"{side} faceless" if faceless else side
    if key not in ctx.blocks:
        ids = data.faceless if faceless else list(data.refs)
        ctx.blocks[key] = DescriptionBlocks(side, ((i, data.facts[i]) for i in ids))
    return ctx.blocks[key]


def _described(
    ctx: Context,
    side: Side,
    record_id: int,
    taken: list[int],
    scored: list[float],
    entry: Mapping[int, float] | EntryBars | None,
    *,
    has_faces: bool,
) -> list[dict[str, Any]]:
    """Description-only rows: with every record of the other side for a record without a
    face, with those without one for a record with faces; only the ones whose total may
    reach a list (``blocking.shortlist``) are scored. ``taken``: the other records the
    record has rows with already, ``scored``: their totals."""
    other_side: Side = "remains" if side == "missing" else "missing"
    blocks = blocks_of(ctx, other_side, faceless=has_faces)
    ids, upper = blocks.upper((ctx.am if side == "missing" else ctx.pm).facts[record_id])
    if taken:
        fresh = ~np.isin(ids, taken)
        ids, upper = ids[fresh], upper[fresh]
    made: dict[int, dict[str, Any]] = {}

    def score(other_id: int) -> float:
        made[other_id] = _row(ctx, *_pair(side, record_id, other_id), None)
        return float(made[other_id]["score"])

    chosen = shortlist(ids, upper, score, keep=ctx.keep, scored=scored, entry=entry)
    return [made[i] if i in made else _row(ctx, *_pair(side, record_id, i), None) for i in chosen]


def _pair(side: Side, record_id: int, other_id: int) -> tuple[int, int]:
    return (record_id, other_id) if side == "missing" else (other_id, record_id)


def select_pairs(rows: list[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
    """The best ``keep`` by total, and the best ``keep`` by face alone; of pairs with the
    same score, those with the first registered records."""
    rows = sorted(rows, key=lambda r: (r["remains_id"], r["missing_person_id"]))
    best = sorted(rows, key=total_order, reverse=True)[:keep]
    by_face = sorted((r for r in rows if r["face_score"] is not None), key=_face_of, reverse=True)[
        :keep
    ]
    seen: dict[tuple[int, int], dict[str, Any]] = {}
    for row in best + by_face:
        seen[(row["remains_id"], row["missing_person_id"])] = row
    return list(seen.values())

"""The calibration in use for a face model: fitted from pairs of different reports,
stored and audited, or the built-in estimate."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.core.scoring import (
    Calibration,
    FaceSet,
    fuse_many,
    open_set_misses,
    spread_of,
)
from opendvi.db.tables import Calibration as CalibrationRow
from opendvi.matching.gallery import CALIBRATION_PAIRS, RECALIBRATE, SideData

SELF_TEST_MATES = 50  # reports with several faces needed to choose how scores are read


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
        how = (
            ", each score read against the remains record's usual scores (its spread)"
            if self.calibration.spread
            else ""
        )
        return f"calibrated on {where}{how}"


@dataclass
class ImpostorSample:
    """Searches of the reports among themselves: each chosen report's best face (as a
    remains record with one photo would be) against every other report."""

    raw: list[np.ndarray] = field(default_factory=list)  # each search's scores, own record out
    spreads: list[tuple[float, float]] = field(default_factory=list)
    # For reports with more faces: the best score of the probe face against its own other
    # faces (the true match) and its position in ``raw``.
    mates: list[tuple[float, int]] = field(default_factory=list)

    def scores(self, *, spread: bool) -> np.ndarray:
        if not self.raw:
            return np.empty(0)
        if not spread:
            return np.concatenate(self.raw)
        return np.concatenate(
            [(row - mean) / sd for row, (mean, sd) in zip(self.raw, self.spreads, strict=True)]
        )

    def misses(self, *, spread: bool) -> float:
        """FNIR at FPIR 0.1 of these searches (see ``open_set_misses``)."""

        def value(score: float, where: int) -> float:
            mean, sd = self.spreads[where] if spread else (0.0, 1.0)
            return (score - mean) / sd

        tops = [value(float(row.max()), k) for k, row in enumerate(self.raw) if len(row)]
        mated = [(value(mate, k), value(float(self.raw[k].max()), k)) for mate, k in self.mates]
        return open_set_misses(tops, mated)


def impostor_scores(am: SideData, *, seed: int = 0) -> ImpostorSample:
    """Fused scores of pairs known to be different people: one face of a report (as a
    remains record with one photo would have) against each other report; and, for reports
    with more faces, that face against its own report's others."""
    sample = ImpostorSample()
    count = len(am.groups)
    if count < 2:
        return sample
    probes = min(count, max(1, CALIBRATION_PAIRS // max(1, len(am.vectors))))
    chosen = sorted(random.Random(seed).sample(range(count), probes))
    for where in chosen:
        rows = range(int(am.starts[where]), int(am.ends[where]))
        row = max(rows, key=lambda r: float(am.quality[r]))
        probe = FaceSet(
            [int(am.face_ids[row])], am.vectors[row : row + 1], am.quality[row : row + 1]
        )
        fused, _ = fuse_many(probe, am.vectors, am.quality, am.starts)
        others = np.delete(fused, where)
        if len(rows) > 1:
            own = [r for r in rows if r != row]
            mate = float((am.vectors[own] @ am.vectors[row]).max())
            sample.mates.append((mate, len(sample.raw)))
        sample.raw.append(others)
        sample.spreads.append(spread_of(others))
    return sample


def choose_spread(sample: ImpostorSample) -> tuple[bool, str]:
    """Whether scores relative to each search's spread find more true matches among the
    reports than the scores themselves, and why, in words."""
    mated = len(sample.mates)
    if mated < SELF_TEST_MATES:
        return False, (
            f"scores taken as they are: {mated} reports with several faces, "
            f"{SELF_TEST_MATES} are needed to compare"
        )
    raw, relative = sample.misses(spread=False), sample.misses(spread=True)
    spread = relative < raw
    measured = (
        f"searching {mated:,} reports' photos for their own other photos, "
        f"{raw:.1%} were missed with scores as they are and {relative:.1%} "
        "with scores relative to each search's spread"
    )
    return spread, (
        f"scores relative to each search's spread: {measured}"
        if spread
        else f"scores taken as they are: {measured}"
    )


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
    sample = impostor_scores(am)
    try:
        spread, chosen_by = choose_spread(sample)
        fitted: Calibration | None = Calibration.fit(
            sample.scores(spread=spread), spread=spread, chosen_by=chosen_by
        )
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
            details={
                "source": source,
                "reports": records,
                "pairs": fitted.pairs,
                "spread": fitted.spread,
                "chosen_by": fitted.chosen_by,
            },
        )
    return CalibrationInUse(fitted, source, records)

"""The calibration in use for a face model: fitted from pairs of different reports,
stored and audited, or the built-in estimate."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.core.scoring import (
    Calibration,
    FaceSet,
    fuse_many,
)
from opendvi.db.tables import Calibration as CalibrationRow
from opendvi.matching.gallery import CALIBRATION_PAIRS, RECALIBRATE, SideData


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

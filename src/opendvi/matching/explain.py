"""One pair explained: every factor scored now, with what is stored for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi.app import OpenDVI
from opendvi.core.odds import Odds, line_words, shown_factors
from opendvi.db.tables import (
    Candidate,
    MissingPerson,
    Remains,
)
from opendvi.errors import NotFound
from opendvi.matching.context import pair_context
from opendvi.matching.figures import figures
from opendvi.matching.pairs import score_pair


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
    odds: Odds  # the pair's one figure, as the queue and the comparison page say it

    def verdict(self) -> str:
        if self.status == "excluded":
            return "excluded by a reviewer on this same evidence"
        if not self.odds.calibrated:
            return "not calibrated: review by score"
        words = self.odds.sentence
        if self.credible:
            return f"candidate: {words}"
        return (
            f"below threshold ({words}; the line is {line_words(self.max_rate)}, "
            "setting OPENDVI_CANDIDATE_MAX_RATE)"
        )


def resolve_pair(session: Session, pm_ref: str, am_ref: str) -> tuple[Remains, MissingPerson]:
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
    with app.db.read() as session:
        remains, report = resolve_pair(session, pm_ref, am_ref)
        ctx = pair_context(session, app, remains.id, report.id)
        row = score_pair(ctx, report.id, remains.id)
        stored = session.execute(
            select(Candidate).where(
                Candidate.remains_id == remains.id, Candidate.missing_person_id == report.id
            )
        ).scalar_one_or_none()
        odds = figures(app, session).of(row["false_candidate_rate"], ctx.model)
    return Explanation(
        pm_ref=pm_ref,
        am_ref=am_ref,
        score=row["score"],
        face_score=row["face_score"],
        rate=row["false_candidate_rate"],
        credible=row["credible"],
        status=row["status"],
        factors=shown_factors(row["factors"]),
        model=ctx.model,
        calibration=ctx.calibration.describe(),
        gallery=ctx.gallery,
        max_rate=ctx.max_rate,
        stored=stored is not None,
        rank_for_remains=stored.rank_for_remains if stored else None,
        rank_for_missing=stored.rank_for_missing if stored else None,
        odds=odds,
    )

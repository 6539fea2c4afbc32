"""The one figure of stored pairs (``core.odds``), as every front end reads it: the pair's
rate, the number of reports a search covers, and how many pairs the face calibration of the
pair's model was measured on."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi.app import OpenDVI
from opendvi.core.odds import Odds, figure
from opendvi.db.tables import Calibration as CalibrationRow
from opendvi.matching.queries import CandidateView, gallery_size

__all__ = ["Figures", "figures", "odds_of"]

Model = tuple[str, str]


@functools.lru_cache(maxsize=8)
def _built_in_pairs(model: Model) -> int | None:
    from opendvi.faces.priors import prior_for

    prior = prior_for(*model)
    return prior.pairs if prior else None


def calibration_pairs(session: Session, model: Model) -> int | None:
    """The pairs the calibration in use for ``model`` was measured on: the latest fitted on
    this database's reports, else the built-in estimate's (None: neither)."""
    stored = session.execute(
        select(CalibrationRow.pairs)
        .where(CalibrationRow.model_name == model[0], CalibrationRow.model_version == model[1])
        .order_by(CalibrationRow.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return int(stored) if stored is not None else _built_in_pairs(model)


@dataclass
class Figures:
    """What turns stored rates into figures: the registry searched and, per face model,
    the calibration's pairs (looked up once each)."""

    session: Session
    registry: int
    pairs: dict[Model, int | None] = field(default_factory=dict)

    def of(self, rate: float | None, model: Model) -> Odds:
        if model not in self.pairs:
            self.pairs[model] = calibration_pairs(self.session, model)
        return figure(rate, registry=self.registry, calibration_pairs=self.pairs[model])


def figures(app: OpenDVI, session: Session, models: Iterable[Model] = ()) -> Figures:
    """Inside a read: the figures of pairs for a search of today's reports."""
    found = Figures(session, gallery_size(app))
    for model in models:
        found.of(None, model)
    return found


def odds_of(app: OpenDVI, found: Sequence[CandidateView]) -> list[Odds]:
    """The one figure of each stored pair in ``found``."""
    with app.db.read() as session:
        figure = figures(app, session)
        return [figure.of(c.false_candidate_rate, (c.model_name, c.model_version)) for c in found]

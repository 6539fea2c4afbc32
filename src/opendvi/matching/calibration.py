"""The calibration in use for a face model: fitted from pairs of different reports,
stored and audited, or the built-in estimate."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.core.scoring import (
    Calibration,
    FaceSet,
    Spread,
    fuse_many,
    open_set_misses,
    standardise_each,
)
from opendvi.db.tables import Calibration as CalibrationRow
from opendvi.matching.gallery import CALIBRATION_PAIRS, RECALIBRATE, SideData

SELF_TEST_MATES = 50  # reports with several faces needed to choose how scores are read
SELF_TEST_SEARCHES = 2_000  # most searches of each kind in that test


@dataclass(frozen=True)
class CalibrationInUse:
    calibration: Calibration | None
    source: str  # "reports", "built-in", or "" when none
    records: int
    # The reports drawn, when it was fitted, for spreads to be measured against (none for
    # one stored before they were kept, or built in).
    reference: tuple[int, ...] | None = None

    def describe(self) -> str:
        if self.calibration is None:
            return "not calibrated: too few reports with faces to estimate rates"
        where = (
            f"{self.calibration.pairs:,} pairs of different reports"
            if self.source == "reports"
            else "the built-in estimate for this model (too few reports here yet)"
        )
        how = self.calibration.chosen_by or READ_AS_THEY_ARE
        return f"calibrated on {where}; {how}"


READ_AS_THEY_ARE = "scores read as they are"
READ_AGAINST_SPREAD = (
    "scores read against each remains record's spread (how its photos score against all reports)"
)


def impostor_scores(am: SideData, *, seed: int = 0) -> list[np.ndarray]:
    """Fused scores of pairs known to be different people: one face of a report (as a
    remains record with one photo would have) against each other report; one array per
    report searched."""
    count = len(am.groups)
    if count < 2:
        return []
    probes = min(count, max(1, CALIBRATION_PAIRS // max(1, len(am.vectors))))
    out = []
    for where in sorted(random.Random(seed).sample(range(count), probes)):
        fused, _ = fuse_many(_probe(am, where), am.vectors, am.quality, am.starts)
        out.append(np.delete(fused, where))
    return out


def fitting_scores(searches: list[np.ndarray], *, spread: bool) -> np.ndarray:
    """The values a calibration is fitted on: the scores, or each against its search's
    other scores."""
    if not searches:
        return np.empty(0)
    return np.concatenate([standardise_each(row) if spread else row for row in searches])


def _probe(am: SideData, where: int) -> FaceSet:
    """A report's best face, as a remains record with one photo would be."""
    rows = range(int(am.starts[where]), int(am.ends[where]))
    row = max(rows, key=lambda r: float(am.quality[r]))
    return FaceSet([int(am.face_ids[row])], am.vectors[row : row + 1], am.quality[row : row + 1])


@dataclass
class SelfTest:
    """Reports searched among themselves, against the sample of reports a remains record's
    spread is measured on, read both ways (key: against the spread or not)."""

    # The best other report's score of each search without its true match.
    tops: dict[bool, list[float]] = field(default_factory=lambda: {False: [], True: []})
    # (true match, best other report) of each search of a report with several faces for
    # its own other faces.
    mated: dict[bool, list[tuple[float, float]]] = field(
        default_factory=lambda: {False: [], True: []}
    )

    def misses(self, *, spread: bool) -> float:
        """FNIR at FPIR 0.1 of these searches (see ``open_set_misses``)."""
        return open_set_misses(self.tops[spread], self.mated[spread])


def self_test(am: SideData, *, limit: int = SELF_TEST_SEARCHES, seed: int = 0) -> SelfTest:
    """Up to ``limit`` reports with several faces searched by their best face for their
    own others, and up to ``limit`` reports searched for nobody, each against the sampled
    reports other than itself, as a remains record is read."""
    sample = am.sample()
    where_sampled = {g: k for k, g in enumerate(sample.positions)}
    count = len(am.groups)
    rng = random.Random(seed)
    several = [g for g in range(count) if am.ends[g] - am.starts[g] > 1]
    searches = [(g, True) for g in sorted(rng.sample(several, min(limit, len(several))))]
    searches += [(g, False) for g in sorted(rng.sample(range(count), min(limit, count)))]
    test = SelfTest()
    for where, with_mate in searches:
        probe = _probe(am, where)
        fused, _ = fuse_many(probe, sample.vectors, sample.quality, sample.starts)
        if where in where_sampled:
            fused = np.delete(fused, where_sampled[where])
        if not len(fused):
            continue
        spread = Spread.of(fused)
        top = float(fused.max())
        mean, deviation = spread.without(top)
        top_read = (top - mean) / deviation
        if not with_mate:
            test.tops[False].append(top)
            test.tops[True].append(top_read)
            continue
        own = [
            r
            for r in range(int(am.starts[where]), int(am.ends[where]))
            if int(am.face_ids[r]) != probe.ids[0]
        ]
        mate = float((am.vectors[own] @ probe.vectors[0]).max())
        mean, deviation = spread.without()  # the true match is not among the others
        test.mated[False].append((mate, top))
        test.mated[True].append(((mate - mean) / deviation, top_read))
    return test


def choose_spread(test: SelfTest) -> tuple[bool, str]:
    """Whether scores read against each remains record's spread find more true matches
    among the reports than the scores as they are, and the measurement, in words."""
    mated = len(test.mated[False])
    if mated < SELF_TEST_MATES or not test.tops[False]:
        return False, (
            f"{READ_AS_THEY_ARE} (too few reports with several photos to compare: "
            f"{mated}, {SELF_TEST_MATES} needed)"
        )
    raw, relative = test.misses(spread=False), test.misses(spread=True)
    spread = relative < raw
    measured = (
        f"searching {mated:,} reports' photos for their own other photos, "
        f"{relative:.1%} were missed read against the spread and {raw:.1%} as they are"
    )
    return spread, f"{READ_AGAINST_SPREAD if spread else READ_AS_THEY_ARE} ({measured})"


def _stored_calibration(session: Session, model: tuple[str, str]) -> CalibrationRow | None:
    return session.execute(
        select(CalibrationRow)
        .where(CalibrationRow.model_name == model[0], CalibrationRow.model_version == model[1])
        .order_by(CalibrationRow.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def calibration_in_use(session: Session, model: tuple[str, str]) -> CalibrationInUse:
    """The calibration a matching run stored for ``model``, or the built-in estimate where
    none was fitted yet; nothing is fitted (a run refits it when the reports have grown)."""
    from opendvi.faces.priors import prior_for

    stored = _stored_calibration(session, model)
    if stored is not None and stored.source == "reports":
        return _stored_in_use(stored)
    prior = prior_for(*model)
    return CalibrationInUse(prior, "built-in" if prior is not None else "", 0)


def calibrate(
    session: Session, am: SideData, model: tuple[str, str], *, actor: str, force: bool = False
) -> CalibrationInUse:
    """The calibration to use for ``model`` (``fit_calibration``), a new one stored with its
    audit event in ``session``."""
    in_use, fitted = fit_calibration(session, am, model, force=force)
    if fitted is not None:
        keep_calibration(session, fitted, actor=actor)
    return in_use


def fit_calibration(
    session: Session, am: SideData, model: tuple[str, str], *, force: bool = False
) -> tuple[CalibrationInUse, CalibrationRow | None]:
    """The calibration to use for ``model``: refitted from this database's reports when
    there is none yet, when ``force``, or when the reports with faces changed by a tenth;
    with the row to store when it is new (``keep_calibration``). Only reads: the fitting
    is done outside any write."""
    from opendvi.faces.priors import prior_for

    records = len(am.groups)
    stored = _stored_calibration(session, model)
    fresh_enough = (
        stored is not None
        and stored.source == "reports"
        and abs(records - stored.records) <= RECALIBRATE * max(stored.records, 1)
    )
    if stored is not None and fresh_enough and not force:
        return _stored_in_use(stored), None
    spread, chosen_by = choose_spread(self_test(am))
    try:
        fitted: Calibration | None = Calibration.fit(
            fitting_scores(impostor_scores(am), spread=spread), spread=spread, chosen_by=chosen_by
        )
        source = "reports"
    except ValueError:  # too few pairs
        fitted, source = prior_for(*model), "built-in"
    if fitted is None:
        return CalibrationInUse(None, "", records), None
    if source == "built-in":
        return CalibrationInUse(fitted, source, records), None  # part of the program, not data
    reference = tuple(sorted(am.sample().records))
    params = {**fitted.to_json(), REFERENCE: list(reference)}
    row = None
    if stored is None or stored.params != params or stored.records != records:
        row = CalibrationRow(
            model_name=model[0],
            model_version=model[1],
            source=source,
            records=records,
            pairs=fitted.pairs,
            params=params,
        )
    return CalibrationInUse(fitted, source, records, reference), row


REFERENCE = "reference"  # the key of the reports drawn for spreads in a stored calibration


def _stored_in_use(stored: CalibrationRow) -> CalibrationInUse:
    reference = stored.params.get(REFERENCE)
    return CalibrationInUse(
        Calibration.from_json(stored.params),
        "reports",
        stored.records,
        tuple(int(r) for r in reference) if reference is not None else None,
    )


def keep_calibration(session: Session, row: CalibrationRow, *, actor: str) -> None:
    """Store a newly fitted calibration, with its audit event, in a write's ``session``."""
    fitted = Calibration.from_json(row.params)
    session.add(row)
    after = {k: v for k, v in row.params.items() if k != REFERENCE}
    if REFERENCE in row.params:  # the reports drawn, by their number and digest
        drawn = row.params[REFERENCE]
        after[REFERENCE] = {
            "reports": len(drawn),
            "sha256": hashlib.sha256(",".join(map(str, drawn)).encode()).hexdigest(),
        }
    audit.record(
        session,
        actor=actor,
        action="calibration.computed",
        about=row,
        ref=f"{row.model_name} {row.model_version}",
        after=after,
        details={
            "source": row.source,
            "reports": row.records,
            "pairs": row.pairs,
            "spread": fitted.spread,
            "chosen_by": fitted.chosen_by,
        },
    )

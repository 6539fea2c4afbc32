"""What the registry holds: the counts of ``opendvi stats`` and ``/api/stats``, and the
dashboard (open candidates, records without a usable face, families to tell, and the
identifications confirmed month by month)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opendvi.app import OpenDVI
from opendvi.db.tables import (
    AuditEvent,
    Candidate,
    Face,
    Identification,
    MissingPerson,
    Photo,
    Remains,
)

__all__ = ["Bar", "Chart", "Dashboard", "dashboard", "monthly_chart", "person_not_chosen", "stats"]


def _count(session: Session, query: Any) -> int:
    return int(session.execute(query).scalar_one())


def person_not_chosen(session: Session) -> int:
    """Photos waiting for a person to choose who in them is the record's person, counted
    from their index alone (``ix_photos_person_not_chosen``)."""
    return _count(session, select(func.count(Photo.id)).where(Photo.person_not_chosen))


def _stats(session: Session) -> dict[str, int]:
    active = Photo.withdrawn_at.is_(None)
    return {
        "missing_person_reports": _count(session, select(func.count(MissingPerson.id))),
        "unidentified_remains": _count(session, select(func.count(Remains.id))),
        "photos": _count(session, select(func.count(Photo.id)).where(active)),
        "photos_awaiting_face_detection": _count(
            session,
            select(func.count(Photo.id)).where(active, Photo.detection_status == "pending"),
        ),
        "photos_without_a_face": _count(
            session,
            select(func.count(Photo.id)).where(active, Photo.detection_status == "no_face"),
        ),
        "faces": _count(session, select(func.count(Face.id))),
        # What matching uses: a usable face that is the person of its photo.
        "usable_faces": _count(
            session, select(func.count(Face.id)).where(Face.usable, Face.is_subject)
        ),
        # Photos of several faces where nobody has chosen the person (none is used yet).
        "photos_person_not_chosen": person_not_chosen(session),
        "candidates": _count(session, select(func.count(Candidate.id))),
        "identifications_confirmed": _count(
            session,
            select(func.count(Identification.id)).where(Identification.status == "confirmed"),
        ),
        "audit_events": _count(session, select(func.count(AuditEvent.id))),
    }


def stats(app: OpenDVI) -> dict[str, int]:
    """Counts of what the database holds."""
    with app.db.read() as session:
        return _stats(session)


@dataclass(frozen=True)
class Bar:
    label: str  # "Mar 2026"
    short: str  # "Mar"
    count: int
    height: int  # percent of the highest bar


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    total: int


@dataclass(frozen=True)
class Dashboard:
    counts: dict[str, int]
    open_candidates: int
    families: dict[str, int]  # open notification tasks, and how many are overdue
    faceless: dict[str, int]  # records without a usable face, by table
    chart: Chart  # identifications confirmed in each of the last twelve months


def monthly_chart(moments: list[dt.datetime], months: int = 12) -> Chart:
    """Bars of the last ``months`` months (this one included)."""
    today = dt.date.today()
    keys = []
    year, month = today.year, today.month
    for _ in range(months):
        keys.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    keys.reverse()
    counts = dict.fromkeys(keys, 0)
    for moment in moments:
        key = (moment.year, moment.month)
        if key in counts:
            counts[key] += 1
    top = max(counts.values(), default=0) or 1
    bars = [
        Bar(
            label=dt.date(y, m, 1).strftime("%b %Y"),
            short=dt.date(y, m, 1).strftime("%b"),
            count=n,
            height=round(100 * n / top),
        )
        for (y, m), n in counts.items()
    ]
    return Chart(bars, sum(counts.values()))


def _dashboard(app: OpenDVI) -> Dashboard:
    # Here, not at the top: ``opendvi stats`` counts without loading review and matching.
    from opendvi.notify.queue import open_counts
    from opendvi.review.queue import in_review_queue

    with app.db.read() as session:
        open_candidates = _count(
            session, select(func.count(Candidate.id)).where(*in_review_queue())
        )
        faceless = {}
        for kind, owner in ((MissingPerson, Photo.missing_person_id), (Remains, Photo.remains_id)):
            with_face = (
                select(owner)
                .join(Face, Face.photo_id == Photo.id)
                # Not NULL: a NOT IN over a list holding NULL keeps nothing.
                .where(
                    owner.is_not(None), Face.usable, Face.is_subject, Photo.withdrawn_at.is_(None)
                )
            )
            faceless[kind.__tablename__] = _count(
                session, select(func.count(kind.id)).where(kind.id.not_in(with_face))
            )
        confirmed: list[dt.datetime] = [
            at
            for (at,) in session.execute(
                select(Identification.confirmed_at).where(
                    Identification.status == "confirmed",
                    Identification.confirmed_at.is_not(None),
                )
            )
            if at is not None
        ]
        return Dashboard(
            counts=_stats(session),
            open_candidates=open_candidates,
            families=open_counts(session),
            faceless=faceless,
            chart=monthly_chart(confirmed),
        )


def dashboard(app: OpenDVI) -> Dashboard:
    """The dashboard's counts (kept a few seconds: ``infra.recent``)."""
    return app.counts.get("dashboard", lambda: _dashboard(app))

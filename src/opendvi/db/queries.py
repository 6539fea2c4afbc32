"""Read-only questions asked of the database by several front ends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from opendvi.db.tables import (
    AuditEvent,
    Candidate,
    Face,
    Identification,
    MissingPerson,
    Photo,
    Remains,
)

__all__ = ["in_review_queue", "stats"]


def in_review_queue() -> list[Any]:
    """The review queue's conditions, written as ``ix_candidates_open`` is (so it serves them):
    credible, still listed, not excluded."""
    return [
        Candidate.credible,
        Candidate.status != literal_column("'excluded'"),
        Candidate.rank_for_remains.is_not(None),
    ]


def _count(session: Session, query: object) -> int:
    return int(session.execute(query).scalar_one())  # type: ignore[call-overload]


def stats(session: Session) -> dict[str, int]:
    """Counts of what the database holds, for ``opendvi stats`` and the dashboard."""
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
        "usable_faces": _count(session, select(func.count(Face.id)).where(Face.usable)),
        "candidates": _count(session, select(func.count(Candidate.id))),
        "identifications_confirmed": _count(
            session,
            select(func.count(Identification.id)).where(Identification.status == "confirmed"),
        ),
        "audit_events": _count(session, select(func.count(AuditEvent.id))),
    }

"""What a reviewer reads: the queue of candidates, the most credible first, and one pair
compared — the faces that drove its score, every factor, the false-candidate estimate, the
decisions standing on it, and whether this reviewer must first judge it blind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, exists, literal_column, or_, select
from sqlalchemy.orm import Session

from opendvi.app import OpenDVI
from opendvi.core.odds import Odds, line_words, shown_factors
from opendvi.core.roles import Permission, may
from opendvi.db.rows import offset_of
from opendvi.db.tables import (
    Assignment,
    Candidate,
    Event,
    Face,
    Identification,
    MissingPerson,
    Photo,
    Remains,
    User,
)
from opendvi.matching.figures import figures
from opendvi.matching.queries import CandidateView, Named, candidate_in
from opendvi.review.decisions import Judgement, judgement_of, judgements
from opendvi.review.identifications import DecisionEntry, objections_of, pair_history
from opendvi.settings import Settings

__all__ = [
    "PAGE",
    "Comparison",
    "PairFace",
    "QueueFace",
    "QueueItem",
    "QueuePage",
    "Shown",
    "blind_for",
    "comparison",
    "in_review_queue",
    "queue_events",
    "review_queue",
]

PAGE = 50
Shown = Literal["credible", "all", "resurfaced"]
FACTOR_NAMES = {
    "face": "Face",
    "sex": "Sex",
    "age": "Age at death",
    "height": "Height",
    "dates": "Dates",
    "place": "Place",
    "marks": "Marks and tattoos",
    "effects": "Clothing and effects",
}


def in_review_queue() -> list[Any]:
    """The review queue's conditions, written as ``ix_candidates_open`` is (so it serves them):
    credible, still listed, not excluded, neither record identified."""
    return [
        Candidate.credible,
        Candidate.status != literal_column("'excluded'"),
        Candidate.rank_for_remains.is_not(None),
        ~Candidate.record_identified,
    ]


def blind_for(settings: Settings, role: str) -> bool:
    """Whether a user of ``role`` sees a pair's score only after recording their own
    judgement (blind review is on, and they decide on candidates)."""
    return settings.blind_review and may(role, Permission.REVIEW)


@dataclass(frozen=True)
class QueueFace:
    """The face that drove a pair's score, on one side, as a thumbnail shows it."""

    id: int
    photo_id: int


@dataclass(frozen=True)
class QueueItem:
    id: int
    pm_ref: str
    am_ref: str
    rank: int | None
    score: float
    credible: bool
    status: str
    odds: Odds  # the pair's one figure
    am_face: QueueFace | None = None
    pm_face: QueueFace | None = None
    assignee: str | None = None  # the reviewer the pair is assigned to

    @property
    def words(self) -> str:
        return self.odds.words


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    show: Shown
    page: int
    more: bool
    registry: int = 0  # the reports a search covers, which every figure refers to
    event: str = ""
    reviewer: str = ""
    unassigned: bool = False

    @property
    def floors(self) -> list[str]:
        """Why figures on this page are not said stronger, once each."""
        return list(dict.fromkeys(item.odds.floor for item in self.items if item.odds.floored))


def _kept_to(event: str, reviewer: str, unassigned: bool) -> list[Any]:
    """The queue's filters, each read from an index: an event's records (by ``event_id``),
    one reviewer's pairs (``ix_review_assignments_user_id``), or pairs nobody has."""
    where: list[Any] = []
    if event:
        event_id = select(Event.id).where(Event.code == event).scalar_subquery()
        where.append(
            or_(
                Candidate.remains_id.in_(select(Remains.id).where(Remains.event_id == event_id)),
                Candidate.missing_person_id.in_(
                    select(MissingPerson.id).where(MissingPerson.event_id == event_id)
                ),
            )
        )
    same_pair = and_(
        Assignment.remains_id == Candidate.remains_id,
        Assignment.missing_person_id == Candidate.missing_person_id,
    )
    if reviewer:
        theirs = (
            select(Candidate.id)
            .join(Assignment, same_pair)
            .join(User, Assignment.user_id == User.id)
            .where(User.username == reviewer)
        )
        where.append(Candidate.id.in_(theirs))
    elif unassigned:
        where.append(~exists().where(same_pair))
    return where


def _thumbnails(session: Session, face_ids: set[int]) -> dict[int, QueueFace]:
    """The faces' photos (withdrawn photos left out): a page's thumbnails in one query."""
    if not face_ids:
        return {}
    rows = session.execute(
        select(Face.id, Face.photo_id)
        .join(Photo, Face.photo_id == Photo.id)
        .where(Face.id.in_(face_ids), Photo.withdrawn_at.is_(None))
    ).all()
    return {row.id: QueueFace(row.id, row.photo_id) for row in rows}


def review_queue(
    app: OpenDVI,
    show: Shown = "credible",
    page: int = 1,
    *,
    event: str = "",
    reviewer: str = "",
    unassigned: bool = False,
) -> QueuePage:
    """Candidates for review, the most credible first (lowest false-candidate rate); only
    those of one event (its code) when ``event`` is given, only those assigned to
    ``reviewer`` (a user name), or only those assigned to nobody."""
    where: list[Any]
    order: list[Any]
    if show == "credible":
        # Served by ix_candidates_open alone: an index walk that stops after one page.
        where, order = in_review_queue(), [Candidate.false_candidate_rate, Candidate.id]
    elif show == "resurfaced":
        where = [Candidate.rank_for_remains.is_not(None), Candidate.status == "resurfaced"]
        where.append(~Candidate.record_identified)
        order = [Candidate.false_candidate_rate, Candidate.id]
    else:
        where = [Candidate.rank_for_remains.is_not(None), Candidate.status != "excluded"]
        where.append(~Candidate.record_identified)
        order = [
            Candidate.false_candidate_rate.is_(None),
            Candidate.false_candidate_rate,
            Candidate.score.desc(),
            Candidate.id,
        ]
    # The page's ids first (from the index, without touching the records), then the page.
    ids = (
        select(Candidate.id)
        .where(*where, *_kept_to(event, reviewer, unassigned))
        .order_by(*order)
        .offset(offset_of(page, PAGE))
        .limit(PAGE + 1)
        .subquery()
    )
    query = (
        select(
            Candidate.id,
            Candidate.rank_for_remains,
            Candidate.score,
            Candidate.credible,
            Candidate.status,
            Candidate.false_candidate_rate,
            Candidate.factors,
            Candidate.model_name,
            Candidate.model_version,
            Remains.ref.label("pm_ref"),
            MissingPerson.ref.label("am_ref"),
            User.username.label("assignee"),
        )
        .join(ids, ids.c.id == Candidate.id)
        .join(Remains, Candidate.remains_id == Remains.id)
        .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
        .outerjoin(
            Assignment,
            and_(
                Assignment.remains_id == Candidate.remains_id,
                Assignment.missing_person_id == Candidate.missing_person_id,
            ),
        )
        .outerjoin(User, Assignment.user_id == User.id)
        .order_by(*order)
    )
    with app.db.read() as session:
        rows = session.execute(query).all()
        pairs = {row.id: _face_pair(row.factors) for row in rows[:PAGE]}
        faces = _thumbnails(session, {f for pair in pairs.values() for f in pair if f})
        figure = figures(app, session)
        items = [
            QueueItem(
                id=row.id,
                pm_ref=row.pm_ref,
                am_ref=row.am_ref,
                rank=row.rank_for_remains,
                score=row.score,
                credible=row.credible,
                status=row.status,
                odds=figure.of(row.false_candidate_rate, (row.model_name, row.model_version)),
                am_face=faces.get(pairs[row.id][0] or 0),
                pm_face=faces.get(pairs[row.id][1] or 0),
                assignee=row.assignee,
            )
            for row in rows[:PAGE]
        ]
    return QueuePage(
        items, show, page, len(rows) > PAGE, figure.registry, event, reviewer, unassigned
    )


def _face_pair(factors: dict[str, Any]) -> tuple[int | None, int | None]:
    """The (report's, remains') faces that drove the face score, as matching stored them."""
    pair = (factors.get("face") or {}).get("pair") or [None, None]
    return pair[0], pair[1]


def queue_events(app: OpenDVI, limit: int = 500) -> list[tuple[str, str]]:
    """The events the queue can keep to: (code, name), by code."""
    with app.db.read() as session:
        rows = session.execute(select(Event.code, Event.name).order_by(Event.code).limit(limit))
        return [(code, name) for code, name in rows]


@dataclass(frozen=True)
class PairFace:
    """The chosen person's face in one photo of either side."""

    id: int
    photo_id: int
    quality: float | None
    usable: bool
    why_not: str
    turned: float
    manual: bool


@dataclass(frozen=True)
class Factor:
    name: str
    points: float
    why: str
    flags: tuple[str, ...]
    weight: str  # what the factor does to the pair, in words (``core.odds.weight_words``)


@dataclass(frozen=True)
class StandingIdentification:
    id: int
    status: str
    method: str
    objections: list[DecisionEntry]  # reviewers' objections, put to its confirmers


@dataclass(frozen=True)
class Comparison:
    candidate: CandidateView
    factors: list[Factor]  # the factors shown, in the order they were scored
    face: dict[str, Any]  # the face factor as stored: pair, best pair, weighted, pairs
    am_face: PairFace | None  # the faces that drove the score (else the first of each side)
    pm_face: PairFace | None
    am_faces: list[PairFace]
    pm_faces: list[PairFace]
    odds: Odds  # the pair's one figure
    max_rate: float
    line: str  # the credibility line in the figure's words
    exclusion: dict[str, Any] | None
    referral: dict[str, Any] | None
    identification: StandingIdentification | None
    blind: bool  # the score is hidden until this reviewer records their judgement
    judgements: list[Judgement]


def _faces(session: Session, am_id: int, pm_id: int) -> tuple[list[PairFace], list[PairFace]]:
    """The chosen person's faces on each side, in photo order: (report's, remains')."""
    rows = session.execute(
        select(
            Face.id,
            Face.photo_id,
            Face.quality,
            Face.usable,
            Face.unusable_reason,
            Face.rotation_deg,
            Face.manual,
            Photo.missing_person_id,
        )
        .join(Photo, Face.photo_id == Photo.id)
        .where(
            or_(Photo.missing_person_id == am_id, Photo.remains_id == pm_id),
            Photo.withdrawn_at.is_(None),
            Face.is_subject,
        )
        .order_by(Photo.position, Face.id)
    ).all()
    am: list[PairFace] = []
    pm: list[PairFace] = []
    for row in rows:
        face = PairFace(row[0], row[1], row[2], row[3], row[4], row[5], row[6])
        (am if row.missing_person_id == am_id else pm).append(face)
    return am, pm


def _driving(faces: list[PairFace], face_id: int | None) -> PairFace | None:
    return next((f for f in faces if f.id == face_id), faces[0] if faces else None)


def comparison(app: OpenDVI, named: Named, *, viewer_id: int, viewer_role: str) -> Comparison:
    """One pair (by its references, or its number) as the comparison page shows it to this
    viewer."""
    with app.db.read() as session:
        candidate = candidate_in(session, named)
        am_faces, pm_faces = _faces(session, candidate.report_id, candidate.remains_id)
        standing = session.execute(
            select(Identification.id, Identification.status, Identification.method).where(
                Identification.remains_id == candidate.remains_id,
                Identification.missing_person_id == candidate.report_id,
                Identification.status != "revoked",
            )
        ).one_or_none()
        blind = blind_for(app.settings, viewer_role) and (
            judgement_of(
                session,
                candidate.remains_id,
                candidate.report_id,
                viewer_id,
                candidate.evidence_digest,
            )
            is None
        )
        judged = judgements(session, candidate.remains_id, candidate.report_id)
        odds = figures(app, session).of(
            candidate.false_candidate_rate, (candidate.model_name, candidate.model_version)
        )
        objections = (
            objections_of(pair_history(session, candidate.remains_id, candidate.report_id))
            if standing
            else []
        )
    factors = shown_factors(candidate.factors)
    face = factors.get("face", {})
    am_face_id, pm_face_id = _face_pair(factors)
    return Comparison(
        candidate=candidate,
        factors=[
            Factor(
                FACTOR_NAMES[key],
                value["points"],
                value.get("why", ""),
                tuple(value.get("flags") or ()),
                value["weight"],  # shown_factors gives every factor its weight in words
            )
            for key, value in factors.items()
            if key in FACTOR_NAMES
        ],
        face=face,
        am_face=_driving(am_faces, am_face_id),
        pm_face=_driving(pm_faces, pm_face_id),
        am_faces=am_faces,
        pm_faces=pm_faces,
        odds=odds,
        max_rate=app.settings.candidate_max_rate,
        line=line_words(app.settings.candidate_max_rate),
        exclusion=factors.get("exclusion"),
        referral=factors.get("referral"),
        identification=StandingIdentification(*standing, objections) if standing else None,
        blind=blind,
        judgements=judged,
    )

"""The JSON API under /api: the same queries and use-cases as the pages, for scripts and
other systems. Signed-in sessions only; changes carry the CSRF token in ``X-CSRF-Token``.
Each route declares the roles of the page it matches (docs/api.md lists them)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from opendvi import audit
from opendvi.core.fields import CONTACT_FIELDS, parse_missing_person, parse_remains
from opendvi.core.notification import is_overdue
from opendvi.db.queries import stats
from opendvi.db.tables import Candidate, Identification, MissingPerson, Remains, User
from opendvi.notify import NOTIFY_ROLES
from opendvi.web.decisions import _identification, with_people
from opendvi.web.intake import ADD, LABELS, _fields
from opendvi.web.records import KINDS, PAGE, page_of_records, record_candidates, record_photos
from opendvi.web.security import READ, REVIEW, roles

router = APIRouter(prefix="/api", tags=["api"])


class CandidateOut(BaseModel):
    id: int
    pm_ref: str
    am_ref: str
    rank_for_remains: int | None
    rank_for_missing: int | None
    score: float = Field(description="Total points: face plus description (higher: more alike)")
    face_score: float | None
    false_candidate_rate: float | None = Field(
        description="Chance that a search of this many reports shows a stranger this similar"
    )
    credible: bool
    status: str
    model: str
    factors: dict[str, Any]


class ExcludeIn(BaseModel):
    reason: str = Field(min_length=1, description="Why the pair is not the same person")


def _out(candidate: Candidate, pm_ref: str, am_ref: str) -> CandidateOut:
    return CandidateOut(
        id=candidate.id,
        pm_ref=pm_ref,
        am_ref=am_ref,
        rank_for_remains=candidate.rank_for_remains,
        rank_for_missing=candidate.rank_for_missing,
        score=candidate.score,
        face_score=candidate.face_score,
        false_candidate_rate=candidate.false_candidate_rate,
        credible=candidate.credible,
        status=candidate.status,
        model=f"{candidate.model_name} {candidate.model_version}",
        factors=candidate.factors or {},
    )


def _query() -> Any:
    report = aliased(MissingPerson)
    return (
        select(Candidate, Remains.ref, report.ref)
        .join(Remains, Candidate.remains_id == Remains.id)
        .join(report, Candidate.missing_person_id == report.id)
    )


@router.get("/stats")
@roles(*READ)
def api_stats(request: Request) -> dict[str, int]:
    """Counts of what the database holds."""
    with request.app.state.dvi.db.read() as session:
        return stats(session)


@router.get("/candidates")
@roles(*READ)
def api_candidates(
    request: Request,
    pm_ref: str | None = None,
    credible: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CandidateOut]:
    """Listed candidates, the most credible first; ``pm_ref`` for one remains record's list."""
    query = _query().where(Candidate.rank_for_remains.is_not(None))
    if pm_ref is not None:
        query = query.where(Remains.ref == pm_ref).order_by(Candidate.rank_for_remains)
    else:
        query = query.order_by(
            Candidate.false_candidate_rate.is_(None),
            Candidate.false_candidate_rate,
            Candidate.id,
        )
    if credible is not None:
        query = query.where(Candidate.credible == credible)
    with request.app.state.dvi.db.read() as session:
        rows = session.execute(query.offset(offset).limit(limit)).all()
        return [_out(c, pm, am) for c, pm, am in rows]


@router.get("/candidates/{candidate_id}")
@roles(*READ)
def api_candidate(request: Request, candidate_id: int) -> CandidateOut:
    """One candidate pair with every factor."""
    with request.app.state.dvi.db.read() as session:
        row = session.execute(_query().where(Candidate.id == candidate_id)).first()
        if row is None:
            raise HTTPException(404, f"there is no candidate {candidate_id}")
        return _out(*row)


@router.post("/candidates/{candidate_id}/exclude")
@roles(*REVIEW)
def api_exclude(request: Request, candidate_id: int, body: ExcludeIn) -> CandidateOut:
    """Record that the pair is not the same person (see docs/matching.md, Exclusions)."""
    from opendvi.review import exclude

    dvi = request.app.state.dvi
    current = api_candidate(request, candidate_id)
    exclude(
        dvi,
        current.pm_ref,
        current.am_ref,
        reason=body.reason,
        username=request.state.viewer.username,
    )
    return api_candidate(request, candidate_id)


# Decisions on a candidate pair, as on the comparison page.


class ReferIn(BaseModel):
    compare: list[str] = Field(
        description="Primary identifiers to compare: one or more of dna, fingerprints, dental"
    )
    reason: str = Field("", description="Why the pair is referred (optional)")


class IdentifyIn(BaseModel):
    primary: list[str] = Field(
        default_factory=list,
        description="Primary identifiers that agree: dna, fingerprints, dental",
    )
    secondary: list[str] = Field(
        default_factory=list,
        description="Secondary evidence that agrees: face, marks, effects, description, "
        "circumstances (at least two kinds, never a face alone, when no primary is given)",
    )
    note: str = Field(
        "",
        description="The basis: how the evidence agrees (a sentence or more when only "
        "secondary evidence is given)",
    )


class RevokeIn(BaseModel):
    reason: str = Field(description="Why the identification is revoked")


class DecisionOut(BaseModel):
    kind: str = Field(description="propose_identification, confirm, revoke, exclude, ...")
    reason: str
    by: str
    at: dt.datetime


class IdentificationOut(BaseModel):
    number: int
    pm_ref: str
    am_ref: str
    status: str = Field(description="proposed, confirmed or revoked")
    method: str = Field(description="As stored: dna+dental, or secondary:face+marks")
    basis: str
    proposed_by: str
    proposed_at: dt.datetime
    confirmed_by: list[str] = Field(description="Up to two reviewers, neither the proposer")
    confirmed_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoke_reason: str


class IdentificationDetail(IdentificationOut):
    candidate_id: int | None
    history: list[DecisionOut] = Field(description="Every decision on the pair, oldest first")


def _identification_out(
    identification: Identification,
    pm_ref: str,
    am_ref: str,
    proposer: User,
    first: User | None,
    second: User | None,
) -> dict[str, Any]:
    return {
        "number": identification.id,
        "pm_ref": pm_ref,
        "am_ref": am_ref,
        "status": identification.status,
        "method": identification.method,
        "basis": identification.basis,
        "proposed_by": proposer.username,
        "proposed_at": identification.proposed_at,
        "confirmed_by": [u.username for u in (first, second) if u is not None],
        "confirmed_at": identification.confirmed_at,
        "revoked_at": identification.revoked_at,
        "revoke_reason": identification.revoke_reason,
    }


@router.post("/candidates/{candidate_id}/refer")
@roles(*REVIEW)
def api_refer(request: Request, candidate_id: int, body: ReferIn) -> CandidateOut:
    """Refer the pair as a possible match, for comparison of primary identifiers."""
    from opendvi.review import refer

    current = api_candidate(request, candidate_id)
    refer(
        request.app.state.dvi,
        current.pm_ref,
        current.am_ref,
        compare=body.compare,
        reason=body.reason,
        username=request.state.viewer.username,
    )
    return api_candidate(request, candidate_id)


class JudgeIn(BaseModel):
    verdict: str = Field(description="same, different or unsure")
    note: str = Field("", description="What the judgement rests on (optional)")


class JudgedOut(BaseModel):
    decision: int
    judgements: list[dict[str, str]] = Field(
        description="Every judgement of the pair: by, on, verdict, words, note"
    )


@router.post("/candidates/{candidate_id}/judge", status_code=201)
@roles(*REVIEW)
def api_judge(request: Request, candidate_id: int, body: JudgeIn) -> JudgedOut:
    """Record your own judgement of the pair, made before seeing its score (blind review)."""
    from opendvi.review import judge, judgements

    current = api_candidate(request, candidate_id)
    dvi = request.app.state.dvi
    decision = judge(
        dvi,
        current.pm_ref,
        current.am_ref,
        verdict=body.verdict,
        note=body.note,
        username=request.state.viewer.username,
    )
    with dvi.db.read() as session:
        candidate = session.get(Candidate, candidate_id)
        assert candidate is not None
        kept = judgements(session, candidate.remains_id, candidate.missing_person_id)
    return JudgedOut(decision=decision, judgements=kept)


@router.post("/candidates/{candidate_id}/identify", status_code=201)
@roles(*REVIEW)
def api_identify(
    request: Request, response: Response, candidate_id: int, body: IdentifyIn
) -> IdentificationDetail:
    """Propose that the remains are the reported person, on the method given; two other
    reviewers must confirm it (docs/matching.md)."""
    from opendvi.review import propose_identification

    current = api_candidate(request, candidate_id)
    number = propose_identification(
        request.app.state.dvi,
        current.pm_ref,
        current.am_ref,
        primary=body.primary,
        secondary=body.secondary,
        note=body.note,
        username=request.state.viewer.username,
    )
    response.headers["Location"] = f"/api/identifications/{number}"
    return api_identification(request, number)


@router.get("/identifications")
@roles(*READ)
def api_identifications(
    request: Request,
    status: Annotated[str, Query(pattern="^(|proposed|confirmed|revoked)$")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[IdentificationOut]:
    """Identifications, the newest first."""
    query = with_people().order_by(Identification.id.desc())
    if status:
        query = query.where(Identification.status == status)
    with request.app.state.dvi.db.read() as session:
        rows = session.execute(query.offset(offset).limit(limit)).all()
        return [IdentificationOut(**_identification_out(*row)) for row in rows]


@router.get("/identifications/{number}")
@roles(*READ)
def api_identification(request: Request, number: int) -> IdentificationDetail:
    """One identification with every decision on its pair."""
    found = _identification(request, number)
    return IdentificationDetail(
        **_identification_out(
            found["identification"],
            found["pm_ref"],
            found["am_ref"],
            found["proposer"],
            found["first"],
            found["second"],
        ),
        candidate_id=found["candidate_id"],
        history=[
            DecisionOut(kind=d.kind, reason=d.reason, by=username, at=d.created_at)
            for d, username in found["history"]
        ],
    )


@router.post("/identifications/{number}/confirm")
@roles(*REVIEW)
def api_confirm(request: Request, number: int) -> IdentificationDetail:
    """Add a confirmation; the second, by another reviewer, confirms the identification.
    Refused (409) to the proposer, and to whoever confirmed it already."""
    from opendvi.review import confirm_identification

    confirm_identification(request.app.state.dvi, number, username=request.state.viewer.username)
    return api_identification(request, number)


@router.post("/identifications/{number}/revoke")
@roles(*REVIEW)
def api_revoke(request: Request, number: int, body: RevokeIn) -> IdentificationDetail:
    """Revoke an identification, its history kept; the records are open again."""
    from opendvi.review import revoke_identification

    revoke_identification(
        request.app.state.dvi,
        number,
        reason=body.reason,
        username=request.state.viewer.username,
    )
    return api_identification(request, number)


# Records, as the lists and record pages show them; new ones from the import's fields.

Kind = Literal["missing", "remains"]


class RecordOut(BaseModel):
    kind: Kind
    ref: str
    status: str = Field(description="open, identified, closed or merged")
    fields: dict[str, str] = Field(
        description="The record's fields as text, named as the import's columns "
        "(docs/import.md); photos and the reporting contact are not included"
    )


class RecordList(BaseModel):
    total: int = Field(description="How many records the filters keep")
    page: int
    per_page: int
    more: bool = Field(description="Whether a later page has more")
    records: list[RecordOut]


class FaceOut(BaseModel):
    id: int
    subject: bool = Field(description="The record's person, in a group photo")
    usable: bool
    why_not: str
    quality: float | None
    manual: bool = Field(description="Boxed by hand")


class PhotoOut(BaseModel):
    id: int
    name: str
    detection_status: str
    detection_note: str
    width: int
    height: int
    faces: list[FaceOut]


class RecordCandidateOut(BaseModel):
    candidate_id: int
    ref: str = Field(description="The other side's reference")
    rank: int
    score: float
    credible: bool
    status: str


class HistoryOut(BaseModel):
    at: dt.datetime
    actor: str
    action: str


class RecordDetail(RecordOut):
    photos: list[PhotoOut]
    candidates: list[RecordCandidateOut] = Field(description="Listed candidates, best first")
    history: list[HistoryOut] = Field(description="Audit events on this record, newest first")


class Problems(BaseModel):
    detail: str = Field(description="The first problem, with its field's name")
    field: str = Field(description="The first field with a problem")
    problems: dict[str, str] = Field(description="Every field with a problem, and what it is")


def _record_out(kind: str, record: MissingPerson | Remains) -> dict[str, Any]:
    from opendvi.interchange.export import record_values

    values = record_values(record)
    return {
        "kind": kind,
        "ref": record.ref,
        "status": record.status,
        "fields": {k: v for k, v in values.items() if k not in CONTACT_FIELDS},
    }


def _loaded(model: Any) -> list[Any]:
    extra = [selectinload(model.contacts)] if model is MissingPerson else []
    return [
        selectinload(model.event),
        selectinload(model.marks),
        selectinload(model.effects),
        *extra,
    ]


@router.get("/records/{kind}")
@roles(*READ)
def api_records(
    request: Request,
    kind: Kind,
    q: Annotated[str, Query(description="Words in the reference, names, description, place")] = "",
    status: Annotated[str, Query(pattern="^(|open|identified|closed|merged)$")] = "",
    sex: Annotated[str, Query(pattern="^(|F|M|U)$")] = "",
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    since: Annotated[dt.date | None, Query(description="Last seen or found on or after")] = None,
    until: Annotated[dt.date | None, Query(description="Last seen or found on or before")] = None,
    event: Annotated[str, Query(description="Event code")] = "",
    place: Annotated[str, Query(description="Words in the place last seen or found")] = "",
    page: Annotated[int, Query(ge=1)] = 1,
) -> RecordList:
    """Missing-person reports or unidentified remains, filtered as on the list pages, by
    reference, fifty a page. Uncertain dates and ages are kept when their range overlaps."""
    filters = {
        "q": q,
        "status": status,
        "sex": sex,
        "age": age,
        "since": since,
        "until": until,
        "event": event,
        "place": place,
    }
    with request.app.state.dvi.db.read() as session:
        total, rows = page_of_records(session, kind, filters, page, *_loaded(KINDS[kind]))
        records = [RecordOut(**_record_out(kind, r)) for r in rows]
    return RecordList(
        total=total, page=page, per_page=PAGE, more=page * PAGE < total, records=records
    )


@router.get("/records/{kind}/{ref:path}")
@roles(*READ)
def api_record(request: Request, kind: Kind, ref: str) -> RecordDetail:
    """One record with its photos and faces, candidates and history."""
    model: Any = KINDS[kind]
    with request.app.state.dvi.db.read() as session:
        record = session.execute(
            select(model).options(*_loaded(model)).where(model.ref == ref)
        ).scalar_one_or_none()
        if record is None:
            raise HTTPException(404, f"there is no record {ref!r} among the {kind} records")
        photos = [PhotoOut(**photo) for photo in record_photos(record)]
        candidates = [
            RecordCandidateOut(
                candidate_id=c.id,
                ref=other_ref,
                rank=position,
                score=c.score,
                credible=c.credible,
                status=c.status,
            )
            for c, other_ref, position in record_candidates(session, kind, record.id)
        ]
        history = [
            HistoryOut(at=e.at, actor=e.actor, action=e.action)
            for e in audit.recent(session, limit=100, entity_ref=ref)
        ]
        return RecordDetail(
            **_record_out(kind, record), photos=photos, candidates=candidates, history=history
        )


def _record_in(kind: str) -> type[BaseModel]:
    """The import's text fields for one kind of record, photos aside (docs/import.md)."""
    fields: dict[str, Any] = {}
    for name in _fields(kind):
        label, hint = LABELS.get(name, (name.replace("_", " ").capitalize(), ""))
        about = f"{label}: {hint}" if hint else label
        if name == "ref":
            fields[name] = (str, Field(description=f"{about} (required)"))
        else:
            fields[name] = (str | None, Field(None, description=about))
    return create_model(
        "MissingPersonIn" if kind == "missing" else "RemainsIn",
        __config__=ConfigDict(extra="forbid", coerce_numbers_to_str=True),
        __doc__="Text values read as an imported row's cells are; absent or empty: unknown.",
        **fields,
    )


MissingPersonIn = _record_in("missing")
RemainsIn = _record_in("remains")


def _add(request: Request, response: Response, kind: str, body: BaseModel) -> Any:
    """Save a new record from the import's fields, with the same parsers and checks as the
    form: every problem is reported at once and nothing is saved."""
    from opendvi.intake import save_parsed

    values = {k: v.strip() for k, v in body.model_dump().items() if v and v.strip()}
    parse = parse_missing_person if kind == "missing" else parse_remains
    parsed = parse(values)
    problems = dict(parsed.problems)
    dvi = request.app.state.dvi
    model: Any = KINDS[kind]
    with dvi.db.read() as session:
        taken = session.execute(select(model.id).where(model.ref == parsed.ref)).first()
    if parsed.ref and taken and "ref" not in problems:
        problems["ref"] = f"{parsed.ref!r} is already taken; choose another reference"
    if problems:
        first = next(f for f in (*_fields(kind), *problems) if f in problems)
        content = Problems(
            detail=f"{first}: {problems[first]}", field=first, problems=problems
        ).model_dump()
        return JSONResponse(content, status_code=422)
    with dvi.db.write() as session:
        save_parsed(
            session,
            kind=kind,
            parsed=parsed,
            photos=None,
            actor=request.state.viewer.username,
            source="api",
        )
    response.headers["Location"] = f"/api/records/{kind}/{quote(parsed.ref, safe='')}"
    return api_record(request, kind, parsed.ref)


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    422: {"model": Problems, "description": "A field cannot be read, or the ref is taken"}
}


@router.post("/records/missing", status_code=201, responses=_PROBLEMS)
@roles(*ADD["missing"])
def api_add_report(request: Request, response: Response, body: MissingPersonIn) -> RecordDetail:
    """Add a missing-person report; photos are added from its page or by import."""
    return _add(request, response, "missing", body)


@router.post("/records/remains", status_code=201, responses=_PROBLEMS)
@roles(*ADD["remains"])
def api_add_remains(request: Request, response: Response, body: RemainsIn) -> RecordDetail:
    """Add an unidentified-remains record; photos are added from its page or by import."""
    return _add(request, response, "remains", body)


# Telling families: notification tasks (docs/notification.md). Read by those who work with
# families and by the auditor; changed by caseworkers and admins (NOTIFY_ROLES).

NOTIFY_READ = ("admin", "caseworker", "auditor")
TASK_STATUS = "prepared|approved|carried_out|acknowledged|closed|cancelled"
OPEN_TASKS = ("prepared", "approved", "carried_out", "acknowledged")


class NotificationOut(BaseModel):
    id: int
    identification: int = Field(description="The confirmed identification that opened it")
    pm_ref: str
    am_ref: str
    contact: str = Field(description="The reporting contact to be told")
    channel: str = Field(description="in_person, phone, letter or email")
    language: str = Field(description="Language of the words, e.g. uk")
    status: str = Field(
        description="prepared, approved, carried_out (told), acknowledged, closed or cancelled"
    )
    due_on: dt.date | None
    overdue: bool = Field(description="Due before today and the family not yet told")
    assigned: list[str] = Field(description="The two people who tell the family")


class ContactOut(BaseModel):
    name: str
    relationship: str
    language: str
    channels: list[str] = Field(description="The ways the contact chose to be reached")
    email: str
    phone: str
    address: str


class ChecklistItemOut(BaseModel):
    item: str
    label: str
    done: bool


class StepOut(BaseModel):
    id: int
    kind: str = Field(
        description="visit, call, letter, email, outbox, acknowledged, follow_up, referral, "
        "photo_request, photo_viewed, note, or alert (to whoever handled a task whose "
        "identification was revoked)"
    )
    outcome: str = Field(description="told, not_reached, postponed; sent for an e-mail")
    on: dt.date | None
    note: str
    by: str = Field(description="Who recorded it; for an alert, who is alerted")
    at: dt.datetime


class UnreachedOut(BaseModel):
    contact: str
    why: str = Field(description="Why this contact of the report is not told")


class NotificationDetail(NotificationOut):
    identification_status: str
    method: str
    contact_details: ContactOut
    checklist: list[ChecklistItemOut]
    subject: str = Field(description="Subject of an e-mail or letter")
    draft: str = Field(description="The words")
    note: str = Field(description="For staff: about the template, and how the task ended")
    drafted_by: str | None = Field(description="Who last saved the words")
    approved_by: str | None = Field(description="The second person, who approved them")
    approved_at: dt.datetime | None
    cancel_reason: str
    created_at: dt.datetime
    steps: list[StepOut] = Field(description="What was done, oldest first")
    unreached: list[UnreachedOut] = Field(
        description="The report's other contacts who may not be told, each with why"
    )


class SentOut(NotificationDetail):
    where: str = Field(description="Where the e-mail went: the mail server, or the outbox file")


class WordsIn(BaseModel):
    draft: str = Field(description="The words, as read (and perhaps changed) by you")
    subject: str | None = Field(None, description="Subject of the e-mail or letter (absent: kept)")


class RedraftIn(BaseModel):
    language: str = Field(description="Language of the new words: en, es, fr, ar, uk, ru, ...")


class PlanIn(BaseModel):
    channel: str = Field(
        description="in_person, phone, letter or email (e-mail only if the contact chose it)"
    )
    assigned: list[str] = Field(description="The usernames of the two people who tell the family")
    due_on: dt.date | None = Field(
        None, description="Tell the family by this date; absent: kept; null: no date"
    )


class ChecklistIn(BaseModel):
    checklist: dict[str, bool] = Field(
        description="Items and whether done: identity, relationship, plain_words, next_steps, "
        "support"
    )


class StepIn(BaseModel):
    kind: str = Field(
        description="visit, call, letter, acknowledged, follow_up, referral, photo_request, "
        "photo_viewed or note"
    )
    outcome: str = Field(
        "", description="For a visit, call or letter: told, not_reached, postponed"
    )
    on: dt.date | None = Field(None, description="When it happened (absent: today)")
    note: str = Field("", description="What happened (required for follow_up, referral, note)")


class CloseIn(BaseModel):
    note: str = Field("", description="How it ended, kept with the task")


def _tasks_query() -> Any:
    from opendvi.db.tables import Contact, Notification

    return (
        select(Notification, Contact, Identification, Remains.ref, MissingPerson.ref)
        .join(Contact, Notification.contact_id == Contact.id)
        .join(Identification, Notification.identification_id == Identification.id)
        .join(Remains, Identification.remains_id == Remains.id)
        .join(MissingPerson, Identification.missing_person_id == MissingPerson.id)
    )


def _task_out(task: Any, contact: Any, identification: Any, pm: str, am: str) -> dict[str, Any]:
    return {
        "id": task.id,
        "identification": identification.id,
        "pm_ref": pm,
        "am_ref": am,
        "contact": contact.name,
        "channel": task.channel,
        "language": task.language,
        "status": task.status,
        "due_on": task.due_on,
        "overdue": is_overdue(task.status, task.due_on),
        "assigned": list(task.assigned or []),
    }


@router.get("/notifications")
@roles(*NOTIFY_READ)
def api_notifications(
    request: Request,
    status: Annotated[
        str, Query(pattern=f"^(|{TASK_STATUS})$", description="Only tasks in this status")
    ] = "",
    only_open: Annotated[
        bool,
        Query(
            alias="open",
            description="Only tasks not closed or cancelled (ignored with status); false: all",
        ),
    ] = True,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[NotificationOut]:
    """Notification tasks, the soonest due first (tasks without a due date last)."""
    from opendvi.db.tables import Notification

    query = _tasks_query().order_by(
        Notification.due_on.is_(None), Notification.due_on, Notification.id
    )
    if status:
        query = query.where(Notification.status == status)
    elif only_open:
        query = query.where(Notification.status.in_(OPEN_TASKS))
    with request.app.state.dvi.db.read() as session:
        rows = session.execute(query.offset(offset).limit(limit)).all()
        return [NotificationOut(**_task_out(*row)) for row in rows]


@router.get("/notifications/{task_id}")
@roles(*NOTIFY_READ)
def api_notification(request: Request, task_id: int) -> NotificationDetail:
    """One task: the contact and how to reach them, the report's contacts who are not told
    and why, the plan, the checklist, the words, and every step."""
    from opendvi.core.notification import CHECKLIST
    from opendvi.notify.tasks import read_task

    with request.app.state.dvi.db.read() as session:
        found = read_task(session, task_id)
        task, contact, identification = found.task, found.contact, found.identification
        row = (task, contact, identification, found.remains.ref, found.report.ref)
        done = task.checklist or {}
        return NotificationDetail(
            **_task_out(*row),
            identification_status=identification.status,
            method=identification.method,
            contact_details=ContactOut(
                name=contact.name,
                relationship=contact.relationship_,
                language=contact.language,
                channels=[c for c in contact.consent_channels.replace(" ", ",").split(",") if c],
                email=contact.email,
                phone=contact.phone,
                address=contact.address,
            ),
            checklist=[
                ChecklistItemOut(item=item, label=label, done=bool(done.get(item)))
                for item, label in CHECKLIST.items()
            ],
            subject=task.subject,
            draft=task.draft,
            note=task.note,
            drafted_by=found.drafted_by,
            approved_by=found.approved_by,
            approved_at=task.approved_at,
            cancel_reason=task.cancel_reason,
            created_at=task.created_at,
            steps=[
                StepOut(
                    id=step.id,
                    kind=step.kind,
                    outcome=step.outcome,
                    on=step.happened_on,
                    note=step.note,
                    by=username,
                    at=step.created_at,
                )
                for step, username in found.steps
            ],
            unreached=[UnreachedOut(contact=u.contact, why=u.why) for u in found.unreached],
        )


def _username(request: Request) -> str:
    return str(request.state.viewer.username)


@router.post("/notifications/{task_id}/words")
@roles(*NOTIFY_ROLES)
def api_notification_words(request: Request, task_id: int, body: WordsIn) -> NotificationDetail:
    """Save the words you have read (and perhaps changed); someone else approves them. Words
    changed after an approval need a new approval."""
    from opendvi.notify import save_words

    subject = body.subject
    if subject is None:
        subject = api_notification(request, task_id).subject
    save_words(
        request.app.state.dvi,
        task_id,
        subject=subject,
        text=body.draft,
        username=_username(request),
    )
    return api_notification(request, task_id)


@router.post("/notifications/{task_id}/redraft")
@roles(*NOTIFY_ROLES)
def api_notification_redraft(request: Request, task_id: int, body: RedraftIn) -> NotificationDetail:
    """New words from the template in a language, to be read and saved again."""
    from opendvi.notify import redraft

    redraft(request.app.state.dvi, task_id, language=body.language, username=_username(request))
    return api_notification(request, task_id)


@router.post("/notifications/{task_id}/plan")
@roles(*NOTIFY_ROLES)
def api_notification_plan(request: Request, task_id: int, body: PlanIn) -> NotificationDetail:
    """How the family is told, by which two staff, by when. A changed plan needs a new
    approval."""
    from opendvi.notify import plan

    due_on = body.due_on
    if "due_on" not in body.model_fields_set:
        due_on = api_notification(request, task_id).due_on
    plan(
        request.app.state.dvi,
        task_id,
        channel=body.channel.strip(),
        assigned=body.assigned,
        due_on=due_on,
        username=_username(request),
    )
    return api_notification(request, task_id)


@router.post("/notifications/{task_id}/checklist")
@roles(*NOTIFY_ROLES)
def api_notification_checklist(
    request: Request, task_id: int, body: ChecklistIn
) -> NotificationDetail:
    """Tick (true) or untick (false) items of the checklist; the others stay as they are."""
    from opendvi.notify import set_checklist

    set_checklist(request.app.state.dvi, task_id, items=body.checklist, username=_username(request))
    return api_notification(request, task_id)


@router.post("/notifications/{task_id}/approve")
@roles(*NOTIFY_ROLES)
def api_notification_approve(request: Request, task_id: int) -> NotificationDetail:
    """Approve the words and the plan. Refused (409) to whoever saved the words, before
    anyone saved them, and before two people are named to tell the family."""
    from opendvi.notify import approve

    approve(request.app.state.dvi, task_id, username=_username(request))
    return api_notification(request, task_id)


@router.post("/notifications/{task_id}/send")
@roles(*NOTIFY_ROLES)
def api_notification_send(request: Request, task_id: int) -> SentOut:
    """Send the approved e-mail as plain text, without attachment, through the mail server,
    or write it to the outbox folder when none is set."""
    from opendvi.notify import send, transport

    dvi = request.app.state.dvi
    where = send(dvi, task_id, username=_username(request), transport=transport(dvi.settings))
    return SentOut(**api_notification(request, task_id).model_dump(), where=where)


@router.post("/notifications/{task_id}/steps", status_code=201)
@roles(*NOTIFY_ROLES)
def api_notification_step(request: Request, task_id: int, body: StepIn) -> NotificationDetail:
    """Record what was done: a visit, call or letter with its outcome, the family's
    acknowledgement, a follow-up, a referral, a request to see photos, photos viewed, a note."""
    from opendvi.notify import record_step

    record_step(
        request.app.state.dvi,
        task_id,
        kind=body.kind.strip(),
        outcome=body.outcome.strip(),
        on=body.on,
        note=body.note,
        username=_username(request),
    )
    return api_notification(request, task_id)


@router.post("/notifications/{task_id}/close")
@roles(*NOTIFY_ROLES)
def api_notification_close(request: Request, task_id: int, body: CloseIn) -> NotificationDetail:
    """Close a task once the family was told."""
    from opendvi.notify import close

    close(request.app.state.dvi, task_id, note=body.note, username=_username(request))
    return api_notification(request, task_id)

"""Reviewers' decisions on candidate pairs: exclusion (recorded with the pair's evidence
digest, so the pair stays out while the evidence is the same and resurfaces when it
changes), referral of a possible match for primary identifiers, and identification —
proposed on a method (``core.workflow``), confirmed by two other reviewers, revocable."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.workflow import PRIMARY, RuleBroken, check_confirmer, parse_method
from opendvi.db.tables import (
    Candidate,
    Decision,
    Identification,
    MissingPerson,
    Remains,
    User,
    utcnow,
)
from opendvi.errors import InputError, NotFound, Refused
from opendvi.matching.explain import resolve_pair
from opendvi.matching.lists import rank_lists
from opendvi.matching.pairs import score_pair
from opendvi.matching.run import open_context
from opendvi.notify.tasks import cancel_for_revocation, open_for_identification
from opendvi.users import REVIEW_ROLES, acting_user


def exclude(app: OpenDVI, pm_ref: str, am_ref: str, *, reason: str, username: str) -> int:
    """Record a reviewer's exclusion of a pair, on the evidence as it stands now. The pair
    leaves both lists; it comes back, flagged, when that evidence changes."""
    if not reason.strip():
        raise InputError(
            "reason: say why the pair is excluded (e.g. 'dental records differ')", field="reason"
        )
    with app.db.write() as session:
        user = _reviewer(session, username, "exclude a candidate")
        remains, report = resolve_pair(session, pm_ref, am_ref)
        ctx = open_context(session, app, actor=username, recalibrate=False)
        row = score_pair(ctx, report.id, remains.id)
        decision = Decision(
            remains_id=remains.id,
            missing_person_id=report.id,
            kind="exclude",
            reason=reason.strip(),
            evidence_digest=row["evidence_digest"],
            user_id=user.id,
        )
        session.add(decision)
        session.flush()
        candidate = _candidate(session, remains.id, report.id)
        if candidate is not None:
            _mark(candidate, "excluded", "exclusion", decision, username)
            rank_lists(session, {remains.id}, {report.id}, app.settings.candidates_per_record)
        audit.record(
            session,
            actor=username,
            action="candidate.excluded",
            entity_type="decision",
            entity_id=decision.id,
            entity_ref=f"{pm_ref} / {am_ref}",
            after={
                "kind": "exclude",
                "reason": decision.reason,
                "evidence": row["evidence_digest"],
            },
            details={"remains": pm_ref, "missing_person": am_ref},
        )
        return decision.id


def _reviewer(session: Session, username: str, doing: str) -> User:
    return acting_user(
        session, username, REVIEW_ROLES, who="a reviewer, forensic specialist or admin", doing=doing
    )


def refer(
    app: OpenDVI, pm_ref: str, am_ref: str, *, compare: list[str], reason: str, username: str
) -> int:
    """Record a possible match, referred for comparison of primary identifiers (DNA,
    fingerprints, dental records)."""
    wanted = sorted({c.strip().lower() for c in compare if c.strip()})
    if not wanted or any(c not in PRIMARY for c in wanted):
        raise InputError(
            f"compare: choose what to compare, one or more of {', '.join(PRIMARY)}",
            field="compare",
        )
    with app.db.write() as session:
        user = _reviewer(session, username, "refer a possible match")
        remains, report = resolve_pair(session, pm_ref, am_ref)
        note = f"compare {', '.join(wanted)}" + (f": {reason.strip()}" if reason.strip() else "")
        decision = Decision(
            remains_id=remains.id,
            missing_person_id=report.id,
            kind="possible_match",
            reason=note,
            user_id=user.id,
        )
        session.add(decision)
        session.flush()
        candidate = _candidate(session, remains.id, report.id)
        if candidate is not None:
            _mark(candidate, "referred", "referral", decision, username)
        audit.record(
            session,
            actor=username,
            action="candidate.referred",
            entity_type="decision",
            entity_id=decision.id,
            entity_ref=f"{pm_ref} / {am_ref}",
            after={"kind": "possible_match", "compare": wanted, "reason": note},
        )
        return decision.id


# A reviewer's own judgement of a pair, recorded before the score is shown (blind review).
VERDICTS = {
    "same": "the same person",
    "different": "different people",
    "unsure": "cannot tell from these pictures",
}


def judge(
    app: OpenDVI, pm_ref: str, am_ref: str, *, verdict: str, note: str = "", username: str
) -> int:
    """Record a reviewer's own judgement of a pair from the pictures and facts alone, before
    the pair's score is shown to them. It decides nothing; it is kept beside the score so a
    team can see how often people and the model agree. Once per reviewer per evidence."""
    verdict = verdict.strip().lower()
    if verdict not in VERDICTS:
        raise InputError(f"verdict: choose one of {', '.join(VERDICTS)}", field="verdict")
    with app.db.write() as session:
        user = _reviewer(session, username, "record a judgement of a pair")
        remains, report = resolve_pair(session, pm_ref, am_ref)
        candidate = _candidate(session, remains.id, report.id)
        digest = candidate.evidence_digest if candidate is not None else ""
        if judgement_of(session, remains.id, report.id, user.id, digest) is not None:
            raise Refused(
                f"{username} has already recorded a judgement of {pm_ref} and {am_ref} on this "
                "evidence; it is kept as it was given"
            )
        text = verdict + (f": {note.strip()}" if note.strip() else "")
        decision = Decision(
            remains_id=remains.id,
            missing_person_id=report.id,
            kind="judgement",
            reason=text,
            evidence_digest=digest,
            user_id=user.id,
        )
        session.add(decision)
        session.flush()
        audit.record(
            session,
            actor=username,
            action="candidate.judged",
            entity_type="decision",
            entity_id=decision.id,
            entity_ref=f"{pm_ref} / {am_ref}",
            after={"kind": "judgement", "verdict": verdict, "note": note.strip()},
        )
        return decision.id


def judgement_of(
    session: Session, remains_id: int, report_id: int, user_id: int, digest: str
) -> Decision | None:
    """This reviewer's judgement of the pair on this evidence, if they gave one."""
    return session.execute(
        select(Decision)
        .where(
            Decision.kind == "judgement",
            Decision.remains_id == remains_id,
            Decision.missing_person_id == report_id,
            Decision.user_id == user_id,
            Decision.evidence_digest == digest,
        )
        .limit(1)
    ).scalar_one_or_none()


def judgements(session: Session, remains_id: int, report_id: int) -> list[dict[str, str]]:
    """Every judgement recorded for the pair, oldest first: who, when, what."""
    rows = session.execute(
        select(Decision, User.username)
        .join(User, Decision.user_id == User.id)
        .where(
            Decision.kind == "judgement",
            Decision.remains_id == remains_id,
            Decision.missing_person_id == report_id,
        )
        .order_by(Decision.id)
    ).all()
    out = []
    for decision, username in rows:
        verdict, _, note = decision.reason.partition(": ")
        out.append(
            {
                "by": username,
                "on": decision.created_at.date().isoformat(),
                "verdict": verdict,
                "words": VERDICTS.get(verdict, verdict),
                "note": note,
            }
        )
    return out


def _mark(candidate: Candidate, status: str, key: str, decision: Decision, username: str) -> None:
    """Show a reviewer's decision on the stored pair at once (matching keeps it after)."""
    candidate.status = status
    candidate.factors = {
        **candidate.factors,
        key: {
            "decision_id": decision.id,
            "by": username,
            "on": decision.created_at.date().isoformat(),
            "reason": decision.reason,
        },
    }


def _candidate(session: Session, remains_id: int, report_id: int) -> Candidate | None:
    return session.execute(
        select(Candidate).where(
            Candidate.remains_id == remains_id, Candidate.missing_person_id == report_id
        )
    ).scalar_one_or_none()


def propose_identification(
    app: OpenDVI,
    pm_ref: str,
    am_ref: str,
    *,
    primary: list[str],
    secondary: list[str],
    note: str,
    username: str,
) -> int:
    """Propose that the remains are the reported person, on the method given; two other
    reviewers must confirm it before it counts."""
    try:
        method = parse_method(primary, secondary, note)
    except RuleBroken as broken:
        raise InputError(str(broken), field=broken.field) from None
    with app.db.write() as session:
        user = _reviewer(session, username, "propose an identification")
        remains, report = resolve_pair(session, pm_ref, am_ref)
        for column, value, what in (
            (Identification.remains_id, remains.id, pm_ref),
            (Identification.missing_person_id, report.id, am_ref),
        ):
            active = session.execute(
                select(Identification.id).where(column == value, Identification.status != "revoked")
            ).first()
            if active is not None:
                raise Refused(
                    f"{what} already has an identification (number {active[0]}) proposed or "
                    "confirmed; revoke it first if it is wrong"
                )
        identification = Identification(
            remains_id=remains.id,
            missing_person_id=report.id,
            method=method.text(),
            basis=method.note,
            proposed_by_id=user.id,
        )
        session.add(identification)
        session.add(
            Decision(
                remains_id=remains.id,
                missing_person_id=report.id,
                kind="propose_identification",
                reason=f"{method.text()}: {method.note}".rstrip(": "),
                user_id=user.id,
            )
        )
        session.flush()
        audit.record(
            session,
            actor=username,
            action="identification.proposed",
            entity_type="identification",
            entity_id=identification.id,
            entity_ref=f"{pm_ref} / {am_ref}",
            after={"method": method.text(), "basis": method.note, "status": "proposed"},
        )
        return identification.id


def confirm_identification(app: OpenDVI, identification_id: int, *, username: str) -> str:
    """Add one confirmation; the second, by another reviewer, confirms the identification
    and marks both records identified. Returns the new status."""
    with app.db.write() as session:
        user = _reviewer(session, username, "confirm an identification")
        identification = session.get(Identification, identification_id, with_for_update=True)
        if identification is None:
            raise NotFound(f"there is no identification {identification_id}")
        if identification.status != "proposed":
            raise Refused(
                f"identification {identification_id} is {identification.status}; only a "
                "proposed one can be confirmed"
            )
        try:
            check_confirmer(
                identification.proposed_by_id, identification.confirmed_by_1_id, user.id
            )
        except RuleBroken as broken:
            raise Refused(str(broken)) from None
        before = {"status": identification.status}
        if identification.confirmed_by_1_id is None:
            identification.confirmed_by_1_id = user.id
        else:
            identification.confirmed_by_2_id = user.id
            identification.status = "confirmed"
            identification.confirmed_at = utcnow()
            for record in (
                session.get(Remains, identification.remains_id),
                session.get(MissingPerson, identification.missing_person_id),
            ):
                assert record is not None
                record.status = "identified"
        session.add(
            Decision(
                remains_id=identification.remains_id,
                missing_person_id=identification.missing_person_id,
                kind="confirm",
                reason=f"identification {identification.id}",
                user_id=user.id,
            )
        )
        session.flush()
        audit.record(
            session,
            actor=username,
            action="identification.confirmed"
            if identification.status == "confirmed"
            else "identification.confirmation_added",
            entity_type="identification",
            entity_id=identification.id,
            before=before,
            after={"status": identification.status},
        )
        if identification.status == "confirmed":
            # The family's notification tasks open with the confirmation, in its transaction.
            open_for_identification(session, app.settings, identification, actor=username)
        return identification.status


def revoke_identification(
    app: OpenDVI, identification_id: int, *, reason: str, username: str
) -> None:
    """Revoke an identification (with its history kept): the records are open again and
    notifications not yet carried out are cancelled."""
    if not reason.strip():
        raise InputError("reason: say why the identification is revoked", field="reason")
    with app.db.write() as session:
        user = _reviewer(session, username, "revoke an identification")
        identification = session.get(Identification, identification_id, with_for_update=True)
        if identification is None:
            raise NotFound(f"there is no identification {identification_id}")
        if identification.status == "revoked":
            raise Refused(f"identification {identification_id} is already revoked")
        before = {"status": identification.status}
        identification.status = "revoked"
        identification.revoked_at = utcnow()
        identification.revoke_reason = reason.strip()
        for record in (
            session.get(Remains, identification.remains_id),
            session.get(MissingPerson, identification.missing_person_id),
        ):
            if record is not None and record.status == "identified":
                record.status = "open"
        cancelled, alerted = cancel_for_revocation(
            session, identification, reason=reason.strip(), actor=username
        )
        session.add(
            Decision(
                remains_id=identification.remains_id,
                missing_person_id=identification.missing_person_id,
                kind="revoke",
                reason=reason.strip(),
                user_id=user.id,
            )
        )
        session.flush()
        audit.record(
            session,
            actor=username,
            action="identification.revoked",
            entity_type="identification",
            entity_id=identification.id,
            before=before,
            after={"status": "revoked", "reason": reason.strip()},
            details={"notifications_cancelled": cancelled, "handlers_alerted": alerted},
        )

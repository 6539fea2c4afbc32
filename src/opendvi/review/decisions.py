"""Reviewers' decisions on candidate pairs: exclusion (recorded with the pair's evidence
digest, so the pair stays out while the evidence is the same and resurfaces when it
changes), referral of a possible match for primary identifiers, and a reviewer's own
judgement of a pair made before its score is shown (blind review).

A pair is named by its two references (PM, AM) or by the number of its stored candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission
from opendvi.core.workflow import PRIMARY
from opendvi.db.tables import Candidate, Decision, Identification, MissingPerson, Remains, User
from opendvi.errors import InputError, NotFound, Refused
from opendvi.matching.context import pair_context
from opendvi.matching.explain import resolve_pair
from opendvi.matching.lists import rank_lists
from opendvi.matching.pairs import score_pair
from opendvi.matching.queries import CandidateView, candidate_in
from opendvi.people.accounts import acting_user

__all__ = [
    "VERDICTS",
    "Decided",
    "Judged",
    "Judgement",
    "Pair",
    "decide",
    "exclude",
    "judge",
    "judgement_of",
    "judgements",
    "pair_of",
    "refer",
    "reviewer",
    "standing_exclusion",
    "standing_identification",
    "stored_candidate",
]

# The (PM ref, AM ref) of a pair, or the number of its stored candidate.
Pair = tuple[str, str] | int
# A reviewer's own judgement of a pair, recorded before the score is shown (blind review).
VERDICTS = {
    "same": "the same person",
    "different": "different people",
    "unsure": "cannot tell from these pictures",
}


@dataclass(frozen=True)
class Decided:
    """A decision recorded, and the pair's stored candidate as it is now (if it is listed)."""

    decision_id: int
    candidate: CandidateView | None


@dataclass(frozen=True)
class Judgement:
    by: str
    on: str
    verdict: str
    words: str
    note: str


@dataclass(frozen=True)
class Judged:
    decision_id: int
    judgements: list[Judgement]  # every judgement of the pair, oldest first


def reviewer(session: Session, username: str, doing: str) -> User:
    """Inside a decision's transaction: the acting reviewer (refused to other roles)."""
    return acting_user(session, username, Permission.REVIEW, doing=doing)


def pair_of(session: Session, pair: Pair) -> tuple[Remains, MissingPerson]:
    """The remains record and the report a pair names (404 for an unknown one)."""
    if not isinstance(pair, int):
        return resolve_pair(session, *pair)
    found = session.get(Candidate, pair)
    if found is None:
        raise NotFound(f"there is no candidate {pair}")
    remains = session.get(Remains, found.remains_id)
    report = session.get(MissingPerson, found.missing_person_id)
    assert remains is not None and report is not None
    return remains, report


def stored_candidate(session: Session, remains_id: int, report_id: int) -> Candidate | None:
    return session.execute(
        select(Candidate).where(
            Candidate.remains_id == remains_id, Candidate.missing_person_id == report_id
        )
    ).scalar_one_or_none()


def _after(session: Session, decision: Decision, candidate: Candidate | None) -> Decided:
    session.flush()
    return Decided(decision.id, candidate_in(session, candidate.id) if candidate else None)


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


# Decisions that say a pair is not (or not yet) an identification.
CONTRADICTING = {"exclude": "excluded", "possible_match": "referred"}


def _refs(session: Session, pair: tuple[int, int]) -> tuple[str, str]:
    remains, report = session.get(Remains, pair[0]), session.get(MissingPerson, pair[1])
    assert remains is not None and report is not None
    return remains.ref, report.ref


def standing_identification(session: Session, pair: tuple[int, int]) -> Identification | None:
    """The identification of this pair proposed or confirmed, if there is one."""
    return session.execute(
        select(Identification).where(
            Identification.remains_id == pair[0],
            Identification.missing_person_id == pair[1],
            Identification.status != "revoked",
        )
    ).scalar_one_or_none()


def standing_exclusion(session: Session, pair: tuple[int, int]) -> Decision | None:
    """The exclusion of this pair that stands: the pair's last exclusion, referral,
    reopening or proposal is an exclusion, and the evidence has not changed since (the
    pair has not resurfaced)."""
    last = session.execute(
        select(Decision)
        .where(
            Decision.remains_id == pair[0],
            Decision.missing_person_id == pair[1],
            Decision.kind.in_(("exclude", "possible_match", "reopen", "propose_identification")),
        )
        .order_by(Decision.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if last is None or last.kind != "exclude":
        return None
    candidate = stored_candidate(session, *pair)
    return None if candidate is not None and candidate.status == "resurfaced" else last


def _check_consistent(session: Session, pair: tuple[int, int], kind: str) -> None:
    """A pair is never excluded (or referred) while an identification of it is proposed
    or confirmed, and never proposed while an exclusion of it stands."""
    if kind in CONTRADICTING:
        standing = standing_identification(session, pair)
        if standing is not None:
            pm, am = _refs(session, pair)
            raise Refused(
                f"{pm} and {am} cannot be {CONTRADICTING[kind]}: identification "
                f"{standing.id} of this pair is {standing.status}. To challenge it, revoke "
                f"it (`opendvi identify revoke {standing.id} --reason WHY`) or record an "
                f"objection for its confirmers (`opendvi identify object {standing.id} "
                "--note WHY`)"
            )
    if kind == "propose_identification":
        exclusion = standing_exclusion(session, pair)
        if exclusion is not None:
            pm, am = _refs(session, pair)
            by = session.get(User, exclusion.user_id)
            raise Refused(
                f"{pm} and {am} were excluded by {by.username if by else 'a reviewer'} on "
                f"{exclusion.created_at.date().isoformat()} (decision {exclusion.id}: "
                f"{exclusion.reason}); an identification is not proposed while that "
                "exclusion stands. Reconsider it first: when the evidence changes (a photo, "
                "a fact or a primary-identifier result added), the pair resurfaces and can "
                "be proposed"
            )


def decide(
    session: Session,
    user: User,
    pair: tuple[int, int],
    *,
    kind: str,
    reason: str,
    digest: str = "",
) -> Decision:
    """Inside a decision's transaction: the decision on the pair (remains id, report id),
    kept in the pair's history. Refused when it would contradict the pair's standing
    identification or exclusion."""
    _check_consistent(session, pair, kind)
    decision = Decision(
        remains_id=pair[0],
        missing_person_id=pair[1],
        kind=kind,
        reason=reason,
        evidence_digest=digest,
        user_id=user.id,
    )
    session.add(decision)
    session.flush()
    return decision


def exclude(app: OpenDVI, pair: Pair, *, reason: str, username: str) -> Decided:
    """Record a reviewer's exclusion of a pair, on the evidence as it stands now. The pair
    leaves both lists; it comes back, flagged, when that evidence changes."""
    if not reason.strip():
        raise InputError(
            "reason: say why the pair is excluded (e.g. 'dental records differ')", field="reason"
        )
    with app.db.write() as session:
        user = reviewer(session, username, "exclude a candidate")
        remains, report = pair_of(session, pair)
        ctx = pair_context(session, app, remains.id, report.id)
        row = score_pair(ctx, report.id, remains.id)
        decision = decide(
            session,
            user,
            (remains.id, report.id),
            kind="exclude",
            reason=reason.strip(),
            digest=row["evidence_digest"],
        )
        candidate = stored_candidate(session, remains.id, report.id)
        if candidate is not None:
            _mark(candidate, "excluded", "exclusion", decision, username)
            rank_lists(session, {remains.id}, {report.id}, app.settings.candidates_per_record)
        audit.record(
            session,
            actor=username,
            action="candidate.excluded",
            about=decision,
            ref=f"{remains.ref} / {report.ref}",
            after={
                "kind": "exclude",
                "reason": decision.reason,
                "evidence": row["evidence_digest"],
            },
            details={"remains": remains.ref, "missing_person": report.ref},
        )
        return _after(session, decision, candidate)


def refer(app: OpenDVI, pair: Pair, *, compare: list[str], reason: str, username: str) -> Decided:
    """Record a possible match, referred for comparison of primary identifiers (DNA,
    fingerprints, dental records)."""
    wanted = sorted({c.strip().lower() for c in compare if c.strip()})
    if not wanted or any(c not in PRIMARY for c in wanted):
        raise InputError(
            f"compare: choose what to compare, one or more of {', '.join(PRIMARY)}",
            field="compare",
        )
    with app.db.write() as session:
        user = reviewer(session, username, "refer a possible match")
        remains, report = pair_of(session, pair)
        note = f"compare {', '.join(wanted)}" + (f": {reason.strip()}" if reason.strip() else "")
        decision = decide(
            session, user, (remains.id, report.id), kind="possible_match", reason=note
        )
        candidate = stored_candidate(session, remains.id, report.id)
        if candidate is not None:
            _mark(candidate, "referred", "referral", decision, username)
        audit.record(
            session,
            actor=username,
            action="candidate.referred",
            about=decision,
            ref=f"{remains.ref} / {report.ref}",
            after={"kind": "possible_match", "compare": wanted, "reason": note},
        )
        return _after(session, decision, candidate)


def judge(app: OpenDVI, pair: Pair, *, verdict: str, note: str = "", username: str) -> Judged:
    """Record a reviewer's own judgement of a pair from the pictures and facts alone, before
    the pair's score is shown to them. It decides nothing; it is kept beside the score so a
    team can see how often people and the model agree. Once per reviewer per evidence."""
    verdict = verdict.strip().lower()
    if verdict not in VERDICTS:
        raise InputError(f"verdict: choose one of {', '.join(VERDICTS)}", field="verdict")
    with app.db.write() as session:
        user = reviewer(session, username, "record a judgement of a pair")
        remains, report = pair_of(session, pair)
        candidate = stored_candidate(session, remains.id, report.id)
        digest = candidate.evidence_digest if candidate is not None else ""
        if judgement_of(session, remains.id, report.id, user.id, digest) is not None:
            raise Refused(
                f"{username} has already recorded a judgement of {remains.ref} and "
                f"{report.ref} on this evidence; it is kept as it was given"
            )
        text = verdict + (f": {note.strip()}" if note.strip() else "")
        decision = decide(
            session, user, (remains.id, report.id), kind="judgement", reason=text, digest=digest
        )
        audit.record(
            session,
            actor=username,
            action="candidate.judged",
            about=decision,
            ref=f"{remains.ref} / {report.ref}",
            after={"kind": "judgement", "verdict": verdict, "note": note.strip()},
        )
        return Judged(decision.id, judgements(session, remains.id, report.id))


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


def judgements(session: Session, remains_id: int, report_id: int) -> list[Judgement]:
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
            Judgement(
                by=username,
                on=decision.created_at.date().isoformat(),
                verdict=verdict,
                words=VERDICTS.get(verdict, verdict),
                note=note,
            )
        )
    return out

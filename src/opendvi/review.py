"""Reviewers' decisions on candidate pairs. An exclusion is recorded with the pair's
evidence digest, so the pair stays out while the evidence is the same and resurfaces when
it changes."""

from __future__ import annotations

from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import (
    Candidate,
    Decision,
    User,
)
from opendvi.errors import InputError, NotFound, Refused
from opendvi.matching.explain import resolve_pair
from opendvi.matching.lists import rank_lists
from opendvi.matching.pairs import score_pair
from opendvi.matching.run import open_context

REVIEW_ROLES = ("admin", "reviewer", "forensic")


def exclude(app: OpenDVI, pm_ref: str, am_ref: str, *, reason: str, username: str) -> int:
    """Record a reviewer's exclusion of a pair, on the evidence as it stands now. The pair
    leaves both lists; it comes back, flagged, when that evidence changes."""
    if not reason.strip():
        raise InputError(
            "reason: say why the pair is excluded (e.g. 'dental records differ')", field="reason"
        )
    with app.db.write() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.active:
            raise NotFound(f"there is no active user {username!r}; `opendvi users add` adds one")
        if user.role not in REVIEW_ROLES:
            raise Refused(
                f"{username} is a {user.role}; only a reviewer, forensic specialist or admin "
                "may exclude a candidate"
            )
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
        candidate = session.execute(
            select(Candidate).where(
                Candidate.remains_id == remains.id, Candidate.missing_person_id == report.id
            )
        ).scalar_one_or_none()
        if candidate is not None:
            candidate.status = "excluded"
            candidate.factors = {
                **candidate.factors,
                "exclusion": {
                    "decision_id": decision.id,
                    "by": username,
                    "on": decision.created_at.date().isoformat(),
                    "reason": decision.reason,
                },
            }
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

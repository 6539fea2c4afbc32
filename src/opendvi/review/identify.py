"""Identification: proposed on a method (``core.workflow``), confirmed by two reviewers
other than the proposer, revocable with its history kept. Confirming opens the families'
notification tasks in the same transaction; revoking cancels those not carried out."""

from __future__ import annotations

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.workflow import RuleBroken, check_confirmer, parse_method
from opendvi.db.rows import locked
from opendvi.db.tables import Candidate, Identification, MissingPerson, Remains, utcnow
from opendvi.errors import InputError, Refused
from opendvi.notify.drafting import open_for_identification
from opendvi.notify.revocation import cancel_for_revocation
from opendvi.review.decisions import Pair, decide, pair_of, reviewer
from opendvi.review.identifications import IdentificationDetail, identification_in

__all__ = [
    "confirm_identification",
    "object_to_identification",
    "propose_identification",
    "revoke_identification",
]


def propose_identification(
    app: OpenDVI,
    pair: Pair,
    *,
    primary: list[str],
    secondary: list[str],
    note: str,
    username: str,
) -> IdentificationDetail:
    """Propose that the remains are the reported person, on the method given; two other
    reviewers must confirm it before it counts."""
    try:
        method = parse_method(primary, secondary, note)
    except RuleBroken as broken:
        raise InputError(str(broken), field=broken.field) from None
    with app.db.write() as session:
        user = reviewer(session, username, "propose an identification")
        remains, report = pair_of(session, pair)
        for column, value, what in (
            (Identification.remains_id, remains.id, remains.ref),
            (Identification.missing_person_id, report.id, report.ref),
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
        basis = f"{method.text()}: {method.note}".rstrip(": ")
        decide(session, user, (remains.id, report.id), kind="propose_identification", reason=basis)
        audit.record(
            session,
            actor=username,
            action="identification.proposed",
            about=identification,
            ref=f"{remains.ref} / {report.ref}",
            after={"method": method.text(), "basis": method.note, "status": "proposed"},
        )
        return identification_in(session, identification.id, role=user.role)


def _locked(session: Session, number: int) -> Identification:
    return locked(session, Identification, number, "identification")


def _pair(identification: Identification) -> tuple[int, int]:
    return identification.remains_id, identification.missing_person_id


def _ref(session: Session, identification: Identification) -> str:
    remains = session.get(Remains, identification.remains_id)
    report = session.get(MissingPerson, identification.missing_person_id)
    assert remains is not None and report is not None
    return f"{remains.ref} / {report.ref}"


def _mark_identified(session: Session, identification: Identification) -> None:
    """Every pair of either record says whether a record of it is identified now (the
    review queue leaves those out): read from each pair's own records' identifications,
    so a pair whose other record is identified elsewhere stays out after a revocation."""
    session.flush()
    confirmed = Identification.status == "confirmed"
    now = exists().where(
        confirmed, Identification.remains_id == Candidate.remains_id
    ) | exists().where(confirmed, Identification.missing_person_id == Candidate.missing_person_id)
    for mine in (
        Candidate.remains_id == identification.remains_id,
        Candidate.missing_person_id == identification.missing_person_id,
    ):
        session.execute(
            update(Candidate).where(mine).values(record_identified=now),
            execution_options={"synchronize_session": False},
        )


def confirm_identification(
    app: OpenDVI, number: int, *, checked: str, username: str
) -> IdentificationDetail:
    """Add one confirmation, saying what the confirmer ``checked`` (the evidence, both
    records; kept with the confirmation and its audit event); the second, by another
    reviewer, confirms the identification and marks both records identified."""
    checked = checked.strip()
    if not checked:
        raise InputError(
            "checked: say what you checked before confirming (the evidence it rests on, "
            "both records)",
            field="checked",
        )
    with app.db.write() as session:
        user = reviewer(session, username, "confirm an identification")
        identification = _locked(session, number)
        if identification.status != "proposed":
            raise Refused(
                f"identification {number} is {identification.status}; only a "
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
            identification.confirmed_by_1_id, identification.checked_1 = user.id, checked
        else:
            identification.confirmed_by_2_id, identification.checked_2 = user.id, checked
            identification.status = "confirmed"
            identification.confirmed_at = utcnow()
            for record in (
                session.get(Remains, identification.remains_id),
                session.get(MissingPerson, identification.missing_person_id),
            ):
                assert record is not None
                record.status = "identified"
        decide(session, user, _pair(identification), kind="confirm", reason=checked)
        if identification.status == "confirmed":
            _mark_identified(session, identification)
        audit.record(
            session,
            actor=username,
            action="identification.confirmed"
            if identification.status == "confirmed"
            else "identification.confirmation_added",
            about=identification,
            ref=_ref(session, identification),
            before=before,
            after={"status": identification.status},
            details={"checked": checked},
        )
        if identification.status == "confirmed":
            # The family's notification tasks open with the confirmation, in its transaction.
            open_for_identification(session, app.settings, identification, actor=username)
        session.flush()
        return identification_in(session, identification.id, role=user.role)


def revoke_identification(
    app: OpenDVI, number: int, *, reason: str, username: str
) -> IdentificationDetail:
    """Revoke an identification (with its history kept): the records are open again and
    notifications not yet carried out are cancelled."""
    if not reason.strip():
        raise InputError("reason: say why the identification is revoked", field="reason")
    with app.db.write() as session:
        user = reviewer(session, username, "revoke an identification")
        identification = _locked(session, number)
        if identification.status == "revoked":
            raise Refused(f"identification {number} is already revoked")
        before = {"status": identification.status}
        identification.status = "revoked"
        identification.revoked_at = utcnow()
        identification.revoke_reason = reason.strip()
        for record in (
            session.get(Remains, identification.remains_id),
            session.get(MissingPerson, identification.missing_person_id),
        ):
            # A case closed on this identification is open again: retention counts no more.
            if record is not None and record.status in ("identified", "closed"):
                record.status, record.closed_at = "open", None
        cancelled, alerted = cancel_for_revocation(
            session, identification, reason=reason.strip(), actor=username
        )
        decide(session, user, _pair(identification), kind="revoke", reason=reason.strip())
        _mark_identified(session, identification)
        audit.record(
            session,
            actor=username,
            action="identification.revoked",
            about=identification,
            ref=_ref(session, identification),
            before=before,
            after={"status": "revoked", "reason": reason.strip()},
            details={"notifications_cancelled": cancelled, "handlers_alerted": alerted},
        )
        return identification_in(session, identification.id, role=user.role)


def object_to_identification(
    app: OpenDVI, number: int, *, note: str, username: str
) -> IdentificationDetail:
    """Record a reviewer's objection to an identification proposed or confirmed: it
    changes nothing, but is shown to its confirmers (on the identification and on the
    comparison of its pair) until they answer it by revoking the identification or by
    leaving it standing. The way to challenge a pair under an identification, with
    revocation; never an exclusion."""
    note = note.strip()
    if not note:
        raise InputError(
            "note: say what you object to (what in the evidence or the records does not hold)",
            field="note",
        )
    with app.db.write() as session:
        user = reviewer(session, username, "object to an identification")
        identification = _locked(session, number)
        if identification.status == "revoked":
            raise Refused(f"identification {number} is revoked already; nothing to object to")
        decide(session, user, _pair(identification), kind="objection", reason=note)
        audit.record(
            session,
            actor=username,
            action="identification.objected",
            about=identification,
            ref=_ref(session, identification),
            after={"status": identification.status},
            details={"note": note},
        )
        return identification_in(session, identification.id, role=user.role)

"""Decisions on candidate pairs: referral, identification proposed on a method, confirmed by
two other reviewers, revoked with its history; enforced in the use-cases and the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate, Decision, Identification, MissingPerson, Remains
from opendvi.errors import InputError, Refused
from opendvi.matching import run_matching
from opendvi.people import add_user
from opendvi.records.intake import save_record
from opendvi.review import (
    confirm_identification,
    propose_identification,
    refer,
    revoke_identification,
)
from tests.factories import PASSWORD


@pytest.fixture
def pair(dvi: OpenDVI) -> dict[str, Any]:
    for name, role in (
        ("paula", "reviewer"),
        ("quinn", "reviewer"),
        ("rosa", "forensic"),
        ("carl", "caseworker"),
    ):
        add_user(dvi, username=name, role=role, actor="test", password=PASSWORD)
    with dvi.db.write() as session:
        save_record(session, MissingPerson, actor="test", ref="AM-1", fields={"sex": "F"})
        save_record(session, Remains, actor="test", ref="PM-1", fields={"sex": "F"})
        save_record(session, MissingPerson, actor="test", ref="AM-2", fields={})
    run_matching(dvi, actor="test", everything=True)
    return {"dvi": dvi}


def status_of(dvi: OpenDVI) -> tuple[str, str]:
    with dvi.db.read() as session:
        am = session.execute(select(MissingPerson.status).where(MissingPerson.ref == "AM-1"))
        pm = session.execute(select(Remains.status).where(Remains.ref == "PM-1"))
        return am.scalar_one(), pm.scalar_one()


def test_an_identification_needs_two_confirmers_other_than_the_proposer(
    dvi: OpenDVI, pair: dict[str, Any]
) -> None:
    number = propose_identification(
        dvi, ("PM-1", "AM-1"), primary=["dna"], secondary=[], note="", username="paula"
    ).number
    with pytest.raises(Refused, match="who proposed"):
        confirm_identification(dvi, number, checked="DNA report read", username="paula")
    with pytest.raises(Refused, match="caseworker"):
        confirm_identification(dvi, number, checked="DNA report read", username="carl")
    assert (
        confirm_identification(dvi, number, checked="DNA report read", username="quinn").status
        == "proposed"
    )
    assert status_of(dvi) == ("open", "open")
    with pytest.raises(Refused, match="already confirmed"):
        confirm_identification(dvi, number, checked="DNA report read", username="quinn")
    assert (
        confirm_identification(dvi, number, checked="DNA report read", username="rosa").status
        == "confirmed"
    )
    assert status_of(dvi) == ("identified", "identified")
    with pytest.raises(Refused, match="only a proposed one"):
        confirm_identification(dvi, number, checked="DNA report read", username="paula")


def test_the_database_refuses_a_confirmer_who_proposed_or_confirmed_already(
    dvi: OpenDVI, pair: dict[str, Any]
) -> None:
    number = propose_identification(
        dvi, ("PM-1", "AM-1"), primary=["dna"], secondary=[], note="", username="paula"
    ).number
    with dvi.db.read() as session:
        ids = {name: id_ for name, id_ in session.execute(text("SELECT username, id FROM users"))}
    paula, quinn, rosa = ids["paula"], ids["quinn"], ids["rosa"]
    # Whatever code writes it: the proposer as a confirmer, one confirmer twice, or
    # confirmed without two confirmers.
    for first, second, status in (
        (paula, None, "proposed"),
        (quinn, paula, "proposed"),
        (quinn, quinn, "proposed"),
        (quinn, None, "confirmed"),
    ):
        with dvi.db.write() as session, pytest.raises(IntegrityError):
            session.execute(
                text(
                    "UPDATE identifications SET confirmed_by_1_id = :first, "
                    "confirmed_by_2_id = :second, status = :status WHERE id = :number"
                ),
                {"first": first, "second": second, "status": status, "number": number},
            )
    with dvi.db.write() as session:  # two others confirming is what the database accepts
        session.execute(
            text(
                "UPDATE identifications SET confirmed_by_1_id = :first, "
                "confirmed_by_2_id = :second, status = 'confirmed' WHERE id = :number"
            ),
            {"first": quinn, "second": rosa, "number": number},
        )


def test_a_face_score_alone_can_never_identify(dvi: OpenDVI, pair: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="a face alone") as caught:
        propose_identification(
            dvi,
            ("PM-1", "AM-1"),
            primary=[],
            secondary=["face"],
            note="they look alike in every photo we have",
            username="paula",
        )
    assert caught.value.field == "method"
    # The database refuses it too, whatever code writes it.
    with dvi.db.write() as session, pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO identifications (remains_id, missing_person_id, method, status, "
                "proposed_by_id, proposed_at, revoke_reason, basis) VALUES "
                "(1, 1, 'secondary:face', 'proposed', 1, CURRENT_TIMESTAMP, '', '')"
            )
        )


def test_one_active_identification_per_record_and_revocation_keeps_history(
    dvi: OpenDVI, pair: dict[str, Any]
) -> None:
    first = propose_identification(
        dvi,
        ("PM-1", "AM-1"),
        primary=[],
        secondary=["marks", "effects"],
        note="anchor tattoo on the left forearm; the same watch",
        username="paula",
    ).number
    with pytest.raises(Refused, match="already has an identification"):
        propose_identification(
            dvi, ("PM-1", "AM-2"), primary=["dental"], secondary=[], note="", username="quinn"
        )
    confirm_identification(dvi, first, checked="DNA report read", username="quinn")
    confirm_identification(dvi, first, checked="DNA report read", username="rosa")
    with pytest.raises(InputError, match="say why"):
        revoke_identification(dvi, first, reason=" ", username="quinn")
    revoke_identification(dvi, first, reason="DNA excluded him", username="quinn")
    assert status_of(dvi) == ("open", "open")
    second = propose_identification(
        dvi, ("PM-1", "AM-2"), primary=["dental"], secondary=[], note="", username="quinn"
    ).number
    with dvi.db.read() as session:
        rows = session.execute(select(Identification).order_by(Identification.id)).scalars().all()
        assert [(r.id, r.status) for r in rows] == [(first, "revoked"), (second, "proposed")]
        assert rows[0].revoke_reason == "DNA excluded him"
        kinds = [d.kind for d in session.execute(select(Decision).order_by(Decision.id)).scalars()]
        assert kinds == [
            "propose_identification",
            "confirm",
            "confirm",
            "revoke",
            "propose_identification",
        ]
        assert audit.verify(session).ok


def test_a_possible_match_is_referred_and_stays_referred(
    dvi: OpenDVI, pair: dict[str, Any]
) -> None:
    with pytest.raises(InputError, match="compare"):
        refer(dvi, ("PM-1", "AM-1"), compare=["face"], reason="", username="paula")
    refer(
        dvi,
        ("PM-1", "AM-1"),
        compare=["dna", "dental"],
        reason="family sample taken",
        username="paula",
    )
    run_matching(dvi, actor="test", everything=True)
    with dvi.db.read() as session:
        candidate = session.execute(
            select(Candidate)
            .join(Remains, Candidate.remains_id == Remains.id)
            .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
            .where(Remains.ref == "PM-1", MissingPerson.ref == "AM-1")
        ).scalar_one()
        assert candidate.status == "referred"
        assert candidate.factors["referral"]["reason"] == "compare dental, dna: family sample taken"


def test_the_identification_commands(cli: Any, cli_as: Any, pair: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="a face alone"):
        cli_as("paula", "identify", "propose", "PM-1", "AM-1", "--secondary", "face")
    proposed = cli_as("paula", "identify", "propose", "PM-1", "AM-1", "--primary", "dna")
    assert proposed.exit_code == 0 and "identification 1 proposed" in proposed.stdout
    assert (
        "one more reviewer"
        in cli_as("quinn", "identify", "confirm", "1", "--checked", "DNA report read").stdout
    )
    assert (
        "now identified"
        in cli_as("rosa", "identify", "confirm", "1", "--checked", "DNA report read").stdout
    )
    revoked = cli_as("rosa", "identify", "revoke", "1", "--reason", "wrong family")
    assert "revoked" in revoked.stdout
    referred = cli_as("quinn", "refer", "PM-1", "AM-2", "--compare", "dental")
    assert referred.exit_code == 0 and "referred" in referred.stdout


def test_families_details_on_an_identification_only_for_those_who_tell_them(
    dvi: OpenDVI,
) -> None:
    """A reviewer reads how many families are told and not told, never who or why; the
    caseworker and the auditor read both, whatever front end asks."""
    from opendvi.review import identification
    from tests.factories import identified, users

    users(dvi)
    number = identified(dvi)["identification"]
    seen = {
        role: identification(dvi, number, role=role)
        for role in ("reviewer", "caseworker", "auditor")
    }
    for detail in seen.values():
        assert (detail.task_count, detail.not_told_count) == (1, 2)
    assert seen["reviewer"].tasks == [] and seen["reviewer"].not_told == []
    for role in ("caseworker", "auditor"):
        assert [t.contact for t in seen[role].tasks] == ["Olena Kovalenko"]
        assert {u.contact for u in seen[role].not_told} == {"Petro Kovalenko", "Ivan Shevchuk"}
    # A change answers as its actor may see the identification: a reviewer, no names.
    revoked = revoke_identification(dvi, number, reason="DNA redone", username="rev1")
    assert revoked.not_told == [] and revoked.not_told_count == 2

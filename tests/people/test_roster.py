"""The users an admin manages: the list with last sign-ins, a new role, a new password
(given, or made and shown once), deactivation and reactivation, each audited in its
transaction, each the admin's alone; the last active admin stays one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent
from opendvi.errors import NotFound, Refused
from opendvi.people import (
    add_user,
    deactivate,
    reactivate,
    reset_password,
    session_of,
    set_password,
    set_role,
    sign_in,
    users,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def team(dvi: OpenDVI) -> OpenDVI:
    for name, role in (("chief", "admin"), ("rita", "reviewer"), ("carl", "caseworker")):
        add_user(dvi, username=name, role=role, actor="test", password=PASSWORD)
    return dvi


def actions(dvi: OpenDVI) -> list[tuple[str, str, str]]:
    with dvi.db.read() as session:
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
        return [(e.actor, e.action, e.entity_ref) for e in rows if e.action != "user.added"]


def test_the_list_shows_everyone_with_role_state_and_last_sign_in(team: OpenDVI) -> None:
    sign_in(team, "rita", PASSWORD, address="test")
    deactivate(team, username="carl", actor="chief")
    listed = {user.username: user for user in users(team, actor="chief")}
    assert [u.username for u in users(team, actor="chief")] == ["chief", "rita", "carl"]
    assert (listed["rita"].role, listed["rita"].active) == ("reviewer", True)
    assert listed["rita"].last_sign_in is not None and listed["rita"].last_sign_in.tzinfo
    assert listed["chief"].last_sign_in is None
    assert listed["carl"].active is False


def test_only_an_admin_may_list_or_change_users(team: OpenDVI) -> None:
    for change in (
        lambda: users(team, actor="rita"),
        lambda: set_role(team, username="carl", role="admin", actor="rita"),
        lambda: deactivate(team, username="carl", actor="rita"),
        lambda: reactivate(team, username="carl", actor="rita"),
        lambda: reset_password(team, username="carl", actor="rita"),
        lambda: set_password(team, username="carl", password=PASSWORD, actor="carl"),
    ):
        with pytest.raises(Refused, match="only an admin may"):
            change()
    assert actions(team) == []


def test_each_change_is_audited_as_the_admin_who_made_it(team: OpenDVI) -> None:
    set_role(team, username="rita", role="forensic", actor="chief")
    made = reset_password(team, username="rita", actor="chief")
    deactivate(team, username="rita", actor="chief")
    reactivate(team, username="rita", actor="chief")
    assert actions(team) == [
        ("chief", "user.role_changed", "rita"),
        ("chief", "user.password_reset", "rita"),
        ("chief", "user.deactivated", "rita"),
        ("chief", "user.reactivated", "rita"),
    ]
    with team.db.read() as session:
        assert made.password not in str([e.details for e in audit.recent(session)])
    # Reactivated with the role and the password they had.
    again = sign_in(team, "rita", made.password, address="test")
    assert again.account.role == "forensic" and again.account.active


def test_a_reset_makes_a_new_password_shown_once_and_ends_the_sessions(team: OpenDVI) -> None:
    signed = sign_in(team, "rita", PASSWORD, address="test")
    made = reset_password(team, username="rita", actor="chief")
    assert len(made.password) >= 12 and made.account.username == "rita"
    assert session_of(team, signed.token) is None
    assert sign_in(team, "rita", made.password, address="test").account.username == "rita"


def test_deactivating_a_user_ends_their_sessions_and_they_cannot_sign_in(team: OpenDVI) -> None:
    signed = sign_in(team, "carl", PASSWORD, address="test")
    deactivate(team, username="carl", actor="chief")
    assert session_of(team, signed.token) is None
    with pytest.raises(Refused, match="carl is deactivated already"):
        deactivate(team, username="carl", actor="chief")
    with pytest.raises(Refused, match="rita is active already"):
        reactivate(team, username="rita", actor="chief")
    with pytest.raises(NotFound, match="no user 'nobody'; `opendvi users list`"):
        deactivate(team, username="nobody", actor="chief")


def test_the_last_active_admin_is_never_deactivated_or_demoted(team: OpenDVI) -> None:
    for change in (
        lambda: deactivate(team, username="chief", actor="chief"),
        lambda: set_role(team, username="chief", role="reviewer", actor="chief"),
        lambda: deactivate(team, username="chief", actor="test"),
    ):
        with pytest.raises(Refused, match=r"chief is the last active admin.*another user an admin"):
            change()
    assert actions(team) == []
    # With a second admin, one of them may go; then the other is the last.
    set_role(team, username="rita", role="admin", actor="chief")
    deactivate(team, username="chief", actor="rita")
    with pytest.raises(Refused, match="rita is the last active admin"):
        set_role(team, username="rita", role="auditor", actor="rita")


def test_a_deactivated_admin_does_not_count_as_one(team: OpenDVI) -> None:
    add_user(team, username="deputy", role="admin", actor="test", password=PASSWORD)
    deactivate(team, username="deputy", actor="chief")
    with pytest.raises(Refused, match="chief is the last active admin"):
        set_role(team, username="chief", role="auditor", actor="chief")
    # A deactivated admin may be given another role: they are not the one who manages.
    assert set_role(team, username="deputy", role="auditor", actor="chief").role == "auditor"

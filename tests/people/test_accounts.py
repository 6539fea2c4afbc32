"""People: an account added with one role and an Argon2 hash, signing in, who may act, and
the first administrator."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission
from opendvi.db.tables import User
from opendvi.errors import InputError, NotFound, Refused
from opendvi.people import (
    SignInRefused,
    account,
    acting_user,
    add_user,
    ensure_admin,
    session_of,
    set_password,
    sign_in,
)

PASSWORD = "correct horse battery"


def test_an_account_is_added_with_its_role_and_only_a_hash_of_its_password(dvi: OpenDVI) -> None:
    added = add_user(dvi, username=" Rita ", role="reviewer", actor="test", password=PASSWORD)
    assert (added.username, added.role, added.name) == ("rita", "reviewer", "rita")
    with dvi.db.read() as session:
        stored = session.execute(select(User.password_hash)).scalar_one()
        assert stored and stored.startswith("$argon2id$") and PASSWORD not in stored
        assert [e.action for e in audit.recent(session)] == ["user.added"]
    with pytest.raises(Refused, match="already a user 'rita'"):
        add_user(dvi, username="rita", role="auditor", actor="test")
    with pytest.raises(InputError) as bad:
        add_user(dvi, username="x", role="chief", actor="test")
    assert bad.value.field == "username"
    with pytest.raises(InputError, match="choose one of admin, forensic"):
        add_user(dvi, username="sam", role="chief", actor="test")


def test_signing_in_needs_the_password_and_an_active_account(dvi: OpenDVI) -> None:
    added = add_user(dvi, username="rita", role="reviewer", actor="test", password=PASSWORD)
    signed = sign_in(dvi, "RITA", PASSWORD, address="test")
    assert signed.account == added and session_of(dvi, signed.token) == signed
    for name, password in (("rita", "wrong password"), ("nobody", PASSWORD)):
        with pytest.raises(SignInRefused, match="user name or password is wrong"):
            sign_in(dvi, name, password, address="test")
    set_password(dvi, username="rita", password="another long one", actor="admin")
    assert session_of(dvi, signed.token) is None
    assert account(dvi, added.id) == added
    with dvi.db.write() as session:
        session.execute(update(User).values(active=False))
    with pytest.raises(SignInRefused):
        sign_in(dvi, "rita", "another long one", address="test")


def test_who_may_act_is_read_from_the_role_table(dvi: OpenDVI) -> None:
    add_user(dvi, username="carl", role="caseworker", actor="test")
    add_user(dvi, username="rita", role="reviewer", actor="test")
    with dvi.db.read() as session:
        assert acting_user(session, "rita", Permission.REVIEW, doing="exclude").username == "rita"
        with pytest.raises(Refused, match="carl is a caseworker; only a reviewer, a forensic"):
            acting_user(session, "carl", Permission.REVIEW, doing="exclude a candidate")
        with pytest.raises(NotFound, match="no active user 'nobody'"):
            acting_user(session, "nobody", Permission.READ, doing="look")


def test_the_first_administrator_is_made_once(dvi: OpenDVI) -> None:
    created = ensure_admin(dvi, actor="serve")
    assert created is not None and created.username == "admin"
    assert sign_in(dvi, "admin", created.password, address="test").account.role == "admin"
    assert ensure_admin(dvi, actor="serve") is None
    with pytest.raises(InputError, match="at least 10 characters"):
        set_password(dvi, username="admin", password="short", actor="admin")

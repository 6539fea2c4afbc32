"""Signing in: a user name and password checked against the stored hash, and the account
behind a session read again, so that a user deactivated or given a new password is signed
out. The limit on failed attempts is the web application's (it knows the address)."""

from __future__ import annotations

from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.db.tables import User
from opendvi.people.accounts import Account, verify_password

__all__ = ["account", "sign_in"]


def sign_in(app: OpenDVI, username: str, password: str) -> Account | None:
    """The active account whose password this is; None for a wrong name or password."""
    with app.db.read() as session:
        user = session.execute(
            select(User).where(User.username == username.strip().lower())
        ).scalar_one_or_none()
        if user is None or not user.active or not verify_password(user.password_hash, password):
            return None
        return Account.of(user)


def account(app: OpenDVI, user_id: int) -> Account | None:
    """The account of a signed-in session, as stored now (None if it no longer exists)."""
    with app.db.read() as session:
        user = session.get(User, user_id)
        return Account.of(user) if user is not None else None

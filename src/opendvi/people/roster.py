"""The users as an admin sees and changes them: the list, a new role, a new password (given,
or made and shown once), deactivation and reactivation.

Every change is the admin's (``Permission.MANAGE_USERS``, checked here whatever front end
asks), is audited in its own transaction, and ends the account's open sessions. The last
active admin is never deactivated or given another role: nobody could manage users after.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission, Role
from opendvi.db.tables import User, UserSession
from opendvi.errors import InputError, NotFound, Refused
from opendvi.people.accounts import (
    Account,
    check_if_user,
    check_password,
    end_sessions_of,
    hash_password,
    normal_name,
)

__all__ = [
    "LISTED",
    "Listed",
    "NewPassword",
    "deactivate",
    "reactivate",
    "reset_password",
    "set_password",
    "set_role",
    "users",
]

# More people than any team has; the list stops here rather than grow without end.
LISTED = 1000


@dataclass(frozen=True)
class Listed:
    """A user as the list of users shows them."""

    username: str
    display_name: str
    email: str | None
    role: str
    active: bool
    created_at: dt.datetime
    last_sign_in: dt.datetime | None  # None: never signed in (or not since a restore)

    @property
    def name(self) -> str:
        return self.display_name or self.username


def users(app: OpenDVI, *, actor: str, limit: int = LISTED) -> list[Listed]:
    """Everyone who has an account, active ones first, by user name, with when they last
    signed in."""
    last = (
        select(func.max(UserSession.created_at))
        .where(UserSession.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    with app.db.read() as session:
        check_if_user(session, actor, Permission.MANAGE_USERS, doing="see the list of users")
        rows = session.execute(
            select(User, last.label("last_sign_in"))
            .order_by(User.active.desc(), User.username)
            .limit(limit)
        ).all()
        return [
            Listed(
                username=user.username,
                display_name=user.display_name,
                email=user.email,
                role=user.role,
                active=user.active,
                created_at=_utc(user.created_at) or user.created_at,
                last_sign_in=_utc(signed),
            )
            for user, signed in rows
        ]


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    # SQLite gives back naive times (stored as UTC), PostgreSQL the session's zone.
    if at is None:
        return None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _last_admin_stays(session: Session, user: User, doing: str) -> None:
    """Refuse ``doing`` to the only active admin. The active admins are locked first, so
    two admins demoting each other at once cannot both succeed (on PostgreSQL; the embedded
    database has one writer at a time)."""
    if user.role != Role.ADMIN or not user.active:
        return
    admins = session.execute(
        select(User.id).where(User.role == Role.ADMIN, User.active).with_for_update()
    ).all()
    if len(admins) <= 1:
        raise Refused(
            f"{user.username} is the last active admin, so they cannot be {doing}: nobody "
            "could manage users after. Make another user an admin first "
            "(`opendvi users role NAME admin`, or the Users page), then try again"
        )


def _changed(
    app: OpenDVI,
    username: str,
    actor: str,
    action: str,
    why: str,
    change: Callable[[Session, User], Any],
    details: dict[str, Any] | None = None,
) -> Account:
    """One change to an account, audited, that ends the account's sessions."""
    with app.db.write() as session:
        check_if_user(session, actor, Permission.MANAGE_USERS, doing="change a user's account")
        user = session.execute(
            select(User).where(User.username == normal_name(username)).with_for_update()
        ).scalar_one_or_none()
        if user is None:
            raise NotFound(f"there is no user {username!r}; `opendvi users list` lists them")
        before = {"role": user.role, "active": user.active}
        change(session, user)
        ended = end_sessions_of(session, user.id, why)
        audit.record(
            session,
            actor=actor,
            action=action,
            about=user,
            ref=user.username,
            before=before,
            after={"role": user.role, "active": user.active},
            details={**(details or {}), "sessions_ended": ended},
        )
        return Account.of(user)


def set_password(app: OpenDVI, *, username: str, password: str, actor: str) -> Account:
    """A new password for ``username``, as given; their sessions end."""
    check_password(password)
    hashed = hash_password(password)
    return _changed(
        app,
        username,
        actor,
        "user.password_changed",
        "password changed",
        lambda _, user: setattr(user, "password_hash", hashed),
    )


class NewPassword(NamedTuple):
    account: Account
    password: str  # shown once to the admin who reset it; only its hash is kept


def reset_password(app: OpenDVI, *, username: str, actor: str) -> NewPassword:
    """A new password for ``username``, made here and returned once (for the admin to hand
    over); their sessions end. It is stored only as a hash, like any other."""
    password = secrets.token_urlsafe(12)
    hashed = hash_password(password)
    changed = _changed(
        app,
        username,
        actor,
        "user.password_reset",
        "password reset",
        lambda _, user: setattr(user, "password_hash", hashed),
    )
    return NewPassword(changed, password)


def set_role(app: OpenDVI, *, username: str, role: str, actor: str) -> Account:
    """``username`` now has ``role``; their sessions end (they sign in again). The last
    active admin keeps theirs."""
    if role not in set(Role):
        raise InputError(f"role {role!r}: choose one of {', '.join(Role)}", field="role")

    def change(session: Session, user: User) -> None:
        if user.role == role:
            raise Refused(f"{user.username} is {role} already")
        _last_admin_stays(session, user, f"made {role}")
        user.role = role

    return _changed(app, username, actor, "user.role_changed", "role changed", change)


def deactivate(app: OpenDVI, *, username: str, actor: str) -> Account:
    """``username`` may no longer sign in or act; their sessions end. Their name stays on
    what they did. The last active admin is never deactivated."""

    def change(session: Session, user: User) -> None:
        if not user.active:
            raise Refused(f"{user.username} is deactivated already")
        _last_admin_stays(session, user, "deactivated")
        user.active = False

    return _changed(app, username, actor, "user.deactivated", "deactivated", change)


def reactivate(app: OpenDVI, *, username: str, actor: str) -> Account:
    """A deactivated ``username`` may sign in and act again, with the role and password
    they had."""

    def change(_: Session, user: User) -> None:
        if user.active:
            raise Refused(f"{user.username} is active already")
        user.active = True

    return _changed(app, username, actor, "user.reactivated", "reactivated", change)

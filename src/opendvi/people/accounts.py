"""People who use OpenDVI, their roles, and their passwords (Argon2id hashes only).

Roles and what each may do are in ``core.roles``; ``acting_user`` is the one check of who
is acting, used inside every use-case that changes something on someone's behalf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission, Role, a_person, may, roles_for, who
from opendvi.db.rows import view_of
from opendvi.db.tables import User, UserSession, utcnow
from opendvi.errors import InputError, NotFound, Refused

__all__ = [
    "Account",
    "FirstAdmin",
    "Person",
    "acting_user",
    "add_user",
    "check_if_user",
    "check_password",
    "end_every_session",
    "end_sessions_of",
    "ensure_admin",
    "has_admin",
    "hash_password",
    "normal_name",
    "staff",
    "verify_password",
]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Account:
    """A user as the front ends need them (never their password's hash)."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool

    @property
    def name(self) -> str:
        """The name shown to others."""
        return self.display_name or self.username

    def may(self, permission: str) -> bool:
        """Whether this user holds ``permission`` (a ``core.roles.Permission`` value)."""
        return may(self.role, Permission(permission))

    @classmethod
    def of(cls, user: User) -> Account:
        return view_of(cls, user)


@dataclass(frozen=True)
class Person:
    """Someone who may be named for a task: user name, name shown, role."""

    username: str
    name: str
    role: str


def normal_name(username: str) -> str:
    """A user name as stored: without the spaces around it, in lower case."""
    return username.strip().lower()


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    if not stored:
        return False
    try:
        return PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: use at least {MIN_PASSWORD} characters", field="password")


def add_user(
    app: OpenDVI,
    *,
    username: str,
    role: str,
    actor: str,
    password: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> Account:
    """Add a user with one role; the password, when given, is stored as an Argon2id hash."""
    with app.db.write() as session:
        return Account.of(
            _add(
                session,
                username=username,
                role=role,
                actor=actor,
                password=password,
                display_name=display_name,
                email=email,
            )
        )


def _add(
    session: Session,
    *,
    username: str,
    role: str,
    actor: str,
    password: str | None,
    display_name: str = "",
    email: str | None = None,
) -> User:
    username = normal_name(username)
    if not USERNAME.match(username):
        raise InputError(
            f"username {username!r}: use 2–80 lower-case letters, digits, dots, dashes or "
            "underscores, starting with a letter or digit",
            field="username",
        )
    if role not in set(Role):
        raise InputError(f"role {role!r}: choose one of {', '.join(Role)}", field="role")
    if password is not None:
        check_password(password)
    check_if_user(session, actor, Permission.MANAGE_USERS, doing="add a user")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Refused(f"there is already a user {username!r}")
    user = User(
        username=username,
        role=role,
        display_name=display_name,
        email=email,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.added",
        about=user,
        ref=username,
        after={"username": username, "role": role, "display_name": display_name},
    )
    return user


def end_sessions_of(session: Session, user_id: int, why: str) -> int:
    """Inside an account change's transaction: every open session of the user ends."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_why=why)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_every_session(session: Session, why: str) -> int:
    """Inside a transaction: every open session of every user ends (a restore: sessions
    kept in a backup, some perhaps signed out since, must not open again)."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_why=why)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def check_if_user(session: Session, actor: str, permission: Permission, *, doing: str) -> None:
    """Inside a use-case's transaction: when ``actor`` names a user, they must be active and
    hold ``permission``. Any other actor is the library's own caller (a script's name; the
    machine's work at the command line, "cli:NAME"): the web application and the command
    line pass only users who signed in."""
    if actor == "cli" or ":" in actor:
        return
    if session.execute(select(User.id).where(User.username == actor)).first() is not None:
        acting_user(session, actor, permission, doing=doing)


def acting_user(session: Session, username: str, permission: Permission, *, doing: str) -> User:
    """Inside a use-case's transaction: the active user ``username``, if their role holds
    ``permission``; otherwise the refusal says who may ``doing``."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"there is no active user {username!r}; `opendvi users add` adds one")
    if not may(user.role, permission):
        raise Refused(f"{username} is {a_person(user.role)}; only {who(permission)} may {doing}")
    return user


def staff(app: OpenDVI, permission: Permission) -> list[Person]:
    """The active users who hold ``permission``, by user name."""
    roles = sorted(roles_for(permission))
    with app.db.read() as session:
        rows = session.execute(
            select(User.username, User.display_name, User.role)
            .where(User.active, User.role.in_(roles))
            .order_by(User.username)
        ).all()
    return [Person(username, name or username, role) for username, name, role in rows]


def has_admin(app: OpenDVI) -> bool:
    """Whether an active admin exists (until one does, the command line may add the first)."""
    with app.db.read() as session:
        found = session.execute(select(User.id).where(User.role == Role.ADMIN, User.active))
        return found.first() is not None


class FirstAdmin(NamedTuple):
    username: str  # "admin", or "admin-xxxx" when a user "admin" exists who is not one
    password: str  # shown once


def ensure_admin(app: OpenDVI, *, actor: str) -> FirstAdmin | None:
    """Create the first administrator if there is none; returns its name and password,
    once."""
    import secrets

    with app.db.write() as session:
        if session.execute(select(User.id).where(User.role == Role.ADMIN, User.active)).first():
            return None
        password = secrets.token_urlsafe(12)
        name = "admin"
        if session.execute(select(User.id).where(User.username == name)).first():
            name = f"admin-{secrets.token_hex(2)}"
        _add(session, username=name, role=Role.ADMIN, actor=actor, password=password)
        return FirstAdmin(name, password)

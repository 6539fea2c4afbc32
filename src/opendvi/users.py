"""People who use OpenDVI, their roles, and their passwords (Argon2id hashes only)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.db.tables import User
from opendvi.errors import InputError, NotFound, Refused

__all__ = [
    "REVIEW_ROLES",
    "ROLES",
    "add_user",
    "ensure_admin",
    "hash_password",
    "set_password",
    "verify_password",
]

ROLES = {
    "admin": "manages users and settings; may do everything",
    "forensic": "post-mortem records of remains",
    "caseworker": "missing-person reports and families",
    "reviewer": "reviews candidates: excludes, refers, proposes and confirms identifications",
    "auditor": "reads everything and the audit log; changes nothing",
}
# Who decides on candidates (exclude, refer, propose, confirm, revoke, judge): the use cases
# and the web routes both check this one list.
REVIEW_ROLES = ("admin", "reviewer", "forensic")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = 10


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


def add_user(
    session: Session,
    *,
    username: str,
    role: str,
    actor: str,
    password: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> User:
    """Add a user with one role; the password, when given, is stored as an Argon2id hash."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InputError(
            f"username {username!r}: use 2–80 lower-case letters, digits, dots, dashes or "
            "underscores, starting with a letter or digit",
            field="username",
        )
    if role not in ROLES:
        raise InputError(f"role {role!r}: choose one of {', '.join(ROLES)}", field="role")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InputError(f"password: use at least {MIN_PASSWORD} characters", field="password")
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
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.added",
        entity_type="user",
        entity_id=user.id,
        entity_ref=username,
        after={"username": username, "role": role, "display_name": display_name},
    )
    return user


def set_password(session: Session, *, username: str, password: str, actor: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: use at least {MIN_PASSWORD} characters", field="password")
    user = session.execute(
        select(User).where(User.username == username.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"there is no user {username!r}; `opendvi users add` adds one")
    user.password_hash = hash_password(password)
    audit.record(
        session,
        actor=actor,
        action="user.password_changed",
        entity_type="user",
        entity_id=user.id,
        entity_ref=user.username,
    )


def acting_user(
    session: Session, username: str, roles: tuple[str, ...], *, who: str, doing: str
) -> User:
    """The active user ``username``, if their role is one of ``roles``: ``who`` names those
    roles in words ("a caseworker or an admin") for the refusal."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"there is no active user {username!r}; `opendvi users add` adds one")
    if user.role not in roles:
        raise Refused(f"{username} is a {user.role}; only {who} may {doing}")
    return user


def ensure_admin(session: Session, *, actor: str) -> str | None:
    """Create the first administrator if there is none; returns the new password, once."""
    import secrets

    if session.execute(select(User.id).where(User.role == "admin", User.active)).first():
        return None
    password = secrets.token_urlsafe(12)
    name = "admin"
    if session.execute(select(User.id).where(User.username == name)).first():
        name = f"admin-{secrets.token_hex(2)}"
    add_user(session, username=name, role="admin", actor=actor, password=password)
    return password

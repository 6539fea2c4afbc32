"""Signing in and the sessions that follow, in the web application and at the command line.

A session lives in the database (``user_sessions``); the cookie, or the command line's token
file, holds only a random id, of which the table keeps the SHA-256. So signing out, a new
password, a new role or a deactivation ends a session at once, in every process, and a
copied cookie is worth nothing afterwards. Failed sign-ins are counted in the database too,
by the account as stored (whatever case or spaces were typed) and by address, so the limits
hold whichever process is asked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission, may
from opendvi.db.tables import SignInFailure, User, UserSession, utcnow
from opendvi.errors import OpenDVIError
from opendvi.people.accounts import Account, normal_name, verify_password

__all__ = [
    "LIMIT_WINDOW",
    "SignInRefused",
    "SignedIn",
    "TooManyAttempts",
    "account",
    "end_session",
    "remember_revealed",
    "session_of",
    "sign_in",
]

LIMIT_WINDOW = dt.timedelta(minutes=15)
# A session seen within this long is not written again on every request.
_TOUCH_EVERY = dt.timedelta(seconds=60)


class SignInRefused(OpenDVIError):
    """The user name or password is wrong, or the account may not sign in here."""

    http_status = 401


class TooManyAttempts(OpenDVIError):
    """Too many failed sign-ins for this account or from this address, lately."""

    http_status = 429

    def __init__(self, wait_s: float) -> None:
        minutes = max(1, round(wait_s / 60))
        super().__init__(f"Too many failed attempts. Try again in {minutes} minutes.")
        self.wait_s = wait_s


@dataclass(frozen=True)
class SignedIn:
    """An open session: who, its token (given to the browser or the token file once; only
    its digest is kept), its CSRF token, what it has chosen to see, when it ends."""

    id: int
    account: Account
    token: str
    csrf: str
    revealed: frozenset[int]
    expires_at: dt.datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(at: dt.datetime) -> dt.datetime:
    # SQLite gives back naive times (stored as UTC).
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _blocked_for(
    session: Session, app: OpenDVI, name: str, address: str, now: dt.datetime
) -> float:
    """Seconds until ``name`` may try again from ``address`` (0: now)."""
    since = now - LIMIT_WINDOW
    waits = []
    for column, value, limit in (
        (SignInFailure.account, name, app.settings.login_attempts),
        (SignInFailure.address, address, app.settings.login_attempts_per_address),
    ):
        count, first = session.execute(
            select(func.count(), func.min(SignInFailure.at)).where(
                column == value, SignInFailure.at > since
            )
        ).one()
        if count >= limit and first is not None:
            waits.append((_aware(first) + LIMIT_WINDOW - now).total_seconds())
    return max(waits, default=0.0)


def sign_in(
    app: OpenDVI, username: str, password: str, *, address: str, kind: str = "web"
) -> SignedIn:
    """A new session for the active account whose password this is.

    Raises ``TooManyAttempts`` while the account (as stored, whatever was typed) or the
    address has failed too often within 15 minutes, and ``SignInRefused`` for a wrong name
    or password, a deactivated account, or a service account at the web application. A
    right password clears its account's failures, never the address's.
    """
    name, now, address = normal_name(username), utcnow(), address[:100]
    # Read and check the password outside the write lock: the hash takes a while on purpose.
    with app.db.read() as session:
        wait = _blocked_for(session, app, name, address, now)
        user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
        user_id = user.id if user is not None and user.active else None
        stored = user.password_hash if user is not None else None
        right = wait <= 0 and user_id is not None and verify_password(stored, password)
    if wait > 0:
        raise TooManyAttempts(wait)
    if not right or user_id is None:
        with app.db.write() as session:
            session.execute(delete(SignInFailure).where(SignInFailure.at < now - LIMIT_WINDOW))
            session.add(SignInFailure(account=name, address=address, at=now))
        raise SignInRefused("The user name or password is wrong.")
    return _open(app, user_id, kind=kind, address=address, now=now)


def _open(app: OpenDVI, user_id: int, *, kind: str, address: str, now: dt.datetime) -> SignedIn:
    with app.db.write() as session:
        user = session.get(User, user_id)
        assert user is not None
        if kind == "web" and not may(user.role, Permission.READ):
            raise SignInRefused(
                f"{user.username} is a service account: it works at the command line "
                "only (`opendvi login`)"
            )
        session.execute(delete(SignInFailure).where(SignInFailure.account == user.username))
        hours = app.settings.session_hours if kind == "web" else app.settings.cli_session_hours
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        row = UserSession(
            token_sha256=_digest(token),
            user_id=user.id,
            kind=kind,
            csrf=csrf,
            revealed=[],
            address=address,
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=hours),
            ended_why="",
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=user.username,
            action="user.signed_in",
            about=user,
            ref=user.username,
            details={"kind": kind, "address": address},
        )
        return SignedIn(row.id, Account.of(user), token, csrf, frozenset(), row.expires_at)


def session_of(app: OpenDVI, token: str, *, kind: str = "web") -> SignedIn | None:
    """The open session of ``token``, or None: unknown, ended, expired, idle too long (a
    web session), or its account deactivated. Seen now, written at most once a minute."""
    if not token:
        return None
    now = utcnow()
    with app.db.read() as session:
        found = session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_sha256 == _digest(token), UserSession.kind == kind)
        ).one_or_none()
        if found is None:
            return None
        row, user = found
        seen = _aware(row.last_seen_at)
        idle = dt.timedelta(minutes=app.settings.session_idle_minutes)
        if (
            row.ended_at is not None
            or _aware(row.expires_at) <= now
            or (kind == "web" and now - seen > idle)
            or not user.active
        ):
            return None
        signed = SignedIn(
            row.id,
            Account.of(user),
            token,
            row.csrf,
            frozenset(int(p) for p in row.revealed or []),
            _aware(row.expires_at),
        )
    if now - seen > _TOUCH_EVERY:
        with app.db.write() as session:
            session.execute(
                update(UserSession).where(UserSession.id == signed.id).values(last_seen_at=now)
            )
    return signed


def end_session(app: OpenDVI, token: str, *, why: str = "signed out") -> Account | None:
    """Sign out: the session of ``token`` ends (audited); whose it was, if it was open."""
    with app.db.write() as session:
        row = session.execute(
            select(UserSession).where(
                UserSession.token_sha256 == _digest(token), UserSession.ended_at.is_(None)
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        row.ended_at, row.ended_why = utcnow(), why
        user = session.get(User, row.user_id)
        assert user is not None
        audit.record(
            session,
            actor=user.username,
            action="user.signed_out",
            about=user,
            ref=user.username,
            details={"kind": row.kind},
        )
        return Account.of(user)


def remember_revealed(session: Session, session_id: int, photo_id: int) -> None:
    """Inside a reveal's transaction: the session shows this photo unblurred from now on."""
    row = session.get(UserSession, session_id)
    if row is not None and photo_id not in (row.revealed or []):
        row.revealed = sorted({*row.revealed, photo_id})


def account(app: OpenDVI, user_id: int) -> Account | None:
    """The account of a user, as stored now (None if it no longer exists)."""
    with app.db.read() as session:
        user = session.get(User, user_id)
        return Account.of(user) if user is not None else None

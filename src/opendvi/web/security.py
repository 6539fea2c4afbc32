"""Who may do what in the web application: every route declares its roles, and one guard
checks them (failing closed on a route that declares none), the login, the CSRF token on
every change, and the limit on failed logins.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from opendvi.db.tables import User
from opendvi.users import REVIEW_ROLES

__all__ = [
    "ALL_ROLES",
    "CHANGE",
    "PUBLIC",
    "READ",
    "REVIEW",
    "LoginLimiter",
    "Viewer",
    "csrf_token",
    "declared_roles",
    "guard",
    "roles",
]

ALL_ROLES = ("admin", "forensic", "caseworker", "reviewer", "auditor")
READ = ALL_ROLES  # anything a signed-in user may look at
REVIEW = REVIEW_ROLES  # decisions on candidates
CHANGE = ("admin", "forensic", "caseworker", "reviewer")  # everyone but the auditor
PUBLIC = ("public",)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
F = TypeVar("F", bound=Callable[..., Any])


def roles(*names: str) -> Callable[[F], F]:
    """Declare who may use a route: role names, or ``PUBLIC``."""
    unknown = set(names) - set(ALL_ROLES) - {"public"}
    if unknown or not names:
        raise ValueError(f"unknown roles {sorted(unknown)}" if unknown else "no roles given")

    def mark(endpoint: F) -> F:
        endpoint.opendvi_roles = frozenset(names)  # type: ignore[attr-defined]
        return endpoint

    return mark


def declared_roles(endpoint: Callable[..., Any]) -> frozenset[str] | None:
    return getattr(endpoint, "opendvi_roles", None)


@dataclass(frozen=True)
class Viewer:
    """The signed-in user, as the pages need them."""

    id: int
    username: str
    display_name: str
    role: str

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def may(self, allowed: tuple[str, ...]) -> bool:
        return self.role in allowed


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def guard(request: Request) -> None:
    """Runs before every route: the route's declared roles, the login, the CSRF token."""
    endpoint = request.scope.get("endpoint")
    allowed = declared_roles(endpoint) if endpoint is not None else None
    if allowed is None:
        # Fail closed: a route nobody declared roles for is usable by nobody.
        raise HTTPException(403, "this page declares no roles, so nobody may use it")
    if request.method in UNSAFE:
        expected = request.session.get("csrf")
        given = request.headers.get("x-csrf-token")
        if given is None and "form" in request.headers.get("content-type", ""):
            given = str((await request.form()).get("csrf", ""))
        if not expected or not given or not secrets.compare_digest(str(expected), given):
            raise HTTPException(
                403, "the form had expired or came from elsewhere; reload the page and try again"
            )
    if "public" in allowed:
        return
    # A database read: off the event loop, so one slow query never stalls other requests.
    viewer = await run_in_threadpool(current_viewer, request)
    if viewer is None:
        if _is_api(request):
            raise HTTPException(401, "sign in first")
        raise HTTPException(303, headers={"Location": f"/login?next={request.url.path}"})
    if viewer.role not in allowed:
        raise HTTPException(
            403,
            f"a {viewer.role} may not use this page; it is for: {', '.join(sorted(allowed))}",
        )
    request.state.viewer = viewer


def current_viewer(request: Request) -> Viewer | None:
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    user_id = request.session.get("user_id")
    epoch = request.session.get("epoch")
    if not isinstance(user_id, int):
        return None
    app = request.app.state.dvi

    def account() -> Any:
        with app.db.read() as session:
            return session.execute(
                select(
                    User.id,
                    User.username,
                    User.display_name,
                    User.role,
                    User.active,
                    User.password_hash,
                ).where(User.id == user_id)
            ).one_or_none()

    # Read again after any change made here, and at least every two seconds: a user
    # deactivated or given a new password by another process is signed out within that.
    user = request.app.state.accounts.get(f"user:{user_id}", account)
    if user is None or not user.active or _epoch(user) != epoch:
        request.session.clear()
        return None
    viewer = Viewer(user.id, user.username, user.display_name, user.role)
    request.state.viewer = viewer
    return viewer


def _epoch(user: Any) -> str:
    # Changing the password (or role) ends every session signed with the old one.
    return (user.password_hash or "")[-16:] + user.role


def sign_in(request: Request, user: User) -> None:
    request.session.clear()
    request.session["user_id"] = user.id
    request.session["epoch"] = _epoch(user)
    request.session["csrf"] = secrets.token_urlsafe(32)


class LoginLimiter:
    """Failed logins per (user name, address) in a sliding window, in memory."""

    def __init__(self, attempts: int, window_s: float = 15 * 60) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def blocked_for(self, username: str, address: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent((username.lower(), address), now)
            if len(failures) < self.attempts:
                return 0.0
            return self.window_s - (now - failures[0])

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent((username.lower(), address), now).append(now)

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), address), None)

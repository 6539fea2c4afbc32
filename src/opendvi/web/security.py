"""Who may use which page: every route declares the permission it needs (``core.roles``),
and one guard checks it (failing closed on a route that declares none), the sign-in, the
CSRF token on every change, and the limit on failed sign-ins. The use-cases check the
same permissions again, whichever front end calls them.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from opendvi.core.roles import Permission, roles_for
from opendvi.people import Account, account

__all__ = [
    "LoginLimiter",
    "csrf_token",
    "current_viewer",
    "declared_roles",
    "guard",
    "permits",
    "start_session",
]

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
F = TypeVar("F", bound=Callable[..., Any])


def permits(permission: Permission) -> Callable[[F], F]:
    """Declare the permission a route needs (``Permission.PUBLIC``: no sign-in)."""
    allowed = frozenset({"public"}) if permission is Permission.PUBLIC else roles_for(permission)

    def mark(endpoint: F) -> F:
        endpoint.opendvi_permission = permission  # type: ignore[attr-defined]
        endpoint.opendvi_roles = allowed  # type: ignore[attr-defined]
        return endpoint

    return mark


def declared_roles(endpoint: Callable[..., Any]) -> frozenset[str] | None:
    """The role names that may use a route ("public" for everyone), or None if it declares
    nothing (then nobody may)."""
    return getattr(endpoint, "opendvi_roles", None)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def guard(request: Request) -> None:
    """Runs before every route: the route's declared roles, the sign-in, the CSRF token."""
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


def current_viewer(request: Request) -> Account | None:
    """The signed-in user, or None (and the session cleared) when the account is gone,
    deactivated, or its password or role changed since the sign-in."""
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    dvi = request.app.state.dvi
    # Read again after any change made here, and at least every two seconds: a user
    # deactivated or given a new password by another process is signed out within that.
    found = request.app.state.accounts.get(f"user:{user_id}", lambda: account(dvi, user_id))
    if found is None or not found.active or found.epoch != request.session.get("epoch"):
        request.session.clear()
        return None
    request.state.viewer = found
    return found  # type: ignore[no-any-return]


def start_session(request: Request, signed_in: Account) -> None:
    """A new session for the user just signed in, with a new CSRF token."""
    request.session.clear()
    request.session["user_id"] = signed_in.id
    request.session["epoch"] = signed_in.epoch
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

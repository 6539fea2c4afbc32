"""Who may use which page: every route declares the permission it needs (``core.roles``),
and one guard checks it (failing closed on a route that declares none), the sign-in, the
CSRF token on every change. Sessions live in the database (``people.sessions``); the
cookie holds a random id. The use-cases check the same permissions again, whichever front
end calls them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from opendvi.core.roles import Permission, a_person, roles_for
from opendvi.people import Account, SignedIn, end_session, session_of

__all__ = [
    "client_address",
    "csrf_token",
    "current_viewer",
    "declared_roles",
    "end_browser_session",
    "guard",
    "permits",
    "set_cookies",
    "signed_in",
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


SESSION_COOKIE = "opendvi_session"
# Before a session exists (the sign-in form): a random nonce in this cookie, and the form's
# token is its HMAC under the secret key, so a cookie set by a neighbouring site is useless.
PRE_COOKIE = "opendvi_pre"


def signed_in(request: Request) -> SignedIn | None:
    """The open session the request's cookie names, read once per request (None: none)."""
    if not hasattr(request.state, "signed"):
        token = request.cookies.get(SESSION_COOKIE, "")
        request.state.signed = session_of(request.app.state.dvi, token) if token else None
    found: SignedIn | None = request.state.signed
    return found


def csrf_token(request: Request) -> str:
    """The token a form of this page must send back: the session's, or before sign-in one
    tied to the browser's nonce cookie (made here if it has none yet)."""
    signed = getattr(request.state, "signed", None)
    if signed is not None:
        return str(signed.csrf)
    nonce = request.cookies.get(PRE_COOKIE) or getattr(request.state, "new_nonce", None)
    if not nonce:
        nonce = request.state.new_nonce = secrets.token_urlsafe(24)
    return _keyed(request, str(nonce))


def _keyed(request: Request, nonce: str) -> str:
    key = request.app.state.secret_key.encode()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


def set_cookies(request: Request, response: Response) -> None:
    """The nonce cookie of a page that made one (see ``csrf_token``)."""
    nonce = getattr(request.state, "new_nonce", None)
    if nonce:
        _cookie(request, response, PRE_COOKIE, nonce, max_age=3600)


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.app.state.dvi.settings.https,
    )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def guard(request: Request) -> None:
    """Runs before every route: the route's declared roles, the sign-in, the CSRF token."""
    endpoint = request.scope.get("endpoint")
    allowed = declared_roles(endpoint) if endpoint is not None else None
    if allowed is None:
        # Fail closed: a route nobody declared roles for is usable by nobody.
        raise HTTPException(403, "this page declares no roles, so nobody may use it")
    # A database read: off the event loop, so one slow query never stalls other requests.
    viewer = await run_in_threadpool(current_viewer, request)
    if request.method in UNSAFE:
        expected = csrf_token(request)
        given = request.headers.get("x-csrf-token")
        if given is None and "form" in request.headers.get("content-type", ""):
            given = str((await request.form()).get("csrf", ""))
        if not given or not hmac.compare_digest(expected, given):
            raise HTTPException(
                403, "the form had expired or came from elsewhere; reload the page and try again"
            )
    if "public" in allowed:
        return
    if viewer is None:
        if _is_api(request):
            raise HTTPException(401, "sign in first")
        raise HTTPException(303, headers={"Location": f"/login?next={request.url.path}"})
    if viewer.role not in allowed:
        raise HTTPException(
            403,
            f"{a_person(viewer.role)} may not use this page; it is for: "
            f"{', '.join(sorted(allowed))}",
        )
    request.state.viewer = viewer


def current_viewer(request: Request) -> Account | None:
    """The signed-in user, or None: no session, or it ended (signed out, a new password or
    role, deactivated, idle too long, expired)."""
    signed = signed_in(request)
    return signed.account if signed is not None else None


def start_session(request: Request, response: Response, signed: SignedIn) -> None:
    """The browser keeps the new session's random id (and forgets its sign-in nonce)."""
    seconds = int((signed.expires_at - dt.datetime.now(dt.UTC)).total_seconds())
    _cookie(request, response, SESSION_COOKIE, signed.token, max_age=seconds)
    response.delete_cookie(PRE_COOKIE)


def end_browser_session(request: Request, response: Response) -> None:
    """Sign out: the session ends on the server; the browser forgets its id."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        end_session(request.app.state.dvi, token)
    response.delete_cookie(SESSION_COOKIE)


def client_address(request: Request) -> str:
    """Where the request came from (a forwarded address only from a trusted proxy: the
    server believes X-Forwarded-For only from those named in ``trusted_proxies``)."""
    return request.client.host if request.client else ""

"""The users page, for admins: the list, and the forms that add a user, change a role, give
a new password, deactivate and reactivate. Each calls one use-case of ``opendvi.people``
(which checks again that an admin asks) and goes back to the list with what was done; a
refused form comes back with the reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.core.roles import ROLE_WORDS, Permission, Role
from opendvi.errors import InputError, NotFound, Refused
from opendvi.people import (
    add_user,
    deactivate,
    reactivate,
    reset_password,
    set_password,
    set_role,
    users,
)
from opendvi.people.accounts import normal_name
from opendvi.web.deps import DviDep, ViewerDep
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)
Username = Annotated[str, Path(min_length=1, max_length=80)]
REFUSED = (InputError, NotFound, Refused)
# What the list says after each form, at the top (``?done=...&user=...``).
DONE = {
    "role": "{user} has a new role; their sessions ended, they sign in again.",
    "password": "{user} has the password you gave; their sessions ended.",
    "deactivated": "{user} is deactivated: they may no longer sign in or act; their name "
    "stays on what they did.",
    "reactivated": "{user} is active again, with the role and password they had.",
    "added": "{user} was added, with the password you gave.",
}


def _page(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(
        request,
        "users.html",
        status_code=status,
        users=users(dvi, actor=viewer.username),
        roles=list(Role),
        role_words=ROLE_WORDS,
        **context,
    )


def _refused(
    request: Request, dvi: DviDep, viewer: ViewerDep, who: str, problem: Exception, **typed: Any
) -> HTMLResponse:
    status = getattr(problem, "http_status", 422)
    said = str(problem)
    if who and not said.startswith(who):
        said = f"{who}: {said}"  # which row's form it was
    return _page(request, dvi, viewer, status, problem=said, problem_of=who, **typed)


def _done(what: str, username: str, viewer: ViewerDep) -> RedirectResponse:
    from urllib.parse import urlencode

    if normal_name(username) == viewer.username:
        # A change to one's own account ended one's own sessions with the others.
        return RedirectResponse("/login?next=/users", status_code=303)
    query = urlencode({"done": what, "user": username})
    return RedirectResponse(f"/users?{query}#user-{username}", status_code=303)


def _shown_once(
    request: Request, dvi: DviDep, viewer: ViewerDep, username: str, password: str, what: str
) -> HTMLResponse:
    # The one answer to a form that is not a redirect: the new password exists only here
    # (never stored, never in an address), so it is shown in this answer, once. Reloading
    # makes the browser ask before sending the form again.
    return _page(request, dvi, viewer, shown={"user": username, "password": password, "what": what})


@router.get("/users")
@permits(Permission.MANAGE_USERS)
def users_page(
    request: Request, dvi: DviDep, viewer: ViewerDep, done: str = "", user: str = ""
) -> HTMLResponse:
    message = DONE[done].format(user=user) if done in DONE and user else ""
    return _page(request, dvi, viewer, done=message)


@router.post("/users")
@permits(Permission.MANAGE_USERS)
def add(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    import secrets

    made = "" if password else secrets.token_urlsafe(12)
    try:
        added = add_user(
            dvi,
            username=username,
            role=role,
            actor=viewer.username,
            password=password or made,
            display_name=display_name.strip(),
            email=email.strip() or None,
        )
    except REFUSED as problem:
        typed = {"username": username, "role": role, "display_name": display_name, "email": email}
        return _refused(request, dvi, viewer, "", problem, typed=typed)
    if made:
        return _shown_once(request, dvi, viewer, added.username, made, "added")
    return _done("added", added.username, viewer)


@router.post("/users/{username}/role")
@permits(Permission.MANAGE_USERS)
def change_role(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    username: Username,
    role: Annotated[str, Form()] = "",
) -> Response:
    try:
        set_role(dvi, username=username, role=role, actor=viewer.username)
    except REFUSED as problem:
        return _refused(request, dvi, viewer, username, problem)
    return _done("role", username, viewer)


@router.post("/users/{username}/password")
@permits(Permission.MANAGE_USERS)
def new_password(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    username: Username,
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        if password:
            set_password(dvi, username=username, password=password, actor=viewer.username)
        else:
            reset = reset_password(dvi, username=username, actor=viewer.username)
    except REFUSED as problem:
        return _refused(request, dvi, viewer, username, problem)
    if password:
        return _done("password", username, viewer)
    return _shown_once(request, dvi, viewer, reset.account.username, reset.password, "reset")


@router.post("/users/{username}/deactivate")
@permits(Permission.MANAGE_USERS)
def deactivate_user(
    request: Request, dvi: DviDep, viewer: ViewerDep, username: Username
) -> Response:
    try:
        deactivate(dvi, username=username, actor=viewer.username)
    except REFUSED as problem:
        return _refused(request, dvi, viewer, username, problem)
    return _done("deactivated", username, viewer)


@router.post("/users/{username}/reactivate")
@permits(Permission.MANAGE_USERS)
def reactivate_user(
    request: Request, dvi: DviDep, viewer: ViewerDep, username: Username
) -> Response:
    try:
        reactivate(dvi, username=username, actor=viewer.username)
    except REFUSED as problem:
        return _refused(request, dvi, viewer, username, problem)
    return _done("reactivated", username, viewer)

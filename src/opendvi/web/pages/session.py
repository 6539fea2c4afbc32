"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.core.roles import Permission
from opendvi.people import sign_in
from opendvi.web.deps import DviDep
from opendvi.web.security import permits, start_session
from opendvi.web.templating import render, same_site

router = APIRouter(include_in_schema=False)


@router.get("/login")
@permits(Permission.PUBLIC)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", next=same_site(next), problem="")


@router.post("/login")
@permits(Permission.PUBLIC)
def login(
    request: Request,
    dvi: DviDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    limiter = request.app.state.limiter
    address = request.client.host if request.client else ""
    wait = limiter.blocked_for(username, address)
    if wait > 0:
        problem, status = f"Too many failed attempts. Try again in {wait / 60:.0f} minutes.", 429
    else:
        account = sign_in(dvi, username, password)
        if account is not None:
            limiter.succeeded(username, address)
            start_session(request, account)
            return RedirectResponse(same_site(next), status_code=303)
        limiter.failed(username, address)
        problem, status = "The user name or password is wrong.", 401
    return render(
        request,
        "login.html",
        status_code=status,
        next=same_site(next),
        username=username,
        problem=problem,
    )


@router.post("/logout")
@permits(Permission.READ)
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)

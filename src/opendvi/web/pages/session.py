"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opendvi.core.roles import Permission
from opendvi.people import SignInRefused, TooManyAttempts, sign_in
from opendvi.web.deps import DviDep
from opendvi.web.security import client_address, end_browser_session, permits, start_session
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
    try:
        signed = sign_in(dvi, username, password, address=client_address(request))
    except (SignInRefused, TooManyAttempts) as refused:
        return render(
            request,
            "login.html",
            status_code=refused.http_status,
            next=same_site(next),
            username=username,
            problem=str(refused),
        )
    response = RedirectResponse(same_site(next), status_code=303)
    start_session(request, response, signed)
    return response


@router.post("/logout")
@permits(Permission.READ)
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    end_browser_session(request, response)
    return response

"""Rendering a page: the templates, with what every page needs (who is signed in, the CSRF
token, the identifiers a form offers), and the error page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from opendvi.core.workflow import EVIDENCE_WORDS, PRIMARY, SECONDARY
from opendvi.web.links import candidate_url
from opendvi.web.security import csrf_token, current_viewer, set_cookies, signed_in

__all__ = ["error_page", "render", "revealed", "same_site", "templates"]

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["evidence_words"] = EVIDENCE_WORDS  # for the macros too
templates.env.globals["candidate_url"] = candidate_url  # a pair's page, by its references
TITLES = {401: "Sign in first", 403: "Not allowed", 404: "Not found", 409: "Not possible"}


def same_site(target: str | None) -> str:
    """A page of this site to go back to (a path), else the dashboard: never another site."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def revealed(request: Request) -> set[int]:
    """The post-mortem photos this session has chosen to see unblurred."""
    signed = signed_in(request)
    return set(signed.revealed) if signed is not None else set()


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None) or current_viewer(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "viewer": viewer,
            "csrf": csrf_token(request),
            "primary_ids": PRIMARY,
            "secondary_ids": SECONDARY,
            "revealed": revealed(request),
            **context,
        },
        status_code=status_code,
    )
    set_cookies(request, response)
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        status_code=status,
        title=TITLES.get(status, "Something went wrong"),
        message=message,
    )

"""The dashboard: what the registry holds, what waits for review, families to tell."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from opendvi.caseload import dashboard
from opendvi.core.roles import Permission
from opendvi.web.deps import DviDep
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
@permits(Permission.READ)
def dashboard_page(request: Request, dvi: DviDep) -> HTMLResponse:
    return render(request, "dashboard.html", **vars(dashboard(dvi)))

"""The photos where nobody has chosen the person yet, with each face's crop (post-mortem
ones blurred until revealed) and one button each to choose."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from opendvi.core.roles import Permission
from opendvi.records.choosing import waiting_for_person
from opendvi.web.deps import DviDep
from opendvi.web.security import permits
from opendvi.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/faces/choose")
@permits(Permission.READ)
def faces_to_choose(
    request: Request, dvi: DviDep, page: Annotated[int, Query(ge=1)] = 1
) -> HTMLResponse:
    return render(request, "faces_to_choose.html", found=waiting_for_person(dvi, page))

"""What a route takes besides its own input: the application, and who is signed in (the
guard has checked them already)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from opendvi.app import OpenDVI
from opendvi.people import Account

__all__ = ["ID_MAX", "ROW_MAX", "DviDep", "Paging", "PagingDep", "RowId", "ViewerDep"]


# Asynchronous, though they wait for nothing: FastAPI runs a plain function dependency in a
# worker thread, and two thread hops a request cost the pages a third of their speed.
async def _dvi(request: Request) -> OpenDVI:
    dvi: OpenDVI = request.app.state.dvi
    return dvi


async def _viewer(request: Request) -> Account:
    viewer: Account = request.state.viewer
    return viewer


DviDep = Annotated[OpenDVI, Depends(_dvi)]
# How far a list can be paged: what the database counts to (64 bits).
ROW_MAX = 2**63 - 1
# The number of a stored row: what the tables' keys hold (PostgreSQL's INTEGER); a larger
# one is refused with its name, not carried to the database to overflow there.
ID_MAX = 2**31 - 1
RowId = Annotated[int, Path(ge=0, le=ID_MAX)]
ViewerDep = Annotated[Account, Depends(_viewer)]


@dataclass(frozen=True)
class Paging:
    """How much of a list the API answers with: at most ``limit`` items, after ``offset``."""

    limit: int
    offset: int


async def _paging(
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=ROW_MAX)] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(_paging)]

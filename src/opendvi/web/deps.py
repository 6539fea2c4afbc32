"""What a route takes besides its own input: the application, and who is signed in (the
guard has checked them already)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from opendvi.app import OpenDVI
from opendvi.people import Account

__all__ = ["DviDep", "ViewerDep"]


def _dvi(request: Request) -> OpenDVI:
    dvi: OpenDVI = request.app.state.dvi
    return dvi


def _viewer(request: Request) -> Account:
    viewer: Account = request.state.viewer
    return viewer


DviDep = Annotated[OpenDVI, Depends(_dvi)]
ViewerDep = Annotated[Account, Depends(_viewer)]

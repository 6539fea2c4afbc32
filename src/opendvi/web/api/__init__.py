"""The JSON API under /api: the same use-cases as the pages, for scripts and other systems.
Signed-in sessions only; changes carry the CSRF token in ``X-CSRF-Token``. Each route
declares the permission of the page it matches (docs/api.md lists them, and a test checks
the list against the routes)."""

from __future__ import annotations

from fastapi import APIRouter

from opendvi.web.api import candidates, identifications, notifications, records, withdrawal

__all__ = ["routers"]

routers: list[APIRouter] = [
    part.router for part in (candidates, identifications, withdrawal, records, notifications)
]

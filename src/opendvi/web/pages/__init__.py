"""The pages: server-rendered HTML (Jinja2 + htmx), one module per part of the work. Each
route declares its permission, parses its input, calls one use-case and renders the
result."""

from __future__ import annotations

from fastapi import APIRouter

from opendvi.web.pages import (
    choosing,
    dashboard,
    identifications,
    intake,
    notification_forms,
    notifications,
    pictures,
    records,
    review,
    session,
    users,
    withdrawal,
)

__all__ = ["routers"]

# intake before records: /records/{kind}/new is a form, not a record named "new".
_IN_ORDER = (
    session,
    dashboard,
    review,
    identifications,
    pictures,
    choosing,
    intake,
    records,
    notifications,
    notification_forms,
    withdrawal,
    users,
)
routers: list[APIRouter] = [part.router for part in _IN_ORDER]

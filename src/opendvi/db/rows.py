"""Stored rows read into the plain values the front ends see: a dataclass filled from the
row's attributes of the same names, so that no page, command or API answer holds a row
that could reach the database after its session is gone."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from opendvi.errors import InputError, NotFound

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["ROW_MAX", "locked", "offset_of", "view_of"]

V = TypeVar("V", bound="DataclassInstance")
R = TypeVar("R")
ROW_MAX = 2**63 - 1  # the largest row number, offset or count the databases hold


def view_of(cls: type[V], row: object, *, absent: Collection[str] = (), **given: Any) -> V:
    """A ``cls`` whose fields are ``given``, else the row's attribute of that name. A field
    the row does not have is an error (a renamed column shows at once), unless it is named
    in ``absent``: then it keeps its default."""
    values = {}
    for field in fields(cls):
        if not field.init:
            continue
        if field.name in given:
            values[field.name] = given[field.name]
        elif field.name not in absent:
            values[field.name] = getattr(row, field.name)  # AttributeError names the field
    return cls(**values)


def locked(session: Session, table: type[R], key: int, what: str) -> R:
    """The row ``key`` of ``table``, locked until the change commits (on PostgreSQL; the
    embedded database has one writer at a time); 404 "there is no ``what`` ``key``"."""
    row = session.get(table, key, with_for_update=True)
    if row is None:
        raise NotFound(f"there is no {what} {key}")
    return row


def offset_of(page: int, per_page: int) -> int:
    """How many rows come before page ``page`` (from 1) of a list ``per_page`` a page; a
    page the database cannot count to is refused by name, not carried there to overflow."""
    last = ROW_MAX // per_page
    if not 1 <= page <= last:
        raise InputError(f"page: {page} is not a page; pages are 1 to {last}", field="page")
    return (page - 1) * per_page

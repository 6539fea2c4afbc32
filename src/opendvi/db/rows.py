"""Stored rows read into the plain values the front ends see: a dataclass filled from the
row's attributes of the same names, so that no page, command or API answer holds a row
that could reach the database after its session is gone."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["view_of"]

V = TypeVar("V", bound="DataclassInstance")


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

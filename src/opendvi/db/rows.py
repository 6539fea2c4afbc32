"""Stored rows read into the plain values the front ends see: a dataclass filled from the
row's attributes of the same names, so that no page, command or API answer holds a row
that could reach the database after its session is gone."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["view_of"]

V = TypeVar("V", bound="DataclassInstance")


def view_of(cls: type[V], row: object, **given: Any) -> V:
    """A ``cls`` whose fields are ``given``, else the row's attribute of that name (fields
    the row does not have keep their defaults)."""
    values = {
        field.name: given[field.name] if field.name in given else getattr(row, field.name)
        for field in fields(cls)
        if field.init and (field.name in given or hasattr(row, field.name))
    }
    return cls(**values)

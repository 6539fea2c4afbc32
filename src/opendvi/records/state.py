"""A record's whole state as plain values, what the audit digests of its changes are taken of."""

from __future__ import annotations

import datetime as dt
from typing import Any

from opendvi.db.tables import MissingPerson, Remains

__all__ = ["snapshot"]

Record = MissingPerson | Remains

_SKIP = {"id", "created_at", "updated_at", "event_id", "merged_into_id", "linked_to_id"}


def snapshot(record: Record) -> dict[str, Any]:
    """The record's whole state as plain values: what an audit digest is taken of."""
    state: dict[str, Any] = {
        column.key: getattr(record, column.key)
        for column in type(record).__mapper__.column_attrs
        if column.key not in _SKIP
    }
    state["event"] = record.event.code if record.event else None
    state["marks"] = [[m.kind, m.body_location, m.description] for m in record.marks]
    state["effects"] = [[e.category, e.description] for e in record.effects]
    state["photos"] = [
        [p.sha256, p.taken_earliest, p.taken_latest]
        for p in sorted(record.photos, key=lambda p: p.position)
        if not p.withdrawn_at
    ]
    if isinstance(record, MissingPerson):
        state["contacts"] = [
            [
                c.name,
                c.relationship_,
                c.email,
                c.phone,
                c.language,
                c.consent_contact,
                c.consent_channels,
                c.sharing_scope,
                c.consent_withdrawn_at,
            ]
            for c in record.contacts
        ]
    return {key: _plain(value) for key, value in state.items()}


def _plain(value: Any) -> Any:
    """Dates and times as text that reads the same before and after a database round trip."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value

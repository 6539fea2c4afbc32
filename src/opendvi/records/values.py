"""A record's fields as text, named as the import's columns (docs/import.md): what a CSV
export writes, what the record's form is filled in with, and what the API returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from opendvi.core.fields import CONTACT_FIELDS, CONTACTS_MAX, SEPARATOR, contact_fields, join_values
from opendvi.core.uncertain import DateRange, IntRange
from opendvi.db.tables import Contact, MissingPerson, Photo, Remains

__all__ = ["contact_columns", "form_row", "range_text", "record_row", "record_values"]

PhotoEntry = Callable[[Photo], str]


def range_text(earliest: dt.date | None, latest: dt.date | None) -> str:
    return str(DateRange(earliest, latest)) if earliest and latest else ""


def _int_text(low: int | None, high: int | None) -> str:
    return str(IntRange(low, high)).replace("–", "-") if (low, high) != (None, None) else ""


def _photo_columns(record: MissingPerson | Remains, photo_entry: PhotoEntry) -> dict[str, str]:
    photos = [p for p in record.photos if p.withdrawn_at is None]
    return {
        "photos": SEPARATOR.join(photo_entry(p) for p in photos),
        "photo_dates": SEPARATOR.join(range_text(p.taken_earliest, p.taken_latest) for p in photos)
        if any(p.taken_earliest for p in photos)
        else "",
    }


def _join(values: list[str], csv: bool) -> str:
    """Several values in one cell: separated by ``|`` in a CSV file (docs/import.md), by
    ``; `` where a person reads and types them (a form, the API), which is read back too."""
    return join_values(values) if csv else "; ".join(values)


def _common_row(
    record: MissingPerson | Remains, photo_entry: PhotoEntry | None, csv: bool
) -> dict[str, str]:
    return {
        "ref": record.ref,
        **(_photo_columns(record, photo_entry) if photo_entry else {}),
        "event": record.event.code if record.event else "",
        "sex": record.sex,
        "description": record.description,
        "marks": _join(
            [
                f"{m.body_location}: {m.description}" if m.body_location else m.description
                for m in record.marks
            ],
            csv,
        ),
        "effects": _join([e.description for e in record.effects], csv),
    }


def _missing_row(
    record: MissingPerson, photo_entry: PhotoEntry | None, csv: bool
) -> dict[str, str]:
    row = _common_row(record, photo_entry, csv)
    birth = range_text(record.birth_earliest, record.birth_latest)
    contact = record.contacts[0] if record.contacts else None
    row.update(
        full_name=record.full_name,
        other_names=record.other_names,
        birth_date=birth if birth and len(birth) > 4 else "",
        birth_year=birth if len(birth) == 4 else "",
        height_cm=_int_text(record.height_min_cm, record.height_max_cm),
        hair=record.hair,
        eyes=record.eyes,
        circumstances=record.circumstances,
        last_seen_date=range_text(record.last_seen_earliest, record.last_seen_latest),
        last_seen_place=record.last_seen_place,
    )
    row.update(contact_columns(contact, csv=csv))
    return row


def contact_columns(contact: Contact | None, *, csv: bool = False) -> dict[str, str]:
    """A reporting contact's columns of the import (all empty for none); ``csv``: as a CSV
    file writes them."""
    if contact is None:
        return dict.fromkeys(CONTACT_FIELDS, "")
    consent = contact.consent_contact
    return {
        "contact_name": contact.name,
        "contact_relationship": contact.relationship_,
        "contact_email": contact.email,
        "contact_phone": contact.phone,
        "contact_language": contact.language,
        "consent_contact": "" if consent is None else ("yes" if consent else "no"),
        "contact_channels": (
            SEPARATOR.join(c for c in contact.consent_channels.split(",") if c)
            if csv
            else contact.consent_channels
        ),
        "contact_sharing": contact.sharing_scope,
    }


def _remains_row(record: Remains, photo_entry: PhotoEntry | None, csv: bool) -> dict[str, str]:
    row = _common_row(record, photo_entry, csv)
    row.update(
        age_min="" if record.age_min is None else str(record.age_min),
        age_max="" if record.age_max is None else str(record.age_max),
        height_min_cm="" if record.height_min_cm is None else str(record.height_min_cm),
        height_max_cm="" if record.height_max_cm is None else str(record.height_max_cm),
        found_date=range_text(record.found_earliest, record.found_latest),
        found_place=record.found_place,
        condition=record.condition,
        storage_location=record.storage_location,
    )
    return row


def record_row(
    record: MissingPerson | Remains, photo_entry: PhotoEntry | None, *, csv: bool = False
) -> dict[str, str]:
    """Every column of the import for ``record``; ``photo_entry`` names each photo (none:
    the photo columns are left out); ``csv``: several values in a cell as a CSV file writes
    them."""
    if isinstance(record, MissingPerson):
        return _missing_row(record, photo_entry, csv)
    return _remains_row(record, photo_entry, csv)


def record_values(record: MissingPerson | Remains) -> dict[str, str]:
    """A record's fields as text, as an import or a form reads them (photos aside)."""
    return {key: value or "" for key, value in record_row(record, None).items()}


def form_row(record: MissingPerson | Remains) -> dict[str, str]:
    """A record's fields as its form is filled in: ``record_values``, and a report's second
    and later reporting contacts numbered (contact_name_2, ...), as the form sends them."""
    values = record_values(record)
    if isinstance(record, MissingPerson):
        for number, contact in enumerate(record.contacts[1:CONTACTS_MAX], start=2):
            columns = contact_columns(contact)
            values.update(
                zip(contact_fields(number), (columns[f] or "" for f in CONTACT_FIELDS), strict=True)
            )
    return values

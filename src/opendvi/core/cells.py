"""Cells of an import file that hold several values, and how they are separated."""

from __future__ import annotations

import re

__all__ = ["SEPARATOR", "join_values", "split_values"]

# A cell holding several values (photos, photo_dates, marks, effects, contact_channels)
# separates them with ``|``. Marks and effects were once separated by ``;`` and channels by
# spaces, commas or ``;``: a cell without ``|`` is still read that way (docs/import.md).
SEPARATOR = "|"
_OLD_SEPARATOR = {"marks": r"\s*;\s*", "effects": r"\s*;\s*", "contact_channels": r"[\s,;]+"}


def split_values(text: str, column: str) -> list[str]:
    """The values of a multi-valued cell of ``column``, empty ones left out."""
    old = _OLD_SEPARATOR.get(column)
    if column == "contact_channels":  # names without separators in them: any of them will do
        parts = re.split(r"[|\s,;]+", text)
    elif SEPARATOR in text or old is None:
        parts = text.split(SEPARATOR)
    else:
        parts = re.split(old, text)
    return [part.strip() for part in parts if part.strip()]


def join_values(values: list[str]) -> str:
    """A multi-valued cell as an export writes it: the values separated by ``|``; a single
    value holding an old separator (``;``) ends with ``|``, so it is read back as one."""
    joined = SEPARATOR.join(values)
    return joined + SEPARATOR if len(values) == 1 and ";" in values[0] else joined

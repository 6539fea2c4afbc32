"""Counts that are costly on a large database and need not be exact to the second.

The review pages say "1 in N searches of 100,000 records"; the dashboard shows how many
records, photos and candidates there are. Counting 100,000 rows on every page view would be
most of the page's time, so such numbers are kept for a few seconds per process (the
application object holds one ``Recent``; the reads that count go through it).
A change made through this process (a form, the background matcher) makes them stale at
once; a change made by another process (an import on the command line, a second server
process) shows within ``max_age_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from opendvi.db.engine import Database

__all__ = ["Recent"]

T = TypeVar("T")


class Recent:
    """Values remembered until the database changes here or they are ``max_age_s`` old."""

    def __init__(self, database: Database, max_age_s: float = 10.0) -> None:
        self.database = database
        self.max_age_s = max_age_s
        self._values: dict[str, tuple[int, float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], T]) -> T:
        generation = self.database.generation
        now = time.monotonic()
        with self._lock:
            kept = self._values.get(key)
        if kept is not None and kept[0] == generation and now - kept[1] < self.max_age_s:
            return kept[2]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._values[key] = (generation, now, value)
        return value

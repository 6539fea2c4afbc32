"""Description-only candidates without comparing with everyone: one side's facts held as
columns, the most points each descriptive factor could give a probe's pairs computed for
all of them at once, and the pairs worth scoring in full chosen by that bound.

The bound is ``compare``'s own arithmetic on arrays (its constants, its tolerances): exact
for sex, age, height, dates and place, and the most a factor can give for marks
(``MARKS_MOST``) and effects (``EFFECTS_MOST``) when both records describe some. No factor
rules a pair out by itself (a sex contradiction costs ``SEX_CLASH``, not the pair); a pair
is left unscored only when its bound cannot reach the record's list (``shortlist``).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import numpy as np

from opendvi.core.evidence import (
    AGE_FITS,
    AGE_MOST,
    AGE_SPREAD,
    DATES_SIGMA,
    DAYS_PER_YEAR,
    EARTH_KM,
    EFFECTS_MOST,
    FLOOR,
    HEIGHT_FITS,
    HEIGHT_SIGMA,
    MARKS_MOST,
    PLACE_FAR,
    PLACE_NEAR,
    PLACE_NEAR_KM,
    SEX_AGREES,
    SEX_CLASH,
    AMFacts,
    PMFacts,
    age_sigma,
)
from opendvi.infra.jobs import Side

__all__ = ["DescriptionBlocks", "shortlist"]

# Columns, one row per record. A report's: sex, birth (earliest, latest), last seen
# (earliest, latest), height (min, max), place (lat, lon), marks?, effects?. Remains':
# sex, age (min, max), found (earliest, latest), height, place, marks?, effects?.
# Dates are day numbers; what is unknown is NaN.
SEX, LOW, HIGH, WHEN_LOW, WHEN_HIGH, HEIGHT_LOW, HEIGHT_HIGH, LAT, LON, MARKS, EFFECTS = range(11)
WIDTH = 11
UNKNOWN_SEX = -1.0
# Totals are stored to 3 decimals, so bounds are counted in thousandths; NOISE covers the
# last bits where numpy's log and sin differ from the math module's.
MILLI = 1000
NOISE = 1e-6
OPEN = np.iinfo(np.int64).min  # the bar of a list with room: any pair enters

Facts = AMFacts | PMFacts


def _day(value: dt.date | None) -> float:
    return float(value.toordinal()) if value is not None else np.nan


def _ends(pair: tuple[int | None, int | None] | None) -> tuple[float, float]:
    """An age or height range as ``compare`` reads it: one known end stands for both."""
    if pair is None or pair == (None, None):
        return (np.nan, np.nan)
    low, high = pair
    low = low if low is not None else high
    high = high if high is not None else low
    return (float(low), float(high))  # type: ignore[arg-type]


def _sex(code: str) -> float:
    """Equal codes for equal sexes; two sexes sharing a code only raise the bound."""
    return UNKNOWN_SEX if code == "U" else float(int.from_bytes(code.encode()[:6], "big"))


def row_of(facts: Facts) -> np.ndarray:
    """One record's facts as a row of columns."""
    row = np.full(WIDTH, np.nan)
    row[SEX] = _sex(facts.sex)
    if isinstance(facts, AMFacts):
        if facts.birth is not None:
            row[LOW], row[HIGH] = _day(facts.birth[0]), _day(facts.birth[1])
        when = facts.last_seen
    else:
        row[LOW], row[HIGH] = _ends(facts.age)
        when = facts.found
    if when is not None:
        row[WHEN_LOW], row[WHEN_HIGH] = _day(when[0]), _day(when[1])
    row[HEIGHT_LOW], row[HEIGHT_HIGH] = _ends(facts.height)
    if facts.place is not None:
        row[LAT], row[LON] = facts.place
    row[MARKS] = float(bool(facts.marks))
    row[EFFECTS] = float(bool(facts.effects))
    return row


def _gap(
    a_low: np.ndarray, a_high: np.ndarray, b_low: np.ndarray, b_high: np.ndarray
) -> np.ndarray:
    gap: np.ndarray = np.maximum(0.0, np.maximum(a_low - b_high, b_low - a_high))
    return gap


def _soft(gap: np.ndarray, sigma: np.ndarray | float, fits: np.ndarray | float) -> np.ndarray:
    return np.maximum(FLOOR, fits - 0.5 * (gap / sigma) ** 2)


def _age(am: np.ndarray, pm: np.ndarray) -> np.ndarray:
    """``age_factor`` on columns: the ages the report allows at the dates against the
    estimate."""
    start = am[:, WHEN_LOW]
    end = np.where(np.isnan(pm[:, WHEN_HIGH]), am[:, WHEN_HIGH], pm[:, WHEN_HIGH])
    start, end = np.where(np.isnan(start), end, start), np.where(np.isnan(end), start, end)
    youngest = (start - am[:, HIGH]) / DAYS_PER_YEAR
    oldest = (np.maximum(end, start) - am[:, LOW]) / DAYS_PER_YEAR
    low, high = pm[:, LOW], pm[:, HIGH]
    gap = _gap(youngest, oldest, low, high)
    window = (high - low) + (oldest - youngest) + 1.0
    fits = np.where(
        window > 0,
        np.minimum(AGE_MOST, np.maximum(0.0, np.log(AGE_FITS * AGE_SPREAD / window))),
        AGE_MOST,
    )
    sigma = age_sigma((low + high) / 2)
    points = np.where(gap == 0, fits, _soft(gap, sigma, fits))
    known = ~np.isnan(am[:, HIGH]) & ~np.isnan(low) & ~np.isnan(start)
    return np.where(known, points, 0.0)


def _place(am: np.ndarray, pm: np.ndarray) -> np.ndarray:
    lat1, lat2 = np.radians(am[:, LAT]), np.radians(pm[:, LAT])
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin(np.radians(pm[:, LON] - am[:, LON]) / 2) ** 2
    )
    km = 2 * EARTH_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    far = np.maximum(PLACE_FAR, -0.5 * np.log(np.maximum(km, PLACE_NEAR_KM) / PLACE_NEAR_KM))
    points = np.where(km <= PLACE_NEAR_KM, PLACE_NEAR, far)
    return np.where(np.isnan(km), 0.0, points)


def _unknown(am: np.ndarray, pm: np.ndarray, *columns: int) -> bool:
    """Whether one side (of the rows not yet broadcast) leaves a column unknown in every
    row: a factor that needs all these columns is then 0 for every pair."""
    return any(bool(np.isnan(side[:, c]).all()) for side in (am, pm) for c in columns)


def _measured(am: np.ndarray, pm: np.ndarray) -> tuple[np.ndarray, ...]:
    """The points of sex, age, height, dates and place for each pair of rows (broadcast),
    as ``compare`` gives them before rounding. A factor the probe cannot score (its
    column unknown) is not computed: it is 0 for every pair, as computing it would give."""
    given = np.atleast_2d(am), np.atleast_2d(pm)
    am, pm = np.broadcast_arrays(*given)
    none = np.zeros(len(am))
    with np.errstate(invalid="ignore", divide="ignore"):
        unknown = (am[:, SEX] == UNKNOWN_SEX) | (pm[:, SEX] == UNKNOWN_SEX)
        sex = np.where(unknown, 0.0, np.where(am[:, SEX] == pm[:, SEX], SEX_AGREES, SEX_CLASH))
        height = none
        if not _unknown(*given, HEIGHT_LOW, HEIGHT_HIGH):
            height_gap = _gap(
                am[:, HEIGHT_LOW], am[:, HEIGHT_HIGH], pm[:, HEIGHT_LOW], pm[:, HEIGHT_HIGH]
            )
            height = np.where(
                np.isnan(height_gap),
                0.0,
                np.where(
                    height_gap == 0, HEIGHT_FITS, _soft(height_gap, HEIGHT_SIGMA, HEIGHT_FITS)
                ),
            )
        dates = none
        if not (_unknown(given[0], given[0], WHEN_LOW) or _unknown(given[1], given[1], WHEN_HIGH)):
            days = am[:, WHEN_LOW] - pm[:, WHEN_HIGH]
            dates = np.where(np.isnan(days) | (days <= 0), 0.0, _soft(days, DATES_SIGMA, 0.0))
        age = none
        if not (_unknown(given[0], given[0], HIGH) or _unknown(given[1], given[1], LOW)):
            age = _age(am, pm)
        place = none if _unknown(*given, LAT, LON) else _place(am, pm)
        return (sex, age, height, dates, place)


def bounds(am: np.ndarray, pm: np.ndarray) -> np.ndarray:
    """The most description points each pair of rows can total, in thousandths (rows
    broadcast: one report against many remains, or the other way)."""
    measured = _measured(am, pm)
    am, pm = np.broadcast_arrays(np.atleast_2d(am), np.atleast_2d(pm))
    marks = np.where((am[:, MARKS] > 0) & (pm[:, MARKS] > 0), MARKS_MOST, 0.0)
    effects = np.where((am[:, EFFECTS] > 0) & (pm[:, EFFECTS] > 0), EFFECTS_MOST, 0.0)
    factors = (*measured, marks, effects)
    # Each factor is rounded to 3 decimals before the total is: bound each rounding up.
    return sum(np.floor(f * MILLI + 0.5 + NOISE).astype(np.int64) for f in factors)  # type: ignore[return-value]


def measured_points(am: np.ndarray, pm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each pair of rows (broadcast), the points of sex, age, height, dates and place,
    each rounded as a stored factor is, and whether both records describe marks or
    effects (those factors compare words: ``compare`` scores them)."""
    total = sum(np.round(f, 3) for f in _measured(am, pm))
    am, pm = np.broadcast_arrays(np.atleast_2d(am), np.atleast_2d(pm))
    marks = (am[:, MARKS] > 0) & (pm[:, MARKS] > 0)
    words = marks | ((am[:, EFFECTS] > 0) & (pm[:, EFFECTS] > 0))
    return np.asarray(total, dtype=np.float64), words


class DescriptionBlocks:
    """One side's records as columns of facts, in the order they were added; a record
    added again is changed in place, so the order stays that of ``SideData.refs``."""

    def __init__(self, side: Side, records: Iterable[tuple[int, Facts]] = ()) -> None:
        self.side = side
        self._rows = np.empty((0, WIDTH))
        self._ids = np.empty(0, np.int64)
        self._live = np.empty(0, bool)
        self._count = 0
        self._where: dict[int, int] = {}
        self._current: tuple[np.ndarray, np.ndarray] | None = None  # the live ids and rows
        for record_id, facts in records:
            self.add(record_id, facts)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._where

    def add(self, record_id: int, facts: Facts) -> None:
        """A new record at the end, or a known one's facts changed where it stands."""
        row = row_of(facts)
        self._current = None
        where = self._where.get(record_id)
        if where is not None:
            self._rows[where] = row
            return
        if self._count == len(self._rows):
            size = max(64, 2 * len(self._rows))
            self._rows = np.resize(self._rows, (size, WIDTH))
            self._ids = np.resize(self._ids, size)
            self._live = np.resize(self._live, size)
        self._rows[self._count], self._ids[self._count] = row, record_id
        self._live[self._count] = True
        self._where[record_id] = self._count
        self._count += 1

    def remove(self, record_id: int) -> None:
        """A record matched no more (withdrawn, deleted, or now with a face)."""
        where = self._where.pop(record_id, None)
        if where is None:
            return
        self._current = None
        self._live[where] = False
        if len(self._where) < self._count // 2:
            self._compact()

    def _compact(self) -> None:
        keep = np.flatnonzero(self._live[: self._count])
        self._rows, self._ids = self._rows[keep], self._ids[keep]
        self._live = np.ones(len(keep), bool)
        self._count = len(keep)
        self._where = {int(r): i for i, r in enumerate(self._ids.tolist())}

    def rows(self, record_ids: Iterable[int]) -> np.ndarray:
        """The records' facts as rows, in the order given."""
        return self._rows[[self._where[i] for i in record_ids]].reshape(-1, WIDTH)

    def upper(self, probe: Facts) -> tuple[np.ndarray, np.ndarray]:
        """Every record's id and the most description points (thousandths) it can total
        with the probe, a record of the other side, in the order they were added."""
        if self._current is None:  # gathered once, until a record is added or removed
            live = np.flatnonzero(self._live[: self._count])
            self._current = (self._ids[live], self._rows[live])
        ids, rows = self._current
        mine = row_of(probe)[None, :]
        both = (rows, mine) if self.side == "missing" else (mine, rows)
        return ids, bounds(*both)

    def candidates(self, probe: Facts, floor: float) -> np.ndarray:
        """The records whose pair with the probe may total ``floor`` or more."""
        ids, upper = self.upper(probe)
        return ids[upper >= round(floor * MILLI)]


# Records put in order of their bound at first by ``shortlist``; eight times more each time
# its search goes past them.
FIRST_BOUNDS = 256


def _by_bound(upper: np.ndarray, first: int) -> np.ndarray:
    """The positions of at least the ``first`` highest bounds, highest first, ties in
    position order: the start of the order of every bound (all the ties of the last one
    included), sorted without sorting the rest."""
    size = len(upper)
    if first >= size:
        return np.lexsort((np.arange(size), -upper))
    least = np.partition(upper, size - first)[size - first]
    among = np.flatnonzero(upper >= least)
    return among[np.lexsort((among, -upper[among]))]


class EntryBars(Protocol):
    """The bars of the lists a record's pairs may enter (``lists.Bars``), read as asked."""

    def among(self, ids: Iterable[int]) -> Mapping[int, float]: ...


def shortlist(
    ids: np.ndarray,
    upper: np.ndarray,
    score: Callable[[int], float],
    *,
    keep: int,
    scored: Iterable[float] = (),
    entry: Mapping[int, float] | EntryBars | None = None,
) -> list[int]:
    """The records worth a description-only row, in their order in ``ids``: those that
    may be among the best ``keep`` by total (``select_pairs``) and, with ``entry`` (the
    total a new pair must beat to enter each other record's list; a record not in it lists
    fewer than ``keep``), those that may enter the other record's list.

    Records are scored (``score``: the pair's stored total) in order of their bound,
    ``upper`` in thousandths, ties in list order, and scoring stops once the next bound
    cannot beat the ``keep``-th best total so far (``scored``: totals of the rows the
    record has already, which come before these in the list); so a record that gives
    only its sex is scored against the records of that sex until ``keep`` of them are
    found, and the list is the one scoring everyone would give, ties included."""
    heap: list[tuple[int, int]] = [(round(t * MILLI), 1) for t in scored]  # (total, -position)
    heapq.heapify(heap)
    while len(heap) > keep:
        heapq.heappop(heap)
    chosen: list[int] = []
    size, first, stopped = len(ids), FIRST_BOUNDS, False
    while not stopped:
        # The records in order of their bound, the first ones only: most searches stop there.
        order = _by_bound(upper, first)
        for position in order[len(chosen) :].tolist():
            if len(heap) >= keep and (int(upper[position]), -position) < heap[0]:
                stopped = True
                break
            chosen.append(position)
            item = (round(score(int(ids[position])) * MILLI), -position)
            if len(heap) < keep:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)
        stopped = stopped or len(order) == size
        first *= 8
    if entry is not None:
        left = np.ones(size, dtype=bool)
        left[chosen] = False
        rest = np.flatnonzero(left)
        wanted = ids[rest].tolist()
        known = entry if isinstance(entry, Mapping) else entry.among(wanted)
        bars = np.fromiter(
            (round(known[i] * MILLI) if i in known else OPEN for i in wanted),
            np.int64,
            len(rest),
        )
        chosen.extend(rest[upper[rest] > bars].tolist())
    return [int(ids[p]) for p in sorted(chosen)]

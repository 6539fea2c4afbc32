"""Uncertain values as ranges: a date known to the year, an age of 18–22, a height of 170–180.

Families and forensic teams rarely know a value exactly. Storing the range they do know,
rather than a guessed point, keeps later comparisons honest: two ranges that overlap are
compatible, and the gap between two ranges that do not is the size of the disagreement.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["DateRange", "IntRange", "ValueProblem", "parse_date_range", "parse_int_range"]


class ValueProblem(ValueError):
    """A value that cannot be read; the message says what was expected."""


@dataclass(frozen=True)
class DateRange:
    """A date that may be known only to the year or month: the earliest and latest it can be."""

    earliest: dt.date
    latest: dt.date

    def __post_init__(self) -> None:
        if self.latest < self.earliest:
            raise ValueProblem(f"{self.latest} is before {self.earliest}")

    @property
    def exact(self) -> bool:
        return self.earliest == self.latest

    def __str__(self) -> str:
        first, last = self.earliest, self.latest
        if first == last:
            return first.isoformat()
        if (first.month, first.day) == (1, 1) and (last.month, last.day) == (12, 31):
            return str(first.year) if first.year == last.year else f"{first.year}..{last.year}"
        last_day = calendar.monthrange(last.year, last.month)[1]
        if (
            first.day == 1
            and last.day == last_day
            and (first.year, first.month)
            == (
                last.year,
                last.month,
            )
        ):
            return f"{first.year:04d}-{first.month:02d}"
        return f"{first.isoformat()}..{last.isoformat()}"


@dataclass(frozen=True)
class IntRange:
    """A whole number known within bounds (age in years, height in cm); a bound may be open."""

    low: int | None
    high: int | None

    def __post_init__(self) -> None:
        if self.low is not None and self.high is not None and self.high < self.low:
            raise ValueProblem(f"the upper bound {self.high} is below the lower bound {self.low}")

    def __str__(self) -> str:
        if self.low == self.high:
            return "" if self.low is None else str(self.low)
        return f"{'' if self.low is None else self.low}–{'' if self.high is None else self.high}"


_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _one_date(text: str) -> DateRange:
    if m := _YEAR.match(text):
        year = int(m[1])
        if year < 1:
            raise ValueProblem(f"{text!r} is not a year")
        return DateRange(dt.date(year, 1, 1), dt.date(year, 12, 31))
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if year < 1:
            raise ValueProblem(f"{text!r} is not a year and month")
        if not 1 <= month <= 12:
            raise ValueProblem(f"{text!r} has no month {month}")
        return DateRange(
            dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
        )
    if m := _DAY.match(text):
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise ValueProblem(f"{text!r} is not a calendar date ({exc})") from None
        return DateRange(day, day)
    raise ValueProblem(
        f"{text!r} is not a date; write YYYY-MM-DD, or YYYY-MM or YYYY when only that is known"
    )


def parse_date_range(text: str, *, today: dt.date | None = None) -> DateRange | None:
    """Read ``2019-03-04``, ``2019-03``, ``2019`` or a span ``2019..2020``; empty means unknown."""
    text = text.strip()
    if not text:
        return None
    if ".." in text:
        first_text, _, last_text = text.partition("..")
        first, last = _one_date(first_text.strip()), _one_date(last_text.strip())
        result = DateRange(first.earliest, last.latest)
    else:
        result = _one_date(text)
    if result.earliest.year < 1850:
        raise ValueProblem(f"{text!r} is before 1850; check the year")
    limit = today or dt.date.today()
    if result.earliest > limit:
        raise ValueProblem(f"{text!r} is in the future")
    return result


def parse_int_range(
    low_text: str, high_text: str, *, what: str, lowest: int, highest: int
) -> IntRange | None:
    """Read a pair of bounds such as ``age_min``/``age_max``; one bound alone is allowed."""

    def one(text: str) -> int | None:
        text = text.strip()
        if not text:
            return None
        try:
            value = round(float(text))
        except (ValueError, OverflowError):
            raise ValueProblem(f"{text!r} is not a number of {what}") from None
        if not lowest <= value <= highest:
            raise ValueProblem(f"{value} {what} is outside {lowest}–{highest}")
        return value

    low, high = one(low_text), one(high_text)
    if low is None and high is None:
        return None
    return IntRange(low, high)

"""Descriptive evidence between a missing-person report (AM) and remains (PM), with soft
tolerances: each factor adds or subtracts points, missing data adds nothing, and no factor
can hide a candidate by itself — a strong disagreement lowers the score, a reviewer still
sees it.

Points are natural-log likelihood ratios: how much more often the same person shows what
the two records show than a stranger does. An agreement that many strangers would also
show earns little (+0.3 for heights that overlap), a narrow estimate that fits earns more
(an age range of 5 years that fits: +1.5; of 30 years: +0.3), and a disagreement costs
more the further outside the estimate it falls, down to −4 for one that estimates rarely
make. Points fall smoothly from agreement to disagreement: a little outside a range is
almost as good as inside it, because estimates miss by a few years or centimetres (a boy
of 16 estimated 18–22 must still rank), heights are given by families, and dates are typed
by hand (a last-seen date after the recovery date is flagged, not excluded).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["AMFacts", "Factor", "PMFacts", "compare"]

FLOOR = -4.0
DAYS_PER_YEAR = 365.2425

# Age at death. An estimate's stated range holds the true age about 7 times in 10 (ranges
# are often given narrow; the benchmark's estimates, 10 years wide and off by up to 8, hold
# it 6 times in 10), while a stranger's age falls in a window of w years about w/60 of the
# time (the missing are of every adult age). Beyond the range, points fall with the gap in
# units of age_sigma(), wider for the old, whose estimates err more.
AGE_FITS = 0.7
AGE_SPREAD = 60.0
AGE_MOST = 1.5


def age_sigma(estimate_middle: float) -> float:
    """Years outside an age estimate that cost half a point (2 at 0, 4 at 40, 6 at 80)."""
    return 2.0 + 0.05 * estimate_middle


# Height: ranges that overlap earn little (heights of one sex cluster within a few cm);
# beyond the ranges, each HEIGHT_SIGMA of gap costs more (family heights and stature
# estimates are each a few cm off, and the ranges already allow for it).
HEIGHT_FITS = 0.3
HEIGHT_SIGMA = 4.0

# Sex: agreement earns little (half of everyone shares it); a contradiction costs much but
# not all (estimated sex is wrong in a few percent of cases).
SEX_AGREES = 0.4
SEX_CLASH = -3.0
# A last-seen date after the recovery date costs half a point per DATES_SIGMA² days².
DATES_SIGMA = 60.0
# Places within PLACE_NEAR_KM earn PLACE_NEAR; further apart, down to PLACE_FAR.
EARTH_KM = 6371.0
PLACE_NEAR_KM = 50.0
PLACE_NEAR = 0.2
PLACE_FAR = -2.0
# The most a mark (same place, two words in common) and the effects can earn.
MARKS_MOST = 2.0
EFFECTS_MOST = 1.0


@dataclass(frozen=True)
class AMFacts:
    sex: str = "U"
    birth: tuple[dt.date, dt.date] | None = None
    height: tuple[int | None, int | None] | None = None
    last_seen: tuple[dt.date, dt.date] | None = None
    place: tuple[float, float] | None = None
    marks: Sequence[tuple[str, str]] = ()  # (body location, description)
    effects: Sequence[str] = ()


@dataclass(frozen=True)
class PMFacts:
    sex: str = "U"
    age: tuple[int | None, int | None] | None = None
    height: tuple[int | None, int | None] | None = None
    found: tuple[dt.date, dt.date] | None = None
    place: tuple[float, float] | None = None
    marks: Sequence[tuple[str, str]] = ()
    effects: Sequence[str] = ()


@dataclass(frozen=True)
class Factor:
    """One factor's contribution and, in words, why."""

    name: str
    points: float
    why: str
    flags: tuple[str, ...] = field(default=())


def _gap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """How far apart two ranges are (0 when they overlap)."""
    return max(0.0, a[0] - b[1], b[0] - a[1])


def _bounds(pair: tuple[int | None, int | None] | None) -> tuple[float, float] | None:
    if pair is None or pair == (None, None):
        return None
    low, high = pair
    return (float(low if low is not None else high), float(high if high is not None else low))  # type: ignore[arg-type]


def _soft(gap: float, sigma: float, fits: float = 0.0) -> float:
    """``fits`` (the points of an agreement) less half a point per σ² of gap, down to FLOOR."""
    return max(FLOOR, fits - 0.5 * (gap / sigma) ** 2)


def sex_factor(am: AMFacts, pm: PMFacts) -> Factor:
    if "U" in (am.sex, pm.sex):
        return Factor("sex", 0.0, "sex unknown on one side")
    if am.sex == pm.sex:
        return Factor("sex", SEX_AGREES, f"both {am.sex}")
    # Estimated sex is wrong in a few percent of cases (young, decomposed, skeletal remains).
    return Factor("sex", SEX_CLASH, f"reported {am.sex}, estimated {pm.sex}")


def age_factor(am: AMFacts, pm: PMFacts) -> Factor:
    estimate = _bounds(pm.age)
    if am.birth is None or estimate is None:
        return Factor("age", 0.0, "age at death unknown on one side")
    # The youngest the person can have been is at the earliest they went missing; the oldest,
    # at the latest the remains were found.
    start = am.last_seen[0] if am.last_seen else None
    end = pm.found[1] if pm.found else (am.last_seen[1] if am.last_seen else None)
    if start is None and end is None:
        return Factor("age", 0.0, "no date to age the person at")
    start = start or end
    end = end or start
    assert start is not None and end is not None
    youngest = (start - am.birth[1]).days / DAYS_PER_YEAR
    oldest = (max(end, start) - am.birth[0]).days / DAYS_PER_YEAR
    gap = _gap((youngest, oldest), estimate)
    age = _span(youngest, oldest)
    # The narrower the window of ages the two records allow, the rarer a stranger in it.
    window = (estimate[1] - estimate[0]) + (oldest - youngest) + 1.0
    fits = min(AGE_MOST, max(0.0, math.log(AGE_FITS * AGE_SPREAD / window)))
    if gap == 0:
        return Factor("age", fits, f"age {age} fits the estimate {_span(*estimate)}")
    sigma = age_sigma((estimate[0] + estimate[1]) / 2)
    return Factor(
        "age",
        _soft(gap, sigma, fits),
        f"age {age} is {gap:.1f} years outside the estimate {_span(*estimate)}",
    )


def _span(low: float, high: float) -> str:
    """``16`` or ``18–22``: whole years, as a reader would say them."""
    a, b = f"{low:.0f}", f"{high:.0f}"
    return a if a == b else f"{a}–{b}"


def height_factor(am: AMFacts, pm: PMFacts) -> Factor:
    reported, estimate = _bounds(am.height), _bounds(pm.height)
    if reported is None or estimate is None:
        return Factor("height", 0.0, "height unknown on one side")
    gap = _gap(reported, estimate)
    if gap == 0:
        return Factor("height", HEIGHT_FITS, "heights overlap")
    points = _soft(gap, HEIGHT_SIGMA, HEIGHT_FITS)
    return Factor("height", points, f"heights {gap:.0f} cm apart")


def dates_factor(am: AMFacts, pm: PMFacts) -> Factor:
    if am.last_seen is None or pm.found is None:
        return Factor("dates", 0.0, "a date is unknown")
    days = (am.last_seen[0] - pm.found[1]).days
    if days <= 0:
        return Factor("dates", 0.0, "last seen before the remains were found")
    flag = f"last seen {days} days after the remains were found: likely a data error"
    return Factor("dates", _soft(days, DATES_SIGMA), flag, (flag,))


def place_factor(am: AMFacts, pm: PMFacts) -> Factor:
    if am.place is None or pm.place is None:
        return Factor("place", 0.0, "a place has no coordinates")
    (lat1, lon1), (lat2, lon2) = am.place, pm.place
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    km = 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))
    if km <= PLACE_NEAR_KM:
        return Factor("place", PLACE_NEAR, f"{km:.0f} km apart")
    # Bodies and people travel (rivers, routes): distance lowers the score gently.
    return Factor(
        "place", max(PLACE_FAR, -0.5 * math.log(km / PLACE_NEAR_KM)), f"{km:,.0f} km apart"
    )


_STOP = {"a", "an", "and", "the", "of", "on", "with", "in", "small", "large", "old"}
_SIDES = {"left", "right"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-zà-ÿ]+", text.lower()) if w not in _STOP and len(w) > 1}


def marks_factor(am: AMFacts, pm: PMFacts) -> Factor:
    if not am.marks or not pm.marks:
        return Factor("marks", 0.0, "marks not reported on one side")
    best, why = 0.0, "no mark in common"
    for am_where, am_what in am.marks:
        for pm_where, pm_what in pm.marks:
            where_a, where_p = _words(am_where), _words(pm_where)
            same_place = bool(where_a - _SIDES & where_p - _SIDES)
            sides_clash = bool(
                where_a & _SIDES and where_p & _SIDES and not where_a & where_p & _SIDES
            )
            shared = _words(am_what) & _words(pm_what)
            points = (1.0 if same_place and not sides_clash else 0.0) + 0.5 * min(2, len(shared))
            if points > best:
                best = points
                why = f"{am_where or 'mark'}: {am_what!r} ~ {pm_where or 'mark'}: {pm_what!r}"
    return Factor("marks", min(MARKS_MOST, best), why)


def effects_factor(am: AMFacts, pm: PMFacts) -> Factor:
    words_a = set().union(*(_words(e) for e in am.effects)) if am.effects else set()
    words_p = set().union(*(_words(e) for e in pm.effects)) if pm.effects else set()
    if not words_a or not words_p:
        return Factor("effects", 0.0, "clothing or effects not described on one side")
    shared = words_a & words_p
    if not shared:
        return Factor("effects", 0.0, "no word in common")
    return Factor(
        "effects", min(EFFECTS_MOST, 0.25 * len(shared)), "shared: " + ", ".join(sorted(shared))
    )


def compare(am: AMFacts, pm: PMFacts) -> list[Factor]:
    """Every descriptive factor between a report and remains, in a fixed order."""
    return [
        sex_factor(am, pm),
        age_factor(am, pm),
        height_factor(am, pm),
        dates_factor(am, pm),
        place_factor(am, pm),
        marks_factor(am, pm),
        effects_factor(am, pm),
    ]

"""The one figure a person reads for a pair: how often a search of the registry would show
a stranger this similar, in plain words, never sounding surer than the evidence allows.

A pair has one figure, made from its stored false-candidate rate (the chance that a search
of ``registry`` reports shows a stranger scoring as high, face and description together)
and nothing else: the queue, the comparison page, ``opendvi explain``, the export and the
API all say it with :func:`figure`. The factors behind it are not given odds of their own;
each says how much more (or less) likely it makes a match (:func:`weight_words`), so no
second figure competes with it.

Words: ``about 1 in 4,800`` (two significant figures, no scientific notation), ``most
searches`` from one in two, ``fewer than 1 in a million`` beyond the floor. The floor is the
strongest figure the evidence can carry, the weakest of three (see docs/matching.md):

- never rarer than **1 in a million**: beyond that the estimate rests on the fitted tail of
  the face scores, not on pairs that were seen, and errors in a record weigh more;
- never rarer than **100 times the pairs the face calibration was measured on** (1 in
  200,000 for a calibration on 2,000 pairs): further out it is extrapolation;
- with **fewer than 100 reports** searched, never rarer than **1 in 10,000**: a search of
  a few reports shows few strangers whatever the evidence, so the figure would sound far
  surer than the faces and descriptions are, and it changes as reports are added.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MOST_ONE_IN",
    "SMALL_REGISTRY",
    "SMALL_REGISTRY_ONE_IN",
    "Odds",
    "face_why",
    "figure",
    "line_words",
    "one_in_words",
    "round_one_in",
    "shown_factors",
    "weight_words",
]

MOST_ONE_IN = 1_000_000  # never rarer than 1 in a million
BEYOND_MEASURED = 100  # never rarer than 100 × the calibration's pairs
SMALL_REGISTRY = 100  # fewer reports than this is a small registry …
SMALL_REGISTRY_ONE_IN = 10_000  # … whose figure is never rarer than 1 in 10,000

_NAMES = {1_000_000: "a million", 1_000_000_000: "a billion"}


def round_one_in(value: float, *, down: bool = False) -> int:
    """``value`` (the X of "1 in X") to two significant figures (whole below 10); with
    ``down``, never rounded up, for a limit that must not sound stronger than it is."""
    if value < 10:
        return max(1, math.floor(value) if down else round(value))
    step = 10 ** (math.floor(math.log10(value)) - 1)
    count = math.floor(value / step) if down else round(value / step)
    return int(count * step)


def one_in_words(one_in: int) -> str:
    """``1 in 4,800``, ``1 in a million``."""
    return f"1 in {_NAMES.get(one_in, f'{one_in:,}')}"


def line_words(max_rate: float) -> str:
    """The credibility line (``candidate_max_rate``) in the figure's words: ``1 in 20``."""
    if max_rate >= 0.5:
        return "most searches"
    return one_in_words(round_one_in(1 / max_rate)) if max_rate > 0 else "nothing"


def _reports(count: int) -> str:
    return f"{count:,} report{'s' if count != 1 else ''}"


@dataclass(frozen=True)
class Odds:
    """One pair's figure. ``rate`` is the stored rate, ``one_in`` the X of "1 in X" as said
    (rounded, and at the floor when floored); ``words`` the figure alone, ``sentence`` the
    figure with what it means, ``floor`` why it is not said stronger (empty when it is not
    floored), ``registry`` the number of reports a search covers."""

    rate: float | None
    one_in: int | None
    words: str
    registry: int
    floored: bool
    floor: str

    @property
    def calibrated(self) -> bool:
        return self.rate is not None

    @property
    def among(self) -> str:
        """The registry the figure refers to: ``searches of 6 reports``."""
        return f"searches of {_reports(self.registry)}"

    @property
    def sentence(self) -> str:
        """``about 1 in 4,800 searches of 6 reports would show a stranger this similar``."""
        if self.rate is None:
            return "not calibrated: review by score"
        if self.one_in is None:
            return f"most {self.among} would show a stranger this similar"
        return f"{self.words} {self.among} would show a stranger this similar"

    def as_json(self) -> dict[str, Any]:
        return {
            "words": self.words,
            "sentence": self.sentence,
            "one_in": self.one_in,
            "registry": self.registry,
            "floored": self.floored,
            "floor": self.floor,
        }


def _floors(registry: int, calibration_pairs: int | None) -> list[tuple[int, str]]:
    """Each limit on the figure, as (the largest X of "1 in X" allowed, why), weakest first
    when equal: the registry, then the calibration, then the general limit."""
    limits = [
        (
            MOST_ONE_IN,
            "figures rarer than 1 in a million are not given: beyond that the estimate rests "
            "on the fitted tail of the face scores rather than on pairs that were seen, and a "
            "mistake in either record matters more than the figure",
        )
    ]
    if calibration_pairs:
        most = round_one_in(BEYOND_MEASURED * calibration_pairs, down=True)
        limits.append(
            (
                most,
                f"the face calibration was measured on {calibration_pairs:,} pairs of "
                f"different people, so a figure rarer than {one_in_words(most)} would be "
                "a guess beyond what was measured",
            )
        )
    if registry < SMALL_REGISTRY:
        limits.append(
            (
                SMALL_REGISTRY_ONE_IN,
                f"only {_reports(registry)} are registered: a search of so few shows few "
                "strangers whatever the evidence, so a rarer figure would sound surer than "
                f"the faces and descriptions are (it is not given rarer than "
                f"{one_in_words(SMALL_REGISTRY_ONE_IN)} below {SMALL_REGISTRY} reports)",
            )
        )
    return sorted(limits, key=lambda limit: limit[0])


def figure(rate: float | None, *, registry: int, calibration_pairs: int | None = None) -> Odds:
    """The one figure for a pair whose stored false-candidate rate is ``rate`` (None: not
    calibrated), for a search of ``registry`` reports, with a face calibration measured on
    ``calibration_pairs`` pairs of different people (None: not known)."""
    registry = max(0, registry)
    if rate is None or not math.isfinite(rate):
        return Odds(None, None, "not calibrated", registry, False, "")
    if rate >= 0.5:
        return Odds(rate, None, "most searches", registry, False, "")
    most, why = _floors(registry, calibration_pairs)[0]
    if rate <= 0 or 1 / rate > most:
        return Odds(rate, most, f"fewer than {one_in_words(most)}", registry, True, why)
    one_in = min(round_one_in(1 / rate), most)
    return Odds(rate, one_in, f"about {one_in_words(one_in)}", registry, False, "")


NEUTRAL = 0.1  # points closer to 0 than this neither help nor hurt
MOST_TIMES = 1_000_000  # a weight is never said larger than this


def _times(value: float) -> str:
    if value >= MOST_TIMES:
        return "more than a million times"
    if value < 2:
        return f"about {value:.1f} times"
    return f"about {round_one_in(value):,} times"


def weight_words(points: float) -> str:
    """What a factor's points (a natural-log likelihood ratio) do to the pair, in words that
    follow "makes a match": ``about 30 times more likely``."""
    if math.isnan(points):
        return "neither more nor less likely"
    if abs(points) < NEUTRAL:
        return "neither more nor less likely"
    times = _times(math.exp(min(abs(points), 100.0)))
    return f"{times} {'more' if points > 0 else 'less'} likely"


def face_why(face: Mapping[str, Any]) -> str:
    """The face factor's line: the score with its scale (and, read against a spread, how far
    above the record's usual scores), never odds of its own; ``why`` as stored otherwise."""
    score = face.get("score")
    if score is None or ("rate" not in face and "spread" not in face):
        return str(face.get("why", ""))
    said = f"face similarity {float(score):.3f} (1 is the same face)"
    spread = face.get("spread")
    value = face.get("standardised")
    if spread and value is not None:
        mean, deviation = (float(v) for v in spread)
        said += (
            f", {abs(float(value)):.1f} standard deviations "
            f"{'above' if float(value) >= 0 else 'below'} what this remains record's photos "
            f"score against other reports ({mean:.3f} ± {deviation:.3f})"
        )
    return said


def shown_factors(factors: Mapping[str, Any]) -> dict[str, Any]:
    """The stored factors as every front end shows them: each with its ``weight`` in words,
    the face's line without a second figure (``face_why``), and no per-factor rate."""
    shown: dict[str, Any] = {}
    for name, value in factors.items():
        if not isinstance(value, Mapping) or "points" not in value:
            shown[name] = value
            continue
        entry = dict(value)
        if name == "face":
            entry["why"] = face_why(value)
            entry.pop("rate", None)
        entry["weight"] = weight_words(float(value["points"]))
        shown[name] = entry
    return shown

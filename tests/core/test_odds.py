"""The one figure of a pair in words: rounded to two significant figures, never in scientific
notation, and never surer than a million to one, than the calibration measured, or than a
small registry can say."""

from __future__ import annotations

import math
import re

import pytest

from opendvi.core.odds import (
    face_why,
    figure,
    line_words,
    round_one_in,
    shown_factors,
    weight_words,
)

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")


def test_a_rate_is_said_as_1_in_a_number_rounded_to_two_significant_figures() -> None:
    odds = figure(1 / 4812, registry=4970, calibration_pairs=16_929_696)
    assert odds.words == "about 1 in 4,800" and odds.one_in == 4800 and not odds.floored
    assert odds.sentence == (
        "about 1 in 4,800 searches of 4,970 reports would show a stranger this similar"
    )
    assert figure(1 / 33.4, registry=500).words == "about 1 in 33"
    assert figure(1 / 3.4, registry=500).words == "about 1 in 3"
    assert figure(1 / 77_123, registry=5000).words == "about 1 in 77,000"
    assert figure(1 / 999_999, registry=5000).words == "about 1 in a million"


def test_most_searches_and_not_calibrated_are_said_in_words() -> None:
    assert figure(0.7, registry=10).sentence == (
        "most searches of 10 reports would show a stranger this similar"
    )
    assert figure(None, registry=10).sentence == "not calibrated: review by score"
    assert not figure(None, registry=10).calibrated
    assert figure(0.1, registry=1).among == "searches of 1 report"


@pytest.mark.parametrize("rate", [1e-3, 1e-5, 1e-7, 1e-9, 1e-13, 1e-15, 0.0])
@pytest.mark.parametrize("registry", [1, 6, 99, 100, 4970, 284_400])
@pytest.mark.parametrize("pairs", [None, 2000, 45_000, 16_929_696])
def test_no_figure_is_in_scientific_notation_or_beyond_its_floor(
    rate: float, registry: int, pairs: int | None
) -> None:
    odds = figure(rate, registry=registry, calibration_pairs=pairs)
    assert not SCIENTIFIC.search(odds.sentence + odds.floor)
    assert odds.one_in is not None and odds.one_in <= 1_000_000
    if pairs is not None:
        assert odds.one_in <= 100 * pairs
    if registry < 100:
        assert odds.one_in <= 10_000
    assert odds.floored == bool(odds.floor)


def test_never_surer_than_one_in_a_million_and_it_says_why() -> None:
    odds = figure(1e-12, registry=4970, calibration_pairs=16_929_696)
    assert odds.words == "fewer than 1 in a million" and odds.floored
    assert "rarer than 1 in a million are not given" in odds.floor
    assert odds.as_json()["one_in"] == 1_000_000


def test_never_surer_than_a_hundred_times_the_calibration_pairs() -> None:
    odds = figure(1e-9, registry=4970, calibration_pairs=2345)
    assert odds.words == "fewer than 1 in 230,000"  # 234,500 rounded down, not up
    assert "measured on 2,345 pairs of different people" in odds.floor
    assert figure(1 / 150_000, registry=4970, calibration_pairs=2345).words == "about 1 in 150,000"


def test_a_small_registry_is_never_surer_than_one_in_ten_thousand() -> None:
    odds = figure(1e-9, registry=6, calibration_pairs=16_929_696)
    assert odds.sentence == (
        "fewer than 1 in 10,000 searches of 6 reports would show a stranger this similar"
    )
    assert odds.floor.startswith("only 6 reports are registered")
    assert not figure(1e-9, registry=100).floor.startswith("only")
    # Below its floor a figure is said as it is.
    assert figure(1 / 4812, registry=6).words == "about 1 in 4,800"


def test_the_strongest_limit_is_the_one_said() -> None:
    # A small registry on a small calibration: 1 in 10,000 is weaker than 1 in 200,000.
    assert figure(1e-9, registry=6, calibration_pairs=2000).floor.startswith("only 6 reports")
    assert "2,000 pairs" in figure(1e-9, registry=500, calibration_pairs=2000).floor


def test_rounding_down_never_makes_a_limit_sound_stronger() -> None:
    assert round_one_in(234_500, down=True) == 230_000
    assert round_one_in(234_500) == 230_000
    assert round_one_in(235_000) == 240_000
    assert round_one_in(9.6) == 10 and round_one_in(9.6, down=True) == 9


def test_a_factor_says_its_weight_in_words() -> None:
    # Read after "makes a match", as the comparison page's column and explain's are headed.
    assert weight_words(math.log(30)) == "about 30 times more likely"
    assert weight_words(-math.log(7)) == "about 7 times less likely"
    assert weight_words(0.0) == "neither more nor less likely"
    assert weight_words(0.3) == "about 1.3 times more likely"
    assert weight_words(40.0) == "more than a million times more likely"
    assert weight_words(float("inf")) == "more than a million times more likely"
    assert line_words(0.05) == "1 in 20"


def test_the_face_line_gives_its_score_and_scale_and_no_odds() -> None:
    stored = {
        "score": 0.6891,
        "points": 12.2,
        "rate": 4.2e-4,
        "spread": [0.019, 0.102],
        "standardised": 6.57,
        "why": "face score 0.689: about 1 in 2.4e3 searches of 4,970 records would show …",
    }
    line = face_why(stored)
    assert line == (
        "face similarity 0.689 (1 is the same face), 6.6 standard deviations above what this "
        "remains record's photos score against other reports (0.019 ± 0.102)"
    )
    shown = shown_factors({"face": stored, "sex": {"points": 0.4, "why": "both M"}})
    assert "rate" not in shown["face"] and shown["face"]["why"] == line
    assert shown["sex"]["weight"] == "about 1.5 times more likely"
    assert face_why({"points": 0.0, "why": "no usable face on one side"}) == (
        "no usable face on one side"
    )

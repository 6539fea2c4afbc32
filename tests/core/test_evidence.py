"""Descriptive evidence with soft tolerances: lowers, flags, never hides."""

from __future__ import annotations

import datetime as dt

from opendvi.core.evidence import FLOOR, AMFacts, PMFacts, compare

D = dt.date


def points(am: AMFacts, pm: PMFacts) -> dict[str, float]:
    return {f.name: f.points for f in compare(am, pm)}


def test_a_boy_of_16_estimated_18_to_22_still_ranks_above_a_stranger_of_40() -> None:
    boy = AMFacts(
        sex="M", birth=(D(2009, 6, 2), D(2009, 6, 2)), last_seen=(D(2026, 3, 1), D(2026, 3, 1))
    )
    remains = PMFacts(sex="M", age=(18, 22), found=(D(2026, 4, 2), D(2026, 4, 2)))
    stranger = AMFacts(
        sex="M", birth=(D(1986, 1, 1), D(1986, 12, 31)), last_seen=(D(2026, 3, 1), D(2026, 3, 1))
    )
    boy_age = points(boy, remains)["age"]
    fitting = points(boy, PMFacts(sex="M", age=(15, 19), found=remains.found))["age"]
    assert 0 < fitting - boy_age < 0.2  # lowered a little for the year and more outside
    assert boy_age > 1.0  # still evidence for him: few strangers are 16 to 22
    assert boy_age > points(stranger, remains)["age"] + 4


def test_a_narrow_age_estimate_that_fits_counts_more_than_a_wide_one() -> None:
    am = AMFacts(birth=(D(1990, 1, 1), D(1990, 1, 1)), last_seen=(D(2026, 1, 1), D(2026, 1, 1)))
    found = (D(2026, 2, 1), D(2026, 2, 1))
    narrow = points(am, PMFacts(age=(34, 38), found=found))["age"]
    wide = points(am, PMFacts(age=(20, 60), found=found))["age"]
    assert narrow == 1.5 and 0 <= wide < 0.2
    # A birth known only to the year widens the window, and the points fall.
    year_only = AMFacts(birth=(D(1990, 1, 1), D(1990, 12, 31)), last_seen=am.last_seen)
    twelve_years = PMFacts(age=(30, 42), found=found)
    assert 0.5 < points(year_only, twelve_years)["age"] < points(am, twelve_years)["age"] < narrow


def test_points_fall_smoothly_from_inside_a_range_to_outside_it() -> None:
    am = AMFacts(height=(170, 170))
    inside = points(am, PMFacts(height=(165, 170)))["height"]
    just_out = points(am, PMFacts(height=(160, 169)))["height"]
    far_out = points(am, PMFacts(height=(152, 162)))["height"]
    assert inside - just_out < 0.05
    assert -3 < far_out < -1  # 8 cm above the estimate: unlikely, not excluded


def test_missing_data_is_neutral() -> None:
    assert set(points(AMFacts(), PMFacts()).values()) == {0.0}


def test_a_last_seen_date_after_recovery_is_flagged_not_excluded() -> None:
    am = AMFacts(last_seen=(D(2026, 3, 17), D(2026, 3, 17)))
    pm = PMFacts(found=(D(2026, 3, 14), D(2026, 3, 14)))
    (dates,) = [f for f in compare(am, pm) if f.name == "dates"]
    assert dates.flags and "likely a data error" in dates.flags[0]
    assert -0.1 < dates.points < 0


def test_every_factor_is_bounded_so_none_can_hide_a_candidate() -> None:
    am = AMFacts(
        sex="F",
        birth=(D(1930, 1, 1), D(1930, 1, 1)),
        height=(150, 150),
        last_seen=(D(2026, 1, 1), D(2026, 1, 1)),
        place=(60.0, 10.0),
    )
    pm = PMFacts(
        sex="M",
        age=(1, 2),
        height=(200, 210),
        found=(D(1990, 1, 1), D(1990, 1, 1)),
        place=(-30.0, 150.0),
    )
    values = points(am, pm)
    assert all(FLOOR <= v <= 1.5 for v in values.values())
    assert values["sex"] < 0 and values["age"] == FLOOR and values["place"] >= -2.0


def test_a_tattoo_at_the_same_place_adds_and_opposite_sides_do_not() -> None:
    am = AMFacts(marks=[("left forearm", "anchor tattoo")])
    same = PMFacts(marks=[("left forearm", "tattoo, an anchor")])
    other_side = PMFacts(marks=[("right forearm", "scar")])
    assert points(am, same)["marks"] >= 1.5
    assert points(am, other_side)["marks"] == 0.0


def test_shared_clothing_words_add_a_little() -> None:
    am = AMFacts(effects=["green rain jacket", "silver ring"])
    pm = PMFacts(effects=["green jacket"])
    assert 0 < points(am, pm)["effects"] <= 1.0

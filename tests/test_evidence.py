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
    assert -1.0 < boy_age < 0  # lowered a little, not hidden
    assert boy_age > points(stranger, remains)["age"] + 1


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

"""The pure domain: uncertain values, vocabulary and reading fields from text."""

from __future__ import annotations

import ast
import datetime as dt
import sys
from pathlib import Path

import pytest

from opendvi.core.fields import parse_missing_person, parse_remains
from opendvi.core.uncertain import (
    DateRange,
    IntRange,
    ValueProblem,
    parse_date_range,
    parse_int_range,
)
from opendvi.core.vocabulary import Sex, parse_sex, parse_yes_no

CORE = Path(__file__).resolve().parents[2] / "src" / "opendvi" / "core"


def test_core_imports_only_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"opendvi", "numpy"}
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in allowed, f"{path.name} imports {name}"
                if top == "opendvi":
                    assert name.startswith("opendvi.core"), f"{path.name} imports {name}"


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("1987", dt.date(1987, 1, 1), dt.date(1987, 12, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2019-03-04", dt.date(2019, 3, 4), dt.date(2019, 3, 4)),
        ("2019..2020-06", dt.date(2019, 1, 1), dt.date(2020, 6, 30)),
    ],
)
def test_a_date_known_to_the_year_or_month_becomes_a_range(
    text: str, earliest: dt.date, latest: dt.date
) -> None:
    assert parse_date_range(text) == DateRange(earliest, latest)


def test_a_date_range_prints_back_as_it_was_written() -> None:
    for text in ("1987", "2024-02", "2019-03-04", "2019..2020", "2019-03-04..2019-03-09"):
        value = parse_date_range(text)
        assert value is not None and str(value) == text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2019-02-30", "not a calendar date"),
        ("03/04/2019", "write YYYY-MM-DD"),
        ("2019-13", "no month 13"),
        ("1700", "before 1850"),
        ("2999-01-01", "in the future"),
        ("2020..2019", "before"),
    ],
)
def test_a_bad_date_says_what_to_write(text: str, words: str) -> None:
    with pytest.raises(ValueProblem, match=words):
        parse_date_range(text, today=dt.date(2026, 1, 1))


def test_an_empty_date_is_unknown() -> None:
    assert parse_date_range("  ") is None


def test_an_age_range_may_have_one_open_bound() -> None:
    assert parse_int_range("18", "", what="years", lowest=0, highest=120) == IntRange(18, None)
    assert parse_int_range("", "", what="years", lowest=0, highest=120) is None
    with pytest.raises(ValueProblem, match="below the lower bound"):
        parse_int_range("30", "20", what="years", lowest=0, highest=120)
    with pytest.raises(ValueProblem, match="outside 0–120"):
        parse_int_range("130", "", what="years", lowest=0, highest=120)


def test_sex_and_yes_no_accept_common_words_and_refuse_others() -> None:
    assert parse_sex("female") is Sex.FEMALE and parse_sex("M") is Sex.MALE
    assert parse_sex("") is Sex.UNKNOWN
    with pytest.raises(ValueError, match="F, M or U"):
        parse_sex("x")
    assert parse_yes_no("Yes") is True and parse_yes_no("no") is False
    assert parse_yes_no("") is None
    with pytest.raises(ValueError, match="yes or no"):
        parse_yes_no("maybe")


def test_a_birth_year_is_stored_as_the_whole_year() -> None:
    parsed = parse_missing_person({"ref": "AM-1", "birth_year": "2008", "height_cm": "170-175"})
    assert parsed.ok, parsed.problems
    assert parsed.fields["birth_earliest"] == dt.date(2008, 1, 1)
    assert parsed.fields["birth_latest"] == dt.date(2008, 12, 31)
    assert (parsed.fields["height_min_cm"], parsed.fields["height_max_cm"]) == (170, 175)


def test_a_birth_year_that_disagrees_with_the_birth_date_is_a_problem() -> None:
    parsed = parse_missing_person({"ref": "AM-1", "birth_date": "2008-05-01", "birth_year": "2007"})
    assert "birth_year" in parsed.problems


def test_every_bad_field_of_a_report_is_named_at_once() -> None:
    parsed = parse_missing_person(
        {
            "ref": "AM 1",
            "sex": "X",
            "last_seen_date": "yesterday",
            "contact_name": "Ana",
            "contact_email": "not-an-address",
            "consent_contact": "perhaps",
        }
    )
    assert set(parsed.problems) == {
        "ref",
        "sex",
        "last_seen_date",
        "contact_email",
        "consent_contact",
    }


def test_columns_absent_from_the_input_are_not_touched() -> None:
    parsed = parse_missing_person({"ref": "AM-1", "full_name": "Ana"})
    assert parsed.fields == {"full_name": "Ana"}
    assert parsed.contacts is None and parsed.marks is None


def test_marks_are_read_with_their_body_location() -> None:
    parsed = parse_remains({"ref": "PM-1", "marks": "left forearm: anchor tattoo; scar on chin"})
    assert parsed.marks is not None
    assert [(m.body_location, m.description, m.kind) for m in parsed.marks] == [
        ("left forearm", "anchor tattoo", "tattoo"),
        ("", "scar on chin", "scar"),
    ]


def test_remains_ranges_and_condition_are_checked() -> None:
    parsed = parse_remains(
        {"ref": "PM-1", "age_min": "18", "age_max": "22", "condition": "Skeletal"}
    )
    assert parsed.ok and parsed.fields["condition"] == "skeletal"
    bad = parse_remains({"ref": "PM-1", "age_min": "40", "age_max": "20", "condition": "wet"})
    assert set(bad.problems) == {"age_min", "condition"}

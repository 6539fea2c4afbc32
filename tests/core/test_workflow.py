"""The rules of an identification: what it may rest on, and who may confirm it."""

from __future__ import annotations

import pytest

from opendvi.core.workflow import RuleBroken, check_confirmer, parse_method


def test_a_primary_identifier_is_enough() -> None:
    assert parse_method(["DNA", "dental"], [], "").text() == "dental+dna"
    assert parse_method(["fingerprints"], ["face"], "").text() == "fingerprints"


def test_a_face_alone_never_identifies() -> None:
    with pytest.raises(RuleBroken, match="a face alone cannot identify"):
        parse_method([], ["face"], "the face looks the same to me and to my colleague")


def test_secondary_evidence_needs_two_kinds_and_a_documented_note() -> None:
    with pytest.raises(RuleBroken, match="at least 2 kinds"):
        parse_method([], ["marks"], "a long enough note about the tattoo on the arm")
    with pytest.raises(RuleBroken, match="document how") as caught:
        parse_method([], ["face", "marks"], "same")
    assert caught.value.field == "note"
    method = parse_method(
        [], ["marks", "face", "effects"], "anchor tattoo on the left forearm, same jacket"
    )
    assert method.text() == "secondary:effects+face+marks"


def test_nothing_or_unknown_evidence_is_refused() -> None:
    with pytest.raises(RuleBroken, match="say what the identification rests on"):
        parse_method([], [], "")
    with pytest.raises(RuleBroken, match="unknown evidence gait"):
        parse_method([], ["gait", "face"], "x" * 30)


def test_confirmers_are_two_people_other_than_the_proposer() -> None:
    with pytest.raises(RuleBroken, match="who proposed"):
        check_confirmer(proposer=1, first=None, user=1)
    check_confirmer(proposer=1, first=None, user=2)
    with pytest.raises(RuleBroken, match="already confirmed"):
        check_confirmer(proposer=1, first=2, user=2)
    check_confirmer(proposer=1, first=2, user=3)

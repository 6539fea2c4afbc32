"""The templates filled in: a name that ends with a full stop (an initial) is not followed
by a second one, in any language."""

from __future__ import annotations

import pytest

from opendvi.notify.texts import draft


@pytest.mark.parametrize("language", ["en", "ar", "uk", "fr", "es", "ru"])
@pytest.mark.parametrize("kind", ["message", "words"])
def test_a_name_ending_with_an_initial_gets_one_full_stop(language: str, kind: str) -> None:
    filled = draft(
        kind,
        language=language,
        contact_name="Maria O.",
        missing_name="Andrii O.",
        method="dna",
        team="The DVI team",
        team_phone="+380 44 000 0000",
    )
    text = filled.subject + "\n" + filled.text
    assert "O.." not in text
    assert "Andrii O." in text

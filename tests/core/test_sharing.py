"""Masks read alone (core.sharing): enough to tell two contacts apart, never to reach one."""

from __future__ import annotations

import pytest

from opendvi.core.sharing import mask_email, mask_phone, mask_text


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+380440000000", "+38 … 00"),
        ("0440 123 456", "04 … 56"),
        ("123456", "12 … 56"),  # six digits: the shortest that shows any
        ("12345", "…"),  # fewer would give most of it away
        ("call her sister", ""),
        ("", ""),
    ],
)
def test_a_phone_shows_its_first_two_and_last_two_digits_at_most(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_an_email_shows_its_first_letter_and_nothing_masks_nothing() -> None:
    assert mask_email("olena@example.org") == "o…@…"
    assert mask_email("") == "" and mask_text("") == ""
    assert mask_text("12 Shevchenka St, Kyiv") == "…"

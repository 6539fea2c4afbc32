"""The closed lists of the domain: sex, condition of remains, record status, why a photo or a
report is withdrawn."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

__all__ = [
    "Condition",
    "RecordStatus",
    "Sex",
    "WithdrawalReason",
    "parse_choice",
    "parse_sex",
    "parse_yes_no",
]

E = TypeVar("E", bound=StrEnum)


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class Condition(StrEnum):
    """State of remains at recovery, which decides how far a face can be trusted."""

    FRESH = "fresh"
    DECOMPOSED = "decomposed"
    SKELETAL = "skeletal"
    FRAGMENT = "fragment"
    UNKNOWN = "unknown"


class RecordStatus(StrEnum):
    OPEN = "open"
    IDENTIFIED = "identified"
    CLOSED = "closed"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"  # a report withdrawn by its reporting contact


class WithdrawalReason(StrEnum):
    """Why a photo or a report is withdrawn: a word from this list, never free text, so the
    audit event that outlives the erased data names nobody."""

    CONTACT_REQUEST = "contact_request"  # the reporting contact asked
    WRONG_PERSON = "wrong_person"  # not a photo of this person, or of these remains
    LEGAL_BASIS_ENDED = "legal_basis_ended"  # the authority's basis for keeping it ended
    DUPLICATE = "duplicate"  # the same photo or report is kept elsewhere


_SEX_WORDS = {
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
    "woman": Sex.FEMALE,
    "m": Sex.MALE,
    "male": Sex.MALE,
    "man": Sex.MALE,
    "u": Sex.UNKNOWN,
    "unknown": Sex.UNKNOWN,
    "": Sex.UNKNOWN,
}


def parse_sex(text: str) -> Sex:
    """Read F/M/U (or female/male/unknown, any case); anything else is refused."""
    try:
        return _SEX_WORDS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a sex; write F, M or U (unknown)") from None


def parse_choice(enum: type[E], text: str, *, default: E) -> E:
    """Read one value of a closed list, case-insensitive; an empty value is ``default``."""
    text = text.strip().lower()
    if not text:
        return default
    for member in enum:
        if member.value == text:
            return member
    allowed = ", ".join(m.value for m in enum)
    raise ValueError(f"{text!r} is not one of: {allowed}")


def parse_yes_no(text: str) -> bool | None:
    """yes/no (y/n, true/false, 1/0); empty means not recorded."""
    text = text.strip().lower()
    if not text:
        return None
    if text in {"yes", "y", "true", "1"}:
        return True
    if text in {"no", "n", "false", "0"}:
        return False
    raise ValueError(f"{text!r} is not yes or no")

"""The rules of an identification, in the domain's words (INTERPOL DVI): what it may rest
on, and who may confirm it.

- DNA, fingerprints and dental records are primary identifiers. An identification rests on
  at least one of them, or on an explicit, documented combination of secondary evidence
  (face, marks, clothing and effects, description, circumstances) — at least two kinds,
  and a note saying how they agree. A face alone is never enough.
- It is proposed by one qualified person and confirmed by two others, neither of them the
  proposer, and not the same person twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "EVIDENCE_WORDS",
    "PRIMARY",
    "SECONDARY",
    "Method",
    "RuleBroken",
    "check_confirmer",
    "method_words",
    "parse_method",
]

PRIMARY = ("dna", "fingerprints", "dental")
SECONDARY = ("face", "marks", "effects", "description", "circumstances")
MIN_SECONDARY = 2
MIN_NOTE = 20
EVIDENCE_WORDS = {
    "dna": "DNA",
    "fingerprints": "fingerprints",
    "dental": "dental records",
    "face": "the face",
    "marks": "marks, scars and tattoos",
    "effects": "clothing and personal effects",
    "description": "the physical description",
    "circumstances": "the circumstances",
}


class RuleBroken(ValueError):
    """An identification would break a rule; the message says which and what to do."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Method:
    primary: tuple[str, ...]
    secondary: tuple[str, ...]
    note: str

    def text(self) -> str:
        """As stored: ``dna+dental`` or ``secondary:face+marks+effects``."""
        if self.primary:
            return "+".join(self.primary)
        return "secondary:" + "+".join(self.secondary)


def parse_method(primary: Iterable[str], secondary: Iterable[str], note: str) -> Method:
    """The method an identification rests on, or ``RuleBroken`` saying what is missing."""
    first = tuple(sorted({p.strip().lower() for p in primary if p.strip()}))
    second = tuple(sorted({s.strip().lower() for s in secondary if s.strip()}))
    unknown = [p for p in first if p not in PRIMARY] + [s for s in second if s not in SECONDARY]
    if unknown:
        raise RuleBroken(
            f"unknown evidence {', '.join(unknown)}; primary: {', '.join(PRIMARY)}; "
            f"secondary: {', '.join(SECONDARY)}",
            "method",
        )
    note = note.strip()
    if first:
        return Method(first, second, note)
    if not second:
        raise RuleBroken(
            "say what the identification rests on: DNA, fingerprints or dental records, or a "
            "documented combination of secondary evidence",
            "method",
        )
    if second == ("face",):
        raise RuleBroken(
            "a face alone cannot identify anyone: add a primary identifier (DNA, fingerprints, "
            "dental records) or other secondary evidence that agrees",
            "method",
        )
    if len(second) < MIN_SECONDARY:
        raise RuleBroken(
            f"secondary evidence alone needs at least {MIN_SECONDARY} kinds that agree "
            f"(given: {', '.join(second)})",
            "method",
        )
    if len(note) < MIN_NOTE:
        raise RuleBroken(
            "document how the secondary evidence agrees (a note of a sentence or more)", "note"
        )
    return Method(first, second, note)


def check_confirmer(proposer: int, first: int | None, user: int) -> None:
    """Whether ``user`` may add a confirmation now."""
    if user == proposer:
        raise RuleBroken(
            "the person who proposed an identification cannot confirm it; ask two other reviewers",
            "user",
        )
    if first is not None and user == first:
        raise RuleBroken(
            "you have already confirmed this identification; a second, different reviewer "
            "must confirm it",
            "user",
        )


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def method_words(stored: str) -> str:
    """A method as stored (``dna+dental``, ``secondary:face+marks``) in plain words:
    "DNA and dental records (primary identifiers)", "secondary evidence that agrees: the
    face and marks, scars and tattoos"."""
    secondary = stored.startswith("secondary:")
    kinds = [EVIDENCE_WORDS.get(k, k) for k in stored.removeprefix("secondary:").split("+") if k]
    if not kinds:
        return ""
    if secondary:
        return "secondary evidence that agrees: " + _listed(kinds)
    return _listed(kinds) + (
        " (a primary identifier)" if len(kinds) == 1 else " (primary identifiers)"
    )

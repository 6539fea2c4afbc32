"""Which face of a photo is the record's person, when the photo alone says so.

A family's photo often holds several people, and matching the wrong one finds a stranger,
so the system chooses a face only when there is little room for doubt:

- the only face found, when it is usable; or
- among several faces, one that clearly dominates the photo: it is usable, its box has at
  least ``DOMINANCE`` times the area of every other face's (twice as wide: the others are
  people in the background), and no other face is of clearly better quality (by more than
  ``QUALITY_MARGIN``).

Where it sits in the frame is not used: photos are cropped and turned, and a body is
photographed from any side. Otherwise no face is chosen and the photo waits for a person
to choose (the page "Choose the person", ``opendvi faces waiting``); until then none of its
faces is used for matching. A face chosen by the system is recorded and audited as such,
and anyone who may edit the photo's faces can choose another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from opendvi.faces.types import FoundFace

__all__ = ["DOMINANCE", "QUALITY_MARGIN", "Choice", "ChosenBy", "choose_person"]

DOMINANCE = 4.0
QUALITY_MARGIN = 0.1

# How a face came to be the person: the only face, the dominant one of several (both by
# the system), or chosen (or boxed) by a person.
ChosenBy = Literal["only_face", "dominant", "person"]


@dataclass(frozen=True)
class Choice:
    index: int  # the chosen face's place among the faces given
    by: ChosenBy
    why: str  # in words, for the audit log and the pages


def _area(face: FoundFace) -> float:
    return float(face.box[2] * face.box[3])


def choose_person(faces: Sequence[FoundFace]) -> Choice | None:
    """The face the system takes for the record's person, or None: a person must choose."""
    if len(faces) == 1:
        return Choice(0, "only_face", "the only face found") if faces[0].usable else None
    usable = [i for i, face in enumerate(faces) if face.usable]
    if not usable:
        return None
    top = max(usable, key=lambda i: _area(faces[i]))
    others = [face for i, face in enumerate(faces) if i != top]
    next_area = max(_area(face) for face in others)
    ratio = _area(faces[top]) / next_area if next_area else float("inf")
    better = any(face.quality > faces[top].quality + QUALITY_MARGIN for face in others)
    if ratio < DOMINANCE or better:
        return None
    return Choice(
        top,
        "dominant",
        f"the largest of {len(faces)} faces, {ratio:.1f} times the area of the next, "
        "of no worse quality",
    )

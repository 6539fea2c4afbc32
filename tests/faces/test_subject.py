"""The rule by which the system takes one face of a photo for the record's person."""

from __future__ import annotations

import numpy as np

from opendvi.faces.subject import choose_person
from opendvi.faces.types import FoundFace


def face(width: int, quality: float = 0.9, usable: bool = True) -> FoundFace:
    return FoundFace(
        box=(0, 0, width, width),
        rotation_deg=0.0,
        landmarks=[],
        detector_score=0.9,
        quality=quality,
        quality_factors={},
        usable=usable,
        unusable_reason="" if usable else "too small",
        embedding=np.zeros(128, dtype=np.float32),
    )


def test_the_only_usable_face_is_the_person() -> None:
    chosen = choose_person([face(100)])
    assert chosen is not None and (chosen.index, chosen.by) == (0, "only_face")
    assert choose_person([face(100, usable=False)]) is None


def test_a_face_twice_as_wide_as_every_other_is_chosen_and_said_why() -> None:
    chosen = choose_person([face(60), face(200), face(90)])
    assert chosen is not None and (chosen.index, chosen.by) == (1, "dominant")
    assert "largest of 3 faces" in chosen.why and "4.9 times" in chosen.why


def test_faces_of_like_size_leave_the_choice_to_a_person() -> None:
    assert choose_person([face(195), face(195), face(162)]) is None
    assert choose_person([face(108), face(76)]) is None  # 2.0 times the area


def test_a_clearly_better_smaller_face_leaves_the_choice_to_a_person() -> None:
    assert choose_person([face(200, quality=0.6), face(80, quality=0.95)]) is None
    assert choose_person([face(200, quality=0.9), face(80, quality=0.95)]) is not None


def test_an_unusable_face_is_never_chosen_even_when_it_is_the_largest() -> None:
    assert choose_person([face(300, usable=False), face(100)]) is None
    assert choose_person([face(300, usable=False), face(50, usable=False)]) is None

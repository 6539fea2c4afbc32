"""What a face backend finds and gives back, and the Protocol every backend follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Detection", "FaceBackend", "FoundFace", "PhotoFaces"]


@dataclass(frozen=True)
class Detection:
    """A face in an upright image: box (x, y, w, h), five landmarks, detector confidence.

    Landmarks are in the order subject's right eye, left eye, nose tip, right and left mouth
    corners (the first is on the image's left in a frontal photo). ``confidence`` is the
    backend's score mapped to 0–1; ``native`` keeps whatever the backend needs to embed it.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    confidence: float
    native: Any = field(default=None, compare=False, repr=False)


@runtime_checkable
class FaceBackend(Protocol):
    """A face model: finds faces in an upright RGB image and embeds them.

    Embeddings are L2-normalised, so the dot product of two is their cosine similarity;
    embeddings of different ``name``/``version`` are never compared.
    """

    name: str
    version: str
    dim: int

    def detect(self, rgb: np.ndarray, *, thorough: bool = False) -> list[Detection]:
        """Faces in ``rgb``; ``thorough`` asks for a slower, more sensitive search."""
        ...

    def landmarks_in_box(
        self, rgb: np.ndarray, box: tuple[float, float, float, float]
    ) -> Detection: ...

    def embed(self, rgb: np.ndarray, detection: Detection) -> np.ndarray: ...


@dataclass
class FoundFace:
    """One face of a photo with everything stored for it (coordinates in the rotated frame)."""

    box: tuple[int, int, int, int]
    rotation_deg: float
    landmarks: list[list[float]]
    detector_score: float
    quality: float
    quality_factors: dict[str, float]
    usable: bool
    unusable_reason: str
    embedding: np.ndarray
    manual: bool = False


@dataclass
class PhotoFaces:
    """The outcome of looking for faces in one photo."""

    status: str  # done | no_face | error
    note: str = ""
    faces: list[FoundFace] = field(default_factory=list)
    angles_tried: list[float] = field(default_factory=list)

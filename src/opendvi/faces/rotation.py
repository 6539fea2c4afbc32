"""Finding a face at any angle: bodies are photographed lying down, from any side.

An upright detector found 0–4% of faces in photos turned by a quarter or more. So when the
upright search finds no confident face, the photo is searched turned by 90°, 270° and 180°,
then at intermediate angles, and the most confident face wins; its angle is recorded, and
its box and landmarks are kept in the turned image's frame (that image is what was embedded).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from opendvi.faces.types import Detection, FaceBackend

__all__ = ["ANGLES", "Found", "rotate", "search"]

QUARTERS = (0.0, 90.0, 270.0, 180.0)
# Between the quarters: each detector tolerates some tilt, so 30° steps close the gaps.
BETWEEN = (30.0, -30.0, 60.0, -60.0, 120.0, -120.0, 150.0, -150.0)
ANGLES = QUARTERS + BETWEEN
CONFIDENT = 0.75


@dataclass
class Found:
    angle: float
    image: np.ndarray
    detections: list[Detection]

    @property
    def best(self) -> float:
        return max((d.confidence for d in self.detections), default=0.0)


def rotate(rgb: np.ndarray, angle: float) -> np.ndarray:
    """The image turned ``angle`` degrees counter-clockwise, canvas enlarged to keep it all."""
    if angle % 360 == 0:
        return rgb
    quarter = {
        90.0: Image.Transpose.ROTATE_90,
        180.0: Image.Transpose.ROTATE_180,
        270.0: Image.Transpose.ROTATE_270,
    }.get(angle % 360)
    image = Image.fromarray(rgb)
    if quarter is not None:
        return np.asarray(image.transpose(quarter))
    return np.asarray(
        image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=(0, 0, 0))
    )


def _tries(
    rgb: np.ndarray, backend: FaceBackend, angles: tuple[float, ...], thorough: bool
) -> Iterator[Found]:
    for angle in angles:
        turned = rotate(rgb, angle)
        yield Found(angle, turned, backend.detect(turned, thorough=thorough))


STAGES = ((QUARTERS[:1], False), (QUARTERS[1:], False), (BETWEEN, False), (QUARTERS, True))


def search(rgb: np.ndarray, backend: FaceBackend) -> tuple[Found | None, list[float]]:
    """The angle whose faces are found most confidently, and every angle tried.

    Upright first; a confident face there ends the search. Otherwise the quarter turns; if
    nothing at all is found yet, the angles in between; and last, the backend's slow,
    thorough detector at the quarter turns.
    """
    tried: list[float] = []
    best: Found | None = None
    for number, (angles, thorough) in enumerate(STAGES):
        for found in _tries(rgb, backend, angles, thorough):
            tried.append(found.angle)
            if found.detections and (best is None or found.best > best.best):
                best = found
        if best is not None and (best.best >= CONFIDENT or number > 0):
            break
    return best, tried

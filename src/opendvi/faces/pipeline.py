"""One photo in, its faces out: decode, search every angle, judge quality, embed.

``analyse`` is what import workers run for each photo; ``manual_face`` embeds a face that
staff boxed by hand where the detector found none.
"""

from __future__ import annotations

import time

import numpy as np

from opendvi.errors import PhotoError
from opendvi.faces.quality import assess
from opendvi.faces.rotation import rotate, search
from opendvi.faces.types import Detection, FaceBackend, FoundFace, PhotoFaces
from opendvi.infra.images import decode_bounded

__all__ = ["analyse", "load_image", "manual_face"]

# Detection runs on a copy no larger than this; faces in bigger photos are still large.
DETECT_MAX_SIDE = 1280


def load_image(
    data: bytes, *, name: str = "photo", max_pixels: int = 40_000_000
) -> tuple[np.ndarray, float]:
    """The photo as an upright (EXIF applied) 8-bit RGB array at most DETECT_MAX_SIDE wide,
    and the factor from its coordinates to the photo's own (1.0 when not reduced); the
    original is never decoded whole at its own size when it is larger (``decode_bounded``)."""
    image, scale = decode_bounded(data, name=name, max_pixels=max_pixels, max_side=DETECT_MAX_SIDE)
    return np.ascontiguousarray(np.asarray(image)), scale


def _face(
    backend: FaceBackend,
    image: np.ndarray,
    detection: Detection,
    angle: float,
    *,
    manual: bool,
    scale: float,
) -> FoundFace:
    quality, factors, reason = assess(
        image, detection.box, detection.landmarks, 1.0 if manual else detection.confidence
    )
    # Stored in the photo's own pixels (turned by ``angle``), not the reduced copy's.
    x, y, w, h = (v * scale for v in detection.box)
    return FoundFace(
        box=(round(x), round(y), round(w), round(h)),
        rotation_deg=angle,
        landmarks=[[round(float(v) * scale, 2) for v in point] for point in detection.landmarks],
        detector_score=round(detection.confidence, 4),
        quality=quality,
        quality_factors=factors,
        usable=not reason,
        unusable_reason=reason,
        embedding=backend.embed(image, detection),
        manual=manual,
    )


def analyse(
    data: bytes,
    backend: FaceBackend,
    *,
    name: str = "photo",
    max_pixels: int = 40_000_000,
    budget_s: float | None = None,
) -> PhotoFaces:
    """Every face in the photo, found at whatever angle it lies; never raises: a photo that
    cannot be read or analysed is an ``error`` result with the reason.

    With ``budget_s``, the search stops at the first angle tried after that many seconds
    (decoding included) and keeps what it found by then; a photo with no face found by then
    is ``no_face``, to be boxed by hand, and its note says the search was cut short.
    """
    deadline = None if budget_s is None else time.monotonic() + budget_s
    try:
        image, scale = load_image(data, name=name, max_pixels=max_pixels)
        found, tried = search(image, backend, deadline=deadline)
        stopped = deadline is not None and time.monotonic() >= deadline
        if found is None:
            why = (
                f"face detection stopped after {budget_s:g} s (setting "
                f"OPENDVI_FACE_TIME_BUDGET_S) with no face found at {len(set(tried))} angles"
                if stopped
                else f"no face found at {len(set(tried))} angles"
            )
            return PhotoFaces(
                "no_face", f"{why}; box the face by hand if there is one", angles_tried=tried
            )
        faces = [
            _face(backend, found.image, detection, found.angle, manual=False, scale=scale)
            for detection in sorted(found.detections, key=lambda d: -d.box[2] * d.box[3])
        ]
    except PhotoError as exc:
        return PhotoFaces("error", str(exc))
    except Exception as exc:  # one photo must never stop the others
        return PhotoFaces("error", f"{name}: face analysis failed ({type(exc).__name__}: {exc})")
    return PhotoFaces("done", "", faces, angles_tried=tried)


def manual_face(
    data: bytes,
    backend: FaceBackend,
    box: tuple[float, float, float, float],
    *,
    rotation_deg: float = 0.0,
    max_pixels: int = 40_000_000,
) -> FoundFace:
    """Embed the face inside ``box``: x, y, w, h in the photo's own pixels, the photo turned
    by ``rotation_deg``."""
    reduced, scale = load_image(data, max_pixels=max_pixels)
    image = rotate(reduced, rotation_deg)
    height, width = image.shape[:2]
    x, y, w, h = box
    full_w, full_h = round(width * scale), round(height * scale)
    if w < 4 or h < 4 or x < 0 or y < 0 or x + w > full_w or y + h > full_h:
        raise PhotoError(
            f"the box {x:g},{y:g},{w:g},{h:g} is not inside the photo ({full_w}×{full_h}); "
            "give x,y,width,height in pixels of the photo as shown"
        )
    small_box = (x / scale, y / scale, w / scale, h / scale)
    detection = backend.landmarks_in_box(image, small_box)
    return _face(backend, image, detection, rotation_deg, manual=True, scale=scale)

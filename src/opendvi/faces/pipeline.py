"""One photo in, its faces out: decode, search every angle, judge quality, embed.

``analyse`` is what import workers run for each photo; ``manual_face`` embeds a face that
staff boxed by hand where the detector found none.
"""

from __future__ import annotations

import numpy as np

from opendvi.errors import PhotoError
from opendvi.faces.quality import assess
from opendvi.faces.rotation import rotate, search
from opendvi.faces.types import Detection, FaceBackend, FoundFace, PhotoFaces
from opendvi.images import decode_rgb

__all__ = ["analyse", "load_image", "manual_face"]

# Detection runs on a copy no larger than this; faces in bigger photos are still large.
DETECT_MAX_SIDE = 1280


def load_image(data: bytes, *, name: str = "photo", max_pixels: int = 80_000_000) -> np.ndarray:
    """The photo as an upright (EXIF applied) 8-bit RGB array, at most DETECT_MAX_SIDE wide."""
    image = decode_rgb(data, name=name, max_pixels=max_pixels)
    if max(image.size) > DETECT_MAX_SIDE:
        image.thumbnail((DETECT_MAX_SIDE, DETECT_MAX_SIDE))
    return np.ascontiguousarray(np.asarray(image))


def _face(
    backend: FaceBackend, image: np.ndarray, detection: Detection, angle: float, *, manual: bool
) -> FoundFace:
    quality, factors, reason = assess(
        image, detection.box, detection.landmarks, 1.0 if manual else detection.confidence
    )
    x, y, w, h = detection.box
    return FoundFace(
        box=(round(x), round(y), round(w), round(h)),
        rotation_deg=angle,
        landmarks=[[round(float(v), 2) for v in point] for point in detection.landmarks],
        detector_score=round(detection.confidence, 4),
        quality=quality,
        quality_factors=factors,
        usable=not reason,
        unusable_reason=reason,
        embedding=backend.embed(image, detection),
        manual=manual,
    )


def analyse(
    data: bytes, backend: FaceBackend, *, name: str = "photo", max_pixels: int = 80_000_000
) -> PhotoFaces:
    """Every face in the photo, found at whatever angle it lies; never raises for bad input."""
    try:
        image = load_image(data, name=name, max_pixels=max_pixels)
    except PhotoError as exc:
        return PhotoFaces("error", str(exc))
    found, tried = search(image, backend)
    if found is None:
        return PhotoFaces(
            "no_face",
            f"no face found at {len(tried)} angles; box the face by hand if there is one",
            angles_tried=tried,
        )
    faces = [
        _face(backend, found.image, detection, found.angle, manual=False)
        for detection in sorted(found.detections, key=lambda d: -d.box[2] * d.box[3])
    ]
    return PhotoFaces("done", "", faces, angles_tried=tried)


def manual_face(
    data: bytes,
    backend: FaceBackend,
    box: tuple[float, float, float, float],
    *,
    rotation_deg: float = 0.0,
    max_pixels: int = 80_000_000,
) -> FoundFace:
    """Embed the face inside ``box`` (x, y, w, h in the photo turned by ``rotation_deg``)."""
    image = rotate(load_image(data, max_pixels=max_pixels), rotation_deg)
    height, width = image.shape[:2]
    x, y, w, h = box
    if w < 4 or h < 4 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise PhotoError(
            f"the box {x:g},{y:g},{w:g},{h:g} is not inside the photo ({width}×{height}); "
            "give x,y,width,height in pixels of the photo as shown"
        )
    detection = backend.landmarks_in_box(image, box)
    return _face(backend, image, detection, rotation_deg, manual=True)

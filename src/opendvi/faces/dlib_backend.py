"""dlib's models from PyPI (``dlib-bin`` + ``face_recognition_models``): the default backend.

HOG finds most faces quickly; when it finds none, the CNN (MMOD) detector looks again on a
reduced image, since it is slow but finds faces HOG misses (profile, poor light). Faces are
aligned on five landmarks and embedded by dlib's ResNet (128-d, published 99.38% on LFW).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from opendvi.faces.types import Detection

__all__ = ["DlibBackend"]

CNN_MAX_SIDE = 400
HOG_UPSAMPLE_MAX_SIDE = 800


def _squash(score: float, *, centre: float, scale: float) -> float:
    return 1.0 / (1.0 + math.exp(-(score - centre) / scale))


def dlib_version() -> str:
    import dlib

    return f"resnet-v1/dlib-{dlib.__version__}"


class DlibBackend:
    name = "dlib"
    dim = 128
    # HOG finds upright faces only, so any clear HOG hit upright ends the angle search.
    confident = 0.6

    def __init__(self, *, use_cnn: bool = True, upsample: int = 1) -> None:
        import dlib
        import face_recognition_models as models

        self._dlib = dlib
        self._hog = dlib.get_frontal_face_detector()
        self._cnn_path = models.cnn_face_detector_model_location() if use_cnn else None
        self._cnn: Any = None  # dlib has no types: its models are called as they are
        self._shape = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
        self._resnet = dlib.face_recognition_model_v1(models.face_recognition_model_location())
        self._upsample = upsample
        self.version = dlib_version()

    def _detection(self, rgb: np.ndarray, rect: Any, confidence: float) -> Detection:
        shape = self._shape(rgb, rect)
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
        # dlib's 5 points: right-eye corners (image left) 2,3; left-eye corners 0,1; nose 4.
        right_eye = points[2:4].mean(axis=0)
        left_eye = points[0:2].mean(axis=0)
        nose = points[4]
        # No mouth points in this model: place them below the nose, as a template would.
        down = nose - (right_eye + left_eye) / 2
        mouth_r = right_eye + 1.9 * down
        mouth_l = left_eye + 1.9 * down
        landmarks = np.stack([right_eye, left_eye, nose, mouth_r, mouth_l]).astype(np.float32)
        box = (float(rect.left()), float(rect.top()), float(rect.width()), float(rect.height()))
        return Detection(box, landmarks, confidence, native=shape)

    def detect(self, rgb: np.ndarray, *, thorough: bool = False) -> list[Detection]:
        if thorough:
            return self._detect_cnn(rgb) if self._cnn_path is not None else []
        # Upsampling finds faces under 80 px; in large photos faces are rarely that small,
        # and upsampling them costs four times the time.
        upsample = self._upsample if max(rgb.shape[:2]) <= HOG_UPSAMPLE_MAX_SIDE else 0
        rects, scores, _ = self._hog.run(rgb, upsample, -0.2)
        return [
            self._detection(rgb, rect, _squash(score, centre=0.0, scale=0.35))
            for rect, score in zip(rects, scores, strict=True)
        ]

    def _detect_cnn(self, rgb: np.ndarray) -> list[Detection]:
        if self._cnn is None:
            self._cnn = self._dlib.cnn_face_detection_model_v1(self._cnn_path)
        height, width = rgb.shape[:2]
        factor = min(1.0, CNN_MAX_SIDE / max(height, width))
        small = rgb
        if factor < 1.0:
            from PIL import Image

            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            small = np.asarray(Image.fromarray(rgb).resize(size))
        found = []
        for hit in self._cnn(small, 1 if max(small.shape[:2]) < 300 else 0):
            if hit.confidence < 0.3:
                continue
            r = hit.rect
            rect = self._dlib.rectangle(
                round(r.left() / factor),
                round(r.top() / factor),
                round(r.right() / factor),
                round(r.bottom() / factor),
            )
            found.append(self._detection(rgb, rect, _squash(hit.confidence, centre=0.5, scale=0.3)))
        return found

    def landmarks_in_box(
        self, rgb: np.ndarray, box: tuple[float, float, float, float]
    ) -> Detection:
        x, y, w, h = (round(v) for v in box)
        rect = self._dlib.rectangle(x, y, x + w, y + h)
        return self._detection(rgb, rect, 0.0)

    def embed(self, rgb: np.ndarray, detection: Detection) -> np.ndarray:
        vector = np.asarray(
            self._resnet.compute_face_descriptor(rgb, detection.native, 0), dtype=np.float32
        )
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

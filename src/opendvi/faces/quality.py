"""How far a face can be trusted: size, sharpness, pose, light and detector confidence.

Each factor is scored 0–1 and the combined score is their weighted geometric mean, so one
very bad factor (a 15-pixel face, a profile view) pulls the whole score down. Faces below
``FLOOR`` are kept but marked unusable, with the worst factor as the reason.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

__all__ = ["FLOOR", "MIN_SIZE", "assess"]

FLOOR = 0.25
MIN_SIZE = 20
WEIGHTS = {"size": 1.0, "sharpness": 1.0, "pose": 1.0, "light": 0.7, "confidence": 1.0}
REASONS = {
    "size": "the face is too small",
    "sharpness": "the face is blurred",
    "pose": "the face is turned too far from the camera",
    "light": "the face is too dark, too bright or too flat",
    "confidence": "the detector is unsure this is a face",
}


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _grey_crop(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = box
    height, width = rgb.shape[:2]
    left, top = max(0, int(x)), max(0, int(y))
    right, bottom = min(width, int(x + w)), min(height, int(y + h))
    if right - left < 2 or bottom - top < 2:
        return np.zeros((2, 2), dtype=np.float32)
    crop = Image.fromarray(rgb[top:bottom, left:right]).convert("L").resize((96, 96))
    return np.asarray(crop, dtype=np.float32)


def _laplacian_variance(grey: np.ndarray) -> float:
    centre = grey[1:-1, 1:-1]
    lap = (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]) - 4 * centre
    return float(lap.var())


def _pose(landmarks: np.ndarray) -> float:
    right_eye, left_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    eye_distance = float(np.linalg.norm(left_eye - right_eye))
    if eye_distance < 1e-6:
        return 0.0
    axis = (left_eye - right_eye) / eye_distance
    middle = (left_eye + right_eye) / 2
    # How far the nose sits from the eyes' midline, in eye distances: ~0 frontal, ~0.5 profile.
    yaw = abs(float(np.dot(nose - middle, axis))) / eye_distance
    return _clip(1.0 - yaw / 0.45)


def assess(
    rgb: np.ndarray,
    box: tuple[float, float, float, float],
    landmarks: np.ndarray,
    confidence: float,
) -> tuple[float, dict[str, float], str]:
    """Combined quality 0–1, each factor's score, and why the face is unusable ("" if usable)."""
    grey = _grey_crop(rgb, box)
    size = min(box[2], box[3])
    mean, spread = float(grey.mean()), float(grey.std())
    factors = {
        "size": _clip((size - MIN_SIZE) / (90 - MIN_SIZE)),
        "sharpness": _clip(math.log1p(_laplacian_variance(grey)) / math.log1p(300.0)),
        "pose": _pose(landmarks),
        "light": _clip(1.0 - abs(mean - 120.0) / 120.0) * _clip(spread / 40.0),
        "confidence": _clip(confidence),
    }
    total = sum(WEIGHTS.values())
    combined = math.exp(
        sum(WEIGHTS[k] * math.log(max(v, 1e-3)) for k, v in factors.items()) / total
    )
    reason = ""
    if size < MIN_SIZE:
        reason = f"{REASONS['size']} ({size:.0f} px; at least {MIN_SIZE} needed)"
    elif combined < FLOOR:
        worst = min(factors, key=lambda k: factors[k])
        reason = f"{REASONS[worst]} (quality {combined:.2f}, below {FLOOR})"
    return round(combined, 4), {k: round(v, 4) for k, v in factors.items()}, reason

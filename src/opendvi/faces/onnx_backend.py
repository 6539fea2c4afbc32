"""Stronger face models a user points to by path: YuNet to detect, an ONNX or OpenVINO
recogniser to embed.

The detector is OpenCV's ``FaceDetectorYN`` with a YuNet model file. The recogniser is any
model that takes one aligned face and returns a vector; how it wants its input is described
by settings (size, colour order, normalisation, alignment template), so models such as
MobileFaceNet (ArcFace template, RGB, (x − 127.5) / 128) or Intel's
face-reidentification-retail-0095 (SphereFace template, BGR, 0–255) both fit. OpenDVI never
ships or downloads these files.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from opendvi.errors import InputError
from opendvi.faces.types import Detection

__all__ = ["TEMPLATES", "ModelSpec", "OnnxBackend", "similarity_transform"]

# Five-point templates in relative coordinates (x / width, y / height) of the aligned crop.
TEMPLATES = {
    # ArcFace / InsightFace, 112×112.
    "arcface": np.array(
        [
            [38.2946, 51.6963],
            [73.5318, 51.5014],
            [56.0252, 71.7366],
            [41.5493, 92.3655],
            [70.7299, 92.2041],
        ],
        dtype=np.float32,
    )
    / np.array([112.0, 112.0], dtype=np.float32),
    # SphereFace 96×112, used by Intel's face-reidentification models at 128×128.
    "sphereface": np.array(
        [
            [30.2946, 51.6963],
            [65.5318, 51.5014],
            [48.0252, 71.7366],
            [33.5493, 92.3655],
            [62.7299, 92.2041],
        ],
        dtype=np.float32,
    )
    / np.array([96.0, 112.0], dtype=np.float32),
}


@dataclass(frozen=True)
class ModelSpec:
    """How a recogniser wants its input."""

    path: Path
    runtime: str = "onnx"  # onnx | openvino
    size: int = 112
    colour: str = "rgb"  # rgb | bgr
    mean: float = 127.5
    std: float = 128.0
    template: str = "arcface"


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2×3 rotation+scale+shift mapping ``source`` points onto ``target`` (Umeyama)."""
    src_mean, dst_mean = source.mean(axis=0), target.mean(axis=0)
    src, dst = source - src_mean, target - dst_mean
    covariance = dst.T @ src / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rotation = u @ np.diag(sign) @ vt
    scale = float((singular * sign).sum() / src.var(axis=0).sum())
    shift = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, shift[:, None]]).astype(np.float32)


def file_version(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{path.stem}@{digest}"


class OnnxBackend:
    """YuNet detection + an ONNX Runtime or OpenVINO recogniser."""

    # YuNet also fires on faces lying on their side or upside down, so every quarter turn is
    # tried and compared (detection is cheap: a few milliseconds per angle), and only a clear
    # hit among them ends the angle search.
    confident = 0.85
    sees_turned_faces = True

    def __init__(self, *, detector: Path, model: ModelSpec, score_threshold: float = 0.6) -> None:
        # OpenCV's DNN module warns about GPU targets on every detector; users need none of it.
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
        import cv2

        for what, path in (("face detector", detector), ("face model", model.path)):
            if not Path(path).is_file():
                raise InputError(f"{path}: no such {what} file; check the setting that names it")
        if model.template not in TEMPLATES:
            raise InputError(
                f"unknown alignment template {model.template!r}; use {', '.join(TEMPLATES)}"
            )
        self._cv2 = cv2
        self._detector = cv2.FaceDetectorYN.create(str(detector), "", (320, 320), score_threshold)
        self._threshold = score_threshold
        self._spec = model
        self._run = self._load(model)
        probe = self._run(np.zeros((1, 3, model.size, model.size), dtype=np.float32))
        self.dim = int(np.asarray(probe).size)
        self.name = model.runtime
        self.version = f"{file_version(model.path)}+{file_version(detector)}"

    def _load(self, spec: ModelSpec) -> Any:
        if spec.runtime == "openvino":
            import openvino

            compiled = openvino.Core().compile_model(str(spec.path), "CPU")
            output = compiled.output(0)
            return lambda batch: compiled(batch)[output]
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(spec.path), options, providers=["CPUExecutionProvider"]
        )
        name = session.get_inputs()[0].name
        return lambda batch: session.run(None, {name: batch})[0]

    def detect(self, rgb: np.ndarray, *, thorough: bool = False) -> list[Detection]:
        height, width = rgb.shape[:2]
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        self._detector.setInputSize((width, height))
        self._detector.setScoreThreshold(0.4 if thorough else self._threshold)
        _, faces = self._detector.detect(bgr)
        if faces is None:
            return []
        return [
            Detection(
                (float(f[0]), float(f[1]), float(f[2]), float(f[3])),
                np.asarray(f[4:14], dtype=np.float32).reshape(5, 2),
                float(f[14]),
            )
            for f in faces
        ]

    def landmarks_in_box(
        self, rgb: np.ndarray, box: tuple[float, float, float, float]
    ) -> Detection:
        x, y, w, h = box
        margin = 0.3
        left, top = max(0, int(x - margin * w)), max(0, int(y - margin * h))
        right = min(rgb.shape[1], int(x + w * (1 + margin)))
        bottom = min(rgb.shape[0], int(y + h * (1 + margin)))
        crop = np.ascontiguousarray(rgb[top:bottom, left:right])
        found = self.detect(crop, thorough=True)
        if found:
            best = max(found, key=lambda d: d.confidence)
            return Detection(box, best.landmarks + np.array([left, top], dtype=np.float32), 0.0)
        # Nothing detected inside the box: assume a frontal face filling it.
        template = TEMPLATES[self._spec.template]
        points = template * np.array([w, h], dtype=np.float32) + np.array([x, y], dtype=np.float32)
        return Detection(box, points.astype(np.float32), 0.0)

    def embed(self, rgb: np.ndarray, detection: Detection) -> np.ndarray:
        spec = self._spec
        target = TEMPLATES[spec.template] * spec.size
        matrix = similarity_transform(detection.landmarks, target)
        face = self._cv2.warpAffine(rgb, matrix, (spec.size, spec.size), borderValue=0.0)
        if spec.colour == "bgr":
            face = face[:, :, ::-1]
        batch = ((face.astype(np.float32) - spec.mean) / spec.std).transpose(2, 0, 1)[None]
        vector = np.asarray(self._run(np.ascontiguousarray(batch)), dtype=np.float32).reshape(-1)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

"""Faces: find them at any angle, judge their quality, embed them, compare them.

    backend = open_backend(settings)          # loaded once, lazily, behind a lock
    result = find_faces(photo_bytes, backend) # PhotoFaces: status, faces (box, angle, quality…)
    similarity(a.embedding, b.embedding)      # cosine, higher is more alike

Backends: ``dlib`` (default, PyPI models), ``onnx`` and ``openvino`` (YuNet + a recogniser
file named in settings). Embeddings of different backends or versions are never compared.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from opendvi.faces.pipeline import analyse as find_faces
from opendvi.faces.pipeline import load_image, manual_face
from opendvi.faces.types import Detection, FaceBackend, FoundFace, PhotoFaces

if TYPE_CHECKING:
    from opendvi.settings import Settings

__all__ = [
    "Detection",
    "FaceBackend",
    "FoundFace",
    "PhotoFaces",
    "backend_key",
    "find_faces",
    "load_image",
    "manual_face",
    "model_identity",
    "open_backend",
    "similarity",
]

_lock = threading.Lock()
_loaded: dict[tuple[object, ...], FaceBackend] = {}


def backend_key(settings: Settings) -> tuple[object, ...]:
    return (
        settings.face_backend,
        settings.face_detector_path,
        settings.face_model_path,
        settings.face_model_size,
        settings.face_model_colour,
        settings.face_model_mean,
        settings.face_model_std,
        settings.face_model_template,
    )


def _build(settings: Settings) -> FaceBackend:
    from opendvi.errors import InputError

    if settings.face_backend == "dlib":
        from opendvi.faces.dlib_backend import DlibBackend

        return DlibBackend()
    from opendvi.faces.onnx_backend import ModelSpec, OnnxBackend

    if settings.face_detector_path is None or settings.face_model_path is None:
        raise InputError(
            f"the {settings.face_backend} face backend needs OPENDVI_FACE_DETECTOR_PATH (a YuNet "
            "model) and OPENDVI_FACE_MODEL_PATH (the recogniser); see docs/faces.md",
            field="face_model_path",
        )
    spec = ModelSpec(
        path=settings.face_model_path,
        runtime=settings.face_backend,
        size=settings.face_model_size,
        colour=settings.face_model_colour,
        mean=settings.face_model_mean,
        std=settings.face_model_std,
        template=settings.face_model_template,
    )
    return OnnxBackend(detector=settings.face_detector_path, model=spec)


def model_identity(settings: Settings) -> tuple[str, str]:
    """The configured backend's (name, version), as stored on every face, without loading
    its models (matching needs to know which faces to compare, not how to find them)."""
    with _lock:
        loaded = _loaded.get(backend_key(settings))
    if loaded is not None:
        return loaded.name, loaded.version
    if settings.face_backend == "dlib":
        from opendvi.faces.dlib_backend import dlib_version

        return "dlib", dlib_version()
    from opendvi.faces.onnx_backend import file_version

    if settings.face_detector_path is None or settings.face_model_path is None:
        return open_backend(settings).name, open_backend(settings).version  # says what is missing
    return settings.face_backend, (
        f"{file_version(settings.face_model_path)}+{file_version(settings.face_detector_path)}"
    )


def open_backend(settings: Settings) -> FaceBackend:
    """The configured face backend, loaded on first use and shared afterwards."""
    key = backend_key(settings)
    with _lock:
        if key not in _loaded:
            _loaded[key] = _build(settings)
        return _loaded[key]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings of the same model: 1 identical, ~0 unrelated."""
    return float(np.dot(a, b))

"""The face pipeline on real photos and the real models: any angle, several faces, quality,
faces not found, faces boxed by hand, and the ONNX/OpenVINO backends."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from opendvi.faces import find_faces, manual_face, open_backend, similarity
from opendvi.faces.onnx_backend import ModelSpec, OnnxBackend, similarity_transform
from opendvi.faces.types import FaceBackend
from opendvi.settings import Settings
from tests.conftest import SHARED
from tests.factories import jpeg_bytes

LFW = SHARED / "data" / "lfw"
MODELS = SHARED / "models"
needs_lfw = pytest.mark.skipif(not LFW.is_dir(), reason="../shared/data/lfw is not beside us")


def lfw(name: str, number: int = 1) -> bytes:
    return (LFW / name / f"{name}_{number:04d}.jpg").read_bytes()


def turned(data: bytes, angle: float) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).rotate(angle, expand=True).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture(scope="module")
def dlib() -> FaceBackend:
    return open_backend(Settings(face_backend="dlib"))


def test_importing_the_face_package_loads_no_model() -> None:
    code = "import sys, opendvi.faces; print('dlib' in sys.modules, 'cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_the_backend_is_loaded_once_and_shared(dlib: FaceBackend) -> None:
    assert open_backend(Settings(face_backend="dlib")) is dlib
    assert (dlib.name, dlib.dim) == ("dlib", 128) and dlib.version.startswith("resnet-v1/")


@needs_lfw
def test_an_upright_face_is_found_embedded_and_compared(dlib: FaceBackend) -> None:
    result = find_faces(lfw("George_W_Bush", 1), dlib)
    assert result.status == "done" and len(result.faces) == 1
    face = result.faces[0]
    assert face.rotation_deg == 0 and face.usable and face.quality > 0.5
    assert face.embedding.shape == (128,)
    assert abs(float(np.linalg.norm(face.embedding)) - 1) < 1e-5
    same = find_faces(lfw("George_W_Bush", 2), dlib).faces[0].embedding
    other = find_faces(lfw("Aaron_Eckhart", 1), dlib).faces[0].embedding
    # dlib vectors are not centred: strangers sit near 0.85, the same person near 0.95.
    assert similarity(face.embedding, same) > similarity(face.embedding, other) + 0.08


@needs_lfw
@pytest.mark.parametrize("angle", [90, 180, 270, 100, 255])
def test_a_face_photographed_at_any_angle_is_found_and_its_angle_recorded(
    dlib: FaceBackend, angle: int
) -> None:
    upright = find_faces(lfw("Colin_Powell", 1), dlib).faces[0].embedding
    result = find_faces(turned(lfw("Colin_Powell", 1), angle), dlib)
    assert result.status == "done" and result.angles_tried[0] == 0
    face = result.faces[0]
    # The photo was turned back to within the detector's tolerance of upright.
    residual = (angle + face.rotation_deg + 180) % 360 - 180
    assert abs(residual) <= 35, (angle, face.rotation_deg)
    assert similarity(face.embedding, upright) > 0.85


def test_several_faces_are_all_kept(dlib: FaceBackend, small_knn: Path) -> None:
    result = find_faces((small_knn / "test" / "obama_and_biden.jpg").read_bytes(), dlib)
    assert len(result.faces) >= 2
    areas = [f.box[2] * f.box[3] for f in result.faces]
    assert areas == sorted(areas, reverse=True)


def test_a_photo_without_a_face_says_so_after_every_angle(dlib: FaceBackend) -> None:
    result = find_faces(jpeg_bytes(seed=5), dlib)
    assert result.status == "no_face" and not result.faces
    assert len(result.angles_tried) >= 12 and "box the face by hand" in result.note


def test_a_damaged_photo_is_an_error_result_not_a_crash(dlib: FaceBackend) -> None:
    result = find_faces(jpeg_bytes()[:200], dlib)
    assert result.status == "error" and "damaged or cut short" in result.note
    assert find_faces(b"GIF89a not really", dlib).status == "error"


@needs_lfw
def test_a_face_boxed_by_hand_is_embedded_and_marked_manual(dlib: FaceBackend) -> None:
    detected = find_faces(lfw("Colin_Powell", 1), dlib).faces[0]
    face = manual_face(lfw("Colin_Powell", 1), dlib, (70, 70, 110, 110))
    assert face.manual and face.rotation_deg == 0
    assert similarity(face.embedding, detected.embedding) > 0.9
    with pytest.raises(Exception, match="not inside the photo"):
        manual_face(lfw("Colin_Powell", 1), dlib, (200, 200, 100, 100))


@needs_lfw
def test_a_tiny_face_is_kept_but_unusable_with_the_reason(dlib: FaceBackend) -> None:
    image = Image.open(io.BytesIO(lfw("Colin_Powell", 1)))
    canvas = Image.new("RGB", (400, 400), (128, 128, 128))
    canvas.paste(image.resize((45, 45)), (100, 100))
    out = io.BytesIO()
    canvas.save(out, "PNG")
    face = manual_face(out.getvalue(), dlib, (108, 108, 18, 18))
    assert not face.usable and "too small" in face.unusable_reason


@needs_lfw
def test_blur_lowers_the_sharpness_score(dlib: FaceBackend) -> None:
    sharp = find_faces(lfw("Colin_Powell", 1), dlib).faces[0]
    image = Image.open(io.BytesIO(lfw("Colin_Powell", 1))).filter(ImageFilter.GaussianBlur(3))
    out = io.BytesIO()
    image.save(out, "PNG")
    blurred = manual_face(out.getvalue(), dlib, tuple(float(v) for v in sharp.box))
    assert blurred.quality_factors["sharpness"] < sharp.quality_factors["sharpness"] - 0.1


def test_the_similarity_transform_recovers_a_known_rotation_and_scale() -> None:
    points = np.array([[0, 0], [10, 0], [5, 5], [2, 9], [8, 9]], dtype=np.float32)
    angle = np.deg2rad(30)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = (2.0 * points @ rotation.T + np.array([3.0, -4.0])).astype(np.float32)
    matrix = similarity_transform(points, moved)
    assert np.allclose(matrix[:, :2], 2.0 * rotation, atol=1e-4)
    assert np.allclose(matrix[:, 2], [3.0, -4.0], atol=1e-3)


YUNET = MODELS / "yunet" / "face_detection_yunet_2026may.onnx"
ONNX_SPECS = {
    "onnx": ModelSpec(MODELS / "mobilefacenet-foamliu" / "MobileFaceNet.onnx"),
    "openvino": ModelSpec(
        MODELS
        / "openvino-face-reidentification-retail-0095"
        / "FP16"
        / "face-reidentification-retail-0095.xml",
        runtime="openvino",
        size=128,
        colour="bgr",
        mean=0.0,
        std=1.0,
        template="sphereface",
    ),
}


@needs_lfw
@pytest.mark.parametrize("runtime", ["onnx", "openvino"])
def test_the_onnx_and_openvino_backends_embed_models_named_by_path(runtime: str) -> None:
    spec = ONNX_SPECS[runtime]
    if not (YUNET.is_file() and spec.path.is_file()):
        pytest.skip("../shared/models is not beside us")
    backend = OnnxBackend(detector=YUNET, model=spec)
    assert backend.name == runtime and backend.dim == (128 if runtime == "onnx" else 256)
    assert spec.path.stem in backend.version
    faces = [
        find_faces(lfw(n, k), backend).faces[0]
        for n, k in (("George_W_Bush", 1), ("George_W_Bush", 2), ("Aaron_Eckhart", 1))
    ]
    assert similarity(faces[0].embedding, faces[1].embedding) > 0.5
    assert similarity(faces[0].embedding, faces[2].embedding) < 0.35
    rotated = find_faces(turned(lfw("George_W_Bush", 1), 90), backend)
    assert rotated.status == "done" and rotated.faces[0].rotation_deg in (270.0, -90.0)
    from opendvi.faces import model_identity

    settings = Settings(face_backend=runtime, face_detector_path=YUNET, face_model_path=spec.path)
    assert model_identity(settings) == (backend.name, backend.version)


@needs_lfw
def test_the_onnx_backend_turns_an_upside_down_face_the_right_way(tmp_path: Path) -> None:
    """YuNet also finds these faces upside down (confidence 0.85-0.9, landmarks as if
    upright); an upright hit ended the search before, and each was embedded upside down."""
    spec = ONNX_SPECS["onnx"]
    if not (YUNET.is_file() and spec.path.is_file()):
        pytest.skip("../shared/models is not beside us")
    backend = OnnxBackend(detector=YUNET, model=spec)
    photos = [("George_W_Bush", 2), ("Aaron_Eckhart", 1), ("Gerhard_Schroeder", 1)]
    for name, number in photos:
        upright = find_faces(lfw(name, number), backend).faces[0]
        assert upright.rotation_deg == 0.0, name
        found = find_faces(turned(lfw(name, number), 180), backend).faces
        assert [f.rotation_deg for f in found] == [180.0], name
        assert similarity(found[0].embedding, upright.embedding) > 0.8, name


def test_an_onnx_backend_without_its_files_says_which_setting(tmp_path: Path) -> None:
    from opendvi.errors import InputError

    with pytest.raises(InputError, match="OPENDVI_FACE_DETECTOR_PATH"):
        open_backend(Settings(face_backend="onnx"))
    with pytest.raises(InputError, match=r"nothing\.onnx: no such face detector file"):
        OnnxBackend(detector=tmp_path / "nothing.onnx", model=ModelSpec(tmp_path / "m.onnx"))


def test_a_photo_one_pixel_high_is_an_answer_not_a_crash(dlib: FaceBackend) -> None:
    out = io.BytesIO()
    Image.new("RGB", (2000, 1), (90, 90, 90)).save(out, "PNG")
    assert find_faces(out.getvalue(), dlib).status in {"no_face", "error"}


@needs_lfw
def test_boxes_are_in_the_photo_own_pixels_even_when_detection_used_a_smaller_copy(
    dlib: FaceBackend,
) -> None:
    big = Image.open(io.BytesIO(lfw("Colin_Powell", 1))).resize((2500, 2500))
    out = io.BytesIO()
    big.save(out, "JPEG", quality=92)
    face = find_faces(out.getvalue(), dlib).faces[0]
    x, y, w, h = face.box
    assert 600 < x < 900 and 600 < w < 1300, face.box
    boxed = manual_face(out.getvalue(), dlib, (float(x), float(y), float(w), float(h)))
    assert boxed.box == pytest.approx(face.box, abs=12)
    assert similarity(boxed.embedding, face.embedding) > 0.9


def test_the_model_identity_is_known_without_loading_the_model() -> None:
    from opendvi.faces import model_identity, open_backend
    from opendvi.settings import Settings

    settings = Settings()
    assert model_identity(settings) == (
        open_backend(settings).name,
        open_backend(settings).version,
    )

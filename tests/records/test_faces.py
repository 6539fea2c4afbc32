"""Faces found in stored photos: saved with their model, audited, resumable, parallel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, Face, Photo
from opendvi.interchange.csv_import import import_csv, import_folder
from opendvi.people import add_user
from opendvi.records.faces import add_manual_face, choose_subject, detect_faces
from tests.factories import write_csv, write_photo


def photos(dvi: OpenDVI) -> list[Photo]:
    with dvi.db.read() as session:
        found = session.execute(select(Photo).order_by(Photo.id)).scalars().all()
        for photo in found:
            _ = photo.faces, photo.remains, photo.missing_person
        return list(found)


def test_faces_are_stored_with_their_model_and_the_single_face_is_the_person(
    dvi: OpenDVI, small_knn: Path
) -> None:
    import_folder(dvi, small_knn / "train", kind="missing", actor="t")
    report = detect_faces(dvi, actor="t", workers=1)
    assert report.photos == len(photos(dvi)) and report.no_face == 0 and report.errors == 0
    for photo in photos(dvi):
        assert photo.detection_status == "done"
        assert len(photo.faces) == 1
        face = photo.faces[0]
        assert face.is_subject and face.usable
        assert face.model_name == "dlib" and face.embedding_dim == 128
        vector = np.frombuffer(face.embedding or b"", dtype=np.float32)
        assert vector.shape == (128,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
    with dvi.db.read() as session:
        actions = session.execute(select(AuditEvent.action)).scalars().all()
        assert actions.count("photo.faces_detected") == report.photos
        assert audit.verify(session).ok
    assert detect_faces(dvi, actor="t", workers=1).photos == 0


def test_in_a_group_photo_no_face_is_the_person_until_someone_chooses(
    dvi: OpenDVI, small_knn: Path
) -> None:
    import_csv(
        dvi,
        _group_csv(dvi, small_knn),
        kind="missing",
        actor="t",
    )
    detect_faces(dvi, actor="t", workers=1)
    (photo,) = photos(dvi)
    assert len(photo.faces) >= 2 and not any(f.is_subject for f in photo.faces)
    chosen = photo.faces[1].id
    add_user(dvi, username="caseworker", role="caseworker", actor="test")
    choose_subject(dvi, face_id=chosen, actor="caseworker")
    choose_subject(dvi, face_id=chosen, actor="caseworker")
    (photo,) = photos(dvi)
    assert [f.id for f in photo.faces if f.is_subject] == [chosen]


def _group_csv(dvi: OpenDVI, small_knn: Path) -> Path:
    folder = dvi.settings.data_dir.parent / "group"
    folder.mkdir()
    (folder / "family.jpg").write_bytes((small_knn / "test" / "obama_and_biden.jpg").read_bytes())
    return write_csv(folder / "m.csv", [{"ref": "AM-1", "photos": "family.jpg"}])


def test_a_photo_without_a_face_can_have_one_boxed_by_hand(dvi: OpenDVI, tmp_path: Path) -> None:
    write_photo(tmp_path / "p.jpg", size=(200, 200))
    import_csv(
        dvi,
        write_csv(tmp_path / "pm.csv", [{"ref": "PM-1", "photos": "p.jpg"}]),
        kind="unidentified",
        actor="t",
    )
    report = detect_faces(dvi, actor="t", workers=1)
    assert report.no_face == 1
    (photo,) = photos(dvi)
    assert photo.detection_status == "no_face" and "by hand" in photo.detection_note
    add_user(dvi, username="forensic-1", role="forensic", actor="test")
    face_id = add_manual_face(
        dvi, photo_id=photo.id, box=(50, 40, 100, 120), actor="forensic-1"
    ).face_id
    (photo,) = photos(dvi)
    assert photo.detection_status == "done"
    (face,) = photo.faces
    assert face.id == face_id and face.manual and face.is_subject and face.embedding
    with dvi.db.read() as session:
        last = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
        assert last is not None and last.action == "face.boxed_by_hand"
        assert last.actor == "forensic-1" and last.entity_ref == "PM-1"


def test_a_stored_photo_that_went_bad_is_recorded_as_an_error(dvi: OpenDVI, tmp_path: Path) -> None:
    write_photo(tmp_path / "p.jpg")
    import_csv(
        dvi,
        write_csv(tmp_path / "pm.csv", [{"ref": "PM-1", "photos": "p.jpg"}]),
        kind="unidentified",
        actor="t",
    )
    (photo,) = photos(dvi)
    dvi.media.path(photo.sha256).write_bytes(b"\xff\xd8 damaged")
    assert detect_faces(dvi, actor="t", workers=1).errors == 1
    (photo,) = photos(dvi)
    assert photo.detection_status == "error" and photo.detection_note


@pytest.mark.slow
def test_worker_processes_give_the_same_faces_as_one_process(dvi: OpenDVI, small_knn: Path) -> None:
    import_folder(dvi, small_knn / "train", kind="missing", actor="t")
    detect_faces(dvi, actor="t", workers=2)
    parallel = {p.sha256: p.faces[0].embedding for p in photos(dvi)}
    detect_faces(dvi, actor="t", workers=1, redo=True)
    single = {p.sha256: p.faces[0].embedding for p in photos(dvi)}
    assert parallel == single
    with dvi.db.read() as session:
        assert len(session.execute(select(Face)).scalars().all()) == len(single)


def test_every_awkward_photo_is_stored_or_refused_alone_and_never_stops_the_import(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    import io

    from PIL import Image

    from tests.factories import jpeg_bytes, picture, png_header_only

    def save(name: str, image: Image.Image, fmt: str, **options: object) -> str:
        out = io.BytesIO()
        image.save(out, format=fmt, **options)
        (tmp_path / name).write_bytes(out.getvalue())
        return name

    grey16 = Image.new("I;16", (80, 60))
    grey16.putdata([i * 300 for i in range(80)] * 60)
    frames = [picture(seed=1).convert("P"), picture(seed=2).convert("P")]
    files = {
        "PM-16BIT": save("grey16.png", grey16, "PNG"),
        "PM-CMYK": save("cmyk.jpg", picture(seed=3).convert("CMYK"), "JPEG"),
        "PM-PALETTE": save("palette.png", picture(seed=4).convert("P"), "PNG", transparency=0),
        "PM-ALPHA": save("alpha.png", picture(seed=5).convert("RGBA"), "PNG"),
        "PM-GIF": save("anim.gif", frames[0], "GIF", save_all=True, append_images=frames[1:]),
    }
    (tmp_path / "cut.jpg").write_bytes(jpeg_bytes()[:250])
    (tmp_path / "text.jpg").write_text("not a photo")
    (tmp_path / "bomb.png").write_bytes(png_header_only(50_000, 50_000))
    bad = {"PM-CUT": "cut.jpg", "PM-TEXT": "text.jpg", "PM-BOMB": "bomb.png"}
    rows = [{"ref": ref, "photos": name} for ref, name in {**files, **bad}.items()]
    report = import_csv(dvi, write_csv(tmp_path / "pm.csv", rows), kind="unidentified", actor="t")
    assert report.created == len(files) and report.failed == len(bad)
    messages = {p.ref: p.message for p in report.problems}
    assert "damaged or cut short" in messages["PM-CUT"]
    assert "not an image file" in messages["PM-TEXT"]
    assert "limit" in messages["PM-BOMB"]
    detected = detect_faces(dvi, actor="t", workers=1)
    assert detected.photos == len(files) and detected.errors == 0
    assert all(p.detection_status in {"done", "no_face"} for p in photos(dvi))


def _dominant_photo(folder: Path, small_knn: Path) -> Path:
    """One large face, and a small one in the corner: someone in the background."""
    from PIL import Image

    base = Image.open(small_knn / "train" / "obama" / "obama.jpg").convert("RGB")
    corner = Image.open(small_knn / "train" / "biden" / "biden2.jpg").convert("RGB")
    base.paste(corner.resize((260, 260)), (0, 0))
    folder.mkdir(parents=True, exist_ok=True)
    base.save(folder / "AM-9.jpg", format="JPEG")
    return folder


def test_a_face_that_clearly_dominates_is_chosen_by_the_system_audited_and_changeable(
    dvi: OpenDVI, small_knn: Path, tmp_path: Path
) -> None:
    import_folder(dvi, _dominant_photo(tmp_path / "one", small_knn), kind="missing", actor="t")
    report = detect_faces(dvi, actor="t", workers=1)
    assert (report.faces, report.usable, report.person_not_chosen) == (2, 1, 0)
    assert report.chosen_by_system == 1
    (photo,) = photos(dvi)
    big, small = sorted(photo.faces, key=lambda f: -f.box_w)
    assert big.is_subject and big.subject_by == "dominant" and not small.is_subject
    assert not photo.person_not_chosen
    with dvi.db.read() as session:
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "photo.faces_detected")
        ).scalar_one()
        assert event.details["person"]["chosen_by"] == "the system"
        assert event.details["person"]["face"] == big.id
        assert "largest of 2 faces" in event.details["person"]["why"]
    add_user(dvi, username="caseworker", role="caseworker", actor="test")
    choose_subject(dvi, face_id=small.id, actor="caseworker")
    (photo,) = photos(dvi)
    chosen = [(f.id, f.subject_by) for f in photo.faces if f.is_subject]
    assert chosen == [(small.id, "person")]


def test_a_group_photo_with_no_choice_counts_as_person_not_chosen_until_someone_chooses(
    dvi: OpenDVI, small_knn: Path
) -> None:
    from opendvi.caseload import stats

    import_csv(dvi, _group_csv(dvi, small_knn), kind="missing", actor="t")
    report = detect_faces(dvi, actor="t", workers=1)
    assert report.faces >= 2 and report.usable == 0 and report.person_not_chosen == 1
    counts = stats(dvi)
    assert counts["usable_faces"] == 0 and counts["photos_person_not_chosen"] == 1
    (photo,) = photos(dvi)
    assert photo.person_not_chosen
    add_user(dvi, username="caseworker", role="caseworker", actor="test")
    choose_subject(dvi, face_id=photo.faces[0].id, actor="caseworker")
    counts = stats(dvi)
    assert counts["usable_faces"] == 1 and counts["photos_person_not_chosen"] == 0

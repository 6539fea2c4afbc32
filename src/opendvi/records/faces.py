"""Use-cases for faces in stored photos: detect them (in parallel worker processes), box one
by hand, choose which face of a group photo is the person.

Photos waiting for detection are marked ``pending``; each batch of results is saved in one
transaction with an audit event per photo, so an interrupted run loses at most the batch in
flight and the next run picks up what is still pending.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission
from opendvi.db.tables import Face, Photo
from opendvi.errors import NotFound
from opendvi.faces import FaceBackend, FoundFace, PhotoFaces, find_faces, manual_face, open_backend
from opendvi.infra.jobs import queue_photo_owner
from opendvi.people.accounts import check_if_user
from opendvi.settings import Settings

__all__ = ["DetectionReport", "FaceChange", "add_manual_face", "choose_subject", "detect_faces"]

BATCH = 16


@dataclass
class DetectionReport:
    photos: int = 0
    faces: int = 0
    usable: int = 0
    no_face: int = 0
    errors: int = 0


# -- worker side ---------------------------------------------------------------------------

_worker_backend: FaceBackend | None = None
_worker_max_pixels = 0


def _init_worker(settings: dict[str, Any]) -> None:
    global _worker_backend, _worker_max_pixels
    loaded = Settings(**settings)
    _worker_backend = open_backend(loaded)
    _worker_max_pixels = loaded.max_image_pixels


def _analyse_file(job: tuple[str, str]) -> tuple[str, PhotoFaces]:
    sha256, path = job
    assert _worker_backend is not None
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return sha256, PhotoFaces("error", f"the stored photo cannot be read: {exc.strerror}")
    return sha256, find_faces(data, _worker_backend, name=path, max_pixels=_worker_max_pixels)


def _results(
    jobs: list[tuple[str, str]], settings: Settings, workers: int
) -> Iterator[tuple[str, PhotoFaces]]:
    config = settings.model_dump()
    if workers <= 1 or len(jobs) <= 1:
        _init_worker(config)
        yield from map(_analyse_file, jobs)
        return
    # spawn, not fork: the parent holds database connections and a progress thread.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(config,),
    ) as pool:
        try:
            yield from pool.map(_analyse_file, jobs, chunksize=2)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


# -- saving ---------------------------------------------------------------------------------


def _face_row(found: FoundFace, backend: FaceBackend, *, subject: bool) -> Face:
    x, y, w, h = found.box
    return Face(
        box_x=x,
        box_y=y,
        box_w=w,
        box_h=h,
        rotation_deg=found.rotation_deg,
        landmarks=found.landmarks,
        detector_score=found.detector_score,
        quality=found.quality,
        quality_factors=found.quality_factors,
        usable=found.usable,
        unusable_reason=found.unusable_reason,
        manual=found.manual,
        is_subject=subject,
        model_name=backend.name,
        model_version=backend.version,
        embedding=np.asarray(found.embedding, dtype=np.float32).tobytes(),
        embedding_dim=int(found.embedding.size),
    )


def _owner_ref(photo: Photo) -> str:
    owner = photo.missing_person or photo.remains
    return owner.ref if owner else ""


@dataclass(frozen=True)
class FaceChange:
    """A face added or chosen, and the record whose photo it is in."""

    face_id: int
    photo_id: int
    kind: str  # "missing" or "remains"
    ref: str

    @classmethod
    def of(cls, face_id: int, photo: Photo) -> FaceChange:
        kind = "missing" if photo.missing_person_id is not None else "remains"
        return cls(face_id, photo.id, kind, _owner_ref(photo))


def _save_result(
    session: Session, photo: Photo, result: PhotoFaces, backend: FaceBackend, actor: str
) -> None:
    before = {"status": photo.detection_status, "faces": len(photo.faces)}
    photo.faces = [
        f
        for f in photo.faces
        if f.manual or (f.model_name, f.model_version) != (backend.name, backend.version)
    ]
    # A single usable face is the person, unless someone already chose or boxed one.
    automatic = len(result.faces) == 1 and not any(f.is_subject for f in photo.faces)
    for found in result.faces:
        photo.faces.append(_face_row(found, backend, subject=automatic and found.usable))
    photo.detection_status = result.status
    photo.detection_note = result.note
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="photo.faces_detected",
        about=photo,
        ref=_owner_ref(photo),
        before=before,
        after={"status": result.status, "faces": len(photo.faces)},
        details={
            "status": result.status,
            "faces": len(result.faces),
            "usable": sum(f.usable for f in result.faces),
            "rotation_deg": result.faces[0].rotation_deg if result.faces else None,
            "model": f"{backend.name} {backend.version}",
            "note": result.note,
        },
    )
    queue_photo_owner(session, photo)


def detect_faces(
    app: OpenDVI,
    *,
    actor: str,
    workers: int | None = None,
    redo: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DetectionReport:
    """Find and embed the faces of every photo still pending (every photo with ``redo``)."""
    backend = open_backend(app.settings)
    with app.db.read() as session:
        query = select(Photo.id, Photo.sha256).where(Photo.withdrawn_at.is_(None))
        if not redo:
            query = query.where(Photo.detection_status == "pending")
        rows = session.execute(query.order_by(Photo.id)).all()
    by_sha: dict[str, list[int]] = {}
    for photo_id, sha256 in rows:
        by_sha.setdefault(sha256, []).append(photo_id)
    jobs = [(sha, str(app.media.path(sha))) for sha in by_sha]
    report = DetectionReport()
    batch: list[tuple[str, PhotoFaces]] = []

    def flush() -> None:
        saved = []
        with app.db.write() as session:
            for sha, result in batch:
                for photo_id in by_sha[sha]:
                    photo = session.get(Photo, photo_id)
                    if photo is not None:
                        _save_result(session, photo, result, backend, actor)
                        saved.append(result)
        for result in saved:  # counted once committed
            _count(report, result)
        batch.clear()

    results = _results(jobs, app.settings, workers or app.settings.resolved_workers())
    for done, (sha, result) in enumerate(results, start=1):
        batch.append((sha, result))
        if len(batch) >= BATCH:
            flush()
        if progress:
            progress(done, len(jobs))
    if batch:
        flush()
    return report


def _count(report: DetectionReport, result: PhotoFaces) -> None:
    report.photos += 1
    report.faces += len(result.faces)
    report.usable += sum(f.usable for f in result.faces)
    report.no_face += result.status == "no_face"
    report.errors += result.status == "error"


def _may_edit(session: Session, actor: str, photo: Photo) -> None:
    """Refused to a user who may not edit the faces of this photo: only forensic staff and
    admins those of remains; caseworkers too those of a report."""
    remains = photo.remains_id is not None
    permission = Permission.EDIT_REMAINS_FACES if remains else Permission.EDIT_FACES
    where = "a post-mortem photo" if remains else "a report's photo"
    check_if_user(session, actor, permission, doing=f"box or choose a face on {where}")


def add_manual_face(
    app: OpenDVI,
    *,
    photo_id: int,
    box: tuple[float, float, float, float],
    rotation_deg: float = 0.0,
    actor: str,
) -> FaceChange:
    """Embed a face boxed by hand (x, y, w, h in the photo turned by ``rotation_deg``)."""
    backend = open_backend(app.settings)
    with app.db.write() as session:
        photo = session.get(Photo, photo_id)
        if photo is None:
            raise NotFound(f"there is no photo {photo_id}; `opendvi faces list REF` shows ids")
        _may_edit(session, actor, photo)
        found = manual_face(
            app.media.get(photo.sha256),
            backend,
            box,
            rotation_deg=rotation_deg,
            max_pixels=app.settings.max_image_pixels,
        )
        face = _face_row(found, backend, subject=not any(f.is_subject for f in photo.faces))
        photo.faces.append(face)
        photo.detection_status = "done"
        audit.record(
            session,
            actor=actor,
            action="face.boxed_by_hand",
            about=face,
            ref=_owner_ref(photo),
            after={"photo": photo.id, "box": list(found.box), "rotation_deg": rotation_deg},
            details={"photo_id": photo.id, "quality": found.quality, "usable": found.usable},
        )
        queue_photo_owner(session, photo)
        return FaceChange.of(face.id, photo)


def choose_subject(app: OpenDVI, *, face_id: int, actor: str) -> FaceChange:
    """Mark which face of a (group) photo is the record's person; the others are not used."""
    with app.db.write() as session:
        face = session.get(Face, face_id)
        if face is None:
            raise NotFound(f"there is no face {face_id}; `opendvi faces list REF` shows ids")
        _may_edit(session, actor, face.photo)
        previous = [f.id for f in face.photo.faces if f.is_subject]
        session.execute(update(Face).where(Face.photo_id == face.photo_id).values(is_subject=False))
        session.execute(update(Face).where(Face.id == face_id).values(is_subject=True))
        audit.record(
            session,
            actor=actor,
            action="face.chosen_as_subject",
            about=face,
            ref=_owner_ref(face.photo),
            before={"subject_faces": previous},
            after={"subject_faces": [face_id]},
            details={"photo_id": face.photo_id},
        )
        queue_photo_owner(session, face.photo)
        return FaceChange.of(face_id, face.photo)

"""Use-cases for faces in stored photos: detect them (in parallel worker processes), box one
by hand, choose which face of a group photo is the person.

Photos waiting for detection are marked ``pending``; each batch of results is saved in one
transaction with an audit event per photo, so an interrupted run loses at most the batch in
flight and the next run picks up what is still pending.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission
from opendvi.db.tables import Face, Photo
from opendvi.errors import NotFound, PhotoError
from opendvi.faces import (
    FaceBackend,
    FoundFace,
    PhotoFaces,
    find_faces,
    manual_face,
    model_identity,
    open_backend,
)
from opendvi.faces.subject import ChosenBy, choose_person
from opendvi.infra.images import served_copy
from opendvi.infra.jobs import queue_photo_owner
from opendvi.infra.lifeline import die_with_parent
from opendvi.people.accounts import check_if_user
from opendvi.settings import Settings

__all__ = [
    "DetectionReport",
    "FaceChange",
    "add_manual_face",
    "choose_subject",
    "detect_faces",
    "mark_choice",
]

BATCH = 16


@dataclass
class DetectionReport:
    photos: int = 0
    faces: int = 0
    usable: int = 0  # usable faces that are their photo's person: what matching uses
    person_not_chosen: int = 0  # photos of several faces where a person must choose
    chosen_by_system: int = 0  # photos of several faces where one clearly dominates
    no_face: int = 0
    errors: int = 0


# -- worker side ---------------------------------------------------------------------------

_worker: dict[str, Any] = {}


@dataclass(frozen=True)
class _Job:
    sha256: str
    path: str
    name: str  # the photo's own file name, for what is said about it
    needs_served: bool  # sent from a form: decoded and given its served copy here first


@dataclass(frozen=True)
class _Done:
    sha256: str
    faces: PhotoFaces
    served: bytes | None = None  # the served copy made for a photo sent from a form


def _init_worker(settings: dict[str, Any], parent: int | None = None) -> None:
    if parent is not None:
        die_with_parent(parent)
    loaded = Settings(**settings)
    _worker.update(backend=open_backend(loaded), settings=loaded)


def _analyse_file(job: _Job) -> _Done:
    backend: FaceBackend = _worker["backend"]
    settings: Settings = _worker["settings"]
    try:
        data = Path(job.path).read_bytes()
    except OSError as exc:
        unread = f"{job.name}: the stored photo cannot be read ({exc.strerror})"
        return _Done(job.sha256, PhotoFaces("error", unread))
    served = None
    if job.needs_served:
        try:
            served = served_copy(
                data,
                name=job.name,
                max_pixels=settings.max_image_pixels,
                max_side=settings.served_max_side,
            )
        except PhotoError as exc:
            return _Done(job.sha256, PhotoFaces("error", str(exc)))
    faces = find_faces(
        data,
        backend,
        name=job.name,
        max_pixels=settings.max_image_pixels,
        budget_s=settings.face_time_budget_s,
    )
    return _Done(job.sha256, faces, served)


def _results(jobs: list[_Job], settings: Settings, workers: int, *, apart: bool) -> Iterator[_Done]:
    config = settings.model_dump()
    if not apart and (workers <= 1 or len(jobs) <= 1):
        _init_worker(config)
        yield from map(_analyse_file, jobs)
        return
    # spawn, not fork: the parent holds database connections and a progress thread.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(jobs))),
        mp_context=context,
        initializer=_init_worker,
        initargs=(config, os.getpid()),
    ) as pool:
        try:
            yield from pool.map(_analyse_file, jobs, chunksize=1 if apart else 2)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


# -- saving ---------------------------------------------------------------------------------


def _face_row(found: FoundFace, model: tuple[str, str], *, subject_by: ChosenBy | None) -> Face:
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
        is_subject=subject_by is not None,
        subject_by=subject_by or "",
        model_name=model[0],
        model_version=model[1],
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


def mark_choice(photo: Photo) -> None:
    """Whether the photo waits for a person to choose who in it is the record's person: it
    has a usable face, and no face is the person."""
    faces = photo.faces
    photo.person_not_chosen = any(f.usable for f in faces) and not any(f.is_subject for f in faces)


@dataclass(frozen=True)
class _Saved:
    used: int  # usable faces that are the person
    person_not_chosen: bool
    chosen_by_system: bool


def _person(photo: Photo, why: str) -> dict[str, Any]:
    """What the audit log says of who in the photo is the person."""
    subject = next((f for f in photo.faces if f.is_subject), None)
    if subject is not None:
        by = "a person" if subject.subject_by == "person" else "the system"
        return {"face": subject.id, "chosen_by": by, "why": why or "chosen before"}
    if photo.person_not_chosen:
        return {"face": None, "chosen_by": None, "why": "several faces: a person must choose"}
    return {"face": None, "chosen_by": None, "why": "no usable face"}


def _save_result(
    session: Session, photo: Photo, result: PhotoFaces, model: tuple[str, str], actor: str
) -> _Saved:
    before = {"status": photo.detection_status, "faces": len(photo.faces)}
    photo.faces = [f for f in photo.faces if f.manual or (f.model_name, f.model_version) != model]
    # The system chooses the person only where the photo leaves little doubt (faces.subject),
    # and never over a face someone already chose or boxed.
    chosen = None if any(f.is_subject for f in photo.faces) else choose_person(result.faces)
    for index, found in enumerate(result.faces):
        by = chosen.by if chosen is not None and chosen.index == index else None
        photo.faces.append(_face_row(found, model, subject_by=by))
    photo.detection_status = result.status
    photo.detection_note = result.note
    mark_choice(photo)
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
            "model": f"{model[0]} {model[1]}",
            "note": result.note,
            "person": _person(photo, chosen.why if chosen is not None else ""),
        },
    )
    queue_photo_owner(session, photo)
    return _Saved(
        used=sum(f.usable and f.is_subject for f in photo.faces),
        person_not_chosen=photo.person_not_chosen,
        chosen_by_system=chosen is not None and chosen.by == "dominant",
    )


def detect_faces(
    app: OpenDVI,
    *,
    actor: str,
    workers: int | None = None,
    redo: bool = False,
    apart: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DetectionReport:
    """Find and embed the faces of every photo still pending (every photo with ``redo``);
    a photo sent from a form is first decoded whole and given its served copy.

    The photos are worked on in worker processes (``workers``; with one, in this process,
    unless ``apart``: a server's background worker keeps its image work out of the process
    that answers requests). Each worker dies with this process (``infra.lifeline``).
    """
    with app.db.read() as session:
        query = select(Photo.id, Photo.sha256, Photo.served_sha256, Photo.original_name).where(
            Photo.withdrawn_at.is_(None)
        )
        if not redo:
            query = query.where(Photo.detection_status == "pending")
        rows = session.execute(query.order_by(Photo.id)).all()
    by_sha: dict[str, list[int]] = {}
    unserved: set[str] = set()
    names: dict[str, str] = {}
    for photo_id, sha256, served, name in rows:
        by_sha.setdefault(sha256, []).append(photo_id)
        names.setdefault(sha256, name or f"photo {photo_id}")
        if not served:
            unserved.add(sha256)
    jobs = [_Job(sha, str(app.media.path(sha)), names[sha], sha in unserved) for sha in by_sha]
    report = DetectionReport()
    if not jobs:
        return report
    # The model's name and version, as stored on each face; in this process the model
    # itself is loaded only when the work is done here.
    model = model_identity(app.settings)
    batch: list[_Done] = []

    def flush() -> None:
        saved: list[tuple[PhotoFaces, _Saved]] = []
        # Served copies on disk before the transaction that refers to them (infra.media).
        served = {d.sha256: app.media.put(d.served) for d in batch if d.served is not None}
        with app.db.write() as session:
            for done in batch:
                for photo_id in by_sha[done.sha256]:
                    photo = session.get(Photo, photo_id)
                    if photo is not None:
                        if done.sha256 in served and not photo.served_sha256:
                            photo.served_sha256 = served[done.sha256]
                        kept = _save_result(session, photo, done.faces, model, actor)
                        saved.append((done.faces, kept))
        for result, kept in saved:  # counted once committed
            _count(report, result, kept)
        batch.clear()

    count = workers or app.settings.resolved_workers()
    for number, done in enumerate(_results(jobs, app.settings, count, apart=apart), start=1):
        batch.append(done)
        if len(batch) >= BATCH or apart:
            flush()
        if progress:
            progress(number, len(jobs))
    if batch:
        flush()
    return report


def _count(report: DetectionReport, result: PhotoFaces, kept: _Saved) -> None:
    report.photos += 1
    report.faces += len(result.faces)
    report.usable += kept.used
    report.person_not_chosen += kept.person_not_chosen
    report.chosen_by_system += kept.chosen_by_system
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
        model = (backend.name, backend.version)
        chosen = any(f.is_subject for f in photo.faces)
        face = _face_row(found, model, subject_by=None if chosen else "person")
        photo.faces.append(face)
        photo.detection_status = "done"
        mark_choice(photo)
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
        photo = face.photo
        previous = [f.id for f in photo.faces if f.is_subject]
        previous_by = [f.subject_by for f in photo.faces if f.is_subject]
        for other in photo.faces:
            other.is_subject, other.subject_by = other.id == face_id, ""
        face.subject_by = "person"
        mark_choice(photo)
        audit.record(
            session,
            actor=actor,
            action="face.chosen_as_subject",
            about=face,
            ref=_owner_ref(photo),
            before={"subject_faces": previous, "chosen_by": previous_by},
            after={"subject_faces": [face_id], "chosen_by": ["person"]},
            details={"photo_id": face.photo_id},
        )
        queue_photo_owner(session, face.photo)
        return FaceChange.of(face_id, face.photo)

"""Photos of records: checked and kept in the photo store before the record that holds them
is saved, and read back for the pages (the served copy of a photo, a face cut out of its
photo), each said to be post-mortem or not so that a body is never shown unasked.

An import checks each photo whole and makes its served copy at once (``store_photo``); a
photo sent from a form is only checked from its header and kept (``accept_photo``), so the
request returns at once: the background worker decodes it, makes its served copy and finds
its faces (``records.faces``), and until then the pages say it is being processed."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Permission, a_person, may, who
from opendvi.core.uncertain import DateRange
from opendvi.db.rows import view_of
from opendvi.db.tables import (
    Face,
    Identification,
    MissingPerson,
    Notification,
    NotificationStep,
    Photo,
    Remains,
)
from opendvi.errors import NotFound, PhotoError, Refused
from opendvi.infra.images import check_header, inspect_image, served_copy
from opendvi.infra.media import MediaStore, sha256_hex
from opendvi.people.accounts import acting_user
from opendvi.people.sessions import remember_revealed
from opendvi.settings import Settings

__all__ = [
    "FacePicture",
    "PhotoFile",
    "StoredPhoto",
    "accept_photo",
    "current_photos",
    "face_picture",
    "keep_photo",
    "known_photo",
    "photo_file",
    "reveal",
    "store_photo",
]


@dataclass(frozen=True)
class StoredPhoto:
    """A photo already checked and written to the photo store, ready to attach to a record."""

    sha256: str
    served_sha256: str
    original_name: str
    media_type: str
    byte_size: int
    width: int
    height: int
    taken: DateRange | None = None

    @classmethod
    def of(cls, photo: Photo) -> StoredPhoto:
        return view_of(cls, photo, taken=None)


def known_photo(app: OpenDVI, sha256: str) -> StoredPhoto | None:
    """A photo already stored under this hash, so its checks and served copy can be reused."""
    with app.db.read() as session:
        photo = session.execute(
            select(Photo).where(Photo.sha256 == sha256).limit(1)
        ).scalar_one_or_none()
        return StoredPhoto.of(photo) if photo is not None else None


def store_photo(
    path: Path,
    *,
    media: MediaStore,
    settings: Settings,
    taken: DateRange | None = None,
    known: Callable[[str], StoredPhoto | None] | None = None,
) -> StoredPhoto:
    """Check a photo file and keep it: the original unchanged, plus a metadata-free copy.

    ``known`` looks a hash up among photos already stored; a photo seen before (an import run
    again) is not decoded again.
    """
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise PhotoError(f"{name}: no such file") from None
    except OSError as exc:
        raise PhotoError(f"{name}: cannot be read ({exc.strerror})") from None
    if path.is_dir():
        raise PhotoError(f"{name}: is a folder, not a photo file")
    _check_size(name, size, settings)
    return keep_photo(
        path.read_bytes(),
        name=name,
        original_name=path.name,
        media=media,
        settings=settings,
        taken=taken,
        known=known,
    )


def _check_size(name: str, size: int, settings: Settings) -> None:
    if size > settings.max_photo_bytes:
        raise PhotoError(
            f"{name}: {size:,} bytes is above the limit of {settings.max_photo_bytes:,} "
            "(setting OPENDVI_MAX_PHOTO_BYTES)"
        )
    if size == 0:
        raise PhotoError(f"{name}: the file is empty")


def keep_photo(
    data: bytes,
    *,
    name: str,
    media: MediaStore,
    settings: Settings,
    original_name: str | None = None,
    taken: DateRange | None = None,
    known: Callable[[str], StoredPhoto | None] | None = None,
) -> StoredPhoto:
    """Check a photo's bytes (``name`` says which file in an error) and keep them."""
    _check_size(name, len(data), settings)
    original_name = original_name or name
    previous = known(sha256_hex(data)) if known else None
    if previous is not None and _reusable(previous, media):
        media.put(data)
        return replace(previous, original_name=original_name, taken=taken)
    info = inspect_image(data, name=name, max_pixels=settings.max_image_pixels)
    served = served_copy(
        data, name=name, max_pixels=settings.max_image_pixels, max_side=settings.served_max_side
    )
    return StoredPhoto(
        sha256=media.put(data),
        served_sha256=media.put(served),
        original_name=original_name,
        media_type=info.media_type,
        byte_size=len(data),
        width=info.width,
        height=info.height,
        taken=taken,
    )


def _reusable(previous: StoredPhoto, media: MediaStore) -> bool:
    """Whether a photo stored before under the same hash has its served copy on disk."""
    return bool(previous.served_sha256) and media.path(previous.served_sha256).exists()


def check_photo_bytes(data: bytes, *, name: str, settings: Settings) -> None:
    """The checks ``accept_photo`` makes of a photo's bytes (size, format, pixel limit),
    keeping nothing: ``PhotoError`` names the file and what is wrong."""
    _check_size(name, len(data), settings)
    check_header(data, name=name, max_pixels=settings.max_image_pixels)


def accept_photo(
    data: bytes,
    *,
    name: str,
    media: MediaStore,
    settings: Settings,
    original_name: str | None = None,
    known: Callable[[str], StoredPhoto | None] | None = None,
) -> StoredPhoto:
    """Check a photo's bytes from its header (format, size, pixel limit) and keep them,
    without decoding a pixel; its served copy is made later (``served_sha256`` empty until
    then), by the face detection that the photo waits for."""
    _check_size(name, len(data), settings)
    original_name = original_name or name
    previous = known(sha256_hex(data)) if known else None
    if previous is not None and _reusable(previous, media):
        media.put(data)
        return replace(previous, original_name=original_name, taken=None)
    info = check_header(data, name=name, max_pixels=settings.max_image_pixels)
    return StoredPhoto(
        sha256=media.put(data),
        served_sha256="",
        original_name=original_name,
        media_type=info.media_type,
        byte_size=len(data),
        width=info.width,
        height=info.height,
    )


def current_photos(record: MissingPerson | Remains) -> list[StoredPhoto]:
    """The record's active photos as the intake takes them, in order, dates kept: photos
    added from a form join these."""
    out = []
    for photo in sorted(record.photos, key=lambda p: (p.position, p.id)):
        if photo.withdrawn_at is not None:
            continue
        when = (
            DateRange(photo.taken_earliest, photo.taken_latest or photo.taken_earliest)
            if photo.taken_earliest
            else None
        )
        out.append(replace(StoredPhoto.of(photo), taken=when))
    return out


# -- pictures for the pages --------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoFile:
    """The served (metadata-free) copy of a photo."""

    id: int
    data: bytes
    post_mortem: bool


@dataclass(frozen=True)
class FacePicture:
    """A face's photo decoded, with the face's box in the photo turned upright."""

    photo_id: int
    rgb: NDArray[np.uint8]  # height × width × 3, the photo before turning
    rotation_deg: float
    box: tuple[int, int, int, int]
    post_mortem: bool


def _active_photo(session: Session, photo_id: int) -> Photo:
    photo = session.get(Photo, photo_id)
    if photo is None or photo.withdrawn_at is not None:
        raise NotFound(f"there is no photo {photo_id}")
    return photo


def _served(photo: Photo) -> str:
    """The photo's served copy, or NotFound while the background worker has not made it."""
    if photo.served_sha256:
        return photo.served_sha256
    if photo.detection_status == "error":
        raise NotFound(f"photo {photo.id} could not be read: {photo.detection_note}")
    raise NotFound(f"photo {photo.id} is still being processed; reload the page in a moment")


def reveal(
    app: OpenDVI,
    photo_id: int,
    *,
    username: str,
    why: str = "",
    task: int | None = None,
    session_id: int | None = None,
) -> bool:
    """Let ``username`` see a post-mortem photo unblurred, for ``why`` (audited); whether
    the photo is post-mortem (a report's photo is never blurred: nothing to reveal). Refused
    to a role that may not see remains, unless a caseworker shows the photo to a family who
    asked to see their identified person (``task``: their notification task). With
    ``session_id``, that signed-in session shows it unblurred from now on."""
    with app.db.write() as session:
        photo = _active_photo(session, photo_id)
        if photo.remains_id is None:
            return False
        user = acting_user(session, username, Permission.READ, doing="see a photo")
        if not may(user.role, Permission.SEE_REMAINS) and not _family_asked(
            session, user.role, task, photo.remains_id
        ):
            raise Refused(
                f"{username} is {a_person(user.role)}; only {who(Permission.SEE_REMAINS)} "
                "may see a post-mortem photo, and a caseworker only for a family who asked to "
                "see it"
            )
        remains = session.get(Remains, photo.remains_id)
        audit.record(
            session,
            actor=username,
            action="photo.revealed",
            about=photo,
            ref=remains.ref if remains else "",
            details={"why": why.strip(), "task": task},
        )
        if session_id is not None:
            remember_revealed(session, session_id, photo.id)
        return True


def _family_asked(session: Session, role: str, task: int | None, remains_id: int) -> bool:
    """Whether the family of ``task`` asked to see photos of these remains, and the user
    of ``role`` is one who tells families."""
    if task is None or not may(role, Permission.TELL_FAMILIES):
        return False
    found = session.execute(
        select(Notification.id)
        .join(Identification, Notification.identification_id == Identification.id)
        .join(NotificationStep, NotificationStep.notification_id == Notification.id)
        .where(
            Notification.id == task,
            Identification.remains_id == remains_id,
            NotificationStep.kind == "photo_request",
        )
        .limit(1)
    ).first()
    return found is not None


def photo_file(app: OpenDVI, photo_id: int) -> PhotoFile:
    """The photo as the pages show it (404 for a photo withdrawn or never stored)."""
    with app.db.read() as session:
        photo = _active_photo(session, photo_id)
        sha, post_mortem = _served(photo), photo.remains_id is not None
    return PhotoFile(photo_id, app.media.get(sha), post_mortem)


def face_picture(app: OpenDVI, face_id: int) -> FacePicture:
    """A face's photo as the pages show it (its served copy, already upright and small, so
    a page never decodes an original), with where the face is in it."""
    with app.db.read() as session:
        face = session.get(Face, face_id)
        if face is None:
            raise NotFound(f"there is no face {face_id}")
        photo = face.photo
        sha, longest = _served(photo), max(photo.width, photo.height)
        box = (face.box_x, face.box_y, face.box_w, face.box_h)
        turn, photo_id, post_mortem = face.rotation_deg, photo.id, photo.remains_id is not None
    image = Image.open(io.BytesIO(app.media.get(sha))).convert("RGB")
    # The box is in the original's pixels (turned); the served copy is the same picture
    # scaled down, so the box scales with it.
    scale = max(image.size) / longest if longest else 1.0
    small = (
        round(box[0] * scale),
        round(box[1] * scale),
        max(1, round(box[2] * scale)),
        max(1, round(box[3] * scale)),
    )
    return FacePicture(photo_id, np.asarray(image), turn, small, post_mortem)

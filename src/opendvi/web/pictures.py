"""Photos and face crops as the pages show them. Post-mortem pictures are blurred on the
server until the user reveals that photo (remembered for the session), so an unblurred body
is never sent to a browser that did not ask for it.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from PIL import Image, ImageFilter

from opendvi.db.tables import Face, Photo
from opendvi.web.security import READ, roles

router = APIRouter()
CROP_SIDE = 224
NO_STORE = {"Cache-Control": "private, no-store"}


def revealed(request: Request) -> set[int]:
    return set(request.session.get("revealed", []))


def is_hidden(request: Request, photo: Photo) -> bool:
    """A post-mortem photo not yet revealed in this session."""
    return photo.remains_id is not None and photo.id not in revealed(request)


def _jpeg(image: Image.Image, *, blur: bool) -> bytes:
    if blur:
        radius = max(12, max(image.size) // 12)
        image = image.resize((max(1, image.width // 8), max(1, image.height // 8)))
        image = image.filter(ImageFilter.GaussianBlur(radius / 8)).resize(
            (image.width * 8, image.height * 8), Image.Resampling.BILINEAR
        )
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=85)
    return out.getvalue()


def _photo(request: Request, photo_id: int) -> Photo:
    with request.app.state.dvi.db.read() as session:
        photo = session.get(Photo, photo_id)
        if photo is None or photo.withdrawn_at is not None:
            raise HTTPException(404, f"there is no photo {photo_id}")
        session.expunge(photo)
        return photo


@router.get("/photos/{photo_id}.jpg", name="photo")
@roles(*READ)
def photo_image(request: Request, photo_id: int) -> Response:
    photo = _photo(request, photo_id)
    dvi = request.app.state.dvi
    image = Image.open(io.BytesIO(dvi.media.get(photo.served_sha256)))
    return Response(
        _jpeg(image, blur=is_hidden(request, photo)), media_type="image/jpeg", headers=NO_STORE
    )


@router.get("/faces/{face_id}.jpg", name="face")
@roles(*READ)
def face_image(request: Request, face_id: int) -> Response:
    """The face cut out of its photo, turned upright, with a margin around it."""
    from opendvi.faces.rotation import rotate
    from opendvi.images import decode_rgb

    dvi = request.app.state.dvi
    with dvi.db.read() as session:
        face = session.get(Face, face_id)
        if face is None:
            raise HTTPException(404, f"there is no face {face_id}")
        photo = face.photo
        box = (face.box_x, face.box_y, face.box_w, face.box_h)
        turn, sha, name = face.rotation_deg, photo.sha256, photo.original_name
        hidden = is_hidden(request, photo)
    rgb = np.asarray(
        decode_rgb(dvi.media.get(sha), name=name, max_pixels=dvi.settings.max_image_pixels)
    )
    upright = Image.fromarray(rotate(rgb, turn))
    x, y, w, h = box
    margin = 0.25 * max(w, h)
    crop = upright.crop(
        (
            max(0, int(x - margin)),
            max(0, int(y - margin)),
            min(upright.width, int(x + w + margin)),
            min(upright.height, int(y + h + margin)),
        )
    )
    crop.thumbnail((CROP_SIDE, CROP_SIDE), Image.Resampling.LANCZOS)
    return Response(_jpeg(crop, blur=hidden), media_type="image/jpeg", headers=NO_STORE)


@router.post("/photos/{photo_id}/reveal", name="reveal")
@roles(*READ)
def reveal(request: Request, photo_id: int) -> Any:
    """Show this post-mortem photo unblurred for the rest of the session."""
    photo = _photo(request, photo_id)
    shown = revealed(request) | {photo.id}
    request.session["revealed"] = sorted(shown)
    if request.headers.get("hx-request"):
        face = request.query_params.get("face", "")
        url = (
            request.url_for("face", face_id=int(face))
            if face.isdigit()
            else request.url_for("photo", photo_id=photo.id)
        )
        return HTMLResponse(
            f'<img src="{url}?shown=1" alt="post-mortem picture, photo {photo.id}, revealed" '
            'class="picture">'
        )
    return RedirectResponse(request.headers.get("referer") or "/", status_code=303)

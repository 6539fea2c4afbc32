"""Photos and face crops as the pages show them. Post-mortem pictures are blurred on the
server until the user reveals that photo (remembered for the session), so an unblurred body
is never sent to a browser that did not ask for it.
"""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from PIL import Image, ImageFilter

from opendvi.core.roles import Permission
from opendvi.records.photos import face_picture, photo_file, reveal
from opendvi.web.deps import ID_MAX, DviDep, RowId, ViewerDep
from opendvi.web.security import permits, signed_in
from opendvi.web.templating import revealed, same_site

router = APIRouter(include_in_schema=False)
CROP_SIDE = 224
NO_STORE = {"Cache-Control": "private, no-store"}


def _hidden(request: Request, photo_id: RowId, post_mortem: bool) -> bool:
    """A post-mortem photo not yet revealed in this session."""
    return post_mortem and photo_id not in revealed(request)


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


@router.get("/photos/{photo_id}.jpg", name="photo")
@permits(Permission.READ)
def photo_image(request: Request, dvi: DviDep, photo_id: RowId) -> Response:
    photo = photo_file(dvi, photo_id)
    image = Image.open(io.BytesIO(photo.data))
    blur = _hidden(request, photo.id, photo.post_mortem)
    return Response(_jpeg(image, blur=blur), media_type="image/jpeg", headers=NO_STORE)


def _crop(upright: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    """The face with a margin around it, at most CROP_SIDE pixels a side."""
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
    return crop


@router.get("/faces/{face_id}.jpg", name="face")
@permits(Permission.READ)
def face_image(request: Request, dvi: DviDep, face_id: RowId) -> Response:
    """The face cut out of its photo, turned upright, with a margin around it."""
    from opendvi.faces.rotation import rotate

    face = face_picture(dvi, face_id)
    upright = Image.fromarray(rotate(face.rgb, face.rotation_deg))
    blur = _hidden(request, face.photo_id, face.post_mortem)
    return Response(
        _jpeg(_crop(upright, face.box), blur=blur), media_type="image/jpeg", headers=NO_STORE
    )


@router.post("/photos/{photo_id}/reveal", name="reveal")
@permits(Permission.READ)
def reveal_photo(
    request: Request,
    dvi: DviDep,
    viewer: ViewerDep,
    photo_id: RowId,
    back: Annotated[str, Form()] = "/",
    task: Annotated[int | None, Form(ge=0, le=ID_MAX)] = None,
) -> Response:
    """Show this post-mortem photo unblurred for the rest of the session, to those who may
    see it, then the page it was revealed on (``back``: no referrer is sent, by policy)."""
    page = same_site(back)
    signed = signed_in(request)
    reveal(
        dvi,
        photo_id,
        username=viewer.username,
        why=f"revealed on {page}",
        task=task,
        session_id=signed.id if signed is not None else None,
    )
    if request.headers.get("hx-request"):
        face = request.query_params.get("face", "")
        url = (
            request.url_for("face", face_id=int(face))
            if face.isdigit()
            else request.url_for("photo", photo_id=photo_id)
        )
        return HTMLResponse(
            f'<img src="{url}?shown=1" alt="post-mortem picture, photo {photo_id}, revealed" '
            'class="picture">'
        )
    return RedirectResponse(page, status_code=303)

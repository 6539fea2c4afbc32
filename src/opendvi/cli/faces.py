"""``opendvi faces``: find the faces in stored photos, list them, box one by hand, choose the
person in a group photo."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opendvi.cli.common import (
    ActorOpt,
    QuietOpt,
    WorkersOpt,
    acting,
    interrupted,
    opened,
    signed_in,
)

if TYPE_CHECKING:
    from opendvi.app import OpenDVI
    from opendvi.records.views import FaceView, PhotoView

__all__ = ["detect", "register"]

faces_app = typer.Typer(
    help="Faces in stored photos: detect, list, box by hand, choose the person.",
    no_args_is_help=True,
)


def detect(
    dvi: OpenDVI, *, quiet: bool, actor: str | None, workers: int | None, redo: bool
) -> None:
    """Find the faces of the photos waiting (every photo with ``redo``), with a progress bar."""
    from opendvi.infra.progress import Bar
    from opendvi.records.faces import detect_faces

    with Bar("Finding faces", quiet=quiet) as bar:
        report = detect_faces(
            dvi, actor=acting(actor), workers=workers, redo=redo, progress=bar.update
        )
    if not quiet and report.photos:
        typer.echo(
            f"faces: {report.photos} photos — {report.faces} faces ({report.usable} used for "
            f"matching), {report.no_face} without a face, {report.errors} unreadable"
        )
        if report.chosen_by_system:
            typer.echo(
                f"  {report.chosen_by_system} photos of several faces: the person chosen by the "
                "system, one face clearly the largest (change it with `opendvi faces subject`)"
            )
    if report.person_not_chosen:
        # Said even with --quiet: these faces are not matched until someone chooses.
        typer.echo(
            f"  {report.person_not_chosen} photos of several faces: person not chosen, none of "
            "their faces is matched; `opendvi faces waiting` lists them",
            err=quiet,
        )


@faces_app.command("detect")
def faces_detect(
    redo: Annotated[
        bool, typer.Option("--redo", help="Look again at every photo, not only pending ones.")
    ] = False,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
    actor: ActorOpt = None,
) -> None:
    """Find and embed faces in photos still waiting (imports do this unless --no-faces)."""
    with opened() as dvi, interrupted("Photos done so far are saved; run it again to finish."):
        detect(dvi, quiet=quiet, actor=actor, workers=workers, redo=redo)


BY = {"dominant": ", chosen by the system: clearly the largest face", "person": ", chosen by staff"}


def _state(photo: PhotoView, face: FaceView) -> str:
    if not face.usable:
        return f"unusable: {face.why_not}"
    if photo.person_not_chosen:
        return "usable once chosen as the person"
    return "usable" if face.subject else "usable, not the person: not matched"


def _lines(photos: list[PhotoView]) -> list[str]:
    lines = []
    for photo in photos:
        waiting = "  person not chosen" if photo.person_not_chosen else ""
        lines.append(
            f"photo {photo.id}  {photo.name}  {photo.width}×{photo.height}  "
            f"{photo.detection_status}{waiting}  {photo.detection_note}".rstrip()
        )
        for face in photo.faces:
            x, y, w, h = face.box
            person = f" (the person{BY.get(face.subject_by, '')})" if face.subject else ""
            lines.append(
                f"  face {face.id}{person}  "
                f"box {x},{y},{w},{h}  turned {face.turned:g}°  quality {face.quality or 0:.2f}  "
                f"{_state(photo, face)}{'  boxed by hand' if face.manual else ''}  [{face.model}]"
            )
    return lines


@faces_app.command("list")
def faces_list(
    ref: Annotated[str, typer.Argument(help="A report's or remains record's ref.")],
) -> None:
    """The photos of a record and the faces found in each, with their ids."""
    from opendvi.records.page import faces_of

    with opened() as dvi:
        photos = faces_of(dvi, ref)
    for line in _lines(photos):
        typer.echo(line)


@faces_app.command("waiting")
def faces_waiting(
    page: Annotated[int, typer.Option("--page", min=1, help="Which page of twenty.")] = 1,
) -> None:
    """Photos of several faces where nobody chose the person: none of their faces is
    matched until someone does (`opendvi faces subject FACE_ID`)."""
    from opendvi.records.choosing import waiting_for_person

    with opened() as dvi:
        found = waiting_for_person(dvi, page)
    for item in found.photos:
        faces = ", ".join(str(face.id) for face in item.photo.faces if face.usable)
        typer.echo(f"{item.ref}  photo {item.photo.id}  {item.photo.name}  faces {faces}")
    more = f"; --page {page + 1} for more" if found.more else ""
    typer.echo(f"{found.total} photos where the person is not chosen{more}")


@faces_app.command("box")
def faces_box(
    photo_id: Annotated[int, typer.Argument(help="Photo id (see `opendvi faces list REF`).")],
    box: Annotated[str, typer.Argument(help="x,y,width,height of the face, in pixels.")],
    rotation: Annotated[
        float, typer.Option("--rotation", help="Degrees the photo is turned (anticlockwise).")
    ] = 0.0,
) -> None:
    """Mark a face by hand where the detector found none, and embed it."""
    from opendvi.errors import InputError
    from opendvi.records.faces import add_manual_face

    try:
        x, y, w, h = (float(v) for v in box.split(","))
    except ValueError:
        raise InputError(f"box {box!r}: write x,y,width,height, e.g. 120,80,200,240") from None
    with signed_in() as (dvi, me):
        added = add_manual_face(
            dvi, photo_id=photo_id, box=(x, y, w, h), rotation_deg=rotation, actor=me
        )
    typer.echo(f"face {added.face_id} added to photo {photo_id}")


@faces_app.command("subject")
def faces_subject(
    face_id: Annotated[int, typer.Argument(help="Face id (see `opendvi faces list REF`).")],
) -> None:
    """Choose which face in a group photo is the record's person."""
    from opendvi.records.faces import choose_subject

    with signed_in() as (dvi, me):
        choose_subject(dvi, face_id=face_id, actor=me)
    typer.echo(f"face {face_id} is now the person in its photo")


def register(app: typer.Typer) -> None:
    app.add_typer(faces_app, name="faces")

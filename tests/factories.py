"""Factories for tests, in one place: photo files of every awkward kind, CSV files, faces
with made-up embeddings, and two small sites — the web site (two reports and two remains,
matched, a user of every role) and the families' site (a confirmed identification whose
report has three contacts, and the staff to tell them). Every user's password is
``PASSWORD``."""

from __future__ import annotations

import csv
import io
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import select, text

from opendvi.app import OpenDVI
from opendvi.core.fields import ContactInput
from opendvi.core.roles import Role
from opendvi.db.tables import Candidate, Face, MissingPerson, Notification, Photo, Remains
from opendvi.faces import model_identity
from opendvi.matching import run_matching
from opendvi.people import add_user
from opendvi.records import store_photo
from opendvi.records.intake import save_record
from opendvi.review import confirm_identification, propose_identification

PASSWORD = "correct horse battery"


def picture(size: tuple[int, int] = (120, 90), seed: int = 0) -> Image.Image:
    """A small synthetic RGB picture; different seeds give different bytes."""
    image = Image.new("RGB", size, (40 + seed * 13 % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        (size[0] // 4, size[1] // 6, 3 * size[0] // 4, 5 * size[1] // 6),
        fill=(220, 180 - seed % 100, 150),
    )
    draw.text((4, 4), str(seed), fill=(0, 0, 0))
    return image


def write_photo(
    path: Path,
    *,
    seed: int = 0,
    size: tuple[int, int] = (120, 90),
    fmt: str = "JPEG",
    **save: object,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture(size, seed).save(path, format=fmt, **save)
    return path


def jpeg_bytes(seed: int = 0, **save: object) -> bytes:
    out = io.BytesIO()
    picture(seed=seed).save(out, format="JPEG", **save)
    return out.getvalue()


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    *,
    columns: list[str] | None = None,
    delimiter: str = ",",
) -> Path:
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter=delimiter)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def face_row(
    photo_id: int,
    vector: Any,
    model: tuple[str, str],
    box: tuple[int, int, int, int] = (0, 0, 50, 50),
    quality: float = 0.8,
) -> Any:
    """A usable face, the person of its photo, with a made-up embedding (unit length)."""
    vector = np.asarray(vector, dtype=np.float32)
    vector = vector / np.linalg.norm(vector)
    return Face(
        photo_id=photo_id,
        box_x=box[0],
        box_y=box[1],
        box_w=box[2],
        box_h=box[3],
        quality=quality,
        usable=True,
        is_subject=True,
        model_name=model[0],
        model_version=model[1],
        embedding=vector.astype(np.float32).tobytes(),
        embedding_dim=int(vector.size),
    )


# -- the web site ------------------------------------------------------------------------------


def build_site(dvi: OpenDVI, tmp_path: Path, *, families: bool = False) -> dict[str, Any]:
    """Two reports and two remains with real photos and faces, matched; a user per role.
    With ``families``, AM-1's mother said yes to being contacted and the identification of
    PM-1 as AM-1 is confirmed, so a notification task exists."""
    from opendvi.web import create_app

    model = model_identity(dvi.settings)
    rng = np.random.default_rng(5)
    people = [rng.normal(size=128) for _ in range(2)]
    ids: dict[str, int] = {}
    for role in Role:
        add_user(dvi, username=role.value, role=role.value, actor="test", password=PASSWORD)
    add_user(dvi, username="second", role="reviewer", actor="test", password=PASSWORD)
    for n, person in enumerate(people):
        for side, kind in (("am", MissingPerson), ("pm", Remains)):
            photo = store_photo(
                write_photo(
                    tmp_path / f"{side}{n}.jpg", seed=10 * n + (side == "pm"), size=(160, 160)
                ),
                media=dvi.media,
                settings=dvi.settings,
            )
            with dvi.db.write() as session:
                ref = f"{side.upper()}-{n}"
                saved = save_record(session, kind, actor="test", ref=ref, fields={}, photos=[photo])
                ids[f"{side}{n}"] = saved.record_id
                row = session.execute(
                    select(Photo).where(
                        (Photo.missing_person_id if side == "am" else Photo.remains_id)
                        == saved.record_id
                    )
                ).scalar_one()
                ids[f"{side}{n}-photo"] = row.id
                vector = person + 0.3 * rng.normal(size=128)
                session.add(face_row(row.id, vector, model, box=(40, 30, 80, 90)))
                row.detection_status = "done"
    run_matching(dvi, actor="test", everything=True)
    with dvi.db.read() as session:
        ids["candidate"] = session.execute(
            select(Candidate.id).where(
                Candidate.remains_id == ids["pm0"], Candidate.missing_person_id == ids["am0"]
            )
        ).scalar_one()
        ids["pm0-face"] = session.execute(
            select(Face.id).where(Face.photo_id == ids["pm0-photo"])
        ).scalar_one()
    ids["identification"] = propose_identification(
        dvi, ("PM-1", "AM-1"), primary=["dna"], secondary=[], note="", username="admin"
    ).number
    if families:
        mother = ContactInput(
            name="Olena Kovalenko",
            relationship="mother",
            consent_contact=True,
            consent_channels="in_person",
        )
        with dvi.db.write() as session:
            save_record(
                session, MissingPerson, actor="test", ref="AM-1", fields={}, contacts=[mother]
            )
        for name in ("reviewer", "second"):
            confirm_identification(
                dvi, ids["identification"], checked="DNA report read", username=name
            )
        with dvi.db.read() as session:
            ids["task"] = session.execute(select(Notification.id)).scalar_one()
    return {"app": create_app(dvi=dvi), "ids": ids, "dvi": dvi}


# -- the families' site ------------------------------------------------------------------------

STAFF = {
    "rev1": "reviewer",
    "rev2": "reviewer",
    "rev3": "reviewer",
    "case1": "caseworker",
    "case2": "caseworker",
    "case3": "caseworker",
    "auditor": "auditor",
}
OLENA = ContactInput(
    name="Olena Kovalenko",
    relationship="mother",
    email="olena@example.org",
    phone="+380440000000",
    language="uk",
    consent_contact=True,
    consent_channels="in_person,email",
)
PETRO = ContactInput(name="Petro Kovalenko", relationship="uncle", consent_contact=False)
IVAN = ContactInput(name="Ivan Shevchuk", relationship="neighbour")


def users(dvi: OpenDVI) -> None:
    """The families' site's staff: three reviewers, three caseworkers and an auditor."""
    for name, role in STAFF.items():
        add_user(dvi, username=name, role=role, actor="test", password=PASSWORD)


def identified(
    dvi: OpenDVI, n: int = 0, contacts: tuple[ContactInput, ...] = (OLENA, PETRO, IVAN)
) -> dict[str, Any]:
    """Report AM-n and remains PM-n, identified by DNA and confirmed by two reviewers: one
    contact said yes (e-mail or a visit, in Ukrainian), one said no, one was never asked."""
    with dvi.db.write() as session:
        save_record(
            session,
            MissingPerson,
            actor="test",
            ref=f"AM-{n}",
            fields={"full_name": "Andrii Kovalenko"},
            contacts=list(contacts),
        )
        save_record(session, Remains, actor="test", ref=f"PM-{n}", fields={})
    number = propose_identification(
        dvi, (f"PM-{n}", f"AM-{n}"), primary=["dna"], secondary=[], note="", username="rev1"
    ).number
    confirm_identification(dvi, number, checked="DNA report read", username="rev2")
    assert (
        confirm_identification(dvi, number, checked="DNA report read", username="rev3").status
        == "confirmed"
    )
    return {"identification": number, "am": f"AM-{n}", "pm": f"PM-{n}"}


def not_entitled(dvi: OpenDVI, name: str) -> None:
    """The contact ``name`` is not among those entitled to be told (a neighbour who reported
    the person missing, say). Test data: no front end marks a contact so yet."""
    with dvi.db.write() as session:
        session.execute(
            text("UPDATE contacts SET entitled = false WHERE name = :name"), {"name": name}
        )


# -- helpers of the web tests, and of tests that spoil things on purpose --------------------


def client(site: dict[str, Any], role: str | None = None) -> TestClient:
    web = TestClient(site["app"], follow_redirects=False)
    if role is not None:
        page = web.get("/login")
        response = web.post(
            "/login",
            data={"username": role, "password": PASSWORD, "csrf": csrf_of(page.text), "next": "/"},
        )
        assert response.status_code == 303, response.text
    return web


def free_port() -> int:
    """A port on loopback that nothing listens on now, for a test's server."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def login(cli: Any, username: str, password: str = PASSWORD) -> None:
    """Sign in at the command line as ``username`` (``opendvi login``)."""
    signed = cli("login", username, "--password-stdin", input=password + "\n")
    assert signed.exit_code == 0, signed.output


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def fill(path: str, ids: dict[str, int]) -> str:
    path = path.replace("{ref:path}", "{ref}").replace("{am_ref:path}", "{am_ref}")
    if path.startswith("/records/missing/"):
        path = path.replace("{ref}", "AM-0")
    return (
        path.replace("{candidate_id}", str(ids["candidate"]))
        .replace("{pm_ref}", "PM-0")
        .replace("{am_ref}", "AM-0")
        .replace("{photo_id}", str(ids["pm0-photo"]))
        .replace("{face_id}", str(ids["pm0-face"]))
        .replace("{number}", str(ids["identification"]))
        .replace("{kind}", "remains")
        .replace("{ref}", "PM-0")
        .replace("{task_id}", str(ids.get("task", 0)))
        .replace("{username}", "second")
    )


def sharpness(data: bytes) -> float:
    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(grey, axis=1)).mean())


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares its size but whose pixels were never written."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def drop_audit_protection(dvi: OpenDVI) -> None:
    """What someone with direct access to the database could do before editing it."""
    with dvi.db.engine.begin() as connection:
        if dvi.db.is_sqlite:
            connection.execute(text("DROP TRIGGER audit_events_no_update"))
            connection.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            connection.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))


def tamper(dvi: OpenDVI, sql: str) -> None:
    drop_audit_protection(dvi)
    with dvi.db.engine.begin() as connection:
        connection.execute(text(sql))

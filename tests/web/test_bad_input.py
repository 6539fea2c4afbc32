"""Bad input gets a 4xx that names what is wrong, never a server error (issue 13, finding
10): numbers beyond what the database holds, and uploads whose names or contents are odd."""

from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from opendvi.app import OpenDVI
from tests.factories import build_site, client, csrf_of, jpeg_bytes

HUGE = "99999999999999999999"  # beyond 64 bits
BIG = "9410781112523481088"  # beyond a signed 64-bit integer


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def test_ids_beyond_64_bits_are_refused_by_name(site: dict[str, Any]) -> None:
    web = client(site, "admin")
    token = csrf_of(web.get("/").text)
    headers = {"X-CSRF-Token": token}
    answers = {
        f"/photos/{HUGE}.jpg": web.get(f"/photos/{HUGE}.jpg"),
        f"/faces/{BIG}.jpg": web.get(f"/faces/{BIG}.jpg"),
        f"/candidates/{BIG}": web.get(f"/candidates/{BIG}"),
        f"/identifications/{HUGE}": web.get(f"/identifications/{HUGE}"),
        f"/notifications/{BIG}": web.get(f"/notifications/{BIG}"),
        f"/api/candidates/{BIG}/refer": web.post(
            f"/api/candidates/{BIG}/refer", json={"compare": ["dna"]}, headers=headers
        ),
        f"/api/identifications/{HUGE}": web.get(f"/api/identifications/{HUGE}"),
    }
    for where, answer in answers.items():
        assert 400 <= answer.status_code < 500, (where, answer.status_code)


def _png_with_text_bomb() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG")
    png = out.getvalue()
    body = b"Comment\x00\x00" + zlib.compress(b"\x00" * 200_000_000, 9)
    chunk = len(body).to_bytes(4, "big") + b"zTXt" + body
    chunk += zlib.crc32(b"zTXt" + body).to_bytes(4, "big")
    return png[:33] + chunk + png[33:]  # after the IHDR chunk


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("..", jpeg_bytes()),
        (".", jpeg_bytes()),
        ("/", jpeg_bytes()),
        ("a" * 300 + ".jpg", jpeg_bytes()),
        ("bomb.png", _png_with_text_bomb()),
    ],
)
def test_an_odd_upload_is_refused_or_kept_by_name(
    site: dict[str, Any], name: str, data: bytes
) -> None:
    web = client(site, "caseworker")
    form = web.get("/records/missing/new")
    answer = web.post(
        "/records/missing/new",
        data={"csrf": csrf_of(form.text), "ref": "AM-ODD"},
        files=[("photos", (name, data, "image/jpeg"))],
    )
    assert answer.status_code in (303, 422), (name, answer.status_code)


def test_a_page_or_offset_beyond_64_bits_is_refused_by_name(site: dict[str, Any]) -> None:
    web = client(site, "admin")
    for where in (
        f"/api/candidates?offset={HUGE}",
        f"/api/identifications?offset={HUGE}",
        f"/api/notifications?offset={HUGE}",
        f"/api/records/missing?page={BIG}",
        f"/records/remains?page={BIG}",
        f"/review?page={BIG}",
    ):
        answer = web.get(where)
        assert answer.status_code == 422, (where, answer.status_code)
        named = "offset" if "offset" in where else "page"
        assert named in answer.text, (where, answer.text[:300])


def test_an_id_beyond_what_a_key_holds_is_refused_by_name_on_either_database(
    site: dict[str, Any],
) -> None:
    """The tables' keys are PostgreSQL's INTEGER: an id past 2**31 - 1 is no row's, and is
    refused as such, not carried to PostgreSQL to overflow there."""
    wide = str(2**40)
    web = client(site, "admin")
    headers = {"X-CSRF-Token": csrf_of(web.get("/").text)}
    answers = {
        "photo_id": web.get(f"/photos/{wide}.jpg"),
        "face_id": web.get(f"/faces/{wide}.jpg"),
        "candidate_id": web.get(f"/candidates/{wide}"),
        "number": web.get(f"/identifications/{wide}"),
        "task_id": web.get(f"/notifications/{wide}"),
        "candidate_id ": web.get(f"/api/candidates/{wide}"),
        "number ": web.post(
            f"/api/identifications/{wide}/confirm", json={"checked": "x"}, headers=headers
        ),
        "task_id ": web.get(f"/api/notifications/{wide}"),
        "step": web.post("/notifications/alerts/seen", data={"step": wide}, headers=headers),
        "task": web.post(
            f"/photos/{site['ids']['pm0-photo']}/reveal",
            data={"back": "/", "task": wide},
            headers=headers,
        ),
    }
    for field, answer in answers.items():
        assert answer.status_code == 422, (field, answer.status_code)
        assert field.strip() in answer.text, (field, answer.text[:300])


def _multipart(*parts: bytes) -> bytes:
    """A form's body as a client may send it, a file's name not escaped."""
    head = b"--edge\r\nContent-Disposition: form-data; "
    return b"".join(head + part + b"\r\n" for part in parts) + b"--edge--\r\n"


def test_text_with_a_nul_character_is_refused_by_name_on_either_database(
    site: dict[str, Any],
) -> None:
    """PostgreSQL holds no NUL character in text: one in a path, a query, a form or a JSON
    body is refused naming where it is, on SQLite as on PostgreSQL."""
    web = client(site, "admin")
    headers = {"X-CSRF-Token": csrf_of(web.get("/").text)}
    candidate = site["ids"]["candidate"]
    answers = {
        "ref": web.post("/api/records/remains", json={"ref": "PM-\x00"}, headers=headers),
        "description": web.post(
            "/api/records/remains", json={"ref": "PM-9", "description": "a\x00b"}, headers=headers
        ),
        "q": web.get("/api/records/remains?q=a%00b"),
        "ref ": web.get("/api/records/remains/PM%00"),
        "pm_ref": web.get("/api/candidates?pm_ref=a%00"),
        "reason": web.post(
            f"/api/candidates/{candidate}/exclude", json={"reason": "x\x00"}, headers=headers
        ),
        "q ": web.get("/records/missing?q=a%00"),
        "full_name": web.post(
            "/records/missing/new",
            data={"csrf": headers["X-CSRF-Token"], "ref": "AM-9", "full_name": "A\x00"},
        ),
        "photos": web.post(
            "/records/missing/new",
            content=_multipart(
                f'name="csrf"\r\n\r\n{headers["X-CSRF-Token"]}'.encode(),
                b'name="ref"\r\n\r\nAM-9',
                b'name="photos"; filename="a\x00.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
                + jpeg_bytes(),
            ),
            headers={"content-type": "multipart/form-data; boundary=edge"},
        ),
    }
    for field, answer in answers.items():
        assert answer.status_code == 422, (field, answer.status_code, answer.text[:200])
        assert field.strip() in answer.text and "NUL" in answer.text, (field, answer.text[:300])


def test_a_name_with_a_nul_character_is_named_without_it(site: dict[str, Any]) -> None:
    web = client(site, "admin")
    headers = {"X-CSRF-Token": csrf_of(web.get("/").text)}
    answer = web.post(
        f"/api/candidates/{site['ids']['candidate']}/exclude",
        json={"reason": "dental records differ", "extra": {"a\x00": "b"}},
        headers=headers,
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "extra.a\\x00"
    assert "\x00" not in answer.json()["detail"]

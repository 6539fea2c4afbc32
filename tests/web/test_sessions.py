"""Sessions and sign-in (issue 13, findings 1 and 2): the limit on failed sign-ins keys on
the account as stored, holds across processes and per address, and trusts no forwarding
header unless told; a session lives on the server, so logging out, a new password, a new
role or a deactivation ends it, and so does an idle hour; the cookie is a random id."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from opendvi.app import OpenDVI
from opendvi.people import add_user
from opendvi.settings import Settings
from opendvi.web import create_app
from tests.factories import PASSWORD, build_site, client, csrf_of, free_port


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def attempt(web: TestClient, username: str, password: str = "wrong password") -> int:
    token = csrf_of(web.get("/login").text)
    response = web.post("/login", data={"username": username, "password": password, "csrf": token})
    return response.status_code


def session_cookie(web: TestClient) -> str:
    return next(c.value for c in web.cookies.jar if c.name == "opendvi_session")


def test_a_locked_out_name_stays_locked_however_it_is_typed(site: dict[str, Any]) -> None:
    web = client(site)
    assert [attempt(web, "admin") for _ in range(5)] == [401] * 5
    for typed in (" admin", "admin ", "ADMIN", "\tAdmin "):
        assert attempt(web, typed, PASSWORD) == 429, typed


def test_failed_sign_ins_are_counted_where_every_process_sees_them(
    site: dict[str, Any], dvi: OpenDVI
) -> None:
    # Two server processes on one database: what one refused, the other knows.
    first, second = client(site), TestClient(create_app(dvi=dvi), follow_redirects=False)
    assert [attempt(first, "reviewer") for _ in range(3)] == [401] * 3
    assert [attempt(second, "reviewer") for _ in range(2)] == [401] * 2
    assert attempt(first, "reviewer", PASSWORD) == 429
    assert attempt(second, "reviewer", PASSWORD) == 429


def test_one_address_trying_many_names_is_limited(site: dict[str, Any], dvi: OpenDVI) -> None:
    limit = dvi.settings.login_attempts_per_address
    web = client(site)
    codes = [attempt(web, f"nobody{n}") for n in range(limit)]
    assert codes == [401] * limit
    # Any name now, even a right one, from this address.
    assert attempt(web, "caseworker", PASSWORD) == 429


def test_a_right_password_clears_only_its_own_account(site: dict[str, Any]) -> None:
    web = client(site)
    assert [attempt(web, "forensic") for _ in range(4)] == [401] * 4
    assert attempt(web, "forensic", PASSWORD) == 303
    assert [attempt(web, "forensic") for _ in range(5)] == [401] * 5
    assert attempt(web, "forensic", PASSWORD) == 429


def test_the_sign_in_form_needs_its_csrf_token(site: dict[str, Any]) -> None:
    web = client(site)
    response = web.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403 and "reload the page" in response.text
    assert web.get("/").status_code == 303  # not signed in


def serve(settings: Settings, port: int, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "OPENDVI_DATA_DIR": str(settings.data_dir),
        "OPENDVI_DATABASE_URL": settings.resolved_database_url(),
        **env,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "opendvi", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError("the server did not start")


def forged_attempts(port: int, count: int) -> list[int]:
    codes = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as web:
        for n in range(count):
            page = web.get("/login")
            codes.append(
                web.post(
                    "/login",
                    data={"username": "admin", "password": "wrong", "csrf": csrf_of(page.text)},
                    headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
                ).status_code
            )
    return codes


@pytest.mark.slow
def test_a_forwarded_address_is_believed_only_from_the_proxy_named_in_the_settings(
    dvi: OpenDVI, settings: Settings
) -> None:
    add_user(dvi, username="admin", role="admin", actor="test", password=PASSWORD)
    port = free_port()
    server = serve(settings, port)
    try:
        # From 127.0.0.1 with a new X-Forwarded-For each time: still one address.
        assert forged_attempts(port, 6) == [401] * 5 + [429]
    finally:
        server.terminate()
        server.wait(10)
    with dvi.db.write() as session:
        session.execute(text("DELETE FROM sign_in_failures"))
    port = free_port()
    server = serve(settings, port, OPENDVI_TRUSTED_PROXIES="127.0.0.1")
    try:
        # Behind a named proxy, each forwarded address is its own (the account's limit holds).
        assert forged_attempts(port, 6) == [401] * 5 + [429]
        with dvi.db.read() as session:
            addresses = set(session.execute(text("SELECT address FROM sign_in_failures")).scalars())
        assert addresses == {f"203.0.113.{n}" for n in range(1, 6)}
    finally:
        server.terminate()
        server.wait(10)


def test_the_cookie_is_a_random_id_that_carries_nothing(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    value = session_cookie(web)
    assert len(value) >= 40
    for piece in value.split("."):
        try:
            decoded = base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
        except ValueError:
            continue
        assert b"user_id" not in decoded and b"csrf" not in decoded and b"epoch" not in decoded
    with pytest.raises((ValueError, UnicodeDecodeError)):
        json.loads(base64.b64decode(value.split(".")[0] + "==="))
    with site["dvi"].db.read() as session:
        hashes = session.execute(text("SELECT password_hash FROM users")).scalars().all()
    assert not any(h[-16:] in value for h in hashes if h)


def test_logging_out_ends_the_session_even_for_a_copied_cookie(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    stolen = TestClient(site["app"], follow_redirects=False)
    stolen.cookies.set("opendvi_session", session_cookie(web))
    assert stolen.get("/").status_code == 200
    web.post("/logout", data={"csrf": csrf_of(web.get("/").text)})
    assert stolen.get("/").status_code == 303
    assert stolen.get("/api/records/missing").status_code == 401


@pytest.mark.parametrize("change", ["password", "role", "deactivation"])
def test_a_change_to_the_account_ends_its_sessions(site: dict[str, Any], change: str) -> None:
    from opendvi import people

    web = client(site, "second")
    assert web.get("/").status_code == 200
    dvi = site["dvi"]
    if change == "password":
        people.set_password(dvi, username="second", password="another password 1", actor="admin")
    elif change == "role":
        people.set_role(dvi, username="second", role="auditor", actor="admin")
    else:
        people.deactivate(dvi, username="second", actor="admin")
    assert web.get("/").status_code == 303
    with dvi.db.read() as session:
        ended = session.execute(
            text(
                "SELECT s.ended_why FROM user_sessions s JOIN users u ON u.id = s.user_id "
                "WHERE u.username = 'second'"
            )
        ).scalars()
        assert list(ended) == [
            {"password": "password changed", "role": "role changed"}.get(change, "deactivated")
        ]


def test_a_deactivated_user_neither_signs_in_nor_acts(site: dict[str, Any]) -> None:
    from opendvi import people
    from opendvi.errors import NotFound
    from opendvi.review import confirm_identification

    people.deactivate(site["dvi"], username="second", actor="admin")
    assert attempt(client(site), "second", PASSWORD) == 401
    with pytest.raises(NotFound, match="no active user 'second'"):
        confirm_identification(
            site["dvi"], site["ids"]["identification"], checked="DNA report read", username="second"
        )


def test_an_idle_session_ends_after_the_idle_time(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    assert web.get("/").status_code == 200
    idle = site["dvi"].settings.session_idle_minutes
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=idle + 1)
    with site["dvi"].db.write() as session:
        session.execute(text("UPDATE user_sessions SET last_seen_at = :at"), {"at": long_ago})
    assert web.get("/").status_code == 303


def test_signing_out_ends_only_that_session_once_and_is_audited(site: dict[str, Any]) -> None:
    from opendvi import audit

    first, second = client(site, "reviewer"), client(site, "second")
    kept = session_cookie(first)
    first.post("/logout", data={"csrf": csrf_of(first.get("/").text)})
    assert second.get("/").status_code == 200  # another's session goes on
    # The same id signed out again ends nothing more and writes nothing more.
    again = TestClient(site["app"], follow_redirects=False)
    again.cookies.set("opendvi_session", kept)
    assert again.post("/logout", data={"csrf": "x"}).status_code == 403
    from opendvi.people import end_session

    assert end_session(site["dvi"], kept) is None
    with site["dvi"].db.read() as session:
        outs = [
            (e.actor, e.entity_ref, e.details)
            for e in audit.recent(session, limit=50)
            if e.action == "user.signed_out"
        ]
    assert outs == [("reviewer", "reviewer", {"kind": "web"})]
    with site["dvi"].db.read() as session:
        why = session.execute(
            text("SELECT ended_why FROM user_sessions WHERE ended_at IS NOT NULL")
        ).scalars()
        assert list(why) == ["signed out"]


def test_a_command_line_token_is_no_web_cookie(site: dict[str, Any]) -> None:
    from opendvi.people import sign_in

    token = sign_in(site["dvi"], "reviewer", PASSWORD, address="test", kind="cli").token
    web = TestClient(site["app"], follow_redirects=False)
    web.cookies.set("opendvi_session", token)
    assert web.get("/").status_code == 303  # not signed in: it has no idle time of its own


def test_a_session_in_use_is_seen_so_its_idle_time_starts_again(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    five_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with site["dvi"].db.write() as session:
        session.execute(text("UPDATE user_sessions SET last_seen_at = :at"), {"at": five_ago})
    assert web.get("/").status_code == 200
    with site["dvi"].db.read() as session:
        seen = session.execute(text("SELECT last_seen_at FROM user_sessions")).scalar_one()
    seen = seen if isinstance(seen, dt.datetime) else dt.datetime.fromisoformat(str(seen))
    seen = seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC)
    assert dt.datetime.now(dt.UTC) - seen < dt.timedelta(minutes=1)

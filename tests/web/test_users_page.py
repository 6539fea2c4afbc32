"""The users page: admins only (others are told so, 403), the list with who is active and
when they last signed in, and forms that add, change a role, give a new password, deactivate
and reactivate, each answered with a redirect so a reload sends nothing again, except the
one answer that shows a new password, once. The "Users" link is in an admin's header only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.people import session_of, sign_in
from tests.factories import PASSWORD, build_site, client, csrf_of


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def post(web: TestClient, path: str, **data: str) -> Any:
    token = csrf_of(web.get("/users").text)
    return web.post(path, data={**data, "csrf": token})


def last_actions(dvi: OpenDVI, count: int) -> list[tuple[str, str, str]]:
    with dvi.db.read() as session:
        return [(e.actor, e.action, e.entity_ref) for e in audit.recent(session, limit=count)]


def test_only_an_admin_sees_the_page_and_the_link(site: dict[str, Any]) -> None:
    admin = client(site, "admin")
    page = admin.get("/users")
    assert page.status_code == 200
    assert '<a href="/users" aria-current="page">Users</a>' in page.text
    assert 'href="/users"' in admin.get("/").text
    for role in ("reviewer", "caseworker", "forensic", "auditor"):
        web = client(site, role)
        refused = web.get("/users")
        assert refused.status_code == 403, role
        assert "may not use this page; it is for: admin" in refused.text, role
        assert 'href="/users"' not in web.get("/").text, role


def test_a_form_posted_by_someone_else_than_an_admin_is_refused(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    token = csrf_of(web.get("/").text)
    answer = web.post("/users/second/deactivate", data={"csrf": token})
    assert answer.status_code == 403
    assert session_of(site["dvi"], sign_in(site["dvi"], "second", PASSWORD, address="t").token)


def test_the_list_shows_role_state_and_last_sign_in(site: dict[str, Any]) -> None:
    web = client(site, "admin")
    text = web.get("/users").text
    row = re.search(r'<tr id="user-admin".*?</tr>', text, re.S)
    assert row and "admin" in row.group(0) and "UTC" in row.group(0)
    auditor = re.search(r'<tr id="user-auditor".*?</tr>', text, re.S)
    assert auditor and "never" in auditor.group(0) and ">yes<" in auditor.group(0)


def test_changing_a_role_redirects_ends_their_sessions_and_is_audited(
    site: dict[str, Any],
) -> None:
    dvi = site["dvi"]
    theirs = client(site, "second")
    web = client(site, "admin")
    answer = post(web, "/users/second/role", role="auditor")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/users?done=role&user=second")
    shown = web.get(answer.headers["location"])
    assert "second has a new role" in shown.text
    assert theirs.get("/").status_code == 303  # signed out
    assert last_actions(dvi, 1) == [("admin", "user.role_changed", "second")]


def test_deactivating_ends_the_sessions_and_reactivating_brings_them_back(
    site: dict[str, Any],
) -> None:
    dvi = site["dvi"]
    theirs = client(site, "second")
    web = client(site, "admin")
    answer = post(web, "/users/second/deactivate")
    assert answer.status_code == 303
    assert "second is deactivated" in web.get(answer.headers["location"]).text
    assert theirs.get("/").status_code == 303
    assert "Reactivate second" in web.get("/users").text
    back = post(web, "/users/second/reactivate")
    assert back.status_code == 303
    assert client(site, "second").get("/").status_code == 200
    changes = [a for _, a, _ in last_actions(dvi, 5) if a.endswith("activated")]
    assert changes == ["user.reactivated", "user.deactivated"]


def test_a_new_password_is_shown_once_or_taken_as_given(site: dict[str, Any]) -> None:
    dvi = site["dvi"]
    web = client(site, "admin")
    made = post(web, "/users/second/password", password="")
    assert made.status_code == 200 and "not shown again" in made.text
    password = re.search(r'<code class="password">([^<]+)</code>', made.text)
    assert password is not None
    assert sign_in(dvi, "second", password.group(1), address="t").account.username == "second"
    assert password.group(1) not in web.get("/users").text  # once
    given = post(web, "/users/second/password", password="a chosen long one")
    assert given.status_code == 303
    assert sign_in(dvi, "second", "a chosen long one", address="t")
    short = post(web, "/users/second/password", password="short")
    assert short.status_code == 422 and "second: password: use at least 10" in short.text
    assert [a for _, a, _ in last_actions(dvi, 4) if a.startswith("user.password")] == [
        "user.password_changed",
        "user.password_reset",
    ]


def test_adding_a_user_with_a_password_or_one_made_for_them(site: dict[str, Any]) -> None:
    dvi = site["dvi"]
    web = client(site, "admin")
    given = post(web, "/users", username="Nadia", role="caseworker", password="nadia's long one")
    assert given.status_code == 303 and "user=nadia" in given.headers["location"]
    assert sign_in(dvi, "nadia", "nadia's long one", address="t").account.role == "caseworker"
    made = post(web, "/users", username="omar", role="reviewer", display_name="Omar K.")
    assert made.status_code == 200 and "omar was added" in made.text
    again = post(web, "/users", username="omar", role="auditor")
    assert again.status_code == 409 and "already a user &#39;omar&#39;" in again.text
    assert 'value="omar"' in again.text  # what was typed stays
    assert last_actions(dvi, 1) == [("admin", "user.added", "omar")]


def test_the_last_active_admin_cannot_be_deactivated_or_demoted_from_the_page(
    site: dict[str, Any],
) -> None:
    web = client(site, "admin")
    assert "The last active admin" in web.get("/users").text
    assert "Deactivate admin" not in web.get("/users").text
    for path, data in (("/users/admin/deactivate", {}), ("/users/admin/role", {"role": "auditor"})):
        refused = post(web, path, **data)
        assert refused.status_code == 409, path
        assert "admin is the last active admin" in refused.text
    assert web.get("/users").status_code == 200  # still signed in, still an admin


def test_an_admin_who_changes_their_own_account_signs_in_again(site: dict[str, Any]) -> None:
    from opendvi.people import add_user

    add_user(site["dvi"], username="deputy", role="admin", actor="test", password=PASSWORD)
    web = client(site, "deputy")
    answer = post(web, "/users/deputy/role", role="auditor")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/users"
    assert web.get("/users").status_code == 303  # their session ended with the change
    assert client(site, "deputy").get("/users").status_code == 403  # an auditor now

"""The web application: every route declares who may use it and is walked with every role;
sign-in, CSRF and the login limit; post-mortem photos blurred until revealed; exclusion from
the comparison page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.roles import Role
from opendvi.db.tables import Candidate, MissingPerson, Remains
from opendvi.records.intake import save_record
from opendvi.review import revoke_identification
from opendvi.web import api_routes
from opendvi.web.security import declared_roles
from tests.factories import PASSWORD, build_site, client, csrf_of, fill, free_port, sharpness


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path, families=True)


def test_every_route_declares_who_may_use_it(site: dict[str, Any]) -> None:
    routes = api_routes(site["app"])
    assert len(routes) >= 8
    missing = [r.path for r in routes if declared_roles(r.endpoint) is None]
    assert missing == [], f"routes without a role declaration: {missing}"


# The importer has no web pages (tests/cli/test_signed_in.py).
@pytest.mark.parametrize(
    "role", [*(role.value for role in Role if role is not Role.IMPORTER), None]
)
def test_every_route_walked_with_every_role(site: dict[str, Any], role: str | None) -> None:
    web = client(site, role)
    token = csrf_of(web.get("/login").text)
    for route in api_routes(site["app"]):
        allowed = declared_roles(route.endpoint) or frozenset()
        if route.path in ("/logout", "/login"):
            continue
        for method in route.methods or ():
            path = fill(route.path, site["ids"])
            assert "{" not in path, f"the walk does not know how to fill {route.path}"
            if method == "GET":
                response = web.get(path)
            else:
                response = web.request(method, path, data={"csrf": token, "reason": "x"})
            where = f"{method} {route.path} as {role}"
            if "public" in allowed:
                assert response.status_code < 400, where
            elif role is None:
                assert response.status_code in (303, 401), where
                if response.status_code == 303:
                    assert response.headers["location"].startswith("/login"), where
            elif role in allowed:
                # Past the guard: done, or refused by a rule of the work (409, 422), never
                # 401/403 or a crash.
                assert response.status_code < 400 or response.status_code in (409, 422), (
                    f"{where}: {response.status_code}"
                )
            else:
                assert response.status_code == 403, f"{where}: {response.status_code}"


def test_sign_in_out_and_the_session_cookie(site: dict[str, Any]) -> None:
    web = client(site)
    assert web.get("/").headers["location"] == "/login?next=/"
    page = web.get("/login")
    wrong = web.post(
        "/login", data={"username": "reviewer", "password": "nope", "csrf": csrf_of(page.text)}
    )
    assert wrong.status_code == 401 and "user name or password is wrong" in wrong.text
    assert 'value="reviewer"' in wrong.text  # what was typed is kept
    signed = client(site, "reviewer")
    cookie = next(c for c in signed.cookies.jar if c.name == "opendvi_session")
    assert cookie.has_nonstandard_attr("HttpOnly") or "httponly" in str(cookie._rest).lower()
    home = signed.get("/")
    assert home.status_code == 200 and "Dashboard" in home.text
    out = signed.post("/logout", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 303
    assert signed.get("/").status_code == 303


def test_a_change_without_the_csrf_token_is_refused(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    response = web.post(f"/candidates/{site['ids']['candidate']}/exclude", data={"reason": "x"})
    assert response.status_code == 403 and "reload the page" in response.text


def test_failed_logins_are_limited(site: dict[str, Any]) -> None:
    web = client(site)
    token = csrf_of(web.get("/login").text)
    codes = [
        web.post("/login", data={"username": "admin", "password": "bad", "csrf": token}).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    right = web.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": token})
    assert right.status_code == 429 and "Try again in" in right.text


def test_post_mortem_pictures_are_blurred_until_revealed(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    ids = site["ids"]
    page = web.get("/candidates/PM-0/AM-0")
    assert page.status_code == 200
    assert "Reveal post-mortem photo" in page.text
    pm_before = web.get(f"/photos/{ids['pm0-photo']}.jpg").content
    face_before = web.get(f"/faces/{ids['pm0-face']}.jpg").content
    am = web.get(f"/photos/{ids['am0-photo']}.jpg")
    assert am.headers["cache-control"] == "private, no-store"
    revealed = web.post(
        f"/photos/{ids['pm0-photo']}/reveal?face={ids['pm0-face']}",
        data={"csrf": csrf_of(page.text)},
        headers={"HX-Request": "true"},
    )
    assert revealed.status_code == 200 and f"/faces/{ids['pm0-face']}.jpg" in revealed.text
    pm_after = web.get(f"/photos/{ids['pm0-photo']}.jpg").content
    face_after = web.get(f"/faces/{ids['pm0-face']}.jpg").content
    assert sharpness(pm_after) > 2 * sharpness(pm_before)
    assert sharpness(face_after) > 2 * sharpness(face_before)
    # Remembered for the session, not for another user.
    assert (
        "Reveal post-mortem photo"
        not in web.get("/candidates/PM-0/AM-0").text.split("All photos")[0]
    )
    other = client(site, "second")
    assert sharpness(other.get(f"/photos/{ids['pm0-photo']}.jpg").content) < sharpness(pm_after)


def test_a_reviewer_excludes_a_pair_from_the_comparison_page(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    url = f"/candidates/{site['ids']['candidate']}"
    page = web.get("/candidates/PM-0/AM-0")
    blank = web.post(f"{url}/exclude", data={"csrf": csrf_of(page.text), "reason": "   "})
    assert blank.status_code == 422 and "say why the pair is excluded" in blank.text
    done = web.post(
        f"{url}/exclude", data={"csrf": csrf_of(page.text), "reason": "dental records differ"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/candidates/PM-0/AM-0"
    shown = web.get(done.headers["location"]).text
    assert "Excluded on" in shown and "dental records differ" in shown
    with site["dvi"].db.read() as session:
        assert audit.verify(session).ok
        assert session.get(Candidate, site["ids"]["candidate"]).status == "excluded"


def test_the_review_queue_lists_the_most_credible_first(site: dict[str, Any]) -> None:
    web = client(site, "auditor")
    queue = web.get("/review?show=all")
    assert queue.status_code == 200
    revoke_identification(
        site["dvi"], site["ids"]["identification"], reason="DNA redone", username="reviewer"
    )  # every pair back in the queue: none of an identified record
    shown = re.findall(r'href="/candidates/([^/"]+/[^/"]+)"', web.get("/review?show=all").text)
    with site["dvi"].db.read() as session:
        rates = {
            f"{pm}/{am}": c.false_candidate_rate
            for c, pm, am in session.execute(
                select(Candidate, Remains.ref, MissingPerson.ref)
                .join(Remains, Candidate.remains_id == Remains.id)
                .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
                .where(Candidate.rank_for_remains.is_not(None))
            )
        }
    assert len(shown) == len(rates) >= 2
    in_order = [rates[i] for i in shown]
    assert in_order == sorted(in_order)
    # An auditor reads but cannot decide.
    assert "Exclude this pair" not in web.get("/candidates/PM-0/AM-0").text


def test_the_json_api_lists_explains_and_excludes(site: dict[str, Any]) -> None:
    web = client(site, "reviewer")
    token = csrf_of(web.get("/").text)
    listed = web.get("/api/candidates", params={"pm_ref": "PM-0"}).json()
    assert [c["rank_for_remains"] for c in listed] == list(range(1, len(listed) + 1))
    one = web.get(f"/api/candidates/{site['ids']['candidate']}").json()
    assert one["pm_ref"] == "PM-0" and one["am_ref"] == "AM-0"
    assert set(one["factors"]) >= {"face", "sex", "age", "height", "dates", "place"}
    gone = web.get("/api/candidates/999999").json()["detail"]
    assert gone.startswith("there is no candidate 999999: no pair was ever given that number")
    blank = web.post(
        f"/api/candidates/{site['ids']['candidate']}/exclude",
        json={"reason": " "},
        headers={"X-CSRF-Token": token},
    )
    assert blank.status_code == 422 and blank.json()["field"] == "reason"
    done = web.post(
        f"/api/candidates/{site['ids']['candidate']}/exclude",
        json={"reason": "dental records differ"},
        headers={"X-CSRF-Token": token},
    )
    assert done.status_code == 200 and done.json()["status"] == "excluded"
    assert web.get("/api/stats").json()["missing_person_reports"] == 2
    docs = web.get("/api/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert web.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    spec = web.get("/api/openapi.json").json()
    assert "/api/candidates/{candidate_id}/exclude" in spec["paths"]
    assert client(site).get("/api/stats").status_code == 401


def test_an_identification_from_the_pages_needs_two_other_reviewers(site: dict[str, Any]) -> None:
    proposer = client(site, "reviewer")
    url = f"/candidates/{site['ids']['candidate']}"
    page = proposer.get("/candidates/PM-0/AM-0")
    face_only = proposer.post(
        f"{url}/identify",
        data={"csrf": csrf_of(page.text), "secondary": ["face"], "note": "looks just like him"},
    )
    assert face_only.status_code == 422 and "a face alone cannot identify" in face_only.text
    assert 'value="face" checked' in face_only.text  # what was chosen is kept
    done = proposer.post(
        f"{url}/identify",
        data={
            "csrf": csrf_of(page.text),
            "secondary": ["face", "marks"],
            "note": "scar over the left eyebrow, as the family described",
        },
    )
    assert done.status_code == 303
    where = done.headers["location"]
    checked = "the scar and the marks compared with the family's description"
    own = proposer.post(f"{where}/confirm", data={"csrf": csrf_of(page.text), "checked": checked})
    assert own.status_code == 409 and "cannot confirm it" in own.text
    for name in ("second", "forensic"):
        other = client(site, name)
        token = csrf_of(other.get(where).text)
        confirmed = other.post(f"{where}/confirm", data={"csrf": token, "checked": checked})
        assert confirmed.status_code == 303
    shown = proposer.get(where).text
    assert "Confirmed by second and forensic" in shown
    revoked = proposer.post(f"{where}/revoke", data={"csrf": csrf_of(shown), "reason": ""})
    assert revoked.status_code == 422 and "say why" in revoked.text
    proposer.post(f"{where}/revoke", data={"csrf": csrf_of(shown), "reason": "DNA differs"})
    history = proposer.get(where).text
    assert "Revoked: DNA differs" in history
    assert history.count("<td>confirm</td>") == 2
    with site["dvi"].db.read() as session:
        assert audit.verify(session).ok


def test_lists_filter_and_record_pages_show_photos_candidates_and_history(
    site: dict[str, Any],
) -> None:
    import datetime as dt

    dvi = site["dvi"]
    with dvi.db.write() as session:
        save_record(
            session,
            Remains,
            actor="test",
            ref="PM-OLD",
            fields={
                "sex": "M",
                "age_min": 60,
                "age_max": 70,
                "found_earliest": dt.date(2021, 3, 1),
                "found_latest": dt.date(2021, 3, 31),
                "found_place": "Riverside",
            },
        )
        save_record(
            session,
            MissingPerson,
            actor="test",
            ref="AM-ANA",
            fields={
                "full_name": "Ana Díaz",
                "sex": "F",
                "birth_earliest": dt.date(2000, 1, 1),
                "birth_latest": dt.date(2000, 12, 31),
                "last_seen_earliest": dt.date(2024, 5, 1),
                "last_seen_latest": dt.date(2024, 5, 1),
            },
        )
    web = client(site, "caseworker")

    def refs(url: str) -> set[str]:
        return set(re.findall(r'href="/records/\w+/([^"]+)"', web.get(url).text)) - {"new"}

    assert refs("/records/remains") == {"PM-0", "PM-1", "PM-OLD"}
    assert refs("/records/remains?sex=M") == {"PM-OLD"}
    assert refs("/records/remains?age=65") >= {"PM-OLD"}
    assert "PM-OLD" not in refs("/records/remains?age=30")
    assert refs("/records/remains?since=2021-03-15&until=2021-04-01") >= {"PM-OLD"}
    assert "PM-OLD" not in refs("/records/remains?since=2022-01-01")
    assert refs("/records/remains?q=riverside") == {"PM-OLD"}
    assert refs("/records/missing?q=d%C3%ADaz") == {"AM-ANA"}
    assert "AM-ANA" in refs("/records/missing?age=23")
    assert "AM-ANA" not in refs("/records/missing?age=40")
    bad = web.get("/records/remains?since=31/12/2020")
    assert bad.status_code == 422 and "since: 31/12/2020 is not a date" in bad.text
    assert 'value="31/12/2020"' in bad.text  # what was typed is kept

    page = web.get("/records/remains/PM-0").text
    assert "Photos and faces" in page and "(the person)" in page
    # A caseworker sees the post-mortem photo blurred, with no way to reveal it here;
    # those who examine remains may (issue 13, finding 5).
    assert "Reveal post-mortem photo" not in page
    assert "Reveal post-mortem photo" in client(site, "forensic").get("/records/remains/PM-0").text
    assert 'href="/candidates/' in page
    assert "remains: created" in page  # the history, from the audit log
    assert web.get("/records/remains/NOPE").status_code == 404


def test_the_dashboard_charts_identifications_by_month() -> None:
    import datetime as dt

    from opendvi.caseload import monthly_chart

    today = dt.datetime.now(dt.UTC)
    chart = monthly_chart([today, today, today - dt.timedelta(days=400)])
    assert len(chart.bars) == 12 and chart.total == 2
    assert chart.bars[-1].count == 2 and chart.bars[-1].height == 100
    assert all(b.count == 0 for b in chart.bars[:-1])


def test_opendvi_serve_starts_with_a_first_admin(cli_env: dict[str, str]) -> None:
    import os
    import subprocess
    import sys
    import time

    import httpx2 as httpx

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "opendvi", "serve", "--port", str(port)],
        env={**os.environ, **cli_env},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(150):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert page.status_code == 200 and "Sign in" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 303
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert "created user 'admin' with the password" in out
    assert f"OpenDVI on http://127.0.0.1:{port}/" in out


@pytest.mark.parametrize(
    "role,buttons",
    [
        ("caseworker", {"/records/missing/new"}),
        ("forensic", {"/records/remains/new"}),
        ("admin", {"/records/missing/new", "/records/remains/new"}),
        ("auditor", set()),
    ],
)
def test_the_dashboards_counts_link_to_their_lists_with_the_add_buttons_a_role_may_use(
    site: dict[str, Any], role: str, buttons: set[str]
) -> None:
    page = client(site, role).get("/").text
    big = dict(re.findall(r'<h2>([^<]+)</h2><p class="big"><a href="([^"]+)">', page))
    assert {
        "Missing-person reports": "/records/missing",
        "Unidentified remains": "/records/remains",
        "Candidates to review": "/review",
        "Identifications confirmed": "/identifications",
    }.items() <= {k: v for k, v in big.items()}.items()
    assert set(re.findall(r'<a class="button" href="([^"]+)">Add', page)) == buttons


def test_counts_kept_between_pages_follow_a_change_made_here_at_once(
    site: dict[str, Any],
) -> None:

    def reports_on_dashboard(web: TestClient) -> int:
        page = web.get("/").text
        found = re.search(
            r'Missing-person reports</h2><p class="big"><a href="/records/missing">([\d,]+)<', page
        )
        assert found, "no report count on the dashboard"
        return int(found.group(1).replace(",", ""))

    web = client(site, "auditor")
    before = reports_on_dashboard(web)
    assert reports_on_dashboard(web) == before  # kept: the second view counts nothing again
    with site["dvi"].db.write() as session:
        save_record(session, MissingPerson, actor="test", ref="AM-NEW", fields={"full_name": "New"})
    assert reports_on_dashboard(web) == before + 1


def test_the_web_threads_setting_limits_requests_worked_on_at_once(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    import anyio.to_thread

    from opendvi.web import create_app

    dvi.settings.web_threads = 3
    with TestClient(create_app(dvi=dvi)) as web:
        tokens = web.portal.call(  # type: ignore[union-attr]
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
        )
    assert tokens == 3

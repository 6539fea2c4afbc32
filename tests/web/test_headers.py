"""Every answer tells the browser to keep it to itself (issue 13, finding 3): a content
policy the pages pass (no inline script), no framing, no sniffing, no referrer, and nothing
about a person kept in a cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opendvi.app import OpenDVI
from tests.factories import build_site, client

SAME = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    return build_site(dvi, tmp_path)


def test_every_answer_carries_the_security_headers(site: dict[str, Any]) -> None:
    ids = site["ids"]
    anonymous = client(site)
    web = client(site, "admin")
    answers = {
        "/login": anonymous.get("/login"),
        "/ (signed out)": anonymous.get("/"),
        "/": web.get("/"),
        "/candidates": web.get(f"/candidates/{ids['candidate']}"),
        "/photos": web.get(f"/photos/{ids['pm0-photo']}.jpg"),
        "/api/stats": web.get("/api/stats"),
        "/api/nothing": web.get("/api/candidates/999999"),
        "/static/app.css": web.get("/static/app.css"),
    }
    for where, answer in answers.items():
        assert {k: answer.headers.get(k) for k in SAME} == SAME, where
        policy = answer.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, where
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[-1].split(";")[0], where
        if not where.startswith("/static"):
            assert "no-store" in answer.headers.get("cache-control", ""), where


def test_the_api_description_page_runs_only_its_own_hashed_script(site: dict[str, Any]) -> None:
    docs = client(site, "admin").get("/api/docs")
    assert docs.status_code == 200
    script = docs.headers["content-security-policy"].split("script-src", 1)[1].split(";")[0]
    assert "'sha256-" in script and "'unsafe-inline'" not in script

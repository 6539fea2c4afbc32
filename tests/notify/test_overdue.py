"""One meaning of "overdue" on every front end: a task whose family is not yet told after
its due date. A task carried out late is not overdue any more — not on the queue page, the
task page, the identification page or the dashboard, not in the API, not on the command
line."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.db.tables import Notification
from opendvi.notify import approve, plan, record_step, save_words, set_checklist
from opendvi.web import create_app
from tests.factories import PASSWORD, csrf_of, identified, users

YESTERDAY = dt.date.today() - dt.timedelta(days=1)


def test_only_a_task_not_yet_told_after_its_due_date_is_overdue() -> None:
    from opendvi.core.notification import is_overdue

    today = dt.date(2026, 5, 10)
    late = dt.date(2026, 5, 9)
    for status in ("prepared", "approved"):
        assert is_overdue(status, late, today)
        assert not is_overdue(status, today, today)
        assert not is_overdue(status, None, today)
    for status in ("carried_out", "acknowledged", "closed", "cancelled"):
        assert not is_overdue(status, late, today), status


@pytest.fixture
def cli_env(cli_env: dict[str, str]) -> dict[str, str]:
    return {**cli_env, "COLUMNS": "160"}


@pytest.fixture
def told_late(dvi: OpenDVI) -> dict[str, Any]:
    """One task told after its due date (carried out), one still waiting and late."""
    users(dvi)
    told = identified(dvi, 0)["identification"]
    waiting = identified(dvi, 1)["identification"]
    with dvi.db.read() as session:
        ids = {
            number: session.execute(
                select(Notification.id).where(Notification.identification_id == number)
            ).scalar_one()
            for number in (told, waiting)
        }
    for number in (told, waiting):
        plan(
            dvi,
            ids[number],
            channel="in_person",
            assigned=["case1", "case2"],
            due_on=YESTERDAY,
            username="case1",
        )
    task = ids[told]
    save_words(dvi, task, subject="", text="Words read and saved.", username="case1")
    approve(dvi, task, username="case2")
    set_checklist(dvi, task, items={"identity": True, "relationship": True}, username="case1")
    record_step(dvi, task, kind="visit", outcome="told", username="case1")
    with dvi.db.read() as session:
        assert session.get(Notification, task).status == "carried_out"  # type: ignore[union-attr]
    return {"told": task, "waiting": ids[waiting], "identification": told, "dvi": dvi}


def _signed_in(dvi: OpenDVI) -> TestClient:
    web = TestClient(create_app(dvi=dvi), follow_redirects=False)
    page = web.get("/login")
    web.post("/login", data={"username": "case1", "password": PASSWORD, "csrf": csrf_of(page.text)})
    return web


def test_a_task_told_late_is_overdue_nowhere(told_late: dict[str, Any], cli: Any) -> None:
    told, waiting = told_late["told"], told_late["waiting"]
    web = _signed_in(told_late["dvi"])

    queue = web.get("/notifications?show=all").text
    marked = dict(
        (task, bool(css))
        for css, task in re.findall(
            r"<tr( class=\"overdue\")?>\s*<td><a href=\"/notifications/(\d+)\"", queue
        )
    )
    assert marked == {str(waiting): True, str(told): False}
    assert "1 overdue" in queue

    assert "overdue" not in web.get(f"/notifications/{told}").text.split('<main id="main">')[1]
    assert "overdue" in web.get(f"/notifications/{waiting}").text.split('<main id="main">')[1]
    page = web.get(f"/identifications/{told_late['identification']}").text
    assert 'class="overdue"' not in page

    home = web.get("/").text
    assert "1 overdue" in home

    listed = {t["id"]: t["overdue"] for t in web.get("/api/notifications?open=false").json()}
    assert listed == {told: False, waiting: True}
    assert web.get(f"/api/notifications/{told}").json()["overdue"] is False

    result = cli("notify", "list")
    assert result.exit_code == 0, result.output
    lines = {
        line.split()[0]: line for line in result.stdout.splitlines() if line.strip()[:1].isdigit()
    }
    assert "OVERDUE" in lines[str(waiting)] and "OVERDUE" not in lines[str(told)]
    assert "OVERDUE" not in cli("notify", "show", str(told)).stdout

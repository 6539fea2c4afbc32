"""Telling a family in a real browser: a caseworker plans an e-mail with two staff and drafts
the words again in Ukrainian, a second caseworker approves, the first sends; a real SMTP
server receives one plain-text message, without attachment, in Ukrainian."""

from __future__ import annotations

import email
import threading
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Notification, NotificationStep
from opendvi.web import create_app
from tests.factories import PASSWORD, free_port, identified, users


@pytest.fixture
def smtp_server() -> Iterator[dict[str, Any]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[Any] = []

    class Keep(Message):  # type: ignore[misc]
        def handle_message(self, message: Any) -> None:
            received.append(message)

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield {"port": port, "received": received}
    controller.stop()


@pytest.fixture
def families_live(dvi: OpenDVI, smtp_server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The confirmed identification of tests/notify_site.py served on loopback, its e-mail
    going to the test's SMTP server."""
    import uvicorn

    users(dvi)
    made = identified(dvi)
    dvi.settings.smtp_host = "127.0.0.1"
    dvi.settings.smtp_port = smtp_server["port"]
    dvi.settings.mail_from = "team@dvi.example.org"
    with dvi.db.read() as session:
        task = session.execute(select(Notification.id)).scalar_one()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(dvi=dvi), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield {**made, "dvi": dvi, "task": task, "url": f"http://127.0.0.1:{port}"}
    server.should_exit = True
    thread.join(timeout=10)


def test_an_email_is_planned_drafted_in_ukrainian_approved_by_another_and_sent(
    families_live: dict[str, Any],
    browser: Any,
    smtp_server: dict[str, Any],
    screenshots: Path,
) -> None:
    url, task = families_live["url"], families_live["task"]
    contexts = []

    def person(username: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{url}/login")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/")
        return page

    try:
        first = person("case1")
        first.get_by_role("navigation", name="Main").get_by_role("link", name="Families").click()
        first.wait_for_url(f"{url}/notifications")
        row = first.get_by_role("row").filter(has_text="Olena Kovalenko")
        assert "AM-0" in row.inner_text() and "Українська" in row.inner_text()
        row.get_by_role("link", name=f"Task {task}").click()
        first.wait_for_url(f"{url}/notifications/{task}")
        assert (
            first.get_by_role("heading", level=1).inner_text().startswith("Telling Olena Kovalenko")
        )
        assert "Petro Kovalenko did not consent to be contacted" in first.content()

        first.get_by_label("Way of telling").select_option("email")
        first.get_by_label("First person").select_option("case1")
        first.get_by_label("Second person").select_option("case3")
        first.get_by_role("button", name="Save the plan").click()
        first.wait_for_url(f"{url}/notifications/{task}?done=plan#plan")
        first.get_by_label("Draft again in").select_option("uk")
        first.get_by_role("button", name="Draft again").click()
        first.wait_for_url(f"{url}/notifications/{task}?done=redraft#words")
        words = first.get_by_label("Words", exact=True)
        assert "особисто" in words.input_value()  # the letter's words: we will tell you in person
        assert words.get_attribute("lang") == "uk" and words.get_attribute("dir") == "ltr"
        assert first.get_by_label("Subject").input_value() == "Щодо Andrii Kovalenko"
        first.get_by_role("button", name="I have read these words: save them").click()
        first.wait_for_url(f"{url}/notifications/{task}?done=words#words")
        assert first.get_by_role("button", name="Approve the words and the plan").count() == 0
        assert "Another caseworker or an admin, not you, must approve them" in first.content()

        second = person("case2")
        second.goto(f"{url}/notifications/{task}")
        second.get_by_role("button", name="Approve the words and the plan").click()
        second.wait_for_url(f"{url}/notifications/{task}?done=approve*")
        assert "ready to tell the family" in second.locator("p.verdict").inner_text()

        first.reload()
        assert "olena@example.org" in first.content()
        first.get_by_role("button", name="Send the e-mail").click()
        first.wait_for_url(f"{url}/notifications/{task}?done=send*")
        status = first.locator("p.verdict").inner_text()
        assert status.startswith("Carried out")
        history = first.get_by_role("row").filter(has_text="E-mail sent")
        assert "case1" in history.inner_text() and "sent" in history.inner_text()
        assert first.get_by_role("button", name="Send the e-mail").count() == 0
        first.screenshot(path=str(screenshots / "notification.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()

    assert len(smtp_server["received"]) == 1
    message = email.message_from_bytes(smtp_server["received"][0].as_bytes(), policy=policy.default)
    assert message["To"] == "olena@example.org"
    assert message["From"] == "team@dvi.example.org"
    assert message["Subject"] == "Щодо Andrii Kovalenko"
    assert message["Content-Language"] == "uk"
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    assert list(message.iter_attachments()) == []
    body = message.get_content()
    assert "особисто" in body and "Olena Kovalenko" in body
    assert "/photos/" not in body and "/faces/" not in body
    dvi = families_live["dvi"]
    with dvi.db.read() as session:
        done = session.get(Notification, task)
        assert done is not None and done.status == "carried_out"
        step = session.execute(select(NotificationStep)).scalar_one()
        assert (step.kind, step.outcome) == ("email", "sent")
        assert audit.verify(session).ok

"""``opendvi notify``: a family told from the command line, from the task opened by the
confirmation to the task closed; the same rules as everywhere (a second person approves,
only caseworkers and admins act), errors as messages with exit status 2."""

from __future__ import annotations

import datetime as dt
import email
import sys
from email import policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import Notification, NotificationStep
from opendvi.errors import InputError, NotFound, Refused
from tests.factories import identified, login, not_entitled, users

SENDER = "team@dvi.example.org"


@pytest.fixture
def cli_env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The test's database, a sender, and an outbox folder (no mail server)."""
    return {
        **cli_env,
        "OPENDVI_MAIL_FROM": SENDER,
        "OPENDVI_OUTBOX_DIR": str(tmp_path / "outbox"),
        "OPENDVI_SMTP_HOST": "",
        "COLUMNS": "160",
    }


@pytest.fixture
def site(dvi: OpenDVI) -> dict[str, Any]:
    users(dvi)
    return identified(dvi)


def _task(dvi: OpenDVI) -> Notification:
    with dvi.db.read() as session:
        return session.execute(select(Notification)).scalar_one()


def _ok(result: Any) -> str:
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def test_a_family_told_from_the_command_line(
    dvi: OpenDVI, site: dict[str, Any], cli: Any, cli_as: Any, tmp_path: Path
) -> None:
    task = _task(dvi)
    n = str(task.id)
    due = dt.date.today() + dt.timedelta(days=dvi.settings.notify_within_days)

    listed = _ok(cli("notify", "list"))
    assert listed.count("AM-0") == 1
    assert "Olena Kovalenko" in listed and "in_person" in listed and "prepared" in listed
    assert str(due) in listed and "OVERDUE" not in listed
    assert "Petro" not in listed and "Ivan" not in listed

    shown = _ok(cli_as("case1", "notify", "show", n))
    assert f"task {n}: prepared, due {due}" in shown
    assert "remains PM-0 are AM-0, Andrii Kovalenko" in shown
    assert "contact: Olena Kovalenko (mother), language uk" in shown
    assert "chose: in_person,email; e-mail olena@example.org; phone +380440000000" in shown
    assert "  Petro Kovalenko did not consent to be contacted" in shown
    assert "  Ivan Shevchuk's consent to be contacted is not recorded" in shown
    assert "plan: in_person, in uk, told by nobody yet" in shown
    assert "words saved by nobody yet; not approved" in shown
    assert "[ ] The contact's identity is checked (identity)" in shown
    assert "Що сказати Olena Kovalenko" in shown  # the words for a visit, in Ukrainian
    assert "steps: none yet" in shown

    planned = _ok(
        cli_as(
            "case1",
            "notify",
            "plan",
            n,
            "--channel",
            "email",
            "--assign",
            "case1,case3",
            "--due",
            "2030-01-31",
        )
    )
    assert f"task {n}: email, told by case1 and case3, due 2030-01-31" in planned
    assert "drafted for in_person; draft them again for email" in planned
    assert f"opendvi notify redraft {n} --language uk`" in planned

    redrafted = _ok(cli_as("case1", "notify", "redraft", n, "--language", "uk"))
    assert "new words from the template in Українська (uk)" in redrafted
    fresh = _task(dvi)
    assert fresh.subject == "Щодо Andrii Kovalenko" and fresh.drafted_by_id is None
    assert fresh.due_on == dt.date(2030, 1, 31)

    words = tmp_path / "words.txt"
    words.write_text(fresh.draft + "\n\nЗ повагою, Марія", encoding="utf-8")
    saved = _ok(cli_as("case1", "notify", "words", n, "--file", str(words)))
    assert f"task {n}: words saved by case1" in saved
    kept = _task(dvi)
    assert kept.draft == fresh.draft + "\n\nЗ повагою, Марія"
    assert kept.subject == "Щодо Andrii Kovalenko"  # no --subject: the subject stays

    with pytest.raises(Refused, match="you wrote these words; a second person approves them"):
        cli_as("case1", "notify", "approve", n)
    approved = _ok(cli_as("case2", "notify", "approve", n))
    assert f"task {n}: words and plan approved by case2" in approved
    assert f"`opendvi notify send {n}`" in approved

    sent = _ok(cli_as("case3", "notify", "send", n))
    outbox = list((tmp_path / "outbox").glob("*.eml"))
    assert len(outbox) == 1
    assert f"task {n}: e-mail to olena@example.org written to {outbox[0]}" in sent
    assert "waits in the outbox" in sent
    message = email.message_from_bytes(outbox[0].read_bytes(), policy=policy.default)
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    assert list(message.iter_attachments()) == []
    assert message["From"] == SENDER and message["To"] == "olena@example.org"
    assert message["Subject"] == "Щодо Andrii Kovalenko"
    assert message["Content-Language"] == "uk"
    assert "З повагою, Марія" in message.get_content()
    assert _task(dvi).status == "carried_out"

    # The e-mail asked to meet; the family is told in person, after the checks.
    with pytest.raises(Refused, match="first: the contact's identity is checked"):
        cli_as("case3", "notify", "log", n, "visit", "--outcome", "told")
    checked = _ok(cli_as("case3", "notify", "check", n, "identity", "relationship"))
    assert "[x] The contact's identity is checked (identity)" in checked
    assert "[x] Their relationship to the missing person is checked (relationship)" in checked
    assert "[ ] Family support offered (psychosocial, legal, practical) (support)" in checked
    visit = _ok(
        cli_as(
            "case3",
            "notify",
            "log",
            n,
            "visit",
            "--outcome",
            "told",
            "--on",
            "2030-01-20",
            "--note",
            "with her son",
        )
    )
    assert f"task {n}: Visit (the family was told) recorded; the task is carried_out" in visit
    acknowledged = _ok(cli_as("case1", "notify", "log", n, "acknowledged"))
    assert "The family acknowledged the news recorded; the task is acknowledged" in acknowledged
    assert _ok(cli_as("case1", "notify", "close", n, "--note", "remains returned")) == (
        f"task {n}: closed\n"
    )

    assert _ok(cli("notify", "list")) == "no open notification tasks\n"
    everything = _ok(cli("notify", "list", "--all"))
    assert "Olena Kovalenko" in everything and "closed" in everything

    final = _ok(cli("notify", "show", n))
    assert f"task {n}: closed, due 2030-01-31" in final
    assert "plan: email, in uk, told by case1 and case3" in final
    assert "words saved by case1; approved by case2 on " in final
    assert "subject: Щодо Andrii Kovalenko" in final
    assert "note for staff: remains returned" in final
    for shown_step in (
        "E-mail put in the outbox",
        "Visit",
        "the family was told",
        "with her son",
        "2030-01-20",
        "The family acknowledged the news",
    ):
        assert shown_step in final, shown_step
    with dvi.db.read() as session:
        steps = session.execute(
            select(NotificationStep.kind, NotificationStep.outcome).order_by(NotificationStep.id)
        ).all()
        assert [tuple(s) for s in steps] == [
            ("outbox", "sent"),
            ("visit", "told"),
            ("acknowledged", ""),
        ]
        assert audit.verify(session).ok
        actions = [
            e.action
            for e in audit.recent(session, limit=40)
            if not e.action.startswith("user.signed")
        ]
    for action in ("planned", "redrafted", "drafted", "approved", "sent", "visit", "closed"):
        assert f"notification.{action}" in actions


def test_words_from_standard_input_and_an_overdue_task(
    dvi: OpenDVI, site: dict[str, Any], cli: Any, cli_as: Any, cli_env: dict[str, str]
) -> None:
    n = str(_task(dvi).id)
    _ok(
        cli_as(
            "case1",
            "notify",
            "plan",
            n,
            "--channel",
            "in_person",
            "--assign",
            "case1, case3",
            "--due",
            "2020-01-01",
        )
    )
    listed = _ok(cli("notify", "list"))
    assert "2020-01-01 OVERDUE" in listed
    assert "OVERDUE" in _ok(cli("notify", "show", n))

    from opendvi.cli import app

    login(cli, "case3")
    typed = CliRunner().invoke(
        app,
        ["notify", "words", n, "--file", "-", "--subject", "Про Андрія"],
        env=cli_env,
        input="Ми маємо дуже сумну звістку.\n".encode(),
        catch_exceptions=False,
    )
    assert typed.exit_code == 0, typed.output
    task = _task(dvi)
    assert task.draft == "Ми маємо дуже сумну звістку." and task.subject == "Про Андрія"
    # The due date stays when a new plan does not give one.
    _ok(cli_as("case3", *f"notify plan {n} --channel in_person --assign case1,case2".split()))
    assert _task(dvi).due_on == dt.date(2020, 1, 1)
    _ok(cli_as("case1", "notify", "approve", n))
    assert _task(dvi).status == "approved"
    login(cli, "case3")
    resaved = CliRunner().invoke(
        app,
        ["notify", "words", n, "--file", "-"],
        env=cli_env,
        input="Ми маємо дуже сумну звістку. Андрій загинув.\n".encode(),
        catch_exceptions=False,
    )
    assert "the earlier approval is withdrawn" in resaved.stdout
    assert _task(dvi).status == "prepared"
    assert "OVERDUE" in _ok(cli("notify", "list"))


def test_who_may_act_and_what_is_refused(
    dvi: OpenDVI, site: dict[str, Any], cli: Any, cli_as: Any, tmp_path: Path
) -> None:
    n = str(_task(dvi).id)
    with pytest.raises(Refused, match="auditor is an auditor; only a caseworker or an admin"):
        cli_as("auditor", "notify", "plan", n, "--channel", "in_person", "--assign", "case1,case3")
    with pytest.raises(Refused, match="rev1 is a reviewer; only a caseworker or an admin"):
        cli_as("rev1", "notify", "check", n, "identity")
    with pytest.raises(InputError, match="chose a visit in person or an e-mail, not a phone"):
        cli_as("case1", "notify", "plan", n, "--channel", "phone", "--assign", "case1,case3")
    with pytest.raises(InputError, match="unknown item 'hugs'; the items are identity, "):
        cli_as("case1", "notify", "check", n, "hugs")
    with pytest.raises(InputError, match="kind: choose one of visit, call, letter"):
        cli_as("case1", "notify", "log", n, "dance")
    with pytest.raises(Refused, match="nobody has read and saved these words"):
        cli_as("case2", "notify", "approve", n)
    with pytest.raises(Refused, match="to be carried out by in person; record it"):
        cli_as("case1", "notify", "send", n)
    with pytest.raises(NotFound, match="there is no notification task 999"):
        cli("notify", "show", "999")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Très triste".encode("latin-1"))
    with pytest.raises(InputError, match="is not UTF-8 text"):
        cli_as("case1", "notify", "words", n, "--file", str(latin1))
    with pytest.raises(InputError, match="draft: the words are empty"):
        (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
        cli_as("case1", "notify", "words", n, "--file", str(tmp_path / "empty.txt"))
    task = _task(dvi)
    assert task.status == "prepared" and task.assigned == [] and task.drafted_by_id is None


def test_a_refusal_is_a_message_and_exit_status_2(
    dvi: OpenDVI,
    site: dict[str, Any],
    cli: Any,
    cli_as: Any,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from opendvi.cli import main

    n = str(_task(dvi).id)
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    _ok(cli_as("case1", "notify", "plan", n, "--channel", "in_person", "--assign", "case1,case3"))
    words = tmp_path / "words.txt"
    words.write_text("Слова.", encoding="utf-8")
    _ok(cli_as("case1", "notify", "words", n, "--file", str(words)))
    monkeypatch.setattr(sys, "argv", ["opendvi", "notify", "approve", n])
    with pytest.raises(SystemExit) as refused:
        main()
    assert refused.value.code == 2
    out = capsys.readouterr()
    assert out.err == "error: you wrote these words; a second person approves them\n"
    assert out.out == ""
    assert _task(dvi).status == "prepared"


def test_a_revoked_identification_cancels_the_pending_task(
    dvi: OpenDVI, site: dict[str, Any], cli: Any, cli_as: Any
) -> None:
    n = str(_task(dvi).id)
    number = str(site["identification"])
    _ok(cli_as("rev1", "identify", "revoke", number, "--reason", "DNA sample mix-up"))
    assert _ok(cli("notify", "list")) == "no open notification tasks\n"
    assert "cancelled" in _ok(cli("notify", "list", "--all"))
    shown = _ok(cli("notify", "show", n))
    assert f"task {n}: cancelled" in shown
    assert f"cancelled: identification {number} revoked: DNA sample mix-up" in shown
    assert f"identification {number} (revoked, dna)" in shown
    with pytest.raises(Refused, match="its words and plan are kept as they were used"):
        cli_as("case1", "notify", "redraft", n, "--language", "en")


def test_a_contact_no_longer_entitled_is_named_and_not_sent_to(
    dvi: OpenDVI, site: dict[str, Any], cli: Any, cli_as: Any, tmp_path: Path
) -> None:
    n = str(_task(dvi).id)
    _ok(cli_as("case1", "notify", "plan", n, "--channel", "email", "--assign", "case1,case3"))
    _ok(cli_as("case1", "notify", "redraft", n, "--language", "uk"))
    words = tmp_path / "words.txt"
    words.write_text(_task(dvi).draft, encoding="utf-8")
    _ok(cli_as("case1", "notify", "words", n, "--file", str(words)))
    _ok(cli_as("case2", "notify", "approve", n))
    not_entitled(dvi, "Olena Kovalenko")
    why = "Olena Kovalenko is not among those entitled to be told"
    assert f"  {why}" in _ok(cli("notify", "show", n))
    with pytest.raises(Refused, match=why):
        cli_as("case1", "notify", "send", n)
    assert _task(dvi).status == "approved"
    assert list((tmp_path / "outbox").glob("*.eml")) == []

"""The command line is a person too (issue 13, finding 4): a command that records a decision,
a family step, an import or a change to an account acts as a user who signed in with
`opendvi login` (a token kept 0600 in their own config folder, expiring); naming someone
with `--by` is gone, so one shell cannot confirm as two reviewers."""

from __future__ import annotations

import datetime as dt
import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.errors import OpenDVIError
from opendvi.people import add_user
from opendvi.review import propose_identification
from tests.factories import PASSWORD, build_site, write_photo


@dataclass
class Answer:
    exit_code: int
    output: str


@pytest.fixture
def cli(cli: Any) -> Any:
    """The command as `opendvi` runs it: a refusal is printed, and the exit status is 2."""

    def run(*args: str, input: str | None = None) -> Any:
        try:
            return cli(*args, input=input)
        except OpenDVIError as refused:
            return Answer(2, f"error: {refused}")

    return run


@pytest.fixture
def site(dvi: OpenDVI, tmp_path: Path) -> dict[str, Any]:
    built = build_site(dvi, tmp_path)
    add_user(dvi, username="third", role="reviewer", actor="test", password=PASSWORD)
    return built


def login(cli: Any, username: str, password: str = PASSWORD) -> Any:
    return cli("login", username, "--password-stdin", input=password + "\n")


def test_one_shell_cannot_confirm_as_two_reviewers(cli: Any, site: dict[str, Any]) -> None:
    number = str(site["ids"]["identification"])
    named = cli("identify", "confirm", number, "--by", "reviewer")
    assert named.exit_code == 2 and "--by" in named.output  # no such option any more
    checked = ("--checked", "DNA report read")
    unsigned = cli("identify", "confirm", number, *checked)
    assert unsigned.exit_code == 2 and "opendvi login" in unsigned.output
    assert login(cli, "reviewer").exit_code == 0
    assert cli("identify", "confirm", number, *checked).exit_code == 0
    again = cli("identify", "confirm", number, *checked)
    assert again.exit_code == 2 and "already confirmed" in again.output
    assert login(cli, "second").exit_code == 0
    done = cli("identify", "confirm", number, *checked)
    assert done.exit_code == 0 and "confirmed: both records" in done.output
    with site["dvi"].db.read() as session:
        actors = [
            e.actor
            for e in audit.recent(session, limit=20)
            if e.action.startswith("identification.confirm")
        ]
    assert sorted(actors) == ["reviewer", "second"]


def test_the_token_is_the_users_own_and_expires(
    cli: Any, site: dict[str, Any], cli_env: dict[str, str]
) -> None:
    assert login(cli, "third").exit_code == 0
    folder = Path(cli_env["XDG_CONFIG_HOME"]) / "opendvi"
    (token_file,) = folder.glob("session-*.json")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    kept = json.loads(token_file.read_text())
    assert kept["username"] == "third" and PASSWORD not in token_file.read_text()
    whoami = cli("whoami")
    assert whoami.exit_code == 0 and "third" in whoami.output
    with site["dvi"].db.write() as session:
        session.execute(
            text("UPDATE user_sessions SET expires_at = :at"),
            {"at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)},
        )
    expired = cli("exclude", "PM-0", "AM-1", "--reason", "different teeth")
    assert expired.exit_code == 2 and "opendvi login" in expired.output


def test_logging_out_ends_the_token(
    cli: Any, site: dict[str, Any], cli_env: dict[str, str]
) -> None:
    assert login(cli, "third").exit_code == 0
    (token_file,) = (Path(cli_env["XDG_CONFIG_HOME"]) / "opendvi").glob("session-*.json")
    copy = token_file.read_text()
    assert cli("logout").exit_code == 0
    assert not token_file.exists()
    token_file.write_text(copy)  # a copy kept from before is worth nothing
    refused = cli("exclude", "PM-0", "AM-1", "--reason", "different teeth")
    assert refused.exit_code == 2 and "opendvi login" in refused.output


def test_a_wrong_password_signs_nobody_in(cli: Any, site: dict[str, Any]) -> None:
    wrong = login(cli, "third", "not the password")
    assert wrong.exit_code == 2 and "user name or password is wrong" in wrong.output
    assert cli("whoami").exit_code == 2


def test_a_service_account_imports_and_does_nothing_else(
    cli: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    from tests.factories import client

    add_user(site["dvi"], username="loader", role="importer", actor="test", password=PASSWORD)
    assert login(cli, "loader").exit_code == 0
    write_photo(tmp_path / "am77.jpg", seed=77)
    rows = tmp_path / "reports.csv"
    rows.write_text("ref,full_name,photos\nAM-77,Test Person,am77.jpg\n")
    imported = cli("import", "missing", str(rows), "--no-faces", "--no-match")
    assert imported.exit_code == 0, imported.output
    with site["dvi"].db.read() as session:
        actor = session.execute(
            text("SELECT actor FROM audit_events WHERE entity_ref = 'AM-77'")
        ).scalar_one()
    assert actor == "loader"
    refused = cli("exclude", "PM-0", "AM-1", "--reason", "different teeth")
    assert refused.exit_code == 2 and "loader is an importer" in refused.output
    web = client(site)
    from tests.factories import csrf_of

    page = web.get("/login")
    answer = web.post(
        "/login", data={"username": "loader", "password": PASSWORD, "csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 401 and "command line only" in answer.text


def test_a_caseworker_may_not_import_remains(
    cli: Any, site: dict[str, Any], tmp_path: Path
) -> None:
    assert login(cli, "caseworker").exit_code == 0
    rows = tmp_path / "remains.csv"
    rows.write_text("ref,sex\nPM-77,F\n")
    refused = cli("import", "unidentified", str(rows), "--no-faces", "--no-match")
    assert refused.exit_code == 2 and "caseworker is a caseworker" in refused.output


def test_accounts_are_changed_by_a_signed_in_admin_only(cli: Any, site: dict[str, Any]) -> None:
    unsigned = cli("users", "deactivate", "third")
    assert unsigned.exit_code == 2 and "opendvi login" in unsigned.output
    assert login(cli, "reviewer").exit_code == 0
    refused = cli("users", "deactivate", "third")
    assert refused.exit_code == 2 and "only an admin" in refused.output
    assert login(cli, "admin").exit_code == 0
    assert cli("users", "role", "third", "--role", "auditor").exit_code == 0
    assert cli("users", "deactivate", "third").exit_code == 0
    assert login(cli, "third").exit_code == 2


def test_the_first_admin_is_added_without_signing_in(cli: Any) -> None:
    first = cli("users", "add", "chief", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert first.exit_code == 0, first.output
    second = cli("users", "add", "deputy", "--role", "admin", "--password-stdin", input=PASSWORD)
    assert second.exit_code == 2 and "opendvi login" in second.output


def test_propose_and_family_steps_need_a_sign_in_too(cli: Any, site: dict[str, Any]) -> None:
    dvi = site["dvi"]
    propose_identification(
        dvi, ("PM-0", "AM-0"), primary=["dna"], secondary=[], note="", username="reviewer"
    )
    for command in (
        ("identify", "propose", "PM-0", "AM-1", "--primary", "dna"),
        ("identify", "revoke", "1", "--reason", "wrong"),
        ("refer", "PM-0", "AM-1", "--compare", "dna"),
        ("judge", "PM-0", "AM-1", "same"),
        ("notify", "approve", "1"),
        ("notify", "close", "1", "--note", "done"),
        ("faces", "subject", "1"),
        ("faces", "box", "1", "1,1,20,20"),
    ):
        answer = cli(*command)
        assert answer.exit_code == 2 and "opendvi login" in answer.output, command

"""`opendvi users`: the first admin's password from a file (no terminal needed), the list,
a new role, a new password shown once, deactivation and reactivation, by a signed-in admin
only, and never of the last active admin."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opendvi.app import OpenDVI
from opendvi.errors import OpenDVIError
from opendvi.people import add_user, ensure_admin, has_admin, sign_in
from tests.factories import PASSWORD


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


def login(cli: Any, username: str, password: str = PASSWORD) -> None:
    signed = cli("login", username, "--password-stdin", input=password + "\n")
    assert signed.exit_code == 0, signed.output


@pytest.fixture
def team(dvi: OpenDVI) -> OpenDVI:
    for name, role in (("chief", "admin"), ("rita", "reviewer"), ("carl", "caseworker")):
        add_user(dvi, username=name, role=role, actor="test", password=PASSWORD)
    return dvi


def test_the_first_admin_takes_the_password_in_a_file(
    cli: Any, dvi: OpenDVI, tmp_path: Path
) -> None:
    secret = tmp_path / "admin-password"
    secret.write_text("a long chosen password\n")
    added = cli("users", "add", "admin", "--role", "admin", "--password-file", str(secret))
    assert added.exit_code == 0, added.output
    # The newline an editor leaves is not part of it; `serve` makes no other admin.
    assert sign_in(dvi, "admin", "a long chosen password", address="test").account.role == "admin"
    assert ensure_admin(dvi, actor="serve") is None


@pytest.mark.parametrize(
    ("content", "says"),
    [("", "the file is empty"), ("\n", "the file is empty"), ("short\n", "has 5 characters")],
)
def test_an_empty_or_short_password_file_is_refused_by_its_name(
    cli: Any, dvi: OpenDVI, tmp_path: Path, content: str, says: str
) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text(content)
    refused = cli("users", "add", "admin", "--role", "admin", "--password-file", str(secret))
    assert refused.exit_code == 2 and str(secret) in refused.output and says in refused.output
    missing = cli("users", "add", "admin", "--role", "admin", "--password-file", "nowhere.txt")
    assert missing.exit_code == 2 and "nowhere.txt: no such file" in missing.output
    assert not has_admin(dvi)


def test_the_list_shows_each_user_role_state_and_last_sign_in(cli: Any, team: OpenDVI) -> None:
    login(cli, "chief")
    assert cli("users", "deactivate", "carl").exit_code == 0
    listed = cli("users", "list")
    assert listed.exit_code == 0, listed.output
    lines = {row.split()[0]: row.split() for row in listed.output.splitlines()[2:] if row.strip()}
    assert lines["chief"][2:4] == ["admin", "yes"] and lines["chief"][4][:2] == "20"
    assert lines["rita"][2:] == ["reviewer", "yes", "never"]
    assert lines["carl"][2:] == ["caseworker", "no", "never"]


def test_a_signed_in_user_who_is_no_admin_may_not_list_or_change_users(
    cli: Any, team: OpenDVI
) -> None:
    login(cli, "rita")
    for command in (
        ("users", "list"),
        ("users", "role", "carl", "admin"),
        ("users", "reset", "carl"),
        ("users", "deactivate", "carl"),
        ("users", "reactivate", "carl"),
    ):
        refused = cli(*command)
        assert refused.exit_code == 2 and "only an admin may" in refused.output, command


def test_an_admin_changes_a_role_resets_deactivates_and_reactivates(
    cli: Any, team: OpenDVI, tmp_path: Path
) -> None:
    login(cli, "chief")
    role = cli("users", "role", "rita", "forensic")
    assert role.exit_code == 0 and "rita is now forensic" in role.output
    assert cli("users", "role", "rita", "--role", "reviewer").exit_code == 0
    reset = cli("users", "reset", "rita")
    assert reset.exit_code == 0 and "not shown again" in reset.output
    made = reset.output.split("\n\n")[1].strip()
    assert sign_in(team, "rita", made, address="test").account.role == "reviewer"
    chosen = tmp_path / "rita.txt"
    chosen.write_text("rita's own long password\n")
    assert cli("users", "reset", "rita", "--password-file", str(chosen)).exit_code == 0
    assert sign_in(team, "rita", "rita's own long password", address="test")
    assert cli("users", "deactivate", "rita").exit_code == 0
    assert (
        cli("login", "rita", "--password-stdin", input="rita's own long password\n").exit_code == 2
    )
    login(cli, "chief")
    back = cli("users", "reactivate", "rita")
    assert back.exit_code == 0 and "rita reactivated as reviewer" in back.output
    login(cli, "rita", "rita's own long password")


def test_the_last_active_admin_is_refused_with_what_to_do(cli: Any, team: OpenDVI) -> None:
    login(cli, "chief")
    for command in (("users", "deactivate", "chief"), ("users", "role", "chief", "auditor")):
        refused = cli(*command)
        assert refused.exit_code == 2, command
        assert "chief is the last active admin" in refused.output
        assert "opendvi users role NAME admin" in refused.output
    assert cli("whoami").exit_code == 0  # still signed in: nothing changed

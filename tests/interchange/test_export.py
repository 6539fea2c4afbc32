"""``opendvi export missing`` carries a reporting contact only as far as the reporter's
sharing scope lets the file go: ``partners`` to a file for partners (the default), ``team``
only to a file kept by the team (``--for team``), ``none`` never."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any

import pytest

from opendvi.app import OpenDVI
from opendvi.db.tables import MissingPerson
from opendvi.records.intake import save_record
from tests.factories import OLENA

WITHHELD = "withheld: the reporter chose not to share"
# Whether a contact of each scope goes into a file for each audience.
EXPORTED = {
    ("none", "partners"): False,
    ("none", "team"): False,
    ("team", "partners"): False,
    ("team", "team"): True,
    ("partners", "partners"): True,
    ("partners", "team"): True,
}


def _report(dvi: OpenDVI, scope: str) -> None:
    with dvi.db.write() as session:
        save_record(
            session,
            MissingPerson,
            actor="test",
            ref="AM-1",
            fields={"full_name": "Andrii Kovalenko"},
            contacts=[dataclasses.replace(OLENA, sharing_scope=scope)],
        )


def _export(cli: Any, fmt: str, audience: str) -> str:
    result = cli("export", "missing", "--format", fmt, "--for", audience)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


@pytest.mark.parametrize(("scope", "audience"), sorted(EXPORTED))
def test_the_json_export_carries_a_contact_only_as_far_as_their_sharing_scope(
    cli: Any, dvi: OpenDVI, scope: str, audience: str
) -> None:
    _report(dvi, scope)
    text = _export(cli, "json", audience)
    [contact] = json.loads(text)[0]["contacts"]
    assert contact["sharing_scope"] == scope
    if EXPORTED[scope, audience]:
        assert (contact["name"], contact["email"]) == (OLENA.name, OLENA.email)
    else:
        assert contact["name"] == contact["email"] == contact["phone"] == WITHHELD
        assert OLENA.name not in text and OLENA.email not in text and OLENA.phone not in text
    assert json.loads(text)[0]["full_name"] == "Andrii Kovalenko"


@pytest.mark.parametrize(("scope", "audience"), sorted(EXPORTED))
def test_the_csv_export_carries_a_contact_only_as_far_as_their_sharing_scope(
    cli: Any, dvi: OpenDVI, scope: str, audience: str
) -> None:
    _report(dvi, scope)
    text = _export(cli, "csv", audience)
    [row] = csv.DictReader(io.StringIO(text))
    if EXPORTED[scope, audience]:
        assert (row["contact_name"], row["contact_email"]) == (OLENA.name, OLENA.email)
        assert row["contact_sharing"] == scope
    else:
        assert OLENA.name not in text and OLENA.email not in text and OLENA.phone not in text
        assert row["contact_name"] == row["contact_email"] == row["contact_sharing"] == ""


def test_an_export_is_for_partners_unless_it_says_it_stays_with_the_team(
    cli: Any, dvi: OpenDVI
) -> None:
    _report(dvi, "team")
    result = cli("export", "missing", "--format", "json")
    assert result.exit_code == 0, result.output
    assert OLENA.email not in result.stdout and WITHHELD in result.stdout


@pytest.mark.usefixtures("operator")  # the import acts as a signed-in user
def test_a_csv_export_without_its_contacts_imports_back_leaving_them_as_they_are(
    cli: Any, dvi: OpenDVI, tmp_path: Any
) -> None:
    _report(dvi, "none")
    exported = tmp_path / "export.csv"
    assert cli("export", "missing", "--output", str(exported)).exit_code == 0
    again = cli("import", "missing", "--no-faces", str(exported))
    assert again.exit_code == 0 and "1 unchanged" in again.stdout, again.output
    text = _export(cli, "json", "team")
    assert OLENA.email not in text  # still withheld: the stored contact is as it was
    with dvi.db.read() as session:
        [report] = session.query(MissingPerson).all()
        assert [(c.name, c.email) for c in report.contacts] == [(OLENA.name, OLENA.email)]

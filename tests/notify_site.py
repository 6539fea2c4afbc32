"""A confirmed identification whose report has three contacts: one who said yes (e-mail or
a visit, in Ukrainian), one who said no, one never asked; and the staff to tell them."""

from __future__ import annotations

from typing import Any

from opendvi.app import OpenDVI
from opendvi.core.fields import ContactInput
from opendvi.intake import save_missing_person, save_remains
from opendvi.review import confirm_identification, propose_identification
from opendvi.users import add_user

PASSWORD = "correct horse battery"
STAFF = {
    "rev1": "reviewer",
    "rev2": "reviewer",
    "rev3": "reviewer",
    "case1": "caseworker",
    "case2": "caseworker",
    "case3": "caseworker",
    "auditor": "auditor",
}
OLENA = ContactInput(
    name="Olena Kovalenko",
    relationship="mother",
    email="olena@example.org",
    phone="+380440000000",
    language="uk",
    consent_contact=True,
    consent_channels="in_person,email",
)
PETRO = ContactInput(name="Petro Kovalenko", relationship="uncle", consent_contact=False)
IVAN = ContactInput(name="Ivan Shevchuk", relationship="neighbour")


def users(dvi: OpenDVI) -> None:
    with dvi.db.write() as session:
        for name, role in STAFF.items():
            add_user(session, username=name, role=role, actor="test", password=PASSWORD)


def identified(
    dvi: OpenDVI, n: int = 0, contacts: tuple[ContactInput, ...] = (OLENA, PETRO, IVAN)
) -> dict[str, Any]:
    """Report AM-n and remains PM-n, identified by DNA and confirmed by two reviewers."""
    with dvi.db.write() as session:
        save_missing_person(
            session,
            actor="test",
            ref=f"AM-{n}",
            fields={"full_name": "Andrii Kovalenko"},
            contacts=list(contacts),
        )
        save_remains(session, actor="test", ref=f"PM-{n}", fields={})
    number = propose_identification(
        dvi, f"PM-{n}", f"AM-{n}", primary=["dna"], secondary=[], note="", username="rev1"
    )
    confirm_identification(dvi, number, username="rev2")
    assert confirm_identification(dvi, number, username="rev3") == "confirmed"
    return {"identification": number, "am": f"AM-{n}", "pm": f"PM-{n}"}

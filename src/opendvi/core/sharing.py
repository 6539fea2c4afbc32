"""What of a reporting contact each reader is shown: the reporter's sharing scope, the
reader's role, and what leaves in an export.

Those who tell families (``Permission.READ_CONTACTS``) see a contact in full whatever the
scope: they need it to reach them. Everyone else sees the name and the e-mail, phone and
address masked, unless the reporter chose to share with no one (``none``): then nothing
that names or reaches them. An export carries a contact only as far as the scope lets it
go: ``partners`` to anyone the file is for, ``team`` only to a file kept by the team,
``none`` never.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from opendvi.core.roles import Permission, may

__all__ = [
    "AUDIENCES",
    "SCOPES",
    "SCOPE_WORDS",
    "WITHHELD",
    "WITHHELD_NAME",
    "Audience",
    "Shown",
    "exported",
    "mask_email",
    "mask_phone",
    "mask_text",
    "shown_to",
]

SCOPES = ("none", "team", "partners")
SCOPE_WORDS = {
    "none": "no one: only those who tell families see their details, to reach them; "
    "withheld from everyone else and from every export",
    "team": "this team: those who tell families see them in full, others masked; "
    "exported only in a file kept by the team (--for team)",
    "partners": "the team and its partners: as team, and exported in a file for partners",
}
Audience = Literal["team", "partners"]
AUDIENCES: tuple[Audience, ...] = ("partners", "team")
WITHHELD = "withheld: the reporter chose not to share"
# How a sentence names a contact whose name is withheld ("... did not consent to be contacted").
WITHHELD_NAME = "a reporter who chose not to share their details"


class Shown(StrEnum):
    FULL = "full"  # every detail as recorded
    MASKED = "masked"  # the name; e-mail, phone and address masked
    WITHHELD = "withheld"  # nothing that names or reaches the contact


def shown_to(scope: str, role: str) -> Shown:
    """How much of a contact with sharing ``scope`` a user of ``role`` sees ("" for a
    person who has not said who they are)."""
    if may(role, Permission.READ_CONTACTS):
        return Shown.FULL
    if scope in ("team", "partners"):
        return Shown.MASKED
    return Shown.WITHHELD


def exported(scope: str, audience: Audience) -> bool:
    """Whether a contact with sharing ``scope`` goes into an export for ``audience``."""
    return scope == "partners" or (scope == "team" and audience == "team")


def mask_email(value: str) -> str:
    """``olena@example.org`` as ``o…@…``: enough to tell two apart, not to write to."""
    return f"{value[:1]}…@…" if value else ""


def mask_phone(value: str) -> str:
    """``+380440000000`` as ``+38 … 00``: the country's first digits and the last two."""
    digits = "".join(c for c in value if c.isdigit())
    if not digits:
        return ""
    if len(digits) < 6:
        return "…"
    plus = "+" if value.strip().startswith("+") else ""
    return f"{plus}{digits[:2]} … {digits[-2:]}"


def mask_text(value: str) -> str:
    """An address: only whether there is one."""
    return "…" if value else ""

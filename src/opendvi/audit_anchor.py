"""The audit chain checked against its anchor outside the database (``infra.anchor``).

After every committed transaction that wrote audit events the anchor moves to the chain's
new head (``Keeper``, run by ``Database.write`` after the commit). ``verify_anchored`` walks
the chain as ``audit.verify`` does, then checks that the database still holds the anchored
event, with the anchored hash: a database that ends before it was rolled back or truncated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opendvi import audit
from opendvi.db.engine import Database
from opendvi.db.tables import AuditEvent
from opendvi.infra.anchor import Anchor, AnchorFile, anchor_path

if TYPE_CHECKING:
    from opendvi.app import OpenDVI

__all__ = ["AnchoredReport", "Keeper", "compare", "verify_anchored"]

log = logging.getLogger(__name__)


class Keeper:
    """Moves the anchor at ``path`` after each commit that wrote audit events; never back,
    and never onto a chain that no longer holds the anchored event."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.file = AnchorFile(path)

    def __call__(self, info: Mapping[str, Any]) -> None:
        head = info.get(audit.HEAD_KEY)
        if head is None:
            return
        try:
            self.file.advance(Anchor(*head), follows=self._in_chain)
        except (OSError, ValueError) as error:
            # The change is committed: failing it now would only make it look lost.
            # ``opendvi audit verify`` will say the anchor is behind or unreadable.
            log.warning("the audit anchor %s was not moved: %s", self.file.path, error)

    def _in_chain(self, anchor: Anchor) -> bool:
        if anchor.event == 0:
            return True
        with self.db.read() as session:
            held = session.get(AuditEvent, anchor.event)
            return held is not None and held.hash == anchor.hash


def compare(session: Session, anchor: Anchor, *, where: str) -> str:
    """Inside a read: what is wrong with the database against ``anchor`` ("" when nothing)."""
    if anchor.event == 0:
        return ""
    last = session.execute(select(func.max(AuditEvent.id))).scalar_one() or 0
    held = session.get(AuditEvent, anchor.event)
    if held is None:
        return (
            f"the database was rolled back or truncated: the anchor ({where}) says event "
            f"{anchor.event} with hash {anchor.hash}, the database ends at event {last}; "
            f"events {last + 1} to {anchor.event} and the changes they recorded are not in it"
        )
    if held.hash != anchor.hash:
        return (
            f"the database's event {anchor.event} is not the one the anchor ({where}) recorded "
            f"(hash {anchor.hash}, the database's {held.hash}): the database was rolled back and "
            "written again, or is not the database this data directory's anchor belongs to"
        )
    return ""


@dataclass(frozen=True)
class AnchoredReport:
    """The chain as ``audit.verify`` found it, the anchor, and what is wrong between them
    (``problem``); ``note`` says why the anchor could not be used, when it could not."""

    chain: audit.ChainReport
    anchor: Anchor | None
    problem: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problem


def verify_anchored(app: OpenDVI) -> AnchoredReport:
    """The chain verified, and checked against the anchor beside the data."""
    path = anchor_path(app.settings.data_dir)
    # Read before the database: an event committed meanwhile can only put the database
    # ahead of the anchor, never behind it.
    try:
        anchor = AnchorFile(path).read()
    except ValueError as error:
        with app.db.read() as session:
            return AnchoredReport(audit.verify(session), None, problem=str(error))
    with app.db.read() as session:
        chain = audit.verify(session)
        if anchor is None:
            note = (
                f"no anchor at {path} yet, so a rollback cannot be told; it is written with "
                "the next change"
            )
            return AnchoredReport(chain, None, note=note)
        return AnchoredReport(chain, anchor, problem=compare(session, anchor, where=str(path)))

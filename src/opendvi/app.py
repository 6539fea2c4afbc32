"""The application object: settings, database and photo store, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opendvi.db.engine import Database
from opendvi.infra.anchor import anchor_path
from opendvi.infra.media import MediaStore
from opendvi.infra.private import private_folder
from opendvi.infra.recent import Recent
from opendvi.settings import Settings

if TYPE_CHECKING:
    from opendvi.audit_anchor import Keeper

__all__ = ["OpenDVI"]


@dataclass
class OpenDVI:
    """What every use-case takes first: the settings, the database, the photo store, and
    the counts kept a few seconds in this process (``infra.recent``)."""

    settings: Settings
    db: Database
    media: MediaStore
    counts: Recent = field(init=False)
    _keeper: Keeper | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.counts = Recent(self.db)
        self.db.after_commit.append(self._keep_anchor)

    def _keep_anchor(self, info: dict[Any, Any]) -> None:
        """After each commit the audit anchor follows the chain (``audit_anchor.Keeper``);
        made at the first commit, so that opening the application loads no table."""
        if self._keeper is None:
            from opendvi.audit_anchor import Keeper

            self._keeper = Keeper(self.db, anchor_path(self.settings.data_dir))
        self._keeper(info)

    @classmethod
    def open(cls, settings: Settings | None = None, *, migrate: bool = True) -> OpenDVI:
        """Open the configured database (creating and upgrading it as needed) and photo store."""
        settings = settings or Settings()
        private_folder(settings.data_dir)
        db = Database.open(settings.resolved_database_url(), migrate=migrate)
        return cls(settings, db, MediaStore(settings.resolved_media_dir()))

    def close(self) -> None:
        self.db.dispose()

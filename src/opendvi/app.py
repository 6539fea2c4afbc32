"""The application object: settings, database and photo store, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

from opendvi.audit_anchor import Keeper
from opendvi.db.engine import Database
from opendvi.infra.anchor import anchor_path
from opendvi.infra.media import MediaStore
from opendvi.infra.private import private_folder
from opendvi.infra.recent import Recent
from opendvi.settings import Settings

__all__ = ["OpenDVI"]


@dataclass
class OpenDVI:
    """What every use-case takes first: the settings, the database, the photo store, and
    the counts kept a few seconds in this process (``infra.recent``)."""

    settings: Settings
    db: Database
    media: MediaStore
    counts: Recent = field(init=False)

    def __post_init__(self) -> None:
        self.counts = Recent(self.db)
        self.db.after_commit.append(Keeper(self.db, anchor_path(self.settings.data_dir)))

    @classmethod
    def open(cls, settings: Settings | None = None, *, migrate: bool = True) -> OpenDVI:
        """Open the configured database (creating and upgrading it as needed) and photo store."""
        settings = settings or Settings()
        private_folder(settings.data_dir)
        db = Database.open(settings.resolved_database_url(), migrate=migrate)
        return cls(settings, db, MediaStore(settings.resolved_media_dir()))

    def close(self) -> None:
        self.db.dispose()

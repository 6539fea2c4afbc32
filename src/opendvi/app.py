"""The application object: settings, database and photo store, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from opendvi.db.engine import Database
from opendvi.media import MediaStore
from opendvi.settings import Settings

__all__ = ["OpenDVI"]


@dataclass
class OpenDVI:
    settings: Settings
    db: Database
    media: MediaStore

    @classmethod
    def open(cls, settings: Settings | None = None, *, migrate: bool = True) -> OpenDVI:
        """Open the configured database (creating and upgrading it as needed) and photo store."""
        settings = settings or Settings()
        db = Database.open(settings.resolved_database_url(), migrate=migrate)
        return cls(settings, db, MediaStore(settings.resolved_media_dir()))

    def close(self) -> None:
        self.db.dispose()

"""OpenDVI's settings: one class, read from ``OPENDVI_*`` environment variables.

Every field carries its help text; ``docs/settings.md`` lists them all and a test fails when
one is missing there.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    """Where OpenDVI keeps its database and photos unless told otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "opendvi"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENDVI_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder for the embedded database and the photo store. "
        "Default: $XDG_DATA_HOME/opendvi or ~/.local/share/opendvi.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database, e.g. sqlite:////srv/opendvi/opendvi.sqlite3 "
        "or postgresql+psycopg://user@host/opendvi. Default: opendvi.sqlite3 in data_dir.",
    )
    media_dir: Path | None = Field(
        default=None,
        description="Folder where original photos (unchanged, named by SHA-256) and their "
        "served copies are kept. Default: media/ in data_dir.",
    )
    max_image_pixels: int = Field(
        default=80_000_000,
        ge=1,
        description="Largest photo accepted, in pixels (width × height), checked from the file "
        "header before decoding so a decompression bomb is refused without using memory.",
    )
    max_photo_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1,
        description="Largest photo file accepted, in bytes.",
    )
    served_max_side: int = Field(
        default=2048,
        ge=64,
        description="Longest side, in pixels, of the metadata-free copy of a photo that is "
        "shown to users; the original is kept unchanged beside it.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'opendvi.sqlite3'}"

    def resolved_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

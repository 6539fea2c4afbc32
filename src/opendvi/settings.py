"""OpenDVI's settings: one class, read from ``OPENDVI_*`` environment variables.

Every field carries its help text; ``docs/settings.md`` lists them all and a test fails when
one is missing there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_data_dir"]

PLACEHOLDERS = {"change-me", "changeme", "secret", "please-change-this-secret-key-now-0000"}


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
    pg_bin_dir: Path | None = Field(
        default=None,
        description="Folder holding PostgreSQL's pg_dump and pg_restore, used by opendvi "
        "backup and restore on a PostgreSQL database (the server's major version or newer). "
        "Default: found on PATH.",
    )
    max_image_pixels: int = Field(
        default=50_000_000,
        ge=1,
        description="Largest photo accepted, in pixels (width × height), checked from the file "
        "header before decoding so a decompression bomb is refused without using memory. "
        "The default takes a 48- or 50-megapixel phone or camera photo; a PNG or TIFF this "
        "large takes a few seconds of the background worker to decode.",
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

    face_backend: Literal["dlib", "onnx", "openvino"] = Field(
        default="dlib",
        description="Face model: dlib (built in, from PyPI), or onnx / openvino with the model "
        "files named by face_detector_path and face_model_path.",
    )
    face_detector_path: Path | None = Field(
        default=None,
        description="YuNet face detector (.onnx) for the onnx and openvino backends.",
    )
    face_model_path: Path | None = Field(
        default=None,
        description="Face recogniser for the onnx (.onnx) or openvino (.xml) backend; it takes "
        "one aligned face, batch 1, channels first, and returns its embedding.",
    )
    face_model_size: int = Field(
        default=112, ge=32, le=512, description="Side in pixels of the recogniser's square input."
    )
    face_model_colour: Literal["rgb", "bgr"] = Field(
        default="rgb", description="Channel order the recogniser expects."
    )
    face_model_mean: float = Field(
        default=127.5, description="Subtracted from every 0–255 pixel value before the model."
    )
    face_model_std: float = Field(
        default=128.0, gt=0, description="Pixel values are divided by this after the mean."
    )
    face_model_template: Literal["arcface", "sphereface"] = Field(
        default="arcface",
        description="Five-point alignment template: arcface (InsightFace 112×112) or "
        "sphereface (96×112, as used by Intel's face-reidentification models).",
    )
    candidate_max_rate: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="A candidate is shown as a match only when at most this share of searches "
        "of the same size would show a stranger as similar (face and description together); "
        "the others are listed as below threshold. 0.05 = 1 in 20.",
    )
    candidates_per_record: int = Field(
        default=20,
        ge=1,
        le=500,
        description="Candidates kept per record: this many by total score, and this many by "
        "face alone, so a description that disagrees never hides a strong face.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs the sign-in form's token before a session exists (at least 32 "
        "characters). Default: a random key made on first start and kept in data_dir/secret_key, "
        "readable by its owner only.",
    )
    https: bool = Field(
        default=False,
        description="The web application is served over TLS (behind a proxy): session cookies "
        "are then marked Secure.",
    )
    login_attempts: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins allowed per account (however its name is typed, from any "
        "address) within 15 minutes; then it is refused until the window passes. Counted in "
        "the database, so every server process sees the same count.",
    )
    login_attempts_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins allowed from one address (whatever the names tried) "
        "within 15 minutes.",
    )
    trusted_proxies: str | None = Field(
        default=None,
        description="Addresses of the reverse proxies in front of `opendvi serve`, comma "
        "separated (e.g. 127.0.0.1): only a request from one of them may name the client's "
        "address in X-Forwarded-For. Unset: that header is never believed.",
    )
    session_idle_minutes: int = Field(
        default=30,
        ge=1,
        description="A web session not used for this long ends; the user signs in again.",
    )
    session_hours: int = Field(
        default=12, ge=1, le=24 * 7, description="A web session ends this long after sign-in."
    )
    cli_session_hours: int = Field(
        default=8,
        ge=1,
        le=24 * 7,
        description="A command-line sign-in (`opendvi login`) lasts this long.",
    )
    team_name: str = Field(
        default="the identification team",
        max_length=200,
        description="How the team signs its messages to families.",
    )
    team_phone: str = Field(
        default="", max_length=60, description="The phone number families are given."
    )
    notify_within_days: int = Field(
        default=3,
        ge=0,
        le=365,
        description="A new notification task is due this many days after the confirmation.",
    )
    mail_from: str = Field(
        default="", max_length=320, description="The sender of e-mails to families."
    )
    smtp_host: str = Field(
        default="",
        max_length=255,
        description="Mail server for e-mails to families; without one, messages go to the "
        "outbox folder.",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="The mail server's port.")
    smtp_user: str = Field(default="", max_length=320, description="Mail server user name.")
    smtp_password: SecretStr | None = Field(default=None, description="Mail server password.")
    smtp_starttls: bool = Field(
        default=False, description="Encrypt the connection to the mail server (STARTTLS)."
    )
    outbox_dir: Path | None = Field(
        default=None,
        description="Where messages wait as .eml files when there is no mail server "
        "(default: DATA_DIR/outbox).",
    )
    blind_review: bool = Field(
        default=False,
        description="Reviewers record their own judgement of a pair (same person, different, "
        "cannot tell) before its score is shown to them.",
    )
    web_threads: int = Field(
        default=4,
        ge=1,
        le=200,
        description="Requests each web server process works on at once (the rest wait their "
        "turn). On the embedded database a few are fastest; raise it for a remote database.",
    )
    face_time_budget_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Seconds face detection may spend on one photo (decoding included) before "
        "it stops searching further angles; a photo with no face found by then is marked to "
        "have its face boxed by hand.",
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="Processes finding faces during imports, and scoring the pairs of a "
        "rebuild of every list (`opendvi match --all`). Default: the number of CPU cores.",
    )
    job_lease_s: float = Field(
        default=300.0,
        gt=0,
        le=86400,
        description="Seconds an `opendvi worker` holds the jobs it claimed without renewing "
        "its claim; a worker that stops (or is killed) leaves its jobs to the others after "
        "this long.",
    )
    retention_biometric_days: int | None = Field(
        default=None,
        ge=0,
        description="Days after a report's case is closed when its photos, faces and face "
        "embeddings are erased by `opendvi retention --apply`. Default: none (kept).",
    )
    retention_remains_photos_days: int | None = Field(
        default=None,
        ge=0,
        description="Days after remains are released when their photos, faces and embeddings "
        "are erased by `opendvi retention --apply`. Default: none (kept).",
    )
    retention_contacts_days: int | None = Field(
        default=None,
        ge=0,
        description="Days after a report's case is closed when its reporting contacts' names "
        "and addresses are erased by `opendvi retention --apply`. Default: none (kept).",
    )

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if len(secret) < 32 or secret.lower() in PLACEHOLDERS:
            raise ValueError(
                "OPENDVI_SECRET_KEY must be at least 32 random characters (e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), not a "
                "placeholder; leave it unset to have one made and kept in the data directory"
            )
        return value

    def resolved_secret_key(self) -> str:
        """The session-signing key: the setting, or the one kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        import secrets

        from opendvi.errors import SetupError
        from opendvi.infra.private import write_private

        path = self.data_dir / "secret_key"
        if not path.exists():
            write_private(path, secrets.token_urlsafe(48).encode())
        key = path.read_text().strip()
        if len(key) < 32:
            raise SetupError(
                f"{path} is shorter than 32 characters (cut short by a crash?); delete it to "
                "have a new key made at the next start (everyone signs in again), or set "
                "OPENDVI_SECRET_KEY"
            )
        return key

    def resolved_workers(self) -> int:
        return self.workers or max(1, os.cpu_count() or 1)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'opendvi.sqlite3'}"

    def resolved_outbox_dir(self) -> Path:
        return self.outbox_dir if self.outbox_dir is not None else self.data_dir / "outbox"

    def resolved_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

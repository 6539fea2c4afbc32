"""The worker processes of `opendvi faces detect` and of an import die with the command:
killing only its main process leaves none of them working (issue 13, finding 13)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from PIL import Image

from opendvi.app import OpenDVI
from opendvi.db.tables import MissingPerson
from opendvi.records import save_record, store_photo
from tests.factories import write_csv

PHOTOS = 6

# Imports act as a signed-in user.
pytestmark = pytest.mark.usefixtures("operator")


def black_photos(folder: Path) -> list[Path]:
    """Photos slow to search (no face at any angle), so the workers are caught working."""
    out = io.BytesIO()
    Image.new("RGB", (4000, 4000)).save(out, format="PNG")
    folder.mkdir()
    paths = []
    for n in range(PHOTOS):
        path = folder / f"black-{n}.png"
        path.write_bytes(out.getvalue() + bytes([n]))  # a different file each
        paths.append(path)
    return paths


def workers_of(process: subprocess.Popen[bytes], *, want: int, within_s: float) -> list[int]:
    """The command's worker processes, once each has loaded the face model (about 135 MB):
    working, as the issue found them, not still starting."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and process.poll() is None:
        working = []
        for child in psutil.Process(process.pid).children():
            with contextlib.suppress(psutil.Error):
                line = " ".join(child.cmdline())
                worker = "multiprocessing" in line and "resource_tracker" not in line
                if worker and child.memory_info().rss > 100 * 2**20:
                    working.append(child.pid)
        if len(working) >= want:
            return working
        time.sleep(0.1)
    raise AssertionError("the worker processes did not start")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("command", ["faces detect", "import"])
def test_killing_the_main_process_ends_its_worker_processes(
    dvi: OpenDVI, tmp_path: Path, cli_env: dict[str, str], command: str
) -> None:
    photos = black_photos(tmp_path / "photos")
    if command == "import":
        csv = write_csv(tmp_path / "m.csv", [{"ref": "AM-1", "photos": "|".join(map(str, photos))}])
        args = ["import", "missing", str(csv), "--no-match", "--quiet", "--workers", "2"]
    else:
        stored = [store_photo(p, media=dvi.media, settings=dvi.settings) for p in photos]
        with dvi.db.write() as session:
            save_record(session, MissingPerson, actor="test", ref="AM-1", fields={}, photos=stored)
        args = ["faces", "detect", "--workers", "2", "--quiet"]
    main = subprocess.Popen([sys.executable, "-m", "opendvi", *args], env={**os.environ, **cli_env})
    workers: list[int] = []
    try:
        workers = workers_of(main, want=2, within_s=180)
        main.send_signal(signal.SIGKILL)
        main.wait()
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)], "workers outlived their parent"
    finally:
        main.kill()
        for pid in workers:  # what this test started, should it have outlived its parent
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

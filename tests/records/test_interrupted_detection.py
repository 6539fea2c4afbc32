"""An import killed while it is finding faces finishes them when run again, once each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, Photo
from tests.conftest import SHARED
from tests.factories import write_csv

LFW = SHARED / "data" / "lfw"

# The import acts as a signed-in user.
pytestmark = pytest.mark.usefixtures("operator")


def done(dvi: OpenDVI) -> int:
    with dvi.db.read() as session:
        return int(
            session.execute(
                select(func.count(Photo.id)).where(Photo.detection_status != "pending")
            ).scalar_one()
        )


@pytest.mark.skipif(not LFW.is_dir(), reason="../shared/data/lfw is not beside us")
def test_kill_9_while_finding_faces_then_rerun_finds_each_photo_once(
    dvi: OpenDVI, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    people = sorted(p for p in LFW.iterdir() if p.is_dir())[:40]
    rows = [
        {"ref": f"AM-{n:03d}", "photos": str(sorted(person.iterdir())[0])}
        for n, person in enumerate(people)
    ]
    path = write_csv(tmp_path / "m.csv", rows)
    command = [sys.executable, "-m", "opendvi", "import", "missing", str(path), "--quiet"]
    env = {**os.environ, **cli_env}
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 180
    while done(dvi) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = done(dvi)
    assert 0 < interrupted_at < len(rows), "the run was not caught while finding faces"

    subprocess.run(command, env=env, check=True)
    assert done(dvi) == len(rows)
    with dvi.db.read() as session:
        events = (
            session.execute(
                select(AuditEvent.entity_id).where(AuditEvent.action == "photo.faces_detected")
            )
            .scalars()
            .all()
        )
        assert sorted(events) == sorted(set(events)) and len(events) == len(rows)
        assert audit.verify(session).ok

"""An import killed at any moment leaves no half record, and running it again finishes it."""

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
from opendvi.db.tables import AuditEvent, MissingPerson, Photo
from tests.factories import write_csv, write_photo

ROWS = 200

# The import acts as a signed-in user.
pytestmark = pytest.mark.usefixtures("operator")


def two_hundred_reports(folder: Path) -> Path:
    rows = []
    for number in range(ROWS):
        # Large enough photos that the import takes a few seconds to kill in the middle of.
        write_photo(folder / f"p{number}.jpg", seed=number, size=(800, 600), quality=95)
        rows.append(
            {
                "ref": f"AM-{number:04d}",
                "photos": f"p{number}.jpg",
                "full_name": f"Person {number}",
                "birth_year": str(1950 + number % 60),
            }
        )
    return write_csv(folder / "reports.csv", rows)


@pytest.fixture(scope="module")
def reports_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_hundred_reports(tmp_path_factory.mktemp("in"))


def imported(dvi: OpenDVI) -> int:
    with dvi.db.read() as session:
        return int(session.execute(select(func.count(MissingPerson.id))).scalar_one())


# `python -m opendvi`, hearing Ctrl-C even when the tests were started in the background (a
# shell starts background commands with SIGINT ignored, and children inherit that).
OPENDVI = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from opendvi.cli import main; main()"
)


def start_import(path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", OPENDVI, "import", "missing", str(path), "--quiet", "--no-faces"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_some_rows(dvi: OpenDVI, process: subprocess.Popen[str], at_least: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        count = imported(dvi)
        if count >= at_least:
            return count
        time.sleep(0.02)
    raise AssertionError(f"the import ended or stalled before {at_least} rows")


def test_kill_9_in_the_middle_then_rerun_gives_every_row_exactly_once(
    dvi: OpenDVI, reports_csv: Path, cli_env: dict[str, str]
) -> None:
    path = reports_csv
    process = start_import(path, cli_env)
    wait_for_some_rows(dvi, process, 20)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = imported(dvi)
    assert killed_at < ROWS, "the import finished before it could be killed"

    rerun = subprocess.run(
        [sys.executable, "-m", "opendvi", "import", "missing", str(path), "--no-faces"],
        env={**os.environ, **cli_env},
        capture_output=True,
        text=True,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"{ROWS - killed_at} created" in rerun.stdout
    with dvi.db.read() as session:
        refs = session.execute(select(MissingPerson.ref)).scalars().all()
        assert sorted(refs) == [f"AM-{n:04d}" for n in range(ROWS)]
        assert session.execute(select(func.count(Photo.id))).scalar_one() == ROWS
        created = select(func.count(AuditEvent.id)).where(
            AuditEvent.action.like("missing_person.%")
        )
        assert session.execute(created).scalar_one() == ROWS
        # Every record has its photo: none was saved without it.
        orphans = session.execute(
            select(func.count(MissingPerson.id)).where(~MissingPerson.photos.any())
        ).scalar_one()
        assert orphans == 0
        assert audit.verify(session).ok


def test_ctrl_c_stops_cleanly_and_says_how_to_finish(
    dvi: OpenDVI, reports_csv: Path, cli_env: dict[str, str]
) -> None:
    path = reports_csv
    process = start_import(path, cli_env)
    wait_for_some_rows(dvi, process, 10)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, (stdout, stderr)
    assert "run the same command again to finish" in stderr
    with dvi.db.read() as session:
        assert audit.verify(session).ok


def test_ctrl_c_is_not_lost_when_the_rollback_after_it_fails(
    dvi: OpenDVI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in the middle of a query leaves a PostgreSQL connection busy, and the rollback
    fails too; once, in CI, that error stood in for the Ctrl-C, and the import counted it as
    a row not saved and went on. The interrupt must reach the caller, whatever cleanup says."""
    from sqlalchemy.exc import InvalidRequestError
    from sqlalchemy.orm import Session

    def busy(self: Session) -> None:
        raise InvalidRequestError("can't change 'autocommit' now: connection is ACTIVE")

    monkeypatch.setattr(Session, "rollback", busy)
    with pytest.raises(KeyboardInterrupt), dvi.db.write() as session:
        session.execute(select(func.count(MissingPerson.id)))
        raise KeyboardInterrupt
    # An error of the work itself, with no interrupt behind it, is still that error.
    with pytest.raises(InvalidRequestError), dvi.db.write():
        raise ValueError("bad row")

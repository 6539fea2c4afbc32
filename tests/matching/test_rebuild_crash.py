"""A rebuild of every list (``opendvi match --all``) killed at any moment leaves the old
lists or the new ones, never a mix, and the next run finishes it.

The command runs in a child process that kills itself (SIGKILL, nothing cleaned up) at its
k-th SQL statement, k drawn at random over the whole run: loading, staging, the swap.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.db.tables import AuditEvent, Candidate, Job
from opendvi.matching import run_matching
from opendvi.matching.lists import rank_lists
from opendvi.matching.run import listings
from opendvi.people import add_user
from opendvi.review import exclude
from opendvi.settings import Settings
from tests.conftest import USE_POSTGRES
from tests.matching.test_matching import World

pytestmark = pytest.mark.skipif(
    USE_POSTGRES, reason="copies the database file; the rebuild's SQL is the same on both"
)

# The child: small batches so a kill can fall between any two of them.
CHILD = """
import atexit, os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from opendvi.matching import gallery
gallery.BATCH = 8
limit, count, swap = int(os.environ["KILL_AT"]), 0, 0
@event.listens_for(Engine, "before_cursor_execute")
def _count(connection, cursor, statement, *args):
    global count, swap
    count += 1
    if not swap and statement.startswith("INSERT INTO candidate_numbers"):
        swap = count  # the lists are being stored
    if count == limit:
        os.kill(os.getpid(), signal.SIGKILL)
atexit.register(lambda: print(f"statements={count} swap={swap}"))
from opendvi.cli import app
app(sys.argv[1:], prog_name="opendvi")
"""
ROOT = Path(__file__).resolve().parents[2]


class Copy:
    """One copy of the database, with the command pointed at it."""

    def __init__(self, folder: Path, source: Path) -> None:
        folder.mkdir()
        self.path = folder / "opendvi.sqlite3"
        with sqlite3.connect(source) as old, sqlite3.connect(self.path) as new:
            old.backup(new)
        self.settings = Settings(data_dir=folder / "data", database_url=f"sqlite:///{self.path}")
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
            "OPENDVI_DATA_DIR": str(folder / "data"),
            "OPENDVI_DATABASE_URL": f"sqlite:///{self.path}",
            "OPENDVI_WORKERS": "1",
            "OPENDVI_CANDIDATES_PER_RECORD": "3",  # every list changes
            "XDG_CONFIG_HOME": str(folder / "config"),
        }

    def run(self, *args: str, kill_at: int = 0) -> tuple[bool, list[int]]:
        """Run ``opendvi ARGS``; whether it was killed, how many statements it ran and at
        which one it began storing the lists."""
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *args, "--quiet", "--actor", "matcher"],
            env={**self.env, "KILL_AT": str(kill_at)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode == -9:
            return True, [kill_at]
        assert done.returncode == 0, done.stdout + done.stderr
        counts = done.stdout.strip().splitlines()[-1].split()
        return False, [int(count.partition("=")[2]) for count in counts]

    def snapshot(self) -> dict[str, Any]:
        """Every list both ways (evidence, score, status), with each pair's two ranks."""
        app = OpenDVI.open(self.settings)
        try:
            with app.db.read() as session:
                pairs = session.execute(
                    select(
                        Candidate.remains_id,
                        Candidate.missing_person_id,
                        Candidate.rank_for_remains,
                        Candidate.rank_for_missing,
                        Candidate.status,
                        Candidate.record_identified,
                    )
                ).all()
                return {
                    "missing": listings(session, "missing", None),
                    "remains": listings(session, "remains", None),
                    "pairs": sorted(tuple(row) for row in pairs),
                }
        finally:
            app.close()

    def numbers(self) -> dict[tuple[int, int], int]:
        app = OpenDVI.open(self.settings)
        try:
            with app.db.read() as session:
                rows = session.execute(
                    select(Candidate.remains_id, Candidate.missing_person_id, Candidate.id)
                )
                return {(pm, am): number for pm, am, number in rows}
        finally:
            app.close()

    def finished(self) -> dict[str, int]:
        """What is left of the run: staged rows, queued jobs, the audit chain."""
        app = OpenDVI.open(self.settings)
        try:
            with app.db.read() as session:
                staged = session.execute(
                    select(func.count()).select_from(_staging_table())
                ).scalar_one()
                queued = session.scalar(
                    select(func.count()).select_from(Job).where(Job.status == "queued")
                )
                events = session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "candidates.computed")
                )
                assert audit.verify(session).ok
                return {"staged": staged, "queued": queued or 0, "events": events or 0}
        finally:
            app.close()

    def rebuilding(self) -> bool:
        app = OpenDVI.open(self.settings)
        try:
            with app.db.read() as session:
                return bool(
                    session.execute(
                        select(func.count()).select_from(_staging_table(runs=True))
                    ).scalar_one()
                )
        finally:
            app.close()


def _staging_table(runs: bool = False) -> Any:
    from opendvi.db import tables

    return tables.Rebuild if runs else tables.RebuildRow


@pytest.fixture
def prepared(dvi: OpenDVI, tmp_path: Path) -> Path:
    """Lists built once, then records added and a pair excluded: a rebuild changes them."""
    w = World(dvi)
    for n in range(80):
        w.report(f"AM-{n:03d}", f"person-{n}", sex="F" if n % 2 else "M")
    for n in range(5):
        w.remains(f"PM-{n}", f"person-{n}", sex="F" if n % 2 else "M")
    for n in range(3):
        w.remains(f"PM-X{n}", f"stranger-{n}")
    run_matching(dvi, actor="test", everything=True)
    add_user(dvi, username="rita", role="reviewer", actor="test")
    exclude(dvi, ("PM-1", "AM-001"), reason="dental records differ", username="rita")
    w.report("AM-NEW", "person-2", sex="M")
    w.remains("PM-NEW", "person-3", sex="F")
    path = Path(dvi.settings.resolved_database_url().partition("sqlite:///")[2])
    dvi.close()
    return path


def test_a_rebuild_killed_at_any_moment_leaves_old_or_new_lists_and_the_next_run_finishes_it(
    prepared: Path, tmp_path: Path
) -> None:
    clean = Copy(tmp_path / "clean", prepared)
    old = clean.snapshot()
    old_numbers = clean.numbers()
    killed, (statements, swap) = clean.run("match", "--all", kill_at=10**9)
    assert not killed and 1 < swap < statements
    new = clean.snapshot()
    assert new != old and new["remains"].keys() != old["remains"].keys()
    assert "excluded" in {p[4] for p in new["pairs"]}
    # Stored as the lists' own ranking stores them: ranking them again changes nothing.
    app = OpenDVI.open(clean.settings.model_copy(update={"candidates_per_record": 3}))
    with app.db.write() as session:
        rank_lists(session, {p[0] for p in new["pairs"]}, {p[1] for p in new["pairs"]}, 3)
    app.close()
    assert clean.snapshot() == new

    seed = random.randrange(10**6)
    rng = random.Random(seed)
    # Kill points: two while loading and staging, two while storing, one anywhere.
    points = [rng.randrange(1, swap) for _ in range(2)]
    points += [rng.randrange(swap, statements + 1) for _ in range(2)]
    points += [rng.randrange(1, statements + 1)]
    for trial, first in enumerate(points):
        copy = Copy(tmp_path / f"trial-{trial}", prepared)
        killed, _ = copy.run("match", "--all", kill_at=first)
        assert killed
        state = copy.snapshot()
        assert state in (old, new), f"a mix after a kill at statement {first} (seed {seed})"
        # The next run killed too, anywhere in its own run.
        again = rng.randrange(1, statements)
        command = ("match",) if copy.rebuilding() else ("match", "--all")
        copy.run(*command, kill_at=again)
        state = copy.snapshot()
        assert state in (old, new), f"a mix after kills at {first} and {again} (seed {seed})"
        # And the next one finishes: plain `match` resumes an unfinished rebuild.
        command = ("match",) if copy.rebuilding() else ("match", "--all")
        killed, _ = copy.run(*command)
        assert not killed
        assert copy.snapshot() == new, f"kills at {first} and {again} (seed {seed})"
        assert copy.finished() == clean.finished() == {**clean.finished(), "staged": 0}
        numbers = copy.numbers()
        kept = set(numbers) & set(old_numbers)
        assert kept and {p: numbers[p] for p in kept} == {p: old_numbers[p] for p in kept}
        assert not {numbers[p] for p in set(numbers) - kept} & set(old_numbers.values())

"""Several `opendvi worker` processes share the queue by claims: two workers on one
database, one killed (SIGKILL) while it holds jobs, and every job still ends done exactly
once, with the lists a single run makes. Also the claims themselves, and `serve`'s web
processes, which never match."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate, Job, utcnow
from opendvi.infra import jobs
from opendvi.matching import run_matching
from opendvi.matching.run import listings
from opendvi.settings import Settings
from tests.conftest import USE_POSTGRES
from tests.matching.test_matching import World

ROOT = Path(__file__).resolve().parents[2]
# The child: the command, with small batches and a pause after each commit (the lock let
# go, so the other worker gets its turn), so a worker is mid-work long enough to be killed.
CHILD = """
import sys, time
from sqlalchemy import event
from sqlalchemy.orm import Session
from opendvi.matching import gallery
gallery.BATCH = 4
@event.listens_for(Session, "after_commit")
def _slow(session):
    time.sleep(0.2)
from opendvi.cli import app
app(sys.argv[1:], prog_name="opendvi")
"""


def build(dvi: OpenDVI) -> None:
    """80 reports (enough to calibrate on), remains of 6 of them and of 2 unreported."""
    w = World(dvi)
    for n in range(80):
        w.report(f"AM-{n:03d}", f"person-{n}", sex="F" if n % 2 else "M")
    for n in range(6):
        w.remains(f"PM-{n}", f"person-{n}")
    for n in range(2):
        w.remains(f"PM-X{n}", f"stranger-{n}")


def snapshot(dvi: OpenDVI) -> dict[str, Any]:
    with dvi.db.read() as session:
        pairs = session.execute(
            select(
                Candidate.remains_id,
                Candidate.missing_person_id,
                Candidate.rank_for_remains,
                Candidate.rank_for_missing,
                Candidate.status,
            )
        ).all()
        return {
            "missing": listings(session, "missing", None),
            "remains": listings(session, "remains", None),
            "pairs": sorted(tuple(row) for row in pairs),
        }


def held(dvi: OpenDVI, pid: int, *, done: bool = False) -> list[int]:
    """Unfinished jobs the worker with this process id holds (or, with ``done``, the jobs
    it holds or finished)."""
    query = select(Job.id).where(Job.claimed_by.like(f"%:{pid}:%"))
    if not done:
        query = query.where(Job.status == "queued")
    with dvi.db.read() as session:
        return list(session.scalars(query))


@pytest.fixture
def reference(tmp_path: Path, postgres_server: Any) -> Iterator[OpenDVI]:
    """The same registry in a database of its own, matched by one run."""
    if postgres_server is None:
        url = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
    else:
        name = f"reference_{os.getpid()}_{time.monotonic_ns()}"
        postgres_server.psql(f"CREATE DATABASE {name};")
        url = postgres_server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)
    app = OpenDVI.open(Settings(data_dir=tmp_path / "reference", database_url=url))
    build(app)
    run_matching(app, actor="worker")
    yield app
    app.close()


def test_two_workers_one_killed_do_every_job_once_with_the_lists_of_one_run(
    dvi: OpenDVI, cli_env: dict[str, str], reference: OpenDVI
) -> None:
    build(dvi)
    with dvi.db.read() as session:
        queued = list(session.scalars(select(Job.id).where(Job.status == "queued")))
    assert len(queued) == 88
    env = {
        **os.environ,
        **cli_env,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "OPENDVI_JOB_LEASE_S": "2",
    }
    command = [sys.executable, "-c", CHILD, "worker", "--claim", "6", "--every", "0.2"]
    deadline = time.monotonic() + 120

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def wait_for(process: subprocess.Popen[bytes], *, done: bool = False) -> None:
        """Until the worker holds a job (or has done one)."""
        while not held(dvi, process.pid, done=done):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(process.communicate()[0].decode())
            time.sleep(0.02)

    workers = [start(), start()]
    try:
        for process in workers:
            wait_for(process, done=True)  # both at work
        # Kill one while it holds unfinished jobs: frozen, then checked, then killed.
        lost: list[int] = []
        while not lost:
            for victim in workers:
                if held(dvi, victim.pid):
                    os.kill(victim.pid, signal.SIGSTOP)
                    lost = held(dvi, victim.pid)
                    if lost:
                        break
                    os.kill(victim.pid, signal.SIGCONT)
            assert time.monotonic() < deadline, "no worker held a job"
            time.sleep(0.01)
        os.kill(victim.pid, signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        (survivor,) = [process for process in workers if process is not victim]
        # The survivor does the rest, the lost jobs once their claims expire.
        while True:
            assert time.monotonic() < deadline, "jobs left undone"
            with dvi.db.read() as session:
                left = session.scalars(select(Job.id).where(Job.status == "queued")).all()
            if not left:
                break
            time.sleep(0.2)
        survivor.send_signal(signal.SIGTERM)
        output = survivor.communicate(timeout=60)[0].decode()
        assert survivor.returncode == 0, output
        assert "records matched" in output and "worker stopped" in output
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
    with dvi.db.read() as session:
        done = session.execute(select(Job.id, Job.status, Job.attempts, Job.claimed_by)).all()
    assert sorted(job_id for job_id, *_ in done) == sorted(queued)  # none lost, none added
    assert {(status, attempts) for _, status, attempts, _ in done} == {("done", 1)}
    by = {job_id: holder for job_id, _, _, holder in done}
    assert all(f":{victim.pid}:" not in by[job_id] for job_id in lost)  # done by the other
    assert snapshot(dvi) == snapshot(reference)


def test_a_claim_is_held_until_its_lease_expires_and_only_its_holder_finishes_it(
    dvi: OpenDVI,
) -> None:
    build(dvi)
    with dvi.db.write() as session:
        first = jobs.claim_matches(session, "a", lease_s=60, limit=5)
    with dvi.db.write() as session:
        second = jobs.claim_matches(session, "b", lease_s=60, limit=5)
        assert jobs.pending_matches(session)[0][0] not in [j for j, *_ in first.jobs]
    mine = [job_id for job_id, *_ in first.jobs]
    assert len(mine) == 5 and not set(mine) & {job_id for job_id, *_ in second.jobs}
    # The lease of "a" runs out; "c" claims its jobs, and "a" can no longer finish them.
    with dvi.db.write() as session:
        session.execute(
            update(Job)
            .where(Job.id.in_(mine))
            .values(claimed_until=utcnow() - dt.timedelta(seconds=1))
        )
        assert jobs.renew(session, "b", lease_s=60) == 5
    with dvi.db.write() as session:
        third = jobs.claim_matches(session, "c", lease_s=60, limit=5)
    assert [job_id for job_id, *_ in third.jobs] == mine
    with dvi.db.write() as session:
        jobs.finish(session, mine, holder="a")
        jobs.finish(session, mine[:2], holder="c")
    with dvi.db.read() as session:
        status = dict(session.execute(select(Job.id, Job.status).where(Job.id.in_(mine))).all())
    assert [status[job_id] for job_id in mine] == ["done"] * 2 + ["queued"] * 3
    # A stopping worker gives its jobs back to the queue.
    with dvi.db.write() as session:
        assert jobs.release(session, "c") == 3
        assert jobs.claim_matches(session, "d", lease_s=60, limit=1).jobs[0][0] == mine[2]


def test_a_change_to_a_record_whose_job_is_claimed_queues_a_new_job(dvi: OpenDVI) -> None:
    w = World(dvi)
    record = w.report("AM-1", "someone")
    with dvi.db.write() as session:
        jobs.queue_match(session, "missing", record)  # waiting already: no second job
        claim = jobs.claim_matches(session, "a", lease_s=60, limit=10)
    assert [side_id for _, *side_id in claim.jobs] == [["missing", record]]
    with dvi.db.write() as session:
        jobs.queue_match(session, "missing", record)  # the worker may have read it before
        jobs.queue_match(session, "missing", record)
    with dvi.db.read() as session:
        statuses = session.execute(select(Job.claimed_by).where(Job.status == "queued")).all()
    assert sorted(holder for (holder,) in statuses) == ["", "a"]


def test_worker_once_matches_what_is_queued_and_exits(cli: Any, dvi: OpenDVI) -> None:
    build(dvi)
    result = cli("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "88 records matched" in result.output and "worker stopped" in result.output
    with dvi.db.read() as session:
        assert session.scalars(select(Job.id).where(Job.status == "queued")).all() == []
        assert session.scalars(select(Job.claimed_by).distinct()).all() != [""]


def test_the_web_processes_never_start_a_worker(
    cli: Any, dvi: OpenDVI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` starts the one worker in its own process, and none with --no-worker; the
    web application each of its processes makes (``create_app``) starts none."""
    import opendvi.cli.system as system
    import opendvi.infra.worker as worker_module
    from opendvi.web import create_app

    started: list[object] = []
    monkeypatch.setattr(worker_module.Worker, "start", lambda self: started.append(self))
    monkeypatch.setattr(system, "_run_server", lambda *args: create_app(dvi=args[0]))
    monkeypatch.setattr(system, "_port_free", lambda host, port: None)
    assert cli("serve", "--processes", "3").exit_code == 0
    assert len(started) == 1
    assert cli("serve", "--processes", "3", "--no-worker").exit_code == 0
    assert len(started) == 1


@pytest.mark.skipif(
    not USE_POSTGRES,
    reason="the matching turn is a PostgreSQL advisory lock (SQLite's writer lock does as much)",
)
def test_opendvi_match_waits_for_the_workers_matching_turn(dvi: OpenDVI) -> None:
    """`opendvi match` (a run without a claim) never stores lists while a worker does: it
    waits for the turn the workers take."""
    import threading

    record_id = World(dvi).remains("PM-T0", None, sex="M")
    done: list[int] = []
    with jobs.matching_turn(dvi.db):  # a worker storing its lists
        runner = threading.Thread(
            target=lambda: done.append(run_matching(dvi, actor="cli").records)
        )
        runner.start()
        runner.join(1.5)
        assert runner.is_alive() and not done, "matched while a worker held the turn"
        with dvi.db.read() as session:
            status = select(Job.status).where(Job.subject == f"remains:{record_id}")
            assert session.scalar(status) == "queued"
    runner.join(60)
    assert done == [1]

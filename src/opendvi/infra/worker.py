"""The worker: it finds the faces in newly uploaded photos and runs the queued matching, so
a record saved in a form gets its faces and candidates without anyone running a command.
The web application runs one in a thread of its own (`opendvi serve`); a server may run
several as processes instead (`opendvi worker`, `opendvi serve --no-worker`).

Workers share the queue by claims (``infra.jobs``): each claims a few match jobs at a time,
renews its claim while it works, and marks done only the jobs it still holds. On PostgreSQL
they take turns to store lists (``jobs.matching_turn``) and to save photos' faces.

The photos' image work (decoding, the served copy, detection) runs in a worker process of
its own, started for each round that has photos and ended with it, so no request waits on
it and its memory is given back; this thread only waits for the results and saves them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opendvi.app import OpenDVI
from opendvi.infra import jobs

__all__ = ["CLAIM", "WorkDone", "Worker"]

log = logging.getLogger(__name__)
# Match jobs claimed at a time: small enough that several workers share a burst of changes.
CLAIM = 100
DETECTION_LOCK = 7310543


@dataclass(frozen=True)
class WorkDone:
    photos: int
    records: int


class Worker:
    def __init__(self, app: OpenDVI, *, every_s: float = 3.0, claim: int = CLAIM) -> None:
        self.app = app
        self.every_s = every_s
        self.claim = claim
        self.name = jobs.worker_id()
        from opendvi.matching.service import MatchingService

        # The registry loaded on the first match and kept current from the queue.
        self.service = MatchingService(app, actor="worker")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="opendvi-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the work at hand (at once when idle)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_once(self) -> WorkDone:
        """Photos still waiting (decoded and their faces found in a worker process), then
        the queued matching, claimed a part at a time until none is left to claim."""
        from opendvi.matching import run_matching
        from opendvi.records.faces import detect_faces

        with self._turn(DETECTION_LOCK):
            photos = detect_faces(self.app, actor="worker", workers=1, apart=True).photos
        records = 0
        lease = self.app.settings.job_lease_s
        while not self._stop.is_set():
            with self._renewing():
                with self.app.db.write() as session:
                    claim = jobs.claim_matches(session, self.name, lease_s=lease, limit=self.claim)
                # With nothing claimed, a rebuild of every list a crash interrupted is
                # finished all the same.
                with self._turn(jobs.MATCHING_LOCK):
                    records += run_matching(
                        self.app, actor="worker", claim=claim, service=self.service
                    ).records
            if not claim.jobs:
                break
        return WorkDone(photos, records)

    def release(self) -> int:
        """Give back the jobs this worker still holds; how many."""
        with self.app.db.write() as session:
            return jobs.release(session, self.name)

    def wait(self) -> bool:
        """Wait for the next round; False once told to stop."""
        return not self._stop.wait(self.every_s)

    def _run(self) -> None:
        while self.wait():
            try:
                self.run_once()
            except Exception:  # keep serving; the work stays queued for the next round
                log.exception("background work failed; it will be tried again")
        try:
            self.release()
        except Exception:  # the claims expire on their own
            log.exception("could not give back the claimed jobs")

    @contextmanager
    def _turn(self, key: int) -> Iterator[None]:
        with jobs.matching_turn(self.app.db, key=key):
            yield

    @contextmanager
    def _renewing(self) -> Iterator[None]:
        """Renew this worker's claims every third of the lease while the block runs."""
        lease = self.app.settings.job_lease_s
        done = threading.Event()

        def renew() -> None:
            while not done.wait(lease / 3):
                try:
                    with self.app.db.write() as session:
                        jobs.renew(session, self.name, lease_s=lease)
                except Exception:  # tried again a third of a lease later
                    log.exception("could not renew the claimed jobs")

        beat = threading.Thread(target=renew, name="opendvi-lease", daemon=True)
        beat.start()
        try:
            yield
        finally:
            done.set()
            beat.join(timeout=60)

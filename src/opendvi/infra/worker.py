"""The in-process worker of the embedded set-up: while the web application serves, it finds
the faces in newly uploaded photos and runs the queued matching, so a record saved in a form
gets its faces and candidates without anyone running a command.

The photos' image work (decoding, the served copy, detection) runs in a worker process of
its own, started for each round that has photos and ended with it, so no request waits on
it and its memory is given back; this thread only waits for the results and saves them."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from opendvi.app import OpenDVI

__all__ = ["WorkDone", "Worker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkDone:
    photos: int
    records: int


class Worker:
    def __init__(self, app: OpenDVI, *, every_s: float = 3.0) -> None:
        self.app = app
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="opendvi-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def run_once(self) -> WorkDone:
        """Photos still waiting (decoded and their faces found in a worker process), then
        the queued matching."""
        from opendvi.matching import run_matching
        from opendvi.records.faces import detect_faces

        photos = detect_faces(self.app, actor="worker", workers=1, apart=True).photos
        records = run_matching(self.app, actor="worker").records
        return WorkDone(photos, records)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.run_once()
            except Exception:  # keep serving; the work stays queued for the next round
                log.exception("background work failed; it will be tried again")

"""The in-process worker of the embedded set-up: runs queued matching while the web
application serves, so a record saved in a form gets its candidates without anyone running
`opendvi match`."""

from __future__ import annotations

import logging
import threading

from opendvi.app import OpenDVI

__all__ = ["MatchWorker"]

log = logging.getLogger(__name__)


class MatchWorker:
    def __init__(self, app: OpenDVI, *, every_s: float = 5.0) -> None:
        self.app = app
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="opendvi-match", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def run_once(self) -> int:
        from opendvi.matching import run_matching

        return run_matching(self.app, actor="matcher").records

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.run_once()
            except Exception:  # keep serving; the job stays queued for the next round
                log.exception("matching failed; it will be tried again")

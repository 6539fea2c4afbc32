"""Scores are computed outside any write: while every list is rebuilt and queued records
are matched, another writer never waits on the matching for more than a second."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from opendvi.app import OpenDVI
from opendvi.infra.jobs import queue_match
from opendvi.matching import run_matching
from tests.matching.test_matching import World


def test_a_writer_never_waits_on_matching_for_more_than_a_second(
    dvi: OpenDVI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opendvi.matching.rebuild as rebuild
    import opendvi.matching.run as run

    # Each record's search made as slow as a large registry's (longer than storing its
    # list), so a write lock held while scoring shows as a writer's wait.
    for module, name in ((run, "search_record"), (rebuild, "listed_pairs")):
        search = getattr(module, name)

        def slow(*args: Any, _search: Any = search, **kwargs: Any) -> Any:
            time.sleep(0.1)
            return _search(*args, **kwargs)

        monkeypatch.setattr(module, name, slow)
    w = World(dvi, seed=7)
    for n in range(40):
        w.report(f"AM-{n:03d}", f"person-{n}", sex="F" if n % 2 else "M")
    for n in range(30):
        w.remains(f"PM-{n:03d}", f"person-{n}" if n % 2 else None)
    waits: list[float] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            with dvi.db.write() as session:
                queue_match(session, "missing", 1)  # a small write of its own
            waits.append(time.perf_counter() - began)
            time.sleep(0.02)

    thread = threading.Thread(target=writer)
    thread.start()
    began = time.perf_counter()
    try:
        run_matching(dvi, actor="test", everything=True)  # the calibration fitted too
        for n in range(40):  # queued records
            w.remains(f"PM-NEW{n}", f"person-{n}")
        run_matching(dvi, actor="test")
    finally:
        stop.set()
        thread.join()
    matching = time.perf_counter() - began
    assert matching > 3  # long enough that holding the lock while scoring would show
    assert len(waits) > 20
    assert max(waits) < 1.0, sorted(waits)[-5:]

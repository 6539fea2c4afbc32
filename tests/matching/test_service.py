"""The long-lived matching service (``matching.service``): the registry a worker keeps
loaded, brought up to date from the job queue, is the registry a fresh load gives, and
reading it again costs the changed records' faces, not the registry's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

import opendvi.matching.gallery as gallery
from opendvi.app import OpenDVI
from opendvi.db.tables import Calibration, MissingPerson, Photo, Remains
from opendvi.infra.jobs import queue_match
from opendvi.infra.worker import Worker
from opendvi.matching import run_matching
from opendvi.matching.context import load_context
from opendvi.matching.pairs import Context, search_record
from opendvi.matching.service import MatchingService
from opendvi.records.intake import save_record
from opendvi.review.decisions import exclude
from tests.matching.test_matching import World, candidates


@pytest.fixture
def world(dvi: OpenDVI) -> World:
    w = World(dvi, seed=11)
    for n in range(40):
        w.report(f"AM-{n:03d}", f"person-{n}", sex="F" if n % 2 else "M", age_min=20 + n)
    for n in range(3):
        w.report(f"AM-X{n}", None, sex="M")  # no photo: matched on description
    for n in range(6):
        w.remains(f"PM-{n}", f"person-{n}", sex="F" if n % 2 else "M")
    w.remains("PM-X0", None, sex="M", age_min=30, age_max=40)
    return w


def counting_faces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    loaded: list[int] = []
    grouped = gallery._grouped

    def counted(rows: Any) -> gallery.FaceRows:
        loaded.append(len(rows))
        return grouped(rows)

    monkeypatch.setattr(gallery, "_grouped", counted)
    return loaded


def _side(data: gallery.SideData) -> dict[str, Any]:
    return {
        "refs": data.refs,
        "facts": data.facts,
        "digests": data.digests,
        "groups": data.groups.tolist(),
        "starts": data.starts.tolist(),
        "ends": data.ends.tolist(),
        "vectors": data.vectors.tobytes(),
        "quality": data.quality.tolist(),
        "face_ids": data.face_ids.tolist(),
        "owner": data.owner.tolist(),
        "position": data.position,
        "faceless": sorted(data.faceless),
        "unchosen": data.unchosen,
        "sample": data.sample().records,
    }


def _rows(ctx: Context, side: Any, record_id: int) -> list[tuple[Any, ...]]:
    rows = search_record(ctx, side, record_id)
    return sorted(
        (r["remains_id"], r["missing_person_id"], r["score"], r["face_score"], str(r["factors"]))
        for r in rows
    )


def assert_same_registry(kept: Context, fresh: Context) -> None:
    assert _side(kept.am) == _side(fresh.am)
    assert _side(kept.pm) == _side(fresh.pm)
    assert kept.exclusions == fresh.exclusions
    assert kept.identified == fresh.identified
    assert kept.calibration.records == fresh.calibration.records
    assert kept.calibration.reference == fresh.calibration.reference
    for side, data in (("missing", fresh.am), ("remains", fresh.pm)):
        for record_id in data.refs:
            assert _rows(kept, side, record_id) == _rows(fresh, side, record_id), (side, record_id)


@pytest.mark.parametrize("spread", [False, True], ids=["as-they-are", "spread"])
def test_the_kept_registry_is_the_registry_a_fresh_load_gives(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch, spread: bool
) -> None:
    import opendvi.matching.calibration as calibration

    monkeypatch.setattr(calibration, "choose_spread", lambda test: (spread, "by the test"))
    monkeypatch.setattr(gallery, "SPREAD_SAMPLE", 15)
    run_matching(dvi, actor="test", everything=True)
    service = MatchingService(dvi, actor="test")
    kept = service.context()
    search_record(kept, "remains", 1)  # spreads and blocks made, as a run leaves them
    search_record(kept, "missing", 1)
    # New records on both sides, with and without faces.
    world.report("AM-N0", "person-2", sex="F")
    world.remains("PM-N0", "person-7", sex="M")
    world.remains("PM-N1", None, sex="F", age_min=20, age_max=30)
    with dvi.db.write() as session:
        # A report's description changed (its job queued by the change).
        save_record(session, MissingPerson, actor="test", ref="AM-005", fields={"sex": "M"})
        # A photo withdrawn, and a report withdrawn.
        photo = (
            session.execute(select(Photo).where(Photo.missing_person_id == 4).order_by(Photo.id))
            .scalars()
            .first()
        )
        assert photo is not None
        photo.withdrawn_at = func.now()
        queue_match(session, "missing", 4)
        gone = session.execute(select(MissingPerson).filter_by(ref="AM-007")).scalar_one()
        gone.status = "withdrawn"
        queue_match(session, "missing", gone.id)
        # A remains record that loses its face: its photo withdrawn.
        pm = session.execute(select(Remains).filter_by(ref="PM-3")).scalar_one()
        for p in session.execute(select(Photo).where(Photo.remains_id == pm.id)).scalars():
            p.withdrawn_at = func.now()
        queue_match(session, "remains", pm.id)
    from opendvi.people import add_user
    from tests.factories import PASSWORD

    add_user(dvi, username="rev", role="reviewer", actor="test", password=PASSWORD)
    assert exclude(dvi, ("PM-1", "AM-001"), reason="dental records differ", username="rev")
    kept = service.context()
    fresh = load_context(dvi, actor="test", recalibrate=False)
    assert ("PM-1", "AM-001") in {(fresh.pm.refs[p], fresh.am.refs[a]) for p, a in fresh.exclusions}
    assert "AM-007" not in kept.am.refs.values()
    assert_same_registry(kept, fresh)
    assert service.loads == 1


def test_a_new_record_is_read_alone_and_its_list_is_the_one_run_gives(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_matching(dvi, actor="test", everything=True)
    worker = Worker(dvi)
    world.remains("PM-N0", "person-3", sex="M")
    worker.run_once()  # the registry loaded for the first job
    assert worker.service.loads == 1
    loaded = counting_faces(monkeypatch)
    world.remains("PM-N1", "person-5", sex="M")
    world.report("AM-N0", "person-40", sex="F")
    done = worker.run_once()
    assert done.records == 2
    # Read again: the new remains record's one face and the new report's two.
    assert sorted(loaded) == [1, 2], loaded
    assert worker.service.loads == 1
    kept = candidates(dvi)
    # The lists the kept registry gave are those a run loading the registry gives.
    with dvi.db.write() as session:
        for ref in ("PM-N0", "PM-N1"):
            record = session.execute(select(Remains).filter_by(ref=ref)).scalar_one()
            queue_match(session, "remains", record.id)
        record = session.execute(select(MissingPerson).filter_by(ref="AM-N0")).scalar_one()
        queue_match(session, "missing", record.id)
    run_matching(dvi, actor="test")
    assert candidates(dvi) == kept


def test_the_calibration_is_fitted_again_once_the_reports_grew_by_a_tenth(
    dvi: OpenDVI, world: World
) -> None:
    for n in range(40, 64):  # enough reports to calibrate on
        world.report(f"AM-{n:03d}", f"person-{n}", sex="M")
    run_matching(dvi, actor="test", everything=True)
    service = MatchingService(dvi, actor="test")
    first = service.context().calibration
    assert first.source == "reports"

    def fitted() -> int:
        with dvi.db.read() as session:
            return int(session.execute(select(func.count()).select_from(Calibration)).scalar_one())

    before = fitted()
    world.report("AM-N0", "person-n0", sex="M")  # one more: not yet a tenth
    assert service.context().calibration is first
    assert fitted() == before
    for n in range(1, 8):
        world.report(f"AM-N{n}", f"person-n{n}", sex="M")
    kept = service.context()
    assert kept.calibration is not first
    assert kept.calibration.records == len(kept.am.groups)
    assert fitted() == before + 1
    assert_same_registry(kept, load_context(dvi, actor="test", recalibrate=False))


def test_splicing_keeps_faces_in_record_order(dvi: OpenDVI, world: World) -> None:
    from opendvi.matching.splice import splice

    with dvi.db.read() as session:
        model = world.model
        whole = gallery.load_side(session, "missing", model)
        ids = [3, 10, 41]  # a report with faces, another, and one without
        fresh = gallery.load_side(session, "missing", model, ids=ids)
        part = gallery.load_side(
            session, "missing", model, ids=[i for i in whole.refs if i not in ids]
        )
    splice(part, fresh, ids)
    assert list(part.groups) == sorted(part.groups)
    assert np.array_equal(part.vectors, whole.vectors)
    assert part.position == whole.position
    assert part.index is not None and len(part.index) == len(whole.vectors)


def test_new_records_are_appended_without_copying_the_loaded_faces(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records stored after the load go after the others: the loaded faces are copied once
    into room kept after them, not for every record added, and the side stays the one a
    fresh load gives, also when a known record changes after the appends."""
    from opendvi.matching.splice import splice

    model = world.model
    with dvi.db.read() as session:
        kept = gallery.load_side(session, "missing", model)
    copies = 0
    empty = np.empty

    def counted(shape: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        nonlocal copies
        if isinstance(shape, tuple) and len(shape) == 2 and shape[0] >= 1024:
            copies += 1  # room made for the faces
        return empty(shape, *args, **kwargs)

    monkeypatch.setattr("opendvi.matching.splice.np.empty", counted)
    for n in range(5):
        new = [world.report(f"AM-A{n}", f"person-a{n}", sex="F")]
        new.append(world.report(f"AM-B{n}", None, sex="M"))  # without a face
        with dvi.db.read() as session:
            splice(kept, gallery.load_side(session, "missing", model, ids=new), new)
            whole = gallery.load_side(session, "missing", model)
        assert _side(kept) == _side(whole)
        assert kept.index is not None and len(kept.index) == len(whole.vectors)
        hits = kept.index.search(whole.vectors[-1], 1)
        assert int(kept.owner[hits.ids[0]]) == len(kept.groups) - 1  # the newest face found
    assert copies == 1, "the loaded faces were copied for each record added"
    with dvi.db.write() as session:  # a known record's faces change: spliced in place
        known = save_record(
            session, MissingPerson, actor="test", ref="AM-003", fields={"sex": "M"}
        ).record_id
    added = world.report("AM-C0", "person-c0", sex="F")
    with dvi.db.read() as session:
        changed = [known, added]
        splice(kept, gallery.load_side(session, "missing", model, ids=changed), changed)
        assert _side(kept) == _side(gallery.load_side(session, "missing", model))

"""Scoring one pair (explain, an exclusion) reads its two records, the stored calibration
and the reports a spread is measured against, never the registry's faces; and it gives
the pair the row a matching run gives it."""

from __future__ import annotations

from typing import Any

import pytest

import opendvi.matching.gallery as gallery
from opendvi.app import OpenDVI
from opendvi.matching import run_matching
from opendvi.matching.context import open_context, pair_context
from opendvi.matching.pairs import score_pair
from opendvi.review.decisions import exclude
from tests.matching.test_matching import World


@pytest.fixture
def world(dvi: OpenDVI) -> World:
    w = World(dvi, seed=5)
    for n in range(60):  # enough to calibrate on
        w.report(f"AM-{n:03d}", f"person-{n}", sex="F" if n % 2 else "M")
    for n in range(4):
        w.report(f"AM-D{n}", None, sex="M")
    for n in range(5):
        w.remains(f"PM-{n}", f"person-{n}", sex="F" if n % 2 else "M")
    w.remains("PM-D0", None, sex="M")
    return w


def counting_faces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every face row loaded from the database, counted as it is read."""
    loaded: list[int] = []
    grouped = gallery._grouped

    def counted(rows: Any) -> gallery.FaceRows:
        loaded.append(len(rows))
        return grouped(rows)

    monkeypatch.setattr(gallery, "_grouped", counted)
    return loaded


@pytest.mark.parametrize("spread", [False, True], ids=["as-they-are", "spread"])
def test_a_pair_scored_alone_is_the_row_the_whole_registry_gives(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch, spread: bool
) -> None:
    import opendvi.matching.calibration as calibration

    monkeypatch.setattr(calibration, "choose_spread", lambda test: (spread, "by the test"))
    # Fewer reports sampled than there are: the pair's reference is drawn as a run draws it.
    monkeypatch.setattr(gallery, "SPREAD_SAMPLE", 12)
    run_matching(dvi, actor="test", everything=True)
    with dvi.db.read() as session:
        whole = open_context(session, dvi, actor="test", recalibrate=False)
        assert whole.calibration.calibration is not None
        assert whole.calibration.calibration.spread is spread
        compared = 0
        for pm_id in whole.pm.refs:
            for am_id in list(whole.am.refs)[::5]:
                alone = pair_context(session, dvi, pm_id, am_id)
                assert score_pair(alone, am_id, pm_id) == score_pair(whole, am_id, pm_id)
                compared += 1
    assert compared > 50
    # New reports (too few to refit the calibration): spreads are still measured against
    # the reports drawn when it was fitted, alone as with the whole registry loaded.
    for n in range(3):
        world.report(f"AM-N{n}", f"person-new-{n}", sex="M")
    run_matching(dvi, actor="test")
    with dvi.db.read() as session:
        whole = open_context(session, dvi, actor="test", recalibrate=False)
        assert whole.calibration.reference is not None
        assert set(whole.am.sample().records) <= set(whole.calibration.reference)
        for pm_id in whole.pm.refs:
            for am_id in list(whole.am.refs)[-4:]:
                alone = pair_context(session, dvi, pm_id, am_id)
                assert score_pair(alone, am_id, pm_id) == score_pair(whole, am_id, pm_id)


def test_explain_and_an_exclusion_load_no_face_of_the_registry(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opendvi.matching.calibration as calibration
    from opendvi.matching.explain import explain

    monkeypatch.setattr(calibration, "choose_spread", lambda test: (True, "by the test"))
    monkeypatch.setattr(gallery, "SPREAD_SAMPLE", 6)
    run_matching(dvi, actor="test", everything=True)
    with dvi.db.read() as session:
        registry = len(open_context(session, dvi, actor="test", recalibrate=False).am.vectors)
    loaded = counting_faces(monkeypatch)
    shown = explain(dvi, "PM-1", "AM-001")
    assert shown.factors["face"]["points"] > 0
    # The pair's own faces (two photos of the report, one of the remains), then those of
    # the six reports sampled (two each).
    assert sum(loaded) == 2 + 1 + 6 * 2, loaded
    assert sum(loaded) < registry / 3
    loaded.clear()
    from opendvi.people import add_user
    from tests.factories import PASSWORD

    add_user(dvi, username="rev", role="reviewer", actor="test", password=PASSWORD)
    decided = exclude(dvi, ("PM-1", "AM-002"), reason="dental records differ", username="rev")
    assert decided is not None
    assert 0 < sum(loaded) <= 2 + 1 + 6 * 2, loaded


def test_a_pair_of_a_withdrawn_report_is_refused_by_name(dvi: OpenDVI, world: World) -> None:
    from opendvi.db.tables import MissingPerson
    from opendvi.errors import NotFound

    run_matching(dvi, actor="test", everything=True)
    with dvi.db.write() as session:
        report = session.query(MissingPerson).filter_by(ref="AM-003").one()
        report.status = "withdrawn"
        am_id = report.id
    with dvi.db.read() as session, pytest.raises(NotFound, match="withdrawn"):
        pair_context(session, dvi, 1, am_id)

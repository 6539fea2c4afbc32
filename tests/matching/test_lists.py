"""Stored candidate lists (``matching.lists``): the ranks given do not depend on the order
the database happens to return the rows in."""

from __future__ import annotations

from sqlalchemy import select

from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate
from opendvi.matching.lists import rank_lists
from tests.matching.test_matching import World


def test_pairs_with_the_same_score_are_ranked_by_the_other_records_number(dvi: OpenDVI) -> None:
    # Three reports matched on description alone, with the same total: the list is the same
    # whichever pair was stored first (a worker and a rebuild store them in other orders).
    world = World(dvi, seed=3)
    reports = [world.report(f"AM-T{n}", None, sex="M") for n in range(3)]
    pm = world.remains("PM-T0", None, sex="M")
    pm2 = world.remains("PM-T1", None, sex="M")
    with dvi.db.write() as session:
        # Stored last report first and the second remains record first, so the table's own
        # order is the reverse of the records'.
        for number, am in enumerate(reversed(reports), start=1):
            for remains in (pm, pm2):
                session.add(
                    Candidate(
                        id=number * 10 + (2 if remains == pm else 1),
                        remains_id=remains,
                        missing_person_id=am,
                        score=-0.6,
                        face_score=None,
                        rank_for_remains=1,
                        rank_for_missing=1,
                    )
                )
        session.flush()
        rank_lists(session, [pm], reports, keep=50)
    with dvi.db.read() as session:
        ranked = session.execute(
            select(Candidate.missing_person_id, Candidate.rank_for_remains)
            .where(Candidate.remains_id == pm)
            .order_by(Candidate.rank_for_remains)
        ).all()
        for_report = session.execute(
            select(Candidate.remains_id, Candidate.rank_for_missing)
            .where(Candidate.missing_person_id == reports[0])
            .order_by(Candidate.rank_for_missing)
        ).all()
    assert [tuple(r) for r in ranked] == [(am, rank) for rank, am in enumerate(reports, 1)]
    assert [tuple(r) for r in for_report] == [(pm, 1), (pm2, 2)]

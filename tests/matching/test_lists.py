"""Stored candidate lists (``matching.lists``): the ranks given do not depend on the order
the database happens to return the rows in."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate, CandidateNumber
from opendvi.matching.lists import rank_lists
from tests.matching.test_matching import World


def test_pairs_with_the_same_score_are_ranked_by_their_numbers_as_a_rebuild_ranks_them(
    dvi: OpenDVI,
) -> None:
    # Reports matched on description alone, with the same total: the list is the same
    # whichever way the rows come back (by their old ranks, here the reverse of their
    # numbers), as a worker's, a run's and a rebuild's lists must be.
    world = World(dvi, seed=3)
    reports = [world.report(f"AM-T{n}", None, sex="M") for n in range(3)]
    remains = [world.remains(f"PM-T{n}", None, sex="M") for n in range(2)]
    with dvi.db.write() as session:
        number = 0
        for a, am in enumerate(reports):
            for p, pm in enumerate(remains):
                number += 1
                session.add(
                    Candidate(
                        id=number,
                        remains_id=pm,
                        missing_person_id=am,
                        score=-0.6,
                        face_score=None,
                        rank_for_remains=len(reports) - a,
                        rank_for_missing=len(remains) - p,
                    )
                )
        session.flush()
        rank_lists(session, remains, reports, keep=50)
    with dvi.db.read() as session:
        for pm in remains:
            ranked = session.execute(
                select(Candidate.missing_person_id, Candidate.rank_for_remains)
                .where(Candidate.remains_id == pm)
                .order_by(Candidate.rank_for_remains)
            ).all()
            assert [tuple(r) for r in ranked] == [(am, n) for n, am in enumerate(reports, 1)]
        for am in reports:
            ranked = session.execute(
                select(Candidate.remains_id, Candidate.rank_for_missing)
                .where(Candidate.missing_person_id == am)
                .order_by(Candidate.rank_for_missing)
            ).all()
            assert [tuple(r) for r in ranked] == [(pm, n) for n, pm in enumerate(remains, 1)]


def test_a_record_listed_for_more_reports_than_a_statement_takes_parameters(dvi: OpenDVI) -> None:
    # A remains record without a face, in a registry where no report's list is full yet,
    # enters every report's list: 70,000 pairs stored by one job (PostgreSQL takes at most
    # 65,535 parameters a statement).
    from opendvi.db.tables import MissingPerson
    from opendvi.matching import run_matching

    count = 70_000
    with dvi.db.engine.begin() as connection:
        connection.execute(
            insert(MissingPerson),
            [{"ref": f"AM-{n:06d}", "sex": "M"} for n in range(count)],
        )
    world = World(dvi, seed=3)
    world.remains("PM-0", None, sex="M")
    report = run_matching(dvi, actor="test")
    assert report.remains == 1
    with dvi.db.read() as session:
        stored = session.scalar(select(func.count()).select_from(Candidate))
        numbered = session.scalar(select(func.count()).select_from(CandidateNumber))
    assert stored == numbered == count

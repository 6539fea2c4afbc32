"""Matching: ranked candidates both ways, calibrated rates, "no credible candidate",
exclusions that resurface, continuous matching through the job queue, and explanations.

Faces are stored directly with made-up embeddings (labelled with the default model), so the
tests know exactly who is whom without running the face model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, update

from opendvi import audit
from opendvi.app import OpenDVI
from opendvi.core.evidence import AGE_MOST
from opendvi.db.tables import Candidate, Job, MissingPerson, Photo, Remains, utcnow
from opendvi.errors import NotFound, Refused
from opendvi.faces import open_backend
from opendvi.matching import explain, run_matching
from opendvi.people import add_user
from opendvi.records.intake import save_record
from opendvi.review import exclude
from tests.factories import face_row

DIM = 128


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class World:
    """People with a true face each; reports and remains built from noisy views of them."""

    def __init__(self, dvi: OpenDVI, seed: int = 0) -> None:
        self.dvi = dvi
        self.rng = np.random.default_rng(seed)
        self.people: dict[str, np.ndarray] = {}
        backend = open_backend(dvi.settings)
        self.model = (backend.name, backend.version)
        self._photos = 0

    def face(self, person: str, noise: float = 0.35) -> np.ndarray:
        if person not in self.people:
            self.people[person] = unit(self.rng.normal(size=DIM))
        view = self.people[person] + noise * unit(self.rng.normal(size=DIM))
        return unit(view)

    def _add_faces(self, session: Any, record_id: int, side: str, faces: list[np.ndarray]) -> None:
        for vector in faces:
            self._photos += 1
            sha = hashlib.sha256(f"photo-{self._photos}".encode()).hexdigest()
            photo = Photo(
                sha256=sha,
                served_sha256=sha,
                original_name=f"{self._photos}.jpg",
                media_type="image/jpeg",
                byte_size=1,
                width=100,
                height=100,
                detection_status="done",
                **({"missing_person_id": record_id} if side == "am" else {"remains_id": record_id}),
            )
            session.add(photo)
            session.flush()
            session.add(face_row(photo.id, vector, self.model))

    def report(self, ref: str, person: str | None, photos: int = 2, **fields: Any) -> int:
        with self.dvi.db.write() as session:
            saved = save_record(session, MissingPerson, actor="test", ref=ref, fields=fields)
            if person is not None:
                self._add_faces(
                    session, saved.record_id, "am", [self.face(person) for _ in range(photos)]
                )
            return saved.record_id

    def remains(self, ref: str, person: str | None, **fields: Any) -> int:
        with self.dvi.db.write() as session:
            saved = save_record(session, Remains, actor="test", ref=ref, fields=fields)
            if person is not None:
                self._add_faces(session, saved.record_id, "pm", [self.face(person)])
            return saved.record_id


def candidates(dvi: OpenDVI, pm_ref: str | None = None) -> list[tuple[str, str, int | None, str]]:
    from opendvi.db.tables import MissingPerson, Remains

    with dvi.db.read() as session:
        query = (
            select(Remains.ref, MissingPerson.ref, Candidate.rank_for_remains, Candidate.status)
            .join(Remains, Candidate.remains_id == Remains.id)
            .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
            .where(Candidate.rank_for_remains.is_not(None) | (Candidate.status == "excluded"))
            .order_by(Remains.ref, Candidate.rank_for_remains)
        )
        if pm_ref is not None:
            query = query.where(Remains.ref == pm_ref)
        return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def top(dvi: OpenDVI, pm_ref: str) -> Candidate:
    from opendvi.db.tables import Remains

    with dvi.db.read() as session:
        return session.execute(
            select(Candidate)
            .join(Remains, Candidate.remains_id == Remains.id)
            .where(Remains.ref == pm_ref, Candidate.rank_for_remains == 1)
        ).scalar_one()


@pytest.fixture
def world(dvi: OpenDVI) -> World:
    """80 reports (enough to calibrate on), remains of 5 of them and of 3 unreported people."""
    w = World(dvi)
    for n in range(80):
        w.report(f"AM-{n:03d}", f"person-{n}", sex="F" if n % 2 else "M")
    for n in range(5):
        w.remains(f"PM-{n}", f"person-{n}", sex="F" if n % 2 else "M")
    for n in range(3):
        w.remains(f"PM-X{n}", f"stranger-{n}")
    return w


def test_each_remains_record_gets_its_report_first_and_strangers_get_none(
    dvi: OpenDVI, world: World
) -> None:
    report = run_matching(dvi, actor="test", everything=True)
    assert report.records == 88
    assert "calibrated on" in report.calibration and "pairs of different reports" in (
        report.calibration
    )
    for n in range(5):
        best = top(dvi, f"PM-{n}")
        assert best.credible, best.factors
        assert best.false_candidate_rate is not None and best.false_candidate_rate < 1e-3
        assert best.factors["face"]["points"] > 5
    assert sorted(report.no_candidate) == ["PM-X0", "PM-X1", "PM-X2"]
    for n in range(3):
        listed = candidates(dvi, f"PM-X{n}")
        assert listed, "strangers still get a list, below the threshold"
        assert not top(dvi, f"PM-X{n}").credible
    # Both directions: each report ranks its own remains first.
    with dvi.db.read() as session:
        mated = session.execute(
            select(Candidate).where(Candidate.rank_for_missing == 1, Candidate.credible)
        ).scalars()
        assert len(list(mated)) == 5


def test_lists_keep_the_best_by_total_and_by_face(dvi: OpenDVI, world: World) -> None:
    dvi.settings.candidates_per_record = 4
    run_matching(dvi, actor="test", everything=True)
    listed = candidates(dvi, "PM-0")
    assert 4 <= len(listed) <= 8
    assert [rank for _, _, rank, _ in listed] == list(range(1, len(listed) + 1))


def test_a_16_year_old_estimated_18_to_22_still_ranks_first(dvi: OpenDVI, world: World) -> None:
    world.report(
        "AM-BOY",
        "boy",
        sex="M",
        birth_earliest=dt.date(2008, 3, 1),
        birth_latest=dt.date(2008, 3, 1),
        last_seen_earliest=dt.date(2024, 6, 1),
        last_seen_latest=dt.date(2024, 6, 1),
    )
    world.remains(
        "PM-BOY",
        "boy",
        sex="M",
        age_min=18,
        age_max=22,
        found_earliest=dt.date(2024, 7, 1),
        found_latest=dt.date(2024, 7, 1),
    )
    run_matching(dvi, actor="test", everything=True)
    best = top(dvi, "PM-BOY")
    assert best.credible
    # The disagreement is shown and costs a little; a 16-22 window still counts for him.
    assert 0 < best.factors["age"]["points"] < AGE_MOST
    assert "outside the estimate 18–22" in best.factors["age"]["why"]
    assert candidates(dvi, "PM-BOY")[0][1] == "AM-BOY"


def test_description_lowers_a_stranger_that_looks_alike(dvi: OpenDVI, world: World) -> None:
    # Remains whose face is like AM-010's, but a different sex and decades older.
    world.report(
        "AM-OLD",
        "twin",
        sex="F",
        birth_earliest=dt.date(1990, 1, 1),
        birth_latest=dt.date(1990, 12, 31),
        last_seen_earliest=dt.date(2024, 1, 1),
        last_seen_latest=dt.date(2024, 1, 1),
    )
    world.remains(
        "PM-OLD",
        "twin",
        sex="M",
        age_min=70,
        age_max=80,
        found_earliest=dt.date(2024, 2, 1),
        found_latest=dt.date(2024, 2, 1),
    )
    run_matching(dvi, actor="test", everything=True)
    found = explain(dvi, "PM-OLD", "AM-OLD")
    assert found.factors["sex"]["points"] <= -3
    assert found.factors["age"]["points"] <= -3
    assert found.score < found.factors["face"]["points"]
    assert found.stored and found.rank_for_remains == 1  # lowered, never hidden


def test_an_exclusion_is_remembered_and_resurfaces_when_the_evidence_changes(
    dvi: OpenDVI, world: World
) -> None:
    run_matching(dvi, actor="test", everything=True)
    add_user(dvi, username="rita", role="reviewer", actor="test")
    add_user(dvi, username="carl", role="caseworker", actor="test")
    with pytest.raises(Refused, match="caseworker"):
        exclude(dvi, ("PM-1", "AM-001"), reason="dental records differ", username="carl")
    exclude(dvi, ("PM-1", "AM-001"), reason="dental records differ", username="rita")
    listed = candidates(dvi, "PM-1")
    assert ("PM-1", "AM-001", None, "excluded") in listed
    assert [r for _, _, r, s in listed if s != "excluded"] == list(range(1, len(listed)))

    # Matching again on the same evidence keeps it excluded.
    run_matching(dvi, actor="test", everything=True)
    assert ("PM-1", "AM-001", None, "excluded") in candidates(dvi, "PM-1")

    # A corrected attribute changes the evidence: the pair comes back, flagged.
    with dvi.db.write() as session:
        save_record(session, Remains, actor="test", ref="PM-1", fields={"height_min_cm": 160})
    run_matching(dvi, actor="test")
    best = top(dvi, "PM-1")
    assert best.status == "resurfaced"
    assert best.factors["exclusion"]["by"] == "rita"
    assert best.factors["exclusion"]["reason"] == "dental records differ"


def test_new_and_changed_records_are_matched_from_the_queue(dvi: OpenDVI, world: World) -> None:
    with dvi.db.read() as session:
        queued = session.scalar(select(func.count()).select_from(Job).where(Job.status == "queued"))
    assert queued == 88  # one per record saved
    report = run_matching(dvi, actor="test")
    assert report.records == 88
    assert run_matching(dvi, actor="test").records == 0  # nothing waiting any more
    # Finished jobs stay a week, then a run deletes them.
    with dvi.db.write() as session:
        session.execute(
            update(Job)
            .where(Job.id.in_(select(Job.id).where(Job.status == "done").limit(80)))
            .values(finished_at=utcnow() - dt.timedelta(days=8))
        )
    world.report("AM-WEEK", "week-person")
    assert run_matching(dvi, actor="test").records == 1
    with dvi.db.read() as session:
        done = session.scalar(select(func.count()).select_from(Job).where(Job.status == "done"))
    assert done == 88 - 80 + 1

    # A report added later is found for its remains, ranked as a full rebuild would rank it.
    world.remains("PM-LATE", "late-person")
    run_matching(dvi, actor="test")
    assert not top(dvi, "PM-LATE").credible
    world.report("AM-LATE", "late-person")
    assert run_matching(dvi, actor="test").records == 1
    assert top(dvi, "PM-LATE").credible
    incremental = candidates(dvi)
    run_matching(dvi, actor="test", everything=True)
    rebuilt = candidates(dvi)
    late = [row for row in rebuilt if row[0] == "PM-LATE"]
    assert [row for row in incremental if row[0] == "PM-LATE"] == late
    assert late[0][1] == "AM-LATE"


def test_records_without_faces_are_matched_on_description_and_never_credible(
    dvi: OpenDVI, world: World
) -> None:
    world.report("AM-NOPHOTO", None, sex="M", height_min_cm=180, height_max_cm=182)
    world.remains("PM-NOPHOTO", None, sex="M", height_min_cm=178, height_max_cm=184)
    run_matching(dvi, actor="test", everything=True)
    found = explain(dvi, "PM-NOPHOTO", "AM-NOPHOTO")
    face = found.factors["face"]
    assert (face["points"], face["why"]) == (0.0, "no usable face on one side")
    assert face["weight"] == "neither more nor less likely"
    assert found.factors["height"]["points"] > 0
    assert not found.credible
    assert ("PM-NOPHOTO", "AM-NOPHOTO") in {(a, b) for a, b, _, _ in candidates(dvi)}


def test_a_group_photo_where_nobody_chose_the_person_is_named_as_why_no_face_was_compared(
    dvi: OpenDVI, world: World
) -> None:
    from opendvi.records.faces import mark_choice

    world.report("AM-GROUP", "person-1", photos=1, sex="F")
    with dvi.db.write() as session:
        photo = session.execute(
            select(Photo).join(MissingPerson).where(MissingPerson.ref == "AM-GROUP")
        ).scalar_one()
        session.add(face_row(photo.id, world.face("someone-else"), world.model))
        session.flush()
        session.refresh(photo)
        for face in photo.faces:
            face.is_subject = False
        mark_choice(photo)
    run_matching(dvi, actor="test", everything=True)
    found = explain(dvi, "PM-1", "AM-GROUP")
    why = found.factors["face"]["why"]
    assert "AM-GROUP has a photo of several faces where nobody chose the person" in why
    assert "choose them on its page" in why


def test_every_matched_record_is_audited_and_the_chain_verifies(dvi: OpenDVI, world: World) -> None:
    run_matching(dvi, actor="matcher", everything=True)
    with dvi.db.read() as session:
        actions = [e.action for e in audit.recent(session, limit=1000) if e.actor == "matcher"]
        assert actions.count("candidates.computed") == 88
        assert actions.count("calibration.computed") == 1
        assert audit.verify(session).ok


def test_explain_names_every_factor_the_model_and_the_rate(cli: Any, world: World) -> None:
    run_matching(world.dvi, actor="test", everything=True)
    result = cli("explain", "PM-2", "AM-002")
    assert result.exit_code == 0, result.output
    text = result.stdout
    for factor in ("face", "sex", "age", "height", "dates", "place", "marks", "effects", "total"):
        assert factor in text
    assert world.model[1] in text
    assert "verdict: candidate: about 1 in" in text or "verdict: candidate: fewer than" in text
    assert "rank 1 for PM-2" in text
    stranger = cli("explain", "PM-X0", "AM-002")
    assert "below threshold" in stranger.stdout


def test_explain_says_which_ref_does_not_exist(dvi: OpenDVI, world: World) -> None:
    with pytest.raises(NotFound, match="no remains record 'PM-NOPE'"):
        explain(dvi, "PM-NOPE", "AM-001")
    with pytest.raises(NotFound, match="no missing-person report 'AM-NOPE'"):
        explain(dvi, "PM-1", "AM-NOPE")


def test_the_calibration_says_how_it_reads_scores_and_a_spread_reading_still_finds_the_match(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    import opendvi.matching.calibration as calibration
    from opendvi.core.scoring import fuse_many
    from opendvi.matching.pairs import score_pair
    from opendvi.matching.run import open_context

    report = run_matching(dvi, actor="test", everything=True)
    with dvi.db.read() as session:
        event = next(
            e for e in audit.recent(session, limit=1000) if e.action == "calibration.computed"
        )
    # Every report has two photos: each one searched by one for the other.
    chosen_by = event.details["chosen_by"]
    assert "searching 80 reports' photos for their own other photos" in chosen_by
    assert chosen_by in report.calibration

    forced = f"{calibration.READ_AGAINST_SPREAD} (chosen by the test)"
    monkeypatch.setattr(calibration, "choose_spread", lambda test: (True, forced))
    report = run_matching(dvi, actor="test", everything=True)
    assert report.calibration.endswith(forced)
    with dvi.db.read() as session:
        ctx = open_context(session, dvi, actor="test", recalibrate=False)
    refs = {ref: i for side in (ctx.am, ctx.pm) for i, ref in side.refs.items()}
    for n in range(5):
        best = top(dvi, f"PM-{n}")
        face = best.factors["face"]
        # The spread: the remains record against every other report (all of them sampled).
        pm_faces = ctx.pm.faces(refs[f"PM-{n}"])
        fused, _ = fuse_many(pm_faces, ctx.am.vectors, ctx.am.quality, ctx.am.starts)
        others = np.delete(fused, ctx.am.position[best.missing_person_id])
        assert face["spread"] == pytest.approx([others.mean(), others.std()], abs=1e-4)
        assert face["standardised"] == pytest.approx(
            (face["score"] - others.mean()) / others.std(), abs=1e-2
        )
        assert "standard deviations above what this remains record's photos score" in face["why"]
        assert best.credible, face
    for n in range(3):
        assert not top(dvi, f"PM-X{n}").credible
    # A report unlike the remains record lies below its usual score, and says so.
    lowest = min(
        (score_pair(ctx, am_id, refs["PM-X0"]) for am_id in ctx.am.refs),
        key=lambda row: row["factors"]["face"]["standardised"],
    )
    assert lowest["factors"]["face"]["standardised"] < 0
    assert "standard deviations below" in lowest["factors"]["face"]["why"]
    shown = cli("explain", "PM-2", "AM-002")
    assert "standard deviations above" in shown.stdout, shown.output


def test_the_self_test_searches_each_report_for_its_own_other_photo(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opendvi.matching.gallery as gallery
    from opendvi.core.scoring import fuse_many
    from opendvi.matching import load_side
    from opendvi.matching.calibration import self_test

    with dvi.db.read() as session:
        am = load_side(session, "missing", world.model)
    test = self_test(am)
    pairs = [
        float(am.vectors[am.starts[g]] @ am.vectors[am.starts[g] + 1])
        for g in range(len(am.groups))
    ]
    assert sorted(m for m, _ in test.mated[False]) == pytest.approx(sorted(pairs), abs=1e-5)
    assert len(test.tops[False]) == 80
    # Each search's best other report is a stranger's (its own would score 1: the same face).
    assert max(other for _, other in test.mated[False]) < 0.6

    # In a large registry the spread is measured on a fixed sample of reports.
    monkeypatch.setattr(gallery, "SPREAD_SAMPLE", 10)
    with dvi.db.read() as session:
        am = load_side(session, "missing", world.model)
    sample = am.sample()
    assert len(sample.positions) == 10 and am.sample() is sample
    assert sample.records == {int(am.groups[g]) for g in sample.positions}
    probe = am.faces(int(am.groups[0]))
    everyone, _ = fuse_many(probe, am.vectors, am.quality, am.starts)
    sampled, _ = fuse_many(probe, sample.vectors, sample.quality, sample.starts)
    assert sampled == pytest.approx(everyone[list(sample.positions)])


def _numbers(dvi: OpenDVI) -> dict[tuple[int, int], int]:
    with dvi.db.read() as session:
        rows = session.execute(
            select(Candidate.remains_id, Candidate.missing_person_id, Candidate.id)
        )
        return {(pm, am): number for pm, am, number in rows}


def test_a_pair_keeps_its_number_when_its_records_are_matched_again(
    dvi: OpenDVI, world: World
) -> None:
    run_matching(dvi, actor="test", everything=True)
    first = _numbers(dvi)
    world.report("AM-NEW", "person-1")  # a second report of a person with remains
    with dvi.db.write() as session:
        report = session.execute(select(MissingPerson).where(MissingPerson.ref == "AM-001"))
        world._add_faces(session, report.scalar_one().id, "am", [world.face("person-1")])
    run_matching(dvi, actor="test")  # the changed report and the new one
    again = _numbers(dvi)
    kept = set(first) & set(again)
    assert kept, "no pair was stored both times"
    assert {pair: again[pair] for pair in kept} == {pair: first[pair] for pair in kept}
    new = set(again) - set(first)
    assert not {again[pair] for pair in new} & set(first.values()), "an old number reused"
    run_matching(dvi, actor="test", everything=True)
    rebuilt = _numbers(dvi)
    kept = set(again) & set(rebuilt)
    assert {pair: rebuilt[pair] for pair in kept} == {pair: again[pair] for pair in kept}

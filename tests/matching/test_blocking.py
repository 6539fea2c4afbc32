"""Description-only candidates by blocking: the bound never falls below what ``compare``
gives, the lists chosen with it are the lists scoring everyone gives (ties included), and
the blocks kept up to date equal blocks built afresh."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opendvi.app import OpenDVI
from opendvi.core.evidence import AMFacts, PMFacts, compare, effects_factor, marks_factor
from opendvi.core.scoring import Calibration
from opendvi.matching import blocking, pairs, run_matching
from opendvi.matching.blocking import (
    MILLI,
    DescriptionBlocks,
    bounds,
    measured_points,
    row_of,
    shortlist,
)
from opendvi.matching.pairs import (
    QUICK_MARGIN,
    Context,
    _row,
    listed_pairs,
    search_record,
    select_pairs,
)
from opendvi.matching.run import open_context
from tests.matching.test_matching import World, candidates

DAY0 = dt.date(1940, 1, 1)

sexes = st.sampled_from(["U", "F", "M", "X"])
days = st.integers(0, 365 * 85).map(lambda n: DAY0 + dt.timedelta(days=n))
recent = st.integers(365 * 80, 365 * 85).map(lambda n: DAY0 + dt.timedelta(days=n))
words = st.sampled_from(["left arm", "right arm", "chest", "anchor tattoo", "scar", "rose", ""])
ends = st.one_of(st.none(), st.integers(0, 100))


def date_range(source: st.SearchStrategy[dt.date]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.tuples(source, st.integers(0, 400)).map(lambda t: (t[0], t[0] + dt.timedelta(t[1]))),
    )


def int_range(low: int, high: int) -> st.SearchStrategy[Any]:
    value = st.integers(low, high)
    return st.one_of(
        st.none(),
        st.tuples(st.one_of(st.none(), value), st.one_of(st.none(), value)).map(
            lambda t: (min(t), max(t)) if None not in t else t
        ),
    )


places = st.one_of(st.none(), st.tuples(st.floats(40, 60), st.floats(-10, 30)))
marks = st.lists(st.tuples(words, words), max_size=2)
effects = st.lists(st.sampled_from(["blue jacket", "red shoes", "watch", "the"]), max_size=2)
am_facts = st.builds(
    AMFacts,
    sex=sexes,
    birth=date_range(days),
    height=int_range(150, 195),
    last_seen=date_range(recent),
    place=places,
    marks=marks,
    effects=effects,
)
pm_facts = st.builds(
    PMFacts,
    sex=sexes,
    age=int_range(0, 95),
    height=int_range(150, 195),
    found=date_range(recent),
    place=places,
    marks=marks,
    effects=effects,
)
# Few values, so that many pairs tie: the lists must agree on ties too.
coarse_am = st.builds(
    AMFacts,
    sex=st.sampled_from(["U", "F", "M"]),
    height=st.sampled_from([None, (170, 175), (180, 180)]),
    effects=st.sampled_from([(), ("watch",)]),
)
coarse_pm = st.builds(
    PMFacts,
    sex=st.sampled_from(["U", "F", "M"]),
    height=st.sampled_from([None, (168, 172), (185, 190)]),
    effects=st.sampled_from([(), ("watch",), ("red shoes",)]),
)


def stored_total(am: AMFacts, pm: PMFacts) -> int:
    """A description-only pair's total as a row stores it (``pairs._row``), in thousandths."""
    total = round(sum(round(f.points, 3) for f in compare(am, pm)), 3)
    return round(total * MILLI)


@settings(max_examples=400, deadline=None)
@given(am_facts, pm_facts)
def test_the_bound_is_never_below_the_total_compare_gives(am: AMFacts, pm: PMFacts) -> None:
    assert int(bounds(row_of(am), row_of(pm))[0]) >= stored_total(am, pm)


def test_the_bound_is_tight_where_compare_has_nothing_to_guess() -> None:
    am = AMFacts(
        sex="M",
        birth=(dt.date(1990, 1, 1), dt.date(1990, 12, 31)),
        height=(180, 182),
        last_seen=(dt.date(2024, 5, 1), dt.date(2024, 5, 2)),
        place=(52.1, 4.3),
    )
    for pm in (
        PMFacts(sex="F", age=(60, 70), height=(160, 165), found=(dt.date(2023, 1, 1),) * 2),
        PMFacts(sex="M", age=(30, 36), height=(178, 184), place=(52.3, 4.9)),
    ):
        assert int(bounds(row_of(am), row_of(pm))[0]) == stored_total(am, pm)


def brute_list(
    totals: list[int], keep: int, earlier: list[int]
) -> tuple[list[int], list[tuple[int, int]]]:
    """The positions ``select_pairs`` keeps by total when every pair is scored: a stable
    sort of the rows the record had already (``earlier``), then the pool in order."""
    rows = [(t, -1) for t in earlier] + [(t, i) for i, t in enumerate(totals)]
    order = sorted(range(len(rows)), key=lambda n: rows[n][0], reverse=True)[:keep]
    return [rows[n][1] for n in order if rows[n][1] >= 0], rows


def kept_with_blocks(
    pool: list[AMFacts] | list[PMFacts],
    probe: AMFacts | PMFacts,
    keep: int,
    earlier: list[int],
    entry: dict[int, float] | None = None,
) -> tuple[list[int], set[int]]:
    side = "missing" if isinstance(probe, PMFacts) else "remains"
    blocks = DescriptionBlocks(side, enumerate(pool))  # type: ignore[arg-type]
    ids, upper = blocks.upper(probe)

    def total(i: int) -> int:
        return stored_total(*((pool[i], probe) if side == "missing" else (probe, pool[i])))  # type: ignore[arg-type]

    scored: list[int] = []
    chosen = shortlist(
        ids,
        upper,
        lambda i: scored.append(i) or total(i) / MILLI,  # type: ignore[func-returns-value]
        keep=keep,
        scored=[t / MILLI for t in earlier],
        entry=entry,
    )
    assert chosen == sorted(chosen) and set(scored) <= set(chosen)
    # Put in order a few records at a time, the search going past them: the same choice.
    with mock.patch.object(blocking, "FIRST_BOUNDS", 1):
        assert chosen == shortlist(
            ids,
            upper,
            lambda i: total(i) / MILLI,
            keep=keep,
            scored=[t / MILLI for t in earlier],
            entry=entry,
        )
    rows = [(t, -1) for t in earlier] + [(total(i), i) for i in chosen]
    order = sorted(range(len(rows)), key=lambda n: rows[n][0], reverse=True)[:keep]
    return [rows[n][1] for n in order if rows[n][1] >= 0], set(chosen)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(am_facts, min_size=1, max_size=25),
    st.lists(pm_facts, min_size=1, max_size=25),
    st.integers(1, 6),
    st.lists(st.integers(-5000, 3000), max_size=4),
)
def test_lists_chosen_by_blocking_are_the_lists_of_comparing_with_everyone(
    reports: list[AMFacts], remains: list[PMFacts], keep: int, earlier: list[int]
) -> None:
    for probe in remains:
        totals = [stored_total(am, probe) for am in reports]
        assert (
            kept_with_blocks(reports, probe, keep, earlier)[0]
            == brute_list(totals, keep, earlier)[0]
        )
    for probe in reports:  # type: ignore[assignment]
        totals = [stored_total(probe, pm) for pm in remains]  # type: ignore[arg-type]
        assert (
            kept_with_blocks(remains, probe, keep, earlier)[0]
            == brute_list(totals, keep, earlier)[0]
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(coarse_am, min_size=1, max_size=40), coarse_pm, st.integers(1, 5))
def test_ties_are_kept_in_list_order_as_comparing_with_everyone_keeps_them(
    reports: list[AMFacts], probe: PMFacts, keep: int
) -> None:
    totals = [stored_total(am, probe) for am in reports]
    assert kept_with_blocks(reports, probe, keep, [])[0] == brute_list(totals, keep, [])[0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(am_facts, min_size=1, max_size=25),
    pm_facts,
    st.integers(1, 4),
    st.dictionaries(st.integers(0, 24), st.integers(-6000, 3000)),
)
def test_every_pair_that_would_enter_another_records_list_is_kept(
    reports: list[AMFacts], probe: PMFacts, keep: int, bars: dict[int, int]
) -> None:
    entry = {i: bar / MILLI for i, bar in bars.items() if i < len(reports)}
    _, chosen = kept_with_blocks(reports, probe, keep, [], entry)
    entering = {
        i
        for i, am in enumerate(reports)
        if i not in entry or stored_total(am, probe) > round(entry[i] * MILLI)
    }
    assert entering <= chosen


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 30), pm_facts),
        max_size=120,
    ),
    am_facts,
)
def test_blocks_kept_up_to_date_equal_blocks_built_afresh(
    steps: list[tuple[str, int, PMFacts]], probe: AMFacts
) -> None:
    kept = DescriptionBlocks("remains")
    facts: dict[int, PMFacts] = {}
    for action, record_id, record in steps:
        if action == "add":
            kept.add(record_id, record)
            facts[record_id] = record
        else:
            kept.remove(record_id)
            facts.pop(record_id, None)
    fresh = DescriptionBlocks("remains", facts.items())
    assert len(kept) == len(facts)
    (ids, upper), (fresh_ids, fresh_upper) = kept.upper(probe), fresh.upper(probe)
    assert ids.tolist() == fresh_ids.tolist() == list(facts)
    assert np.array_equal(upper, fresh_upper)


# -- on a database ---------------------------------------------------------------------------


def brute_rows(ctx: Context, side: str, record_id: int) -> list[dict[str, Any]]:
    """Every description-only pair scored, as matching did before blocking: the face rows
    of the search, then the pool in order (every record for a record without a face,
    those without a face for a record with faces)."""
    mine, other = (ctx.am, ctx.pm) if side == "missing" else (ctx.pm, ctx.am)
    rows = [r for r in search_record(ctx, side, record_id) if r["face_score"] is not None]  # type: ignore[arg-type]
    key = "remains_id" if side == "missing" else "missing_person_id"
    have = {r[key] for r in rows}
    pool = other.refs if not len(mine.faces(record_id)) else other.faceless
    for other_id in pool:
        if other_id not in have:
            pair = (record_id, other_id) if side == "missing" else (other_id, record_id)
            rows.append(_row(ctx, pair[0], pair[1], None))
    return rows


def populate(dvi: OpenDVI, *, places: bool) -> World:
    """Reports and remains with faces, and many without; without ``places`` many
    descriptions tie, with them (scattered over a country) hardly any."""
    w = World(dvi, seed=3)
    rng = np.random.default_rng(3)

    def where(prefix: str) -> dict[str, float]:
        if not places:
            return {}
        lat, lon = float(rng.uniform(45, 54)), float(rng.uniform(-4, 12))
        return {f"{prefix}_lat": lat, f"{prefix}_lon": lon}

    for n in range(40):
        w.report(f"AM-{n:03d}", f"person-{n}", sex="F" if n % 2 else "M", **where("last_seen"))
    for n in range(60):
        low = int(rng.integers(150, 190))
        w.report(
            f"AM-D{n:03d}",
            None,
            sex=str(rng.choice(["F", "M", "U"])),
            height_min_cm=low if n % 3 else None,
            height_max_cm=low + int(rng.integers(0, 6)) if n % 3 else None,
            birth_earliest=dt.date(1950 + n % 50, 1, 1) if n % 2 else None,
            birth_latest=dt.date(1950 + n % 50, 12, 31) if n % 2 else None,
            last_seen_earliest=dt.date(2024, 1 + n % 12, 1),
            last_seen_latest=dt.date(2024, 1 + n % 12, 1),
            **where("last_seen"),
        )
    for n in range(6):
        w.remains(f"PM-{n}", f"person-{n}", sex="F" if n % 2 else "M", **where("found"))
    for n in range(30):
        low = int(rng.integers(150, 190))
        w.remains(
            f"PM-D{n:02d}",
            None,
            sex=str(rng.choice(["F", "M", "U"])),
            age_min=20 + n if n % 2 else None,
            age_max=30 + n if n % 2 else None,
            height_min_cm=low if n % 4 else None,
            height_max_cm=low + 5 if n % 4 else None,
            found_earliest=dt.date(2024, 1 + n % 12, 15),
            found_latest=dt.date(2024, 1 + n % 12, 20),
            **where("found"),
        )
    return w


@pytest.mark.parametrize("places", [False, True], ids=["ties", "places"])
def test_matching_lists_are_those_of_comparing_with_everyone(dvi: OpenDVI, places: bool) -> None:
    populate(dvi, places=places)
    dvi.settings.candidates_per_record = 3
    with dvi.db.write() as session:
        ctx = open_context(session, dvi, actor="test", recalibrate=True)
    blocked = brute = 0
    for side, ids in (("missing", ctx.am.refs), ("remains", ctx.pm.refs)):
        for record_id in ids:
            rows = search_record(ctx, side, record_id)  # type: ignore[arg-type]
            everyone = brute_rows(ctx, side, record_id)
            assert select_pairs(rows, ctx.keep) == select_pairs(everyone, ctx.keep)
            blocked += sum(r["face_score"] is None for r in rows)
            brute += sum(r["face_score"] is None for r in everyone)
    assert blocked < brute / 2  # most description-only pairs were never scored


def test_records_matched_from_the_queue_get_the_lists_a_rebuild_gives(dvi: OpenDVI) -> None:
    # Places keep totals apart: where two pairs tie, a list's order depends on which was
    # stored first, with or without blocking.
    described = populate(dvi, places=True)
    dvi.settings.candidates_per_record = 3
    run_matching(dvi, actor="test", everything=True)
    here = {"last_seen_lat": 50.1, "last_seen_lon": 4.2}
    described.report("AM-NEW", None, sex="M", height_min_cm=171, height_max_cm=174, **here)
    described.remains(
        "PM-NEW",
        None,
        sex="M",
        height_min_cm=170,
        height_max_cm=175,
        age_min=30,
        age_max=40,
        found_lat=50.3,
        found_lon=4.0,
    )
    described.report("AM-FACE", "person-2", sex="F", **here)
    run_matching(dvi, actor="test")
    incremental = candidates(dvi)
    run_matching(dvi, actor="test", everything=True)
    assert candidates(dvi) == incremental


def window_bars(session: Any, side: str, record_id: int, keep: int) -> dict[int, float]:
    """The bars by their definition: each other record's list, this record's pair left
    out, ordered by total; its ``keep``-th (a window over every list)."""
    from sqlalchemy import func, select

    from opendvi.db.tables import Candidate

    own = Candidate.missing_person_id if side == "missing" else Candidate.remains_id
    other = Candidate.remains_id if side == "missing" else Candidate.missing_person_id
    rank = Candidate.rank_for_remains if side == "missing" else Candidate.rank_for_missing
    place = func.row_number().over(partition_by=other, order_by=Candidate.score.desc())
    ranked = (
        select(other.label("record"), Candidate.score, place.label("place"))
        .where(own != record_id, rank.is_not(None))
        .subquery()
    )
    rows = session.execute(select(ranked.c.record, ranked.c.score).where(ranked.c.place == keep))
    return {int(record): float(score) for record, score in rows}


def test_the_bars_read_from_the_ranks_are_the_ones_a_window_over_every_list_gives(
    dvi: OpenDVI,
) -> None:
    from opendvi.matching.lists import EntryTotals

    described = populate(dvi, places=True)
    dvi.settings.candidates_per_record = 3
    run_matching(dvi, actor="test", everything=True)
    described.remains("PM-NEW", None, sex="M", height_min_cm=170, height_max_cm=175)
    run_matching(dvi, actor="test")
    with dvi.db.read() as session:
        ctx = open_context(session, dvi, actor="test", recalibrate=False)
        bars = EntryTotals(ctx.keep)
        compared = 0
        for side, ids in (("missing", ctx.am.refs), ("remains", ctx.pm.refs)):
            for record_id in ids:
                expected = window_bars(session, side, record_id, ctx.keep)
                others = ctx.pm.refs if side == "missing" else ctx.am.refs
                got = bars.of(session, side, record_id).among(others)  # type: ignore[arg-type]
                assert got == expected
                compared += len(expected)
    assert compared > 100  # lists full enough that the bars mean something


def test_matching_one_record_reads_the_bars_of_only_the_lists_it_may_enter(
    dvi: OpenDVI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not every list's: a run of one record costs what the record is compared with."""
    from opendvi.matching.lists import EntryTotals

    world = populate(dvi, places=False)
    dvi.settings.candidates_per_record = 3
    run_matching(dvi, actor="test", everything=True)
    monkeypatch.setattr(pairs, "PRESELECT", 2)  # a face search finds a few reports
    asked: set[int] = set()
    read = EntryTotals.read

    def recorded(self: EntryTotals, session: Any, lists: Any, ids: Any) -> Any:
        ids = list(ids)
        if lists == "missing":
            asked.update(ids)
        return read(self, session, lists, ids)

    monkeypatch.setattr(EntryTotals, "read", recorded)
    world.remains("PM-NEW", "person-3", sex="F")
    run_matching(dvi, actor="test")
    with dvi.db.read() as session:
        ctx = open_context(session, dvi, actor="test", recalibrate=False)
    new = next(i for i, ref in ctx.pm.refs.items() if ref == "PM-NEW")
    hits = pairs.face_hits(ctx, "remains", [new])[new]
    compared = {int(ctx.am.groups[g]) for g in hits} | set(ctx.am.faceless)
    assert asked and asked <= compared
    assert len(asked) < len(ctx.am.refs)


@settings(max_examples=400, deadline=None)
@given(am_facts, pm_facts)
def test_the_quick_description_total_is_within_its_margin_of_the_stored_one(
    am: AMFacts, pm: PMFacts
) -> None:
    quick, words = measured_points(row_of(am), row_of(pm))
    total = float(quick[0])
    if words[0]:
        total += round(marks_factor(am, pm).points, 3) + round(effects_factor(am, pm).points, 3)
    else:
        assert not (am.marks and pm.marks) and not (am.effects and pm.effects)
    assert abs(total * MILLI - stored_total(am, pm)) <= QUICK_MARGIN * MILLI / 4


@pytest.mark.parametrize("spread", [False, True], ids=["scores", "spread"])
@pytest.mark.parametrize("keep", [3, 20])
@pytest.mark.parametrize("places", [False, True], ids=["ties", "places"])
def test_a_rebuilds_lists_made_lazily_are_those_of_scoring_every_pair_in_full(
    dvi: OpenDVI, places: bool, keep: int, spread: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(dvi, places=places)
    dvi.settings.candidates_per_record = keep
    with dvi.db.write() as session:
        ctx = open_context(session, dvi, actor="test", recalibrate=True)
    if spread:
        # Face scores read against each remains record's spread (a calibration of
        # standardised scores), not as they are.
        fitted = Calibration.fit(np.random.default_rng(5).normal(0, 1, 100_000), spread=True)
        ctx.calibration = dataclasses.replace(ctx.calibration, calibration=fitted)
    assert ctx.calibration.calibration is not None
    assert ctx.calibration.calibration.spread is spread
    made = [0]
    whole = pairs._row

    def counted(*args: Any) -> dict[str, Any]:
        made[0] += 1
        return whole(*args)

    monkeypatch.setattr(pairs, "_row", counted)
    full = lazy = 0
    for side, ids in (("missing", ctx.am.refs), ("remains", ctx.pm.refs)):
        for record_id in ids:
            made[0] = 0
            expected = select_pairs(search_record(ctx, side, record_id), ctx.keep)  # type: ignore[arg-type]
            full += made[0]
            made[0] = 0
            assert listed_pairs(ctx, side, record_id) == expected  # type: ignore[arg-type]
            lazy += made[0]
    assert lazy < full  # explanations made for fewer pairs


def searched_one_face_at_a_time(
    ctx: Context, side: str, record_id: int, k: int
) -> dict[int, float]:
    """What ``face_hits`` stands for: each face of the record searched alone in the other
    side's index, each other record's best score kept."""
    mine, other = (ctx.am, ctx.pm) if side == "missing" else (ctx.pm, ctx.am)
    assert other.index is not None
    best: dict[int, float] = {}
    for vector in mine.faces(record_id).vectors:
        hits = other.index.search(vector, k)
        for row, score in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
            group = int(other.owner[row])
            best[group] = max(best.get(group, -2.0), score)
    return best


@pytest.mark.parametrize("preselect", [1, 2, 100])
def test_faces_searched_together_find_what_each_face_searched_alone_finds(
    dvi: OpenDVI, preselect: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(dvi, places=False)
    monkeypatch.setattr(pairs, "PRESELECT", preselect)
    monkeypatch.setattr(pairs, "HIT_ROWS", 3)  # several matrix products for the block
    with dvi.db.write() as session:
        ctx = open_context(session, dvi, actor="test", recalibrate=True)
    for side, data, other in (("missing", ctx.am, ctx.pm), ("remains", ctx.pm, ctx.am)):
        k = min(len(other.vectors), preselect * 4)
        ids = list(data.refs)
        together = pairs.face_hits(ctx, side, ids)  # type: ignore[arg-type]
        assert set(together) == {i for i in ids if len(data.faces(i))}
        for record_id in ids:
            alone = searched_one_face_at_a_time(ctx, side, record_id, k)
            found = together.get(record_id, {})
            assert found.keys() == alone.keys()
            assert all(abs(found[g] - alone[g]) < 1e-6 for g in found)
            # The rebuild's lists from the batch's hits are those of one record's search.
            assert listed_pairs(ctx, side, record_id, found if found else None) == listed_pairs(  # type: ignore[arg-type]
                ctx,
                side,
                record_id,  # type: ignore[arg-type]
            )

"""A rebuild of every list scored by several processes stores the lists one process
stores, and the processes do the scoring."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

import opendvi.matching.gallery as gallery
import opendvi.matching.rebuild as rebuild
from opendvi.app import OpenDVI
from opendvi.db.tables import Candidate
from opendvi.matching import run_matching
from opendvi.matching.context import load_context
from tests.matching.test_matching import World


@pytest.fixture
def world(dvi: OpenDVI) -> World:
    w = World(dvi, seed=5)
    for n in range(30):
        w.report(f"AM-{n:03d}", f"person-{n}", sex="F" if n % 2 else "M", age_min=20 + n)
    for n in range(4):
        w.report(f"AM-X{n}", None, sex="M", age_min=30, age_max=40)
    for n in range(12):
        w.remains(f"PM-{n:02d}", f"person-{n}", sex="F" if n % 2 else "M")
    w.remains("PM-X0", None, sex="M", age_min=30, age_max=40)
    return w


def stored(dvi: OpenDVI) -> list[tuple[Any, ...]]:
    """Every stored pair, every column but when it was computed."""
    columns = [c for c in Candidate.__table__.columns if c.name != "computed_at"]
    with dvi.db.read() as session:
        return sorted(tuple(row) for row in session.execute(select(*columns)))


def test_lists_scored_by_two_processes_are_those_of_one(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gallery, "BATCH", 5)  # several batches for the processes to share
    run_matching(dvi, actor="test", everything=True, processes=1)
    alone = stored(dvi)
    assert len(alone) > 40
    run_matching(dvi, actor="test", everything=True, processes=2)
    assert stored(dvi) == alone


def test_the_batches_are_scored_in_other_processes_and_come_back_in_order(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = load_context(dvi, actor="test", recalibrate=True)
    work: list[tuple[Any, int]] = [("remains", i) for i in ctx.pm.refs]
    work += [("missing", i) for i in ctx.am.refs]
    batches = [work[i : i + 4] for i in range(0, len(work), 4)]
    expected = [rebuild._score(ctx, batch) for batch in batches]
    score = rebuild._score

    def marked(ctx: Any, batch: Any) -> Any:  # inherited by the forked processes
        return {"pid": os.getpid(), "pairs": score(ctx, batch)}

    monkeypatch.setattr(rebuild, "_score", marked)
    got = list(rebuild._scored(ctx, batches, 2))
    assert [batch for batch, _ in got] == batches
    assert {result["pid"] for _, result in got} - {os.getpid()}, "scored in this process"
    assert os.getpid() not in {result["pid"] for _, result in got}

    def same(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
        drop = ("computed_at",)
        return {k: {f: v for f, v in r.items() if f not in drop} for k, r in a.items()} == {
            k: {f: v for f, v in r.items() if f not in drop} for k, r in b.items()
        }

    assert all(same(r["pairs"], e) for (_, r), e in zip(got, expected, strict=True))


def test_where_processes_cannot_be_forked_the_registry_is_sent_to_them(
    dvi: OpenDVI, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = load_context(dvi, actor="test", recalibrate=True)
    work: list[tuple[Any, int]] = [("remains", i) for i in ctx.pm.refs][:6]
    batches = [work[:3], work[3:]]
    expected = [rebuild._score(ctx, batch) for batch in batches]
    monkeypatch.setattr(rebuild.sys, "platform", "darwin")  # spawned, as on macOS or Windows
    got = [pairs for _, pairs in rebuild._scored(ctx, batches, 2)]
    for pairs, want in zip(got, expected, strict=True):
        assert {k: r["score"] for k, r in pairs.items()} == {k: r["score"] for k, r in want.items()}
        assert {k: r["factors"] for k, r in pairs.items()} == {
            k: r["factors"] for k, r in want.items()
        }

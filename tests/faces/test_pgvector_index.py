"""pgvector search gives the exact index's answers (exact below the threshold, recall ≥ 0.99
with HNSW), filters included. Runs on PostgreSQL only (OPENDVI_TEST_POSTGRES=1)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import create_engine

from opendvi.index import ExactIndex, open_index
from tests.conftest import USE_POSTGRES
from tests.faces.test_index import brute_force, unit

pytestmark = pytest.mark.skipif(
    not USE_POSTGRES, reason="pgvector needs PostgreSQL (set OPENDVI_TEST_POSTGRES=1)"
)


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def test_on_postgresql_the_factory_gives_pgvector_and_exact_answers_below_the_threshold(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    from opendvi.index.pgvector import PgVectorIndex

    rng = np.random.default_rng(2)
    vectors = unit(rng, 3000, 32)
    sex = rng.choice(["F", "M", "U"], 3000)
    low = rng.uniform(0, 80, 3000).astype(np.float32)
    high = low + rng.uniform(0, 10, 3000).astype(np.float32)
    low[::7] = np.nan
    high[::7] = np.nan
    index = open_index(engine, 32)
    assert isinstance(index, PgVectorIndex)
    index.add(np.arange(3000), vectors, sex=sex, age_low=low, age_high=high)
    query = unit(rng, 1, 32)[0]
    assert list(index.search(query, 50).ids) == brute_force(vectors, query, np.ones(3000, bool), 50)
    hits = index.search(query, 40, sex="F", age=(18.0, 22.0))
    keep = (sex != "M") & (np.isnan(low) | ((high >= 18) & (low <= 22)))
    assert list(hits.ids) == brute_force(vectors, query, keep, 40)
    with pytest.raises(ValueError, match="expected vectors of 32 values"):
        index.add(np.array([1]), np.ones((1, 3), np.float32))


def test_hnsw_recall_at_50_is_at_least_0_99_and_filters_keep_true_neighbours(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    from opendvi.index.pgvector import PgVectorIndex

    rng = np.random.default_rng(3)
    size, dim = 20_000, 32
    vectors = unit(rng, size, dim)
    sex = rng.choice(["F", "M", "U"], size)
    low = rng.uniform(0, 80, size).astype(np.float32)
    high = low + 5
    index = PgVectorIndex(engine, dim, name="recall", exact_below=0)
    exact = ExactIndex(dim)
    for start in range(0, size, 5000):
        part = slice(start, start + 5000)
        args = (np.arange(size)[part], vectors[part])
        extra = {"sex": sex[part], "age_low": low[part], "age_high": high[part]}
        index.add(*args, **extra)
        exact.add(*args, **extra)
    plain, filtered = [], []
    for query in unit(rng, 20, dim):
        plain.append(len(set(index.search(query, 50).ids) & set(exact.search(query, 50).ids)))
        found = index.search(query, 50, sex="F", age=(18.0, 22.0))
        truth = exact.search(query, 50, sex="F", age=(18.0, 22.0))
        assert len(found) == len(truth)
        filtered.append(len(set(found.ids) & set(truth.ids)))
    assert np.mean(plain) / 50 >= 0.99
    assert np.mean(filtered) / 50 >= 0.99


def _index_oid(engine, table: str) -> int | None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT CAST(to_regclass(:i) AS oid)"), {"i": f"{table}_hnsw"}
        ).scalar_one()
    return None if found is None else int(found)


def test_the_stored_count_follows_add_and_remove_and_a_search_sends_no_count(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import event

    from opendvi.index.pgvector import PgVectorIndex

    rng = np.random.default_rng(4)
    vectors = unit(rng, 700, 16)
    index = PgVectorIndex(engine, 16, name="counted", exact_below=500)
    assert len(index) == 0
    index.add(np.arange(300), vectors[:300])
    assert len(index) == 300
    index.add(np.arange(300, 700), vectors[300:])
    assert len(index) == 700
    assert _index_oid(engine, index.table) is not None  # past exact_below: HNSW built
    assert index.remove(np.array([5, 6, 6, 10_000])) == 2  # 10,000 was never stored
    assert len(index) == 698
    assert index.remove(np.array([], dtype=np.int64)) == 0

    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        index.search(vectors[0], 50)
        index.search(vectors[1], 20, sex="F", age=(18.0, 22.0))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements, "the listener saw the searches"
    assert not [s for s in statements if "count(" in s.lower()]


def test_an_opened_index_counts_rows_added_since_its_graph_was_built(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    from opendvi.index.pgvector import PgVectorIndex

    rng = np.random.default_rng(5)
    vectors = unit(rng, 150, 8)
    index = PgVectorIndex(engine, 8, name="reopened", exact_below=10)
    index.add(np.arange(100), vectors[:100])  # builds the graph (the planner now says 100)
    index.add(np.arange(100, 150), vectors[100:])  # into the graph, no analyze since
    assert len(PgVectorIndex(engine, 8, name="reopened", exact_below=10)) == 150


def test_removed_vectors_leave_the_results_and_the_rest_stay(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    from opendvi.index.pgvector import PgVectorIndex

    rng = np.random.default_rng(6)
    vectors = unit(rng, 2000, 16)
    for exact_below in (10_000, 0):  # exact search, then HNSW
        index = PgVectorIndex(engine, 16, name=f"removed_{exact_below}", exact_below=exact_below)
        index.add(np.arange(2000), vectors)
        gone = np.arange(0, 2000, 3)
        assert index.remove(gone) == len(gone)
        assert index.remove(gone) == 0  # already removed
        keep = np.ones(2000, bool)
        keep[gone] = False
        for query_id in (0, 3, 999):  # each a removed vector, its own best match before
            hits = index.search(vectors[query_id], 50)
            assert not set(hits.ids) & set(gone.tolist())
            truth = brute_force(vectors, vectors[query_id], keep, 50)
            assert len(set(hits.ids) & set(truth)) >= 49


def test_a_bulk_load_past_what_is_stored_rebuilds_the_graph_and_keeps_true_neighbours(
    engine,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opendvi.index import pgvector
    from opendvi.index.pgvector import PgVectorIndex

    monkeypatch.setattr(pgvector, "BULK_ROWS", 1000)
    rng = np.random.default_rng(7)
    size, dim = 4000, 32
    vectors = unit(rng, size, dim)
    sex = rng.choice(["F", "M", "U"], size)
    low = rng.uniform(0, 80, size).astype(np.float32)
    high = low + 5
    extra = {"sex": sex, "age_low": low, "age_high": high}
    index = PgVectorIndex(engine, dim, name="bulk", exact_below=500)
    exact = ExactIndex(dim)

    def load(part: slice) -> None:
        args = (np.arange(size)[part], vectors[part])
        attributes = {key: value[part] for key, value in extra.items()}
        index.add(*args, **attributes)
        exact.add(*args, **attributes)

    load(slice(0, 600))  # past exact_below: the graph is built
    first = _index_oid(engine, index.table)
    assert first is not None
    load(slice(600, 700))  # smaller than what is stored: inserted into the graph
    assert _index_oid(engine, index.table) == first
    load(slice(700, size))  # 3,300 rows, more than the 700 stored: dropped and rebuilt
    rebuilt = _index_oid(engine, index.table)
    assert rebuilt is not None and rebuilt != first
    assert len(index) == size

    plain, filtered = [], []
    for query in unit(rng, 20, dim):
        plain.append(len(set(index.search(query, 50).ids) & set(exact.search(query, 50).ids)))
        found = index.search(query, 50, sex="F", age=(18.0, 22.0))
        truth = exact.search(query, 50, sex="F", age=(18.0, 22.0))
        filtered.append(len(set(found.ids) & set(truth.ids)))
    assert np.mean(plain) / 50 >= 0.99
    assert np.mean(filtered) / 50 >= 0.99


def test_vectors_round_trip_exactly_through_the_binary_copy(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import text

    from opendvi.index.pgvector import PgVectorIndex

    rng = np.random.default_rng(8)
    vectors = unit(rng, 200, 64)
    index = PgVectorIndex(engine, 64, name="exactly")
    index.add(np.arange(200), vectors)
    with engine.connect() as connection:
        stored = dict(
            connection.execute(text(f"SELECT id, CAST(embedding AS text) FROM {index.table}")).all()
        )
    for i in (0, 77, 199):
        values = np.array(stored[i].strip("[]").split(","), dtype=np.float32)
        assert np.array_equal(values, vectors[i])  # every bit of every float4
        hits = index.search(vectors[i], 1)
        assert hits.ids[0] == i
        assert abs(float(hits.scores[0]) - float(vectors[i] @ vectors[i])) < 1e-6
        assert abs(float(hits.scores[0]) - 1.0) < 1e-6


def test_a_build_memory_that_is_no_size_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    from opendvi.index.pgvector import PgVectorIndex

    with pytest.raises(ValueError, match="build_memory '2 GB'"):
        PgVectorIndex(engine, 8, name="refused", build_memory="2 GB")

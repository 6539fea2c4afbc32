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

"""Exact vector search: the same answers as comparing with everything, filters included."""

from __future__ import annotations

import numpy as np
import pytest

from opendvi.index import ExactIndex, VectorIndex


def unit(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, query: np.ndarray, keep: np.ndarray, k: int) -> list[int]:
    scores = np.where(keep, vectors @ query, -np.inf)
    order = [int(i) for i in np.argsort(-scores, kind="stable") if np.isfinite(scores[i])]
    return order[:k]


def test_the_exact_index_fits_the_protocol() -> None:
    index: VectorIndex = ExactIndex(8)
    assert index.dim == 8


def test_search_returns_exactly_the_nearest_vectors_best_first() -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 5000, 64)
    index = ExactIndex(64)
    for start in range(0, 5000, 700):  # added in batches: the array grows as it fills
        index.add(np.arange(start, min(start + 700, 5000)) + 100, vectors[start : start + 700])
    assert len(index) == 5000
    attributes = 17 * 5000  # id, sex and age range per vector
    assert index.nbytes <= 1.25 * (vectors.nbytes + attributes)
    for query in unit(rng, 5, 64):
        hits = index.search(query, 50)
        assert list(hits.ids - 100) == brute_force(vectors, query, np.ones(5000, bool), 50)
        assert np.all(np.diff(hits.scores) <= 0)


def test_filters_leave_out_only_what_they_must_and_keep_unknowns() -> None:
    rng = np.random.default_rng(2)
    vectors = unit(rng, 3000, 32)
    sex = rng.choice(["F", "M", "U"], 3000)
    low = rng.uniform(0, 80, 3000).astype(np.float32)
    high = low + rng.uniform(0, 10, 3000).astype(np.float32)
    low[::7] = np.nan
    high[::7] = np.nan
    index = ExactIndex(32)
    index.add(np.arange(3000), vectors, sex=sex, age_low=low, age_high=high)
    query = unit(rng, 1, 32)[0]
    hits = index.search(query, 40, sex="F", age=(18.0, 22.0))
    unknown_age = np.isnan(low)
    keep = (sex != "M") & (unknown_age | ((high >= 18) & (low <= 22)))
    assert list(hits.ids) == brute_force(vectors, query, keep, 40)
    assert set(sex[hits.ids]) <= {"F", "U"}


def test_asking_for_more_than_is_stored_returns_all_and_empty_is_empty() -> None:
    index = ExactIndex(4)
    assert len(index.search(np.ones(4, np.float32), 5)) == 0
    index.add(np.array([7, 8]), np.eye(4, dtype=np.float32)[:2])
    hits = index.search(np.array([0, 1, 0, 0], np.float32), 10)
    assert list(hits.ids) == [8, 7]
    with pytest.raises(ValueError, match="expected vectors of 4 values"):
        index.add(np.array([1]), np.ones((1, 3), np.float32))

"""Exact search in process memory: one matrix-vector product over every stored vector.

Vectors are kept in one contiguous float32 array that grows by a quarter at a time, so
memory stays within 1.25× the raw vectors (plus 17 bytes of attributes per vector, small
parallel arrays used as masks).
"""

from __future__ import annotations

import numpy as np

from opendvi.index.protocol import Hits

__all__ = ["ExactIndex"]

_SEX = {"U": 0, "F": 1, "M": 2}


class ExactIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._size = 0
        self._vectors = np.empty((0, dim), dtype=np.float32)
        self._ids = np.empty(0, dtype=np.int64)
        self._sex = np.empty(0, dtype=np.int8)
        self._age_low = np.empty(0, dtype=np.float32)
        self._age_high = np.empty(0, dtype=np.float32)

    @classmethod
    def over(cls, vectors: np.ndarray) -> ExactIndex:
        """An index over ``vectors`` (float32, one row each, stored under their row
        numbers), holding the array itself rather than a copy."""
        index = cls(vectors.shape[1])
        index._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index._size = len(vectors)
        index._ids = np.arange(len(vectors), dtype=np.int64)
        index._sex = np.zeros(len(vectors), dtype=np.int8)
        index._age_low = np.full(len(vectors), np.nan, dtype=np.float32)
        index._age_high = np.full(len(vectors), np.nan, dtype=np.float32)
        return index

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Memory held, including the spare room left for growth."""
        return sum(
            a.nbytes for a in (self._vectors, self._ids, self._sex, self._age_low, self._age_high)
        )

    def _reserve(self, extra: int) -> None:
        needed = self._size + extra
        if needed <= len(self._vectors):
            return
        capacity = max(needed, len(self._vectors) + len(self._vectors) // 4, 1024)

        def grown(array: np.ndarray, fill: float) -> np.ndarray:
            out = np.full((capacity, *array.shape[1:]), fill, dtype=array.dtype)
            out[: self._size] = array[: self._size]
            return out

        self._vectors = grown(self._vectors, 0)
        self._ids = grown(self._ids, -1)
        self._sex = grown(self._sex, 0)
        self._age_low = grown(self._age_low, np.nan)
        self._age_high = grown(self._age_high, np.nan)

    def add(
        self,
        ids: np.ndarray,
        vectors: np.ndarray,
        *,
        sex: np.ndarray | None = None,
        age_low: np.ndarray | None = None,
        age_high: np.ndarray | None = None,
    ) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of {self.dim} values, got shape {vectors.shape}")
        count = len(vectors)
        self._reserve(count)
        window = slice(self._size, self._size + count)
        self._vectors[window] = vectors
        self._ids[window] = np.asarray(ids, dtype=np.int64)
        if sex is not None:
            self._sex[window] = [_SEX.get(str(s), 0) for s in sex]
        if age_low is not None:
            self._age_low[window] = np.asarray(age_low, dtype=np.float32)
        if age_high is not None:
            self._age_high[window] = np.asarray(age_high, dtype=np.float32)
        self._size += count

    def _mask(self, sex: str | None, age: tuple[float, float] | None) -> np.ndarray | None:
        size, mask = self._size, None
        if sex in ("F", "M"):
            mask = self._sex[:size] != _SEX["M" if sex == "F" else "F"]
        if age is not None:
            low, high = age
            # NaN bounds compare False: unknown ages are never left out.
            fits = ~((self._age_high[:size] < low) | (self._age_low[:size] > high))
            mask = fits if mask is None else mask & fits
        return mask

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        sex: str | None = None,
        age: tuple[float, float] | None = None,
    ) -> Hits:
        size = self._size
        if size == 0 or k <= 0:
            return Hits(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        query = np.asarray(query, dtype=np.float32)
        mask = self._mask(sex, age)
        if mask is not None and np.count_nonzero(mask) < size // 4:
            # A selective filter: compare with the kept vectors only (still every one of them).
            rows = np.flatnonzero(mask)
            scores = self._vectors[rows] @ query
        else:
            rows = None
            scores = self._vectors[:size] @ query
            if mask is not None:
                scores[~mask] = -np.inf
        k = min(k, len(scores))
        if k == 0:
            return Hits(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[np.isfinite(scores[top])]
        positions = top if rows is None else rows[top]
        return Hits(self._ids[positions], scores[top])

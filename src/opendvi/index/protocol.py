"""What every vector index offers: add vectors with their filter attributes, and search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["Hits", "VectorIndex"]


@dataclass(frozen=True)
class Hits:
    """Search results, best first: the stored ids and their cosine similarities."""

    ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


class VectorIndex(Protocol):
    dim: int

    def add(
        self,
        ids: np.ndarray,
        vectors: np.ndarray,
        *,
        sex: np.ndarray | None = None,
        age_low: np.ndarray | None = None,
        age_high: np.ndarray | None = None,
    ) -> None:
        """Store L2-normalised ``vectors`` under ``ids``, with optional attributes per vector:
        sex as 'F'/'M'/'U', and the age range the person could have had."""
        ...

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        sex: str | None = None,
        age: tuple[float, float] | None = None,
    ) -> Hits:
        """The ``k`` stored vectors most similar to ``query``. With ``sex``, vectors of the
        other sex are left out (unknown sex always stays); with ``age`` (low, high), vectors
        whose age range does not overlap it are left out (unknown ages always stay)."""
        ...

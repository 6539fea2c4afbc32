"""Vector search in PostgreSQL with pgvector: a ``vector`` column, an HNSW index on inner
product (cosine on unit vectors), and exact search for small registries.

Filters (sex, age window) are applied in SQL; HNSW scans are iterative
(``hnsw.iterative_scan = relaxed_order``, pgvector ≥ 0.8), so a filter that leaves out
most neighbours does not shorten the answer.
"""

from __future__ import annotations

import logging
import re

import numpy as np
from sqlalchemy import Connection, Engine, text

from opendvi.index.protocol import Hits

__all__ = ["PgVectorIndex", "vector_extension_available"]

log = logging.getLogger(__name__)

# Below this many stored vectors every search is exact (the index is skipped).
EXACT_BELOW = 20_000


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{float(v):.8g}" for v in vector) + "]"


def vector_extension_available(engine: Engine) -> tuple[bool, str]:
    """Whether pgvector can be used on ``engine``, creating the extension if allowed; with
    the reason when it cannot."""
    if engine.dialect.name != "postgresql":
        return False, f"the database is {engine.dialect.name}, not PostgreSQL"
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except Exception as error:
        return False, f"the vector extension could not be created ({error.__class__.__name__})"
    return True, ""


class PgVectorIndex:
    """Stored vectors in table ``vector_index_<name>``, one table per model and dimension."""

    def __init__(
        self, engine: Engine, dim: int, *, name: str = "default", exact_below: int = EXACT_BELOW
    ) -> None:
        if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
            raise ValueError(f"index name {name!r}: use lower-case letters, digits and _")
        self.dim = dim
        self.engine = engine
        self.exact_below = exact_below
        self.table = f"vector_index_{name}"
        with engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            connection.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {self.table} ("
                    "id bigint PRIMARY KEY, "
                    f"embedding vector({dim}) NOT NULL, "
                    "sex char(1) NOT NULL DEFAULT 'U', "
                    "age_low real, age_high real)"
                )
            )
            connection.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {self.table}_hnsw ON {self.table} "
                    "USING hnsw (embedding vector_ip_ops) WITH (m = 24, ef_construction = 200)"
                )
            )

    def __len__(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {self.table}")).scalar_one())

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

        def number(values: np.ndarray | None, i: int) -> float | None:
            if values is None or np.isnan(values[i]):
                return None
            return float(values[i])

        rows = [
            {
                "id": int(ids[i]),
                "embedding": _literal(vectors[i]),
                "sex": str(sex[i]) if sex is not None and str(sex[i]) in ("F", "M") else "U",
                "age_low": number(age_low, i),
                "age_high": number(age_high, i),
            }
            for i in range(len(vectors))
        ]
        if not rows:
            return
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    f"INSERT INTO {self.table} (id, embedding, sex, age_low, age_high) "
                    "VALUES (:id, CAST(:embedding AS vector), :sex, :age_low, :age_high)"
                ),
                rows,
            )

    def _settings(self, connection: Connection, k: int) -> None:
        if len(self) < self.exact_below:
            connection.execute(text("SET LOCAL enable_indexscan = off"))
            return
        connection.execute(text(f"SET LOCAL hnsw.ef_search = {min(max(8 * k, 400), 1000)}"))
        connection.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        sex: str | None = None,
        age: tuple[float, float] | None = None,
    ) -> Hits:
        if k <= 0:
            return Hits(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        where: list[str] = []
        params: dict[str, object] = {"q": _literal(np.asarray(query, np.float32)), "k": k}
        if sex in ("F", "M"):
            where.append("sex <> :other")
            params["other"] = "M" if sex == "F" else "F"
        if age is not None:
            where.append(
                "NOT (coalesce(age_high < :low, false) OR coalesce(age_low > :high, false))"
            )
            params["low"], params["high"] = float(age[0]), float(age[1])
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        # relaxed_order may return neighbours slightly out of order: re-sort the k found.
        sql = (
            "SELECT id, score FROM (SELECT id, -(embedding <#> CAST(:q AS vector)) AS score "
            f"FROM {self.table} {clause} ORDER BY embedding <#> CAST(:q AS vector) LIMIT :k) "
            "AS found ORDER BY score DESC, id"
        )
        with self.engine.begin() as connection:
            self._settings(connection, k)
            rows = connection.execute(text(sql), params).all()
        return Hits(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.float32),
        )

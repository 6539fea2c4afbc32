"""Vector search in PostgreSQL with pgvector: a ``vector`` column, an HNSW index on inner
product (cosine on unit vectors), and exact search for small registries.

Filters (sex, age window) are applied in SQL; HNSW scans are iterative
(``hnsw.iterative_scan = relaxed_order``, pgvector ≥ 0.8), so a filter that leaves out
most neighbours does not shorten the answer.

Vectors are loaded with binary COPY. The HNSW index exists once the table holds
``exact_below`` vectors; a load at least as large as what is stored (and of at least
``BULK_ROWS``) drops the index, copies the rows and builds the index again over all of
them, which is several times faster than inserting into the graph row by row.
"""

from __future__ import annotations

import logging
import os
import re
import struct

import numpy as np
from sqlalchemy import Connection, Engine, text

from opendvi.index.protocol import Hits

__all__ = ["PgVectorIndex", "ef_search_for", "vector_extension_available"]

log = logging.getLogger(__name__)

# Below this many stored vectors every search is exact (the index is skipped).
EXACT_BELOW = 20_000
# A load of at least this many rows, and at least as many as are stored, rebuilds the index.
BULK_ROWS = 10_000
# HNSW graph: neighbours per node and the candidate list while building.
M, EF_CONSTRUCTION = 24, 200


def ef_search_for(k: int) -> int:
    """The HNSW candidate list of a top-``k`` search (pgvector's most is 1000)."""
    return min(max(8 * k, 400), 1000)


def _literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{float(v):.9g}" for v in vector) + "]"


def _vector_dumper(oid: int) -> type:
    """A psycopg dumper of a float32 array as pgvector's binary form (dimension, a reserved
    zero, big-endian float4 values) for the ``vector`` type of one database."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class VectorDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: np.ndarray) -> bytes:
            return struct.pack(">HH", len(obj), 0) + obj.astype(">f4").tobytes()

    VectorDumper.oid = oid
    return VectorDumper


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
    """Stored vectors in table ``vector_index_<name>``, one table per model and dimension.

    The number of stored vectors is read once when the index is opened and then followed
    by ``add`` and ``remove``, so a search sends no count. ``build_memory`` and
    ``build_workers`` are the ``maintenance_work_mem`` and parallel workers of an index
    build (the default workers: this machine's cores less one, at most 7); ``ef_search``,
    when given, replaces ``ef_search_for(k)`` in every search.
    """

    def __init__(
        self,
        engine: Engine,
        dim: int,
        *,
        name: str = "default",
        exact_below: int = EXACT_BELOW,
        build_memory: str = "1GB",
        build_workers: int | None = None,
        ef_search: int | None = None,
    ) -> None:
        if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
            raise ValueError(f"index name {name!r}: use lower-case letters, digits and _")
        if not re.fullmatch(r"[0-9]+(kB|MB|GB)", build_memory):
            raise ValueError(f"build_memory {build_memory!r}: give a size such as 512MB or 2GB")
        self.dim = dim
        self.engine = engine
        self.exact_below = exact_below
        self.build_memory = build_memory
        self.ef_search = ef_search
        self.build_workers = (
            build_workers
            if build_workers is not None
            else max(0, min(7, (os.cpu_count() or 1) - 1))
        )
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
            self._count = self._stored(connection)
            if self._count >= exact_below and not self._indexed(connection):
                self._build(connection)

    def __len__(self) -> int:
        """The stored vectors, as read at opening and followed by this object's changes."""
        return self._count

    def _stored(self, connection: Connection) -> int:
        # Counted exactly, once: the planner's estimate (reltuples) lags rows added since
        # the last analyze or index build, and the exact/HNSW choice rests on this number.
        return int(connection.execute(text(f"SELECT count(*) FROM {self.table}")).scalar_one())

    def _indexed(self, connection: Connection) -> bool:
        found = connection.execute(
            text("SELECT to_regclass(:i) IS NOT NULL"), {"i": f"{self.table}_hnsw"}
        ).scalar_one()
        return bool(found)

    def _build(self, connection: Connection) -> None:
        connection.execute(text(f"SET LOCAL maintenance_work_mem = '{self.build_memory}'"))
        connection.execute(
            text(f"SET LOCAL max_parallel_maintenance_workers = {self.build_workers}")
        )
        connection.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {self.table}_hnsw ON {self.table} "
                "USING hnsw (embedding vector_ip_ops) "
                f"WITH (m = {M}, ef_construction = {EF_CONSTRUCTION})"
            )
        )

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
        if count == 0:
            return
        ids = np.asarray(ids, dtype=np.int64)
        sexes = (
            ["U"] * count
            if sex is None
            else [s if s in ("F", "M") else "U" for s in (str(v) for v in sex)]
        )

        def numbers(values: np.ndarray | None) -> list[float | None]:
            if values is None:
                return [None] * count
            array = np.asarray(values, dtype=np.float64)
            return [None if np.isnan(v) else float(v) for v in array]

        lows, highs = numbers(age_low), numbers(age_high)
        with self.engine.begin() as connection:
            indexed = self._indexed(connection)
            rebuild = indexed and count >= max(self._count, BULK_ROWS)
            if rebuild:
                connection.execute(text(f"DROP INDEX {self.table}_hnsw"))
            oid = int(
                connection.execute(text("SELECT CAST('vector' AS regtype)::oid")).scalar_one()
            )
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.adapters.register_dumper(np.ndarray, _vector_dumper(oid))
            with cursor.copy(
                f"COPY {self.table} (id, embedding, sex, age_low, age_high) "
                "FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", oid, "text", "float4", "float4"])
                for i in range(count):
                    copy.write_row((int(ids[i]), vectors[i], sexes[i], lows[i], highs[i]))
            if rebuild or (not indexed and self._count + count >= self.exact_below):
                self._build(connection)
        self._count += count

    def remove(self, ids: np.ndarray) -> int:
        """Leave out the vectors stored under ``ids``; returns how many were stored."""
        wanted = [int(i) for i in np.asarray(ids, dtype=np.int64)]
        if not wanted:
            return 0
        with self.engine.begin() as connection:
            removed = connection.execute(
                text(f"DELETE FROM {self.table} WHERE id = ANY(:ids)"), {"ids": wanted}
            ).rowcount
        self._count -= removed
        return int(removed)

    def _settings(self, connection: Connection, k: int) -> None:
        if self._count < self.exact_below:
            connection.execute(text("SET LOCAL enable_indexscan = off"))
            return
        ef_search = self.ef_search or ef_search_for(k)
        connection.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef_search)}"))
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

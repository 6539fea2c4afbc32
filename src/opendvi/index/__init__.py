"""Vector search behind one Protocol: the nearest stored faces to a query face.

``ExactIndex`` (the default, in-process) compares the query with every stored vector, so
its answers are exact; filters (face model, sex, age window) are applied as masks over the
same computation, so filtering never loses a true neighbour. ``PgVectorIndex`` keeps the
vectors in PostgreSQL (pgvector, HNSW); ``open_index`` chooses between them.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from opendvi.index.exact import ExactIndex
from opendvi.index.protocol import Hits, VectorIndex

__all__ = ["ExactIndex", "Hits", "VectorIndex", "open_index"]

log = logging.getLogger(__name__)


def open_index(engine: Engine | None, dim: int, *, name: str = "default") -> VectorIndex:
    """A pgvector index on PostgreSQL when the extension can be used, else the exact
    in-process index (the reason logged)."""
    if engine is None:
        return ExactIndex(dim)
    from opendvi.index.pgvector import PgVectorIndex, vector_extension_available

    usable, reason = vector_extension_available(engine)
    if not usable:
        log.info("vector search in process memory: %s", reason)
        return ExactIndex(dim)
    return PgVectorIndex(engine, dim, name=name)

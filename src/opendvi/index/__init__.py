"""Vector search behind one Protocol: the nearest stored faces to a query face.

``ExactIndex`` (the default, in-process) compares the query with every stored vector, so
its answers are exact; filters (face model, sex, age window) are applied as masks over the
same computation, so filtering never loses a true neighbour. A PostgreSQL/pgvector index
fits the same Protocol.
"""

from opendvi.index.exact import ExactIndex
from opendvi.index.protocol import Hits, VectorIndex

__all__ = ["ExactIndex", "Hits", "VectorIndex"]

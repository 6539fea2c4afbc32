"""Storage: the engine, the tables, the queries and the migrations."""

from opendvi.db.engine import Database

__all__ = ["Database"]

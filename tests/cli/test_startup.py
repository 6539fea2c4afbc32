"""A command that reads the database starts quickly: it opens the database with one query
and imports only what it uses (no migrations, faces, matching or web)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from opendvi.app import OpenDVI

# Never needed to count records or say where the data is.
HEAVY = (
    "alembic",
    "numpy",
    "PIL",
    "dlib",
    "onnxruntime",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "opendvi.faces",
    "opendvi.matching",
    "opendvi.review",
    "opendvi.web",
)


def _imported_by(args: list[str], env: dict[str, str]) -> list[str]:
    """The modules of ``HEAVY`` (and the tables, and rich) loaded by ``opendvi ARGS`` run in
    a new process; the command must succeed."""
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from opendvi.cli import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(json.dumps([m for m in {(*HEAVY, 'opendvi.db.tables', 'rich')!r} "
        "if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    found: list[str] = json.loads(out.stdout)
    return found


def test_stats_imports_neither_migrations_nor_faces_nor_matching_nor_the_web(
    dvi: OpenDVI, cli_env: dict[str, str]
) -> None:
    assert _imported_by(["stats"], cli_env) == ["opendvi.db.tables", "rich"]
    assert _imported_by(["stats", "--json"], cli_env) == ["opendvi.db.tables"]


def test_info_and_db_upgrade_on_a_current_database_import_not_even_the_tables(
    dvi: OpenDVI, cli_env: dict[str, str]
) -> None:
    assert _imported_by(["info"], cli_env) == []
    assert _imported_by(["db", "upgrade"], cli_env) == []


def test_the_audit_log_of_all_records_imports_no_faces_or_matching(
    dvi: OpenDVI, cli_env: dict[str, str]
) -> None:
    assert _imported_by(["audit", "log"], cli_env) == ["opendvi.db.tables"]

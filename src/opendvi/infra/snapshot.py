"""Consistent copies of a live database: SQLite's online backup API, and PostgreSQL's
``pg_dump`` and ``pg_restore`` found beside the server's other tools.

A plain copy of the files of a database that is being written is not a backup: it mixes
pages from before and after a commit, and SQLite's recent commits may still be in the WAL
file beside it. These copies are taken at one instant, while writers go on.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from opendvi.errors import SetupError
from opendvi.infra.private import private_file

__all__ = ["pg_tool", "run_pg_tool", "sqlite_copy", "sqlite_file", "sqlite_read"]


def sqlite_copy(source: Any, target: Any) -> None:
    """Copy the whole of the open SQLite database ``source`` into ``target`` (two sqlite3
    connections) in one step: one snapshot, however busy the source is. (Copied a few pages
    at a time, a copy starts over whenever another connection writes, and might never end.)"""
    source.backup(target)


def sqlite_read(path: Path) -> sqlite3.Connection:
    """A read-only connection to the SQLite file ``path`` (it is neither created nor changed)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def sqlite_file(path: Path) -> sqlite3.Connection:
    """A new SQLite file at ``path``, for its owner only, journal kept inside it."""
    connection = sqlite3.connect(private_file(path))
    connection.isolation_level = None
    return connection


def pg_tool(bin_dir: Path | None, name: str) -> str:
    """The path of ``pg_dump`` or ``pg_restore``: in ``bin_dir`` when given, else on PATH."""
    found = (
        str(bin_dir / name) if bin_dir is not None and (bin_dir / name).is_file() else None
    ) or (None if bin_dir is not None else shutil.which(name))
    if found is None:
        where = f"in {bin_dir} (OPENDVI_PG_BIN_DIR)" if bin_dir is not None else "on PATH"
        raise SetupError(
            f"{name} is not found {where}: install PostgreSQL's client tools (the server's "
            "major version or newer), or set OPENDVI_PG_BIN_DIR to the folder that holds them"
        )
    return found


def run_pg_tool(tool: str, url: str, *args: str) -> None:
    """Run ``pg_dump`` or ``pg_restore`` on the database at the SQLAlchemy ``url``; the
    password goes in the environment, never on the command line others can read."""
    parsed = make_url(url)
    plain = parsed.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    dbname = plain.render_as_string(hide_password=False)
    done = subprocess.run(
        [tool, *args, f"--dbname={dbname}"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SetupError(
            f"{Path(tool).name} failed (exit status {done.returncode}): "
            f"{done.stderr.strip()[-800:] or 'no message'}"
        )

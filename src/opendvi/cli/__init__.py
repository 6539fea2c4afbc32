"""The ``opendvi`` command: thin commands by noun over the same use-cases as the web and the
library. Each parses its arguments, calls one use-case inside ``with opened() as dvi:``, and
prints the result.

Nothing heavy is imported at module level, so ``opendvi --help`` answers at once; each
command imports what it needs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from opendvi.cli.common import echo_error, set_location

__all__ = ["app", "main"]

app = typer.Typer(
    name="opendvi",
    help="OpenDVI: match unidentified remains (PM) against missing-person reports (AM), "
    "review candidates, and notify families with consent.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


@app.callback()
def _options(
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="OPENDVI_DATABASE_URL",
            help="Database to use (default: opendvi.sqlite3 in the data directory).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="OPENDVI_DATA_DIR",
            help="Folder for the embedded database and photo store.",
        ),
    ] = None,
) -> None:
    set_location(database_url, data_dir)


def _register() -> None:
    # Each module adds its commands to ``app`` (or a group of its own) when imported.
    from opendvi.cli import (
        backup,
        faces,
        matching,
        notify,
        people,
        records,
        review,
        system,
        withdrawal,
        worker,
    )

    for module in (
        records,
        system,
        worker,
        backup,
        matching,
        review,
        people,
        faces,
        notify,
        withdrawal,
    ):
        module.register(app)


_register()


def main() -> None:
    from opendvi.errors import OpenDVIError

    try:
        app()
    except OpenDVIError as exc:
        echo_error(f"error: {exc}")
        sys.exit(2)

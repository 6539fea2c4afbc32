"""What every command shares: the global options, the application opened once per command
(``with opened() as dvi:``), who is acting, and the options that recur."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from opendvi.app import OpenDVI

__all__ = [
    "ActorOpt",
    "ByOpt",
    "QuietOpt",
    "RecordKind",
    "WorkersOpt",
    "acting",
    "echo_error",
    "interrupted",
    "opened",
    "plain_console",
    "set_location",
    "words",
]


class RecordKind(StrEnum):
    missing = "missing"
    unidentified = "unidentified"


class _Location:
    database_url: str | None = None
    data_dir: Path | None = None


_where = _Location()


def set_location(database_url: str | None, data_dir: Path | None) -> None:
    """The global options ``--database-url`` and ``--data-dir``, for ``opened``."""
    _where.database_url = database_url
    _where.data_dir = data_dir


@contextmanager
def opened(*, migrate: bool = True) -> Iterator[OpenDVI]:
    """The application on the configured database and photo store, closed after
    (``migrate=False``: the schema is left as it is, for a restore)."""
    from opendvi.app import OpenDVI
    from opendvi.settings import Settings

    overrides: dict[str, Any] = {}
    if _where.data_dir is not None:
        overrides["data_dir"] = _where.data_dir
    if _where.database_url is not None:
        overrides["database_url"] = _where.database_url
    dvi = OpenDVI.open(Settings(**overrides), migrate=migrate)
    try:
        yield dvi
    finally:
        dvi.close()


@contextmanager
def interrupted(what: str) -> Iterator[None]:
    """Ctrl-C ends the command with status 130 and says what is kept and how to finish."""
    try:
        yield
    except KeyboardInterrupt:
        echo_error(f"\nInterrupted. {what}")
        raise typer.Exit(130) from None


def acting(given: str | None) -> str:
    """The name written in the audit log: ``--actor``, else cli:USER."""
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def echo_error(message: str) -> None:
    typer.echo(message, err=True)


def words(text: str) -> list[str]:
    """A list given as "a,b" or "a b"."""
    return [w for w in text.replace(" ", ",").split(",") if w]


def plain_console() -> Console:
    """A console that prints families' names and words as they are (no markup, no colours
    guessed from the text)."""
    from rich.console import Console

    return Console(highlight=False, markup=False, emoji=False)


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", "-j", min=1, help="Face-detection processes (default: CPU cores)."),
]
ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="Name written in the audit log (default: cli:USER).")
]
ByOpt = Annotated[str, typer.Option("--by", help="The reviewer's username.")]

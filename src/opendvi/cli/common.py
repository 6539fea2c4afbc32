"""What every command shares: the global options, the application opened once per command
(``with opened() as dvi:``), who is acting, and the options that recur."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from opendvi.app import OpenDVI
    from opendvi.people import SignedIn

__all__ = [
    "ActorOpt",
    "QuietOpt",
    "RecordKind",
    "WorkersOpt",
    "acting",
    "echo_error",
    "interrupted",
    "keep_token",
    "kept_token",
    "opened",
    "plain_console",
    "set_location",
    "sign_in_here",
    "signed_in",
    "signed_in_name",
    "signed_in_user",
    "who_signed_in",
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


def _token_file(dvi: OpenDVI) -> Path:
    """Where ``opendvi login`` keeps its token for this database: in the user's own config
    folder (``$XDG_CONFIG_HOME/opendvi``), one file per database."""
    import hashlib
    import os

    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    which = hashlib.sha256(dvi.db.display_url().encode()).hexdigest()[:16]
    return base / "opendvi" / f"session-{which}.json"


def keep_token(dvi: OpenDVI, signed: SignedIn) -> Path:
    """The token of a command-line sign-in, kept for its owner only (0600, folder 0700)."""
    import json

    from opendvi.infra.private import write_private

    path = _token_file(dvi)
    kept = {
        "database": dvi.db.display_url(),
        "username": signed.account.username,
        "token": signed.token,
        "expires_at": signed.expires_at.isoformat(),
    }
    write_private(path, json.dumps(kept).encode())
    path.parent.chmod(0o700)
    return path


def kept_token(dvi: OpenDVI, *, forget: bool = False) -> str:
    """The token ``opendvi login`` kept for this database ("" if none); ``forget``: the
    file is removed."""
    import json

    path = _token_file(dvi)
    try:
        token = str(json.loads(path.read_text()).get("token", ""))
    except (OSError, ValueError, AttributeError):
        token = ""
    if forget:
        path.unlink(missing_ok=True)
    return token


def sign_in_here(dvi: OpenDVI, username: str, password: str | None) -> SignedIn:
    """Sign in at the command line (asking for the password unless given) and keep the
    token; the failure counts toward the same limits as the web application's."""
    import getpass as passwords

    from opendvi.people import sign_in

    if password is None:
        password = str(typer.prompt("Password", hide_input=True))
    try:
        place = f"cli:{passwords.getuser()}"
    except (KeyError, OSError):
        place = "cli"
    signed = sign_in(dvi, username, password, address=place, kind="cli")
    keep_token(dvi, signed)
    return signed


def who_signed_in(dvi: OpenDVI) -> SignedIn | None:
    """The command-line session of the token kept for this database, if still open."""
    from opendvi.people import session_of

    token = kept_token(dvi)
    return session_of(dvi, token, kind="cli") if token else None


def signed_in_name(dvi: OpenDVI) -> str | None:
    """Who is signed in at this command line, if anyone (for reads shown by role)."""
    signed = who_signed_in(dvi)
    return signed.account.username if signed is not None else None


def signed_in_user(dvi: OpenDVI) -> str:
    """The user name of whoever signed in at this command line (``opendvi login``); refused
    when nobody did, or the sign-in ended (signed out, expired, a new password or role)."""
    from opendvi.errors import NotSignedIn

    signed = who_signed_in(dvi)
    if signed is None and sys.stdin.isatty() and sys.stdout.isatty():
        typer.echo("Nobody is signed in at this command line.")
        signed = sign_in_here(dvi, typer.prompt("User name"), None)
    if signed is None:
        raise NotSignedIn(
            "nobody is signed in at this command line: run `opendvi login USERNAME` first "
            "(it asks for the password, or reads it with --password-stdin; a sign-in lasts "
            f"{dvi.settings.cli_session_hours} hours, `opendvi logout` ends it)"
        )
    return signed.account.username


@contextmanager
def signed_in() -> Iterator[tuple[OpenDVI, str]]:
    """The application, and the user signed in at this command line who acts in it."""
    with opened() as dvi:
        yield dvi, signed_in_user(dvi)


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
    typer.Option(
        "--workers",
        "-j",
        min=1,
        help="Processes finding faces, and scoring a rebuild of every list (default: CPU cores).",
    ),
]
ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="Name written in the audit log (default: cli:USER).")
]

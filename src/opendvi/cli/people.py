"""``opendvi login``, ``logout``, ``whoami`` and ``opendvi users``: who is acting at this
command line, and the people who use OpenDVI, their roles and passwords."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from opendvi.cli.common import (
    acting,
    kept_token,
    opened,
    plain_console,
    sign_in_here,
    signed_in,
    signed_in_name,
    signed_in_user,
    who_signed_in,
)
from opendvi.core.roles import Role

__all__ = ["register"]

users_app = typer.Typer(help="People who use OpenDVI and their roles.", no_args_is_help=True)
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
UserArg = Annotated[str, typer.Argument(help="The user's login name.")]


def _password(from_stdin: bool, prompt: str, *, confirm: bool = True) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def login(
    username: Annotated[str, typer.Argument(help="Your login name.")],
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Sign in at this command line: the commands that record a decision, a family step, an
    import or an account change then act as you, until `opendvi logout` or the sign-in
    expires. The token is kept in your own config folder, readable by you only."""
    password = _password(password_stdin, "Password", confirm=False) if password_stdin else None
    with opened() as dvi:
        signed = sign_in_here(dvi, username, password)
    until = signed.expires_at.astimezone().strftime("%Y-%m-%d %H:%M")
    typer.echo(f"signed in as {signed.account.username} ({signed.account.role}) until {until}")


def logout() -> None:
    """Sign out at this command line: the kept token ends and is removed."""
    from opendvi.people import end_session

    with opened() as dvi:
        token = kept_token(dvi, forget=True)
        ended = end_session(dvi, token) if token else None
    typer.echo(f"{ended.username} signed out" if ended else "nobody was signed in")


def whoami() -> None:
    """Who is signed in at this command line, and until when."""
    from opendvi.errors import NotSignedIn

    with opened() as dvi:
        signed = who_signed_in(dvi)
    if signed is None:
        raise NotSignedIn("nobody is signed in at this command line (`opendvi login USERNAME`)")
    until = signed.expires_at.astimezone().strftime("%Y-%m-%d %H:%M")
    typer.echo(f"{signed.account.username} ({signed.account.role}), signed in until {until}")


PasswordFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--password-file",
        help="Read the password from this file (its first line; a trailing newline is "
        "dropped), for scripts and set-up without a terminal.",
    ),
]


def _password_from_file(path: Path) -> str:
    """The password written in ``path``, without the newline an editor leaves after it;
    refused, naming the file, when it is missing, empty or too short."""
    from opendvi.errors import InputError
    from opendvi.people.accounts import MIN_PASSWORD

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path given to --password-file") from None
    except (OSError, UnicodeDecodeError) as why:
        raise InputError(f"{path}: cannot be read as a password ({why})") from None
    password = text.removesuffix("\n").removesuffix("\r")
    if not password:
        raise InputError(f"{path}: the file is empty; write the password in it, on one line")
    if "\n" in password:
        raise InputError(f"{path}: holds more than one line; write only the password in it")
    if len(password) < MIN_PASSWORD:
        raise InputError(
            f"{path}: the password in it has {len(password)} characters; use at least "
            f"{MIN_PASSWORD}"
        )
    return password


def _given_password(stdin: bool, file: Path | None, prompt: str) -> str:
    if stdin and file is not None:
        from opendvi.errors import InputError

        raise InputError("give the password one way: --password-stdin or --password-file")
    return _password_from_file(file) if file is not None else _password(stdin, prompt)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters and digits.")],
    role: Annotated[Role, typer.Option("--role", help="What the user may do.")],
    name: Annotated[str, typer.Option("--name", help="Full name shown to others.")] = "",
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_stdin: PasswordStdinOpt = False,
    password_file: PasswordFileOpt = None,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No password yet (cannot log in).")
    ] = False,
) -> None:
    """Add a user with one role (a signed-in admin; the first admin without signing in)."""
    from opendvi.people import add_user, has_admin

    given = password_stdin or password_file is not None
    password = (
        None
        if no_password and not given
        else _given_password(password_stdin, password_file, "Password")
    )
    with opened() as dvi:
        # Until an admin exists nobody could sign in to add one: the first is added by
        # whoever runs the command where the data is (audited as cli:USER).
        first = role is Role.ADMIN and not has_admin(dvi)
        added = add_user(
            dvi,
            username=username,
            role=role.value,
            actor=acting(None) if first else signed_in_user(dvi),
            password=password,
            display_name=name,
            email=email,
        )
    typer.echo(f"user {added.username} added as {added.role}")


@users_app.command("list")
def users_list() -> None:
    """Everyone who has an account: name, role, whether active, last sign-in."""
    from rich import box
    from rich.table import Table

    from opendvi.people import users

    with opened() as dvi:
        # A read, like every list: whoever runs commands where the data is may read it; a
        # user signed in here sees it only if they are an admin.
        found = users(dvi, actor=signed_in_name(dvi) or acting(None))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("user", "name", "role", "active", "last sign-in"):
        table.add_column(column, no_wrap=column != "name", overflow="fold")
    for user in found:
        table.add_row(
            user.username,
            user.display_name or "-",
            user.role,
            "yes" if user.active else "no",
            _when(user.last_sign_in),
        )
    plain_console().print(table)


def _when(at: dt.datetime | None) -> str:
    if at is None:
        return "never"
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone().strftime("%Y-%m-%d %H:%M")


@users_app.command("password")
def users_password(
    username: UserArg,
    password_stdin: PasswordStdinOpt = False,
    password_file: PasswordFileOpt = None,
) -> None:
    """Set a user's password (a signed-in admin); their sessions end."""
    from opendvi.people import set_password

    password = _given_password(password_stdin, password_file, "New password")
    with signed_in() as (dvi, me):
        set_password(dvi, username=username, password=password, actor=me)
    typer.echo(f"password of {username} changed; their sessions ended")


@users_app.command("reset")
def users_reset(username: UserArg, password_file: PasswordFileOpt = None) -> None:
    """Give a user a new password (a signed-in admin): one made now and printed once, for
    you to hand over, or the one in --password-file; their sessions end."""
    from opendvi.people import reset_password, set_password

    given = _password_from_file(password_file) if password_file is not None else None
    with signed_in() as (dvi, me):
        if given is not None:
            set_password(dvi, username=username, password=given, actor=me)
            typer.echo(f"password of {username} set from {password_file}; their sessions ended")
            return
        reset = reset_password(dvi, username=username, actor=me)
    typer.echo(
        f"new password of {reset.account.username}:\n\n    {reset.password}\n\n"
        "Hand it over now; it is not shown again. Their sessions ended."
    )


@users_app.command("role")
def users_role(
    username: UserArg,
    role: Annotated[Role | None, typer.Argument(help="What the user may do from now on.")] = None,
    role_option: Annotated[
        Role | None, typer.Option("--role", help="The same, as an option.")
    ] = None,
) -> None:
    """Give a user another role (a signed-in admin); their sessions end. The last active
    admin keeps theirs."""
    from opendvi.errors import InputError
    from opendvi.people import set_role

    chosen = role or role_option
    if chosen is None or (role and role_option and role is not role_option):
        raise InputError(f"give one role: `opendvi users role {username} ROLE` ({', '.join(Role)})")
    with signed_in() as (dvi, me):
        changed = set_role(dvi, username=username, role=chosen.value, actor=me)
    typer.echo(f"{changed.username} is now {changed.role}; their sessions ended")


@users_app.command("deactivate")
def users_deactivate(username: UserArg) -> None:
    """Stop a user from signing in or acting (a signed-in admin); their sessions end and
    their name stays on what they did. The last active admin cannot be deactivated."""
    from opendvi.people import deactivate

    with signed_in() as (dvi, me):
        deactivate(dvi, username=username, actor=me)
    typer.echo(f"{username} deactivated; their sessions ended")


@users_app.command("reactivate")
def users_reactivate(username: UserArg) -> None:
    """Let a deactivated user sign in and act again (a signed-in admin), with the role and
    password they had."""
    from opendvi.people import reactivate

    with signed_in() as (dvi, me):
        back = reactivate(dvi, username=username, actor=me)
    typer.echo(f"{back.username} reactivated as {back.role}")


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)
    app.add_typer(users_app, name="users")

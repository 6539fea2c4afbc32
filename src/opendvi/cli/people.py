"""``opendvi login``, ``logout``, ``whoami`` and ``opendvi users``: who is acting at this
command line, and the people who use OpenDVI, their roles and passwords."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from opendvi.cli.common import (
    acting,
    kept_token,
    opened,
    sign_in_here,
    signed_in,
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


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters and digits.")],
    role: Annotated[Role, typer.Option("--role", help="What the user may do.")],
    name: Annotated[str, typer.Option("--name", help="Full name shown to others.")] = "",
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_stdin: PasswordStdinOpt = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No password yet (cannot log in).")
    ] = False,
) -> None:
    """Add a user with one role (a signed-in admin; the first admin without signing in)."""
    from opendvi.people import add_user, has_admin

    password = None if no_password and not password_stdin else _password(password_stdin, "Password")
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


@users_app.command("password")
def users_password(username: UserArg, password_stdin: PasswordStdinOpt = False) -> None:
    """Set a user's password (a signed-in admin); their sessions end."""
    from opendvi.people import set_password

    password = _password(password_stdin, "New password")
    with signed_in() as (dvi, me):
        set_password(dvi, username=username, password=password, actor=me)
    typer.echo(f"password of {username} changed; their sessions ended")


@users_app.command("role")
def users_role(
    username: UserArg,
    role: Annotated[Role, typer.Option("--role", help="What the user may do from now on.")],
) -> None:
    """Give a user another role (a signed-in admin); their sessions end."""
    from opendvi.people import set_role

    with signed_in() as (dvi, me):
        changed = set_role(dvi, username=username, role=role.value, actor=me)
    typer.echo(f"{changed.username} is now {changed.role}; their sessions ended")


@users_app.command("deactivate")
def users_deactivate(username: UserArg) -> None:
    """Stop a user from signing in or acting (a signed-in admin); their sessions end and
    their name stays on what they did."""
    from opendvi.people import deactivate

    with signed_in() as (dvi, me):
        deactivate(dvi, username=username, actor=me)
    typer.echo(f"{username} deactivated; their sessions ended")


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(logout)
    app.command()(whoami)
    app.add_typer(users_app, name="users")

"""``opendvi users``: the people who use OpenDVI, their roles and passwords."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from opendvi.cli.common import ActorOpt, acting, opened
from opendvi.core.roles import Role

__all__ = ["register"]

users_app = typer.Typer(help="People who use OpenDVI and their roles.", no_args_is_help=True)
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))


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
    actor: ActorOpt = None,
) -> None:
    """Add a user with one role; asks for the password unless told otherwise."""
    from opendvi.people import add_user

    password = None if no_password and not password_stdin else _password(password_stdin, "Password")
    with opened() as dvi:
        added = add_user(
            dvi,
            username=username,
            role=role.value,
            actor=acting(actor),
            password=password,
            display_name=name,
            email=email,
        )
    typer.echo(f"user {added.username} added as {added.role}")


@users_app.command("password")
def users_password(
    username: Annotated[str, typer.Argument(help="Whose password to set.")],
    password_stdin: PasswordStdinOpt = False,
    actor: ActorOpt = None,
) -> None:
    """Set a user's password (their sessions end)."""
    from opendvi.people import set_password

    password = _password(password_stdin, "New password")
    with opened() as dvi:
        set_password(dvi, username=username, password=password, actor=acting(actor))
    typer.echo(f"password of {username} changed")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")

"""``opendvi backup`` and ``restore``: a consistent copy of the database, the photos and
the audit anchor while the work goes on, and that copy put back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opendvi.cli.common import ActorOpt, QuietOpt, acting, echo_error, opened

__all__ = ["register"]


def backup(
    folder: Annotated[Path, typer.Argument(help="A new (or empty) folder for the backup.")],
    quiet: QuietOpt = False,
) -> None:
    """Back up the database (a consistent snapshot, while others go on working), the photos
    its records use and the audit anchor, with a manifest of SHA-256 digests."""
    from opendvi.backup import make_backup
    from opendvi.infra.progress import Bar

    with opened() as dvi, Bar(f"Backing up to {folder}", quiet=quiet) as bar:
        summary = make_backup(dvi, folder, progress=bar.update)
    typer.echo(
        f"backed up to {summary.folder}: the {summary.database} database with "
        f"{summary.events:,} audit events, {summary.photos:,} photo files, "
        f"{summary.size / 1e6:,.1f} MB"
    )


def restore(
    folder: Annotated[Path, typer.Argument(help="The backup's folder.")],
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace the data already in the data directory."),
    ] = False,
    rollback: Annotated[
        bool,
        typer.Option(
            "--rollback",
            help="Restore even a backup older than the data directory's audit anchor "
            "(what was recorded since is lost; the rollback is written in the audit log).",
        ),
    ] = False,
    actor: ActorOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Restore a backup into the data directory and database (a new one unless --replace),
    after checking every file against the manifest."""
    from opendvi.backup import restore_backup
    from opendvi.infra.progress import Bar

    with opened(migrate=False) as dvi, Bar(f"Checking {folder}", quiet=quiet) as bar:
        done = restore_backup(
            dvi,
            folder,
            actor=acting(actor),
            replace=replace,
            rollback=rollback,
            progress=bar.update,
        )
    typer.echo(f"restored {folder}: {done.events:,} audit events, {done.photos:,} photo files")
    if done.rolled_back_from is not None:
        typer.echo(f"rolled back from event {done.rolled_back_from.event:,} (recorded)")
    if not done.chain.ok:
        echo_error(f"the restored audit log does not verify: {done.chain.reason}")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)

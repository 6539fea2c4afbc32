"""``opendvi info``, ``db``, ``audit`` and ``serve``: where the data lives, its schema, the
audit log, and the web application."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from opendvi.cli.common import echo_error, opened

if TYPE_CHECKING:
    from opendvi.app import OpenDVI

__all__ = ["register"]

audit_app = typer.Typer(help="Check and read the audit log.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema maintenance.", no_args_is_help=True)


def info() -> None:
    """Where OpenDVI keeps its data, and the database's schema version."""
    from opendvi.infra.private import owner_only

    with opened() as dvi:
        data = dvi.settings.data_dir
        who = (
            "readable by its owner only"
            if owner_only(data)
            else f"readable by others: chmod 700 {data}"
        )
        typer.echo(f"data directory:  {data} ({who})")
        typer.echo(f"database:        {dvi.db.display_url()}")
        typer.echo(f"photo store:     {dvi.media.root}")
        typer.echo(f"schema version:  {dvi.db.current_revision()}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to this version of OpenDVI (also done on every start)."""
    with opened() as dvi:
        typer.echo(f"{dvi.db.display_url()} is at schema version {dvi.db.current_revision()}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain of the audit log, and its head against the anchor beside the
    data; name the first broken link, or the rollback."""
    from opendvi.audit_anchor import verify_anchored

    with opened() as dvi:
        report = verify_anchored(dvi)
    result = report.chain
    if not result.ok:
        echo_error(
            f"AUDIT LOG BROKEN at event {result.broken_id}: {result.reason}. "
            f"{result.checked:,} events before it verified. Keep a copy of the database as it "
            "is and report it to the administrator."
        )
        raise typer.Exit(1)
    if report.problem:
        echo_error(
            f"AUDIT LOG ROLLED BACK: {report.problem}. The {result.checked:,} events it holds "
            "verify. Keep a copy of the database as it is and report it to the administrator; "
            "a backup restored on purpose is restored with `opendvi restore --replace "
            "--rollback`, which records the rollback."
        )
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {result.checked:,} events verified")
    if report.anchor is not None:
        typer.echo(f"the anchor beside the data agrees: event {report.anchor.event:,}")
    else:
        typer.echo(report.note)


@audit_app.command("log")
def audit_log(
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref",
            help="Only events about this record: its own, its pairs' decisions, its "
            "identifications and its families' notification steps.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 20,
) -> None:
    """Show the newest audit events."""
    from opendvi.audit import events

    with opened() as dvi:
        if ref:
            # Here only: the records package brings the face and matching modules with it.
            from opendvi.records import record_history

            found = record_history(dvi, ref, limit=limit)
        else:
            found = events(dvi, limit=limit)
    for event in found:
        changed = ", ".join(event.details.get("changed", []))
        typer.echo(
            f"{event.id:>7}  {event.at:%Y-%m-%d %H:%M:%S}  {event.actor:<20} "
            f"{event.action:<26} {event.entity_ref}  {changed}".rstrip()
        )


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    processes: Annotated[
        int, typer.Option("--processes", min=1, help="Server processes (more serve more at once).")
    ] = 1,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Do no background work here (photos' faces, matching): separate "
            "`opendvi worker` processes do it.",
        ),
    ] = False,
) -> None:
    """Run the web application on the configured database; the queued work is done in
    this process too, unless --no-worker."""
    from opendvi.infra.leftovers import start_server_clean
    from opendvi.infra.worker import Worker

    _port_free(host, port)  # before anything is made: an administrator, a worker
    with opened() as dvi:
        start_server_clean(dvi.settings.data_dir, dvi.media.root)
        _first_admin(dvi)
        # One worker, in this process: the web processes of --processes never match.
        worker = None if no_worker else Worker(dvi)
        if worker is not None:
            worker.start()
        typer.echo(f"OpenDVI on http://{host}:{port}/ (Ctrl-C stops it)")
        try:
            _run_server(dvi, host, port, processes)
        finally:
            if worker is not None:
                worker.stop()


def _first_admin(dvi: OpenDVI) -> None:
    """An administrator made, and its password shown once, when there is none yet."""
    from opendvi.people import ensure_admin

    created = ensure_admin(dvi, actor="serve")
    if created is not None:
        typer.echo(
            f"No administrator yet: created user '{created.username}' with the "
            f"password\n\n    {created.password}\n\nWrite it down now; it is not shown "
            f"again. Change it with `opendvi users password {created.username}`."
        )


def _port_free(host: str, port: int) -> None:
    """Stop, naming the port, when another program listens there already."""
    import socket

    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
    try:
        probe.bind((host, port))
    except OSError as why:
        typer.echo(
            f"error: port {port} on {host} is not free ({why.strerror or why}): another "
            f"program, or another OpenDVI, listens there. Choose another with --port, "
            f"e.g. `opendvi serve --port {port + 1}`.",
            err=True,
        )
        raise typer.Exit(1) from None
    finally:
        probe.close()


def _run_server(dvi: OpenDVI, host: str, port: int, processes: int) -> None:
    import os

    import uvicorn

    from opendvi.web import create_app

    # X-Forwarded-For is believed only from the proxies the settings name: by default,
    # never (uvicorn would believe any local client).
    proxies = dvi.settings.trusted_proxies
    forwarding: dict[str, Any] = {"proxy_headers": bool(proxies)}
    if proxies:
        forwarding["forwarded_allow_ips"] = proxies
    if processes == 1:
        uvicorn.run(create_app(dvi=dvi), host=host, port=port, log_level="warning", **forwarding)
        return
    # Each process opens the same database and photo store from these settings.
    os.environ["OPENDVI_DATA_DIR"] = str(dvi.settings.data_dir)
    os.environ["OPENDVI_DATABASE_URL"] = dvi.settings.resolved_database_url()
    dvi.settings.resolved_secret_key()  # made once, here, before the processes start
    uvicorn.run(
        "opendvi.web:create_app",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        log_level="warning",
        **forwarding,
    )


def register(app: typer.Typer) -> None:
    app.command()(info)
    app.add_typer(db_app, name="db")
    app.add_typer(audit_app, name="audit")
    app.command()(serve)

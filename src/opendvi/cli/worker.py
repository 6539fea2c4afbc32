"""``opendvi worker``: a process that does the queued work (photos' faces, matching) beside
web processes started with ``opendvi serve --no-worker``; several may run at once."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opendvi.cli.common import opened

if TYPE_CHECKING:
    from opendvi.infra.worker import Worker

__all__ = ["register"]


def worker(
    once: Annotated[bool, typer.Option("--once", help="Do what is queued now, then exit.")] = False,
    every: Annotated[
        float,
        typer.Option("--every", min=0.1, help="Seconds between looks at the queue when idle."),
    ] = 3.0,
    claim: Annotated[
        int,
        typer.Option("--claim", min=1, help="Match jobs claimed at a time."),
    ] = 100,
) -> None:
    """Find the faces in new photos and run the queued matching, sharing the queue with
    any other workers; SIGTERM or Ctrl-C stops it after the work at hand."""
    from opendvi.infra.worker import Worker

    with opened() as dvi:
        work = Worker(dvi, every_s=every, claim=claim)
        typer.echo(f"worker {work.name} on {dvi.db.display_url()} (Ctrl-C stops it)")
        _stop_on_signals(work)
        try:
            while True:
                done = work.run_once()
                if done.photos or done.records:
                    typer.echo(
                        f"faces found in {done.photos} photos, {done.records} records matched"
                    )
                if once or not work.wait():
                    break
        finally:
            given = work.release()
        if given:
            typer.echo(f"{given} claimed jobs given back to the queue")
        typer.echo("worker stopped")


def _stop_on_signals(work: Worker) -> None:
    """The first SIGTERM or Ctrl-C stops the worker after the work at hand; a second, at
    once."""

    def stop(signum: int, frame: Any) -> None:
        typer.echo("stopping after the work at hand (again to stop at once)")
        work.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def register(app: typer.Typer) -> None:
    app.command()(worker)

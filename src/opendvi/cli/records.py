"""``opendvi import``, ``opendvi export``, ``opendvi stats`` and ``opendvi demo``: records in
and out of the database, and what it holds."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from opendvi.cli.common import (
    ActorOpt,
    QuietOpt,
    RecordKind,
    WorkersOpt,
    acting,
    echo_error,
    interrupted,
    opened,
    signed_in,
)
from opendvi.cli.faces import detect
from opendvi.cli.matching import match_queued

if TYPE_CHECKING:
    from opendvi.interchange.csv_import import ImportReport

__all__ = ["register"]

import_app = typer.Typer(
    help="Import records from CSV files or folders of photos.", no_args_is_help=True
)
export_app = typer.Typer(help="Export records or candidates as CSV or JSON.", no_args_is_help=True)


class Format(StrEnum):
    csv = "csv"
    json = "json"


NoFacesOpt = Annotated[
    bool, typer.Option("--no-faces", help="Only store records and photos; find faces later.")
]
NoMatchOpt = Annotated[
    bool,
    typer.Option("--no-match", help="Leave the matching queued for `opendvi match` to run."),
]
BatchOpt = Annotated[
    int,
    typer.Option(
        "--batch",
        min=1,
        help="Rows saved per transaction; a row that fails still fails alone, and a stopped "
        "import loses at most the batch being written.",
    ),
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="csv or json.")]
PhotosDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--photos-dir",
        help="Copy the original photos here and list their paths, so the CSV can be imported "
        "elsewhere (default: list photos by SHA-256).",
    ),
]


ForceReasonOpt = Annotated[
    str,
    typer.Option(
        "--force-reason",
        help="Why photos already on records of the other kind belong to these records too "
        "(audited); without it such photos are refused.",
    ),
]


def _report(report: ImportReport, quiet: bool) -> None:
    for problem in report.problems:
        echo_error(str(problem))
    for note in report.notes:  # said even with --quiet: each changes what the user expects
        echo_error(f"note: {note}")
    if not quiet or report.problems:
        summary = (
            f"{report.file}: {report.rows} rows — {report.created} created, {report.updated} "
            f"updated, {report.unchanged} unchanged, {report.failed} failed"
        )
        echo_error(summary) if report.problems else typer.echo(summary)


@dataclass(frozen=True)
class _Options:
    quiet: bool
    workers: int | None
    faces: bool  # find the faces after the import
    match: bool  # then match what was imported
    force_reason: str = ""  # why photos on records of the other kind belong here too
    batch: int = 100  # rows saved per transaction


def _import(kind: RecordKind, source: Path, folder: bool, how: _Options) -> None:
    from opendvi.infra.progress import Bar
    from opendvi.interchange.csv_import import import_csv, import_folder

    run = import_folder if folder else import_csv
    keep = "Rows already saved are complete; run the same command again to finish the import."
    quiet = how.quiet
    with signed_in() as (dvi, actor), interrupted(keep):
        with Bar(f"Importing {source.name}", quiet=quiet) as bar:
            report = run(
                dvi,
                source,
                kind=kind.value,
                actor=actor,
                progress=bar.update,
                force_reason=how.force_reason,
                batch=how.batch,
                workers=how.workers,
            )
        _report(report, quiet)
        if how.faces:
            detect(dvi, quiet=quiet, actor=actor, workers=how.workers, redo=False)
        if how.match:
            match_queued(dvi, quiet=quiet, actor=actor, everything=False, workers=how.workers)
    if report.problems:
        raise typer.Exit(1)


def _csv_import(kind: RecordKind, rows: str, what: str) -> None:
    """``opendvi import KIND FILE``: one command for each kind of record."""

    def command(
        file: Path = typer.Argument(..., help=f"CSV file, one {rows} per row."),
        quiet: QuietOpt = False,
        workers: WorkersOpt = None,
        no_faces: NoFacesOpt = False,
        no_match: NoMatchOpt = False,
        force_reason: ForceReasonOpt = "",
        batch: BatchOpt = 100,
    ) -> None:
        how = _Options(quiet, workers, not no_faces, not no_match, force_reason, batch)
        _import(kind, file, False, how)

    command.__doc__ = f"Import {what} from a CSV file (columns: see docs/import.md)."
    import_app.command(kind.value)(command)


_csv_import(RecordKind.missing, "missing-person report", "missing-person (AM) reports")
_csv_import(RecordKind.unidentified, "remains record", "unidentified-remains (PM) records")


@import_app.command("folder")
def import_folder_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder: one sub-folder of photos per record.")],
    as_: Annotated[
        RecordKind, typer.Option("--as", help="Import as missing-person reports or remains.")
    ],
    quiet: QuietOpt = False,
    workers: WorkersOpt = None,
    no_faces: NoFacesOpt = False,
    no_match: NoMatchOpt = False,
    force_reason: ForceReasonOpt = "",
    batch: BatchOpt = 100,
) -> None:
    """Import a folder of photos: each sub-folder is one record named after it; a photo
    directly in the folder is a record of its own."""
    how = _Options(quiet, workers, not no_faces, not no_match, force_reason, batch)
    _import(as_, folder, True, how)


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    """The file to write an export to, or standard output."""
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        yield handle


class Audience(StrEnum):
    partners = "partners"
    team = "team"


def _export_records(
    kind: RecordKind,
    fmt: Format,
    output: Path | None,
    photos_dir: Path | None,
    audience: Audience = Audience.partners,
) -> None:
    from opendvi.interchange.export import export_records

    with opened() as dvi, _output(output) as out:
        export_records(
            dvi,
            out,
            kind=kind.value,
            fmt=fmt.value,
            photos_dir=photos_dir,
            audience=audience.value,
        )


@export_app.command("missing")
def export_missing(
    format: FormatOpt = Format.csv,
    output: OutputOpt = None,
    photos_dir: PhotosDirOpt = None,
    audience: Annotated[
        Audience,
        typer.Option(
            "--for",
            help="Who the file is for: partners (only contacts who chose to share with "
            "partners) or team (a file kept by the team: those who chose team too). A contact "
            "who chose to share with no one is never exported.",
        ),
    ] = Audience.partners,
) -> None:
    """Export missing-person reports (CSV with the import's columns, or full JSON)."""
    _export_records(RecordKind.missing, format, output, photos_dir, audience)


@export_app.command("unidentified")
def export_unidentified(
    format: FormatOpt = Format.csv, output: OutputOpt = None, photos_dir: PhotosDirOpt = None
) -> None:
    """Export unidentified-remains records (CSV with the import's columns, or full JSON)."""
    _export_records(RecordKind.unidentified, format, output, photos_dir)


@export_app.command("candidates")
def export_candidates_cmd(format: FormatOpt = Format.csv, output: OutputOpt = None) -> None:
    """Export candidate pairs: pm_ref, am_ref, rank, score (higher is more alike), and more."""
    from opendvi.interchange.export import export_candidates

    with opened() as dvi, _output(output) as out:
        export_candidates(dvi, out, fmt=format.value)


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts of reports, remains, photos, faces, candidates and identifications."""
    import json

    from opendvi.caseload import stats as count_all

    with opened() as dvi:
        counts = count_all(dvi)
        where = dvi.db.display_url()
    if as_json:
        typer.echo(json.dumps(counts, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"Database: {where}", soft_wrap=True)
    table = Table()
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    console.print(table)


def demo(
    photos: Annotated[
        Path | None,
        typer.Option(
            "--photos",
            help="Try face matching on your own photos: a folder with one sub-folder per "
            "person (two photos or more each).",
        ),
    ] = None,
    actor: ActorOpt = None,
) -> None:
    """Fill the database with a few fictitious reports and remains to look around, or, with
    --photos, try face matching on a folder of your own photos."""
    if photos is not None:
        _photo_demo(photos, actor)
        return
    from opendvi.demo import build_demo

    with opened() as dvi:
        result = build_demo(dvi, actor=acting(actor))
        where = dvi.db.display_url()
    typer.echo(
        f"Demo ready in {where}: {result.missing} missing-person reports and "
        f"{result.remains} remains records (all fictitious, refs DEMO-…; "
        f"{result.created} newly added)."
    )
    typer.echo(
        "They have no photos. To try face matching on your own photos (one sub-folder per "
        "person, two photos or more each), in a database of its own:\n"
        "  opendvi --data-dir ./opendvi-try demo --photos PATH/TO/PEOPLE\n"
        "The last photo of each person becomes an unidentified-remains record and the "
        "others a missing-person report; it then shows, for each remains record, the report "
        "ranked first and whether it is the same person."
    )


def _photo_demo(folder: Path, actor: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from opendvi.demo import build_photo_demo
    from opendvi.infra.progress import Bar

    with opened() as dvi:
        with Bar("Finding faces and matching", quiet=False) as bar:
            result = build_photo_demo(dvi, folder, actor=acting(actor), progress=bar.update)
        where = dvi.db.display_url()
    for problem in result.problems:
        echo_error(problem)
    typer.echo(
        f"Demo ready in {where}: {result.missing} missing-person reports and "
        f"{result.remains} remains records made from {folder} (refs DEMO-AM-…, DEMO-PM-…)."
    )
    console = Console()
    table = Table(title="For each remains record, the report ranked first")
    table.add_column("remains")
    table.add_column("ranked first")
    table.add_column("same person?")
    for outcome in result.outcomes:
        first = outcome.first or "none (no candidate)"
        if outcome.first and not outcome.credible:
            first += " (not credible)"
        table.add_row(outcome.pm_ref, first, "yes" if outcome.right else "no")
    console.print(table)
    typer.echo(
        f"{result.right} of {len(result.outcomes)} remains records have the report made from "
        "the same person's other photos first. To see each pair side by side with why it "
        "was ranked: `opendvi serve`, sign in, then Review; or "
        "`opendvi explain DEMO-PM-NAME DEMO-AM-NAME`."
    )


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
    app.command()(stats)
    app.command()(demo)

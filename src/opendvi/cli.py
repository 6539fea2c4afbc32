"""The ``opendvi`` command: a thin front end over the same use-cases as the web and library.

Nothing heavy is imported at module level, so ``opendvi --help`` answers at once; each
command imports what it needs.
"""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

# The words of the notification rules (core imports the standard library only).
from opendvi.core.notification import (
    CARRIED_OUT_BY,
    CHANNELS,
    CHECKLIST,
    OUTCOMES,
    STEPS,
    is_overdue,
)

if TYPE_CHECKING:
    from opendvi.app import OpenDVI
    from opendvi.interchange.csv_import import ImportReport

app = typer.Typer(
    name="opendvi",
    help="OpenDVI: match unidentified remains (PM) against missing-person reports (AM), "
    "review candidates, and notify families with consent.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
import_app = typer.Typer(
    help="Import records from CSV files or folders of photos.", no_args_is_help=True
)
export_app = typer.Typer(help="Export records or candidates as CSV or JSON.", no_args_is_help=True)
audit_app = typer.Typer(help="Check and read the audit log.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema maintenance.", no_args_is_help=True)
faces_app = typer.Typer(
    help="Faces in stored photos: detect, list, box by hand, choose the person.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="People who use OpenDVI and their roles.", no_args_is_help=True)
identify_app = typer.Typer(
    help="Identifications: propose, confirm (two other reviewers), revoke.", no_args_is_help=True
)
app.add_typer(faces_app, name="faces")
app.add_typer(users_app, name="users")
app.add_typer(identify_app, name="identify")
notify_app = typer.Typer(
    help="Telling families: notification tasks, their words, plan, approval, and what was done.",
    no_args_is_help=True,
)
app.add_typer(notify_app, name="notify")


class Format(StrEnum):
    csv = "csv"
    json = "json"


class RecordKind(StrEnum):
    missing = "missing"
    unidentified = "unidentified"


class State:
    database_url: str | None = None
    data_dir: Path | None = None


_state = State()


def _actor(given: str | None) -> str:
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _open() -> OpenDVI:
    from opendvi.app import OpenDVI
    from opendvi.settings import Settings

    overrides: dict[str, Any] = {}
    if _state.data_dir is not None:
        overrides["data_dir"] = _state.data_dir
    if _state.database_url is not None:
        overrides["database_url"] = _state.database_url
    return OpenDVI.open(Settings(**overrides))


def _err(message: str) -> None:
    typer.echo(message, err=True)


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
    _state.database_url = database_url
    _state.data_dir = data_dir


# -- import --------------------------------------------------------------------------------


def _run_import(
    kind: RecordKind,
    source: Path,
    quiet: bool,
    actor: str | None,
    folder: bool,
    workers: int | None,
    faces: bool,
    match: bool,
) -> None:
    from opendvi.interchange.csv_import import import_csv, import_folder
    from opendvi.progress import Bar

    dvi = _open()
    run = import_folder if folder else import_csv
    try:
        with Bar(f"Importing {source.name}", quiet=quiet) as bar:
            report = run(dvi, source, kind=kind.value, actor=_actor(actor), progress=bar.update)
        _report_import(report, quiet)
        if faces:
            _detect(dvi, quiet=quiet, actor=actor, workers=workers, redo=False)
        if match:
            _match(dvi, quiet=quiet, actor=actor, everything=False)
    except KeyboardInterrupt:
        _err(
            "\nInterrupted. Rows already saved are complete; run the same command again to "
            "finish the import."
        )
        raise typer.Exit(130) from None
    finally:
        dvi.close()
    if report.problems:
        raise typer.Exit(1)


def _detect(
    dvi: OpenDVI, *, quiet: bool, actor: str | None, workers: int | None, redo: bool
) -> None:
    from opendvi.detection import detect_faces
    from opendvi.progress import Bar

    with Bar("Finding faces", quiet=quiet) as bar:
        report = detect_faces(
            dvi, actor=_actor(actor), workers=workers, redo=redo, progress=bar.update
        )
    if not quiet and report.photos:
        typer.echo(
            f"faces: {report.photos} photos — {report.faces} faces ({report.usable} usable), "
            f"{report.no_face} without a face, {report.errors} unreadable"
        )


def _match(dvi: OpenDVI, *, quiet: bool, actor: str | None, everything: bool) -> None:
    from opendvi.matching import run_matching
    from opendvi.progress import Bar

    with Bar("Matching", quiet=quiet) as bar:
        report = run_matching(dvi, actor=_actor(actor), everything=everything, progress=bar.update)
    if quiet:
        return
    if not report.records:
        typer.echo("matching: nothing waiting (`opendvi match --all` rebuilds every list)")
        return
    with_candidate = report.remains - len(report.no_candidate)
    typer.echo(
        f"matching: {report.records} records — of {report.remains} remains records, "
        f"{with_candidate} have a credible candidate; {report.calibration}"
    )
    if report.no_candidate:
        shown = ", ".join(report.no_candidate[:10])
        more = f" and {len(report.no_candidate) - 10} more" if len(report.no_candidate) > 10 else ""
        typer.echo(
            f"no credible candidate for {len(report.no_candidate)} remains record(s): {shown}{more}"
        )


def _report_import(report: ImportReport, quiet: bool) -> None:
    for problem in report.problems:
        _err(str(problem))
    if not quiet or report.problems:
        summary = (
            f"{report.file}: {report.rows} rows — {report.created} created, {report.updated} "
            f"updated, {report.unchanged} unchanged, {report.failed} failed"
        )
        _err(summary) if report.problems else typer.echo(summary)


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", "-j", min=1, help="Face-detection processes (default: CPU cores)."),
]
NoFacesOpt = Annotated[
    bool, typer.Option("--no-faces", help="Only store records and photos; find faces later.")
]
NoMatchOpt = Annotated[
    bool,
    typer.Option("--no-match", help="Leave the matching queued for `opendvi match` to run."),
]
ActorOpt = Annotated[
    str | None, typer.Option("--actor", help="Name written in the audit log (default: cli:USER).")
]


@import_app.command("missing")
def import_missing(
    file: Annotated[Path, typer.Argument(help="CSV file, one missing-person report per row.")],
    quiet: QuietOpt = False,
    actor: ActorOpt = None,
    workers: WorkersOpt = None,
    no_faces: NoFacesOpt = False,
    no_match: NoMatchOpt = False,
) -> None:
    """Import missing-person (AM) reports from a CSV file (columns: see docs/import.md)."""
    _run_import(RecordKind.missing, file, quiet, actor, False, workers, not no_faces, not no_match)


@import_app.command("unidentified")
def import_unidentified(
    file: Annotated[Path, typer.Argument(help="CSV file, one remains record per row.")],
    quiet: QuietOpt = False,
    actor: ActorOpt = None,
    workers: WorkersOpt = None,
    no_faces: NoFacesOpt = False,
    no_match: NoMatchOpt = False,
) -> None:
    """Import unidentified-remains (PM) records from a CSV file (columns: see docs/import.md)."""
    _run_import(
        RecordKind.unidentified, file, quiet, actor, False, workers, not no_faces, not no_match
    )


@import_app.command("folder")
def import_folder_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder: one sub-folder of photos per record.")],
    as_: Annotated[
        RecordKind, typer.Option("--as", help="Import as missing-person reports or remains.")
    ],
    quiet: QuietOpt = False,
    actor: ActorOpt = None,
    workers: WorkersOpt = None,
    no_faces: NoFacesOpt = False,
    no_match: NoMatchOpt = False,
) -> None:
    """Import a folder of photos: each sub-folder is one record named after it; a photo
    directly in the folder is a record of its own."""
    _run_import(as_, folder, quiet, actor, True, workers, not no_faces, not no_match)


# -- export --------------------------------------------------------------------------------


@contextmanager
def _output(path: Path | None) -> Iterator[Any]:
    """The file to write an export to, or standard output."""
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        yield handle


OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="csv or json.")]


def _export_records(
    kind: RecordKind, fmt: Format, output: Path | None, photos_dir: Path | None
) -> None:
    from opendvi.interchange.export import export_records

    dvi = _open()
    try:
        with _output(output) as out, dvi.db.read() as session:
            export_records(
                session,
                out,
                kind=kind.value,
                fmt=fmt.value,
                media=dvi.media,
                photos_dir=photos_dir,
            )
    finally:
        dvi.close()


PhotosDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--photos-dir",
        help="Copy the original photos here and list their paths, so the CSV can be imported "
        "elsewhere (default: list photos by SHA-256).",
    ),
]


@export_app.command("missing")
def export_missing(
    format: FormatOpt = Format.csv, output: OutputOpt = None, photos_dir: PhotosDirOpt = None
) -> None:
    """Export missing-person reports (CSV with the import's columns, or full JSON)."""
    _export_records(RecordKind.missing, format, output, photos_dir)


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

    dvi = _open()
    try:
        with _output(output) as out, dvi.db.read() as session:
            export_candidates(session, out, fmt=format.value)
    finally:
        dvi.close()


# -- stats, info, demo ----------------------------------------------------------------------


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts of reports, remains, photos, faces, candidates and identifications."""
    import json

    from opendvi.db.queries import stats as count_all

    dvi = _open()
    try:
        with dvi.db.read() as session:
            counts = count_all(session)
    finally:
        dvi.close()
    if as_json:
        typer.echo(json.dumps(counts, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"Database: {dvi.db.display_url()}", soft_wrap=True)
    table = Table()
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    console.print(table)


@app.command()
def info() -> None:
    """Where OpenDVI keeps its data, and the database's schema version."""
    dvi = _open()
    try:
        typer.echo(f"data directory:  {dvi.settings.data_dir}")
        typer.echo(f"database:        {dvi.db.display_url()}")
        typer.echo(f"photo store:     {dvi.media.root}")
        typer.echo(f"schema version:  {dvi.db.current_revision()}")
    finally:
        dvi.close()


@app.command()
def demo(actor: ActorOpt = None) -> None:
    """Fill the database with a few fictitious reports and remains to look around."""
    from opendvi.demo import build_demo

    dvi = _open()
    try:
        result = build_demo(dvi, actor=_actor(actor))
        typer.echo(
            f"Demo ready in {dvi.db.display_url()}: {result.missing} missing-person reports and "
            f"{result.remains} remains records (all fictitious, refs DEMO-…; "
            f"{result.created} newly added)."
        )
        typer.echo(
            "They have no photos. To try face matching, import a folder of photos, one "
            "sub-folder per person:\n"
            "  opendvi import folder PATH/TO/PEOPLE --as missing\n"
            "  opendvi import folder PATH/TO/UNIDENTIFIED --as unidentified\n"
            "or CSV files (see docs/import.md). Then: opendvi stats"
        )
    finally:
        dvi.close()


# -- audit and db ---------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain of the audit log; name the first broken link."""
    from opendvi import audit

    dvi = _open()
    try:
        with dvi.db.read() as session:
            result = audit.verify(session)
    finally:
        dvi.close()
    if result.ok:
        typer.echo(f"audit log intact: {result.checked:,} events verified")
        return
    _err(
        f"AUDIT LOG BROKEN at event {result.broken_id}: {result.reason}. "
        f"{result.checked:,} events before it verified. Keep a copy of the database as it is "
        "and report it to the administrator."
    )
    raise typer.Exit(1)


@audit_app.command("log")
def audit_log(
    ref: Annotated[str | None, typer.Option("--ref", help="Only events about this record.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 20,
) -> None:
    """Show the newest audit events."""
    from opendvi import audit

    dvi = _open()
    try:
        with dvi.db.read() as session:
            events = audit.recent(session, limit=limit, entity_ref=ref)
            for event in events:
                changed = ", ".join(event.details.get("changed", [])) if event.details else ""
                typer.echo(
                    f"{event.id:>7}  {event.at:%Y-%m-%d %H:%M:%S}  {event.actor:<20} "
                    f"{event.action:<26} {event.entity_ref}  {changed}".rstrip()
                )
    finally:
        dvi.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to this version of OpenDVI (also done on every start)."""
    dvi = _open()
    try:
        typer.echo(f"{dvi.db.display_url()} is at schema version {dvi.db.current_revision()}")
    finally:
        dvi.close()


# -- matching -------------------------------------------------------------------------------


@app.command()
def match(
    everything: Annotated[
        bool,
        typer.Option("--all", help="Recalibrate and rebuild every candidate list from scratch."),
    ] = False,
    quiet: QuietOpt = False,
    actor: ActorOpt = None,
) -> None:
    """Match new and changed records (imports do this unless --no-match)."""
    dvi = _open()
    try:
        _match(dvi, quiet=quiet, actor=actor, everything=everything)
    except KeyboardInterrupt:
        _err("\nInterrupted. Lists finished so far are saved; run it again to finish.")
        raise typer.Exit(130) from None
    finally:
        dvi.close()


@app.command()
def explain(
    pm_ref: Annotated[str, typer.Argument(help="The remains record's ref.")],
    am_ref: Annotated[str, typer.Argument(help="The missing-person report's ref.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Why a remains record and a report score as they do: every factor's points."""
    import dataclasses
    import json

    from opendvi.matching import explain as explain_pair

    dvi = _open()
    try:
        found = explain_pair(dvi, pm_ref, am_ref)
    finally:
        dvi.close()
    if as_json:
        data = dataclasses.asdict(found)
        data["verdict"] = found.verdict()
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{pm_ref} (remains) and {am_ref} (missing-person report)", soft_wrap=True)
    table = Table()
    table.add_column("factor")
    table.add_column("points", justify="right")
    table.add_column("why")
    for name, factor in found.factors.items():
        if name == "exclusion":
            continue
        points = factor.get("points", 0.0)
        table.add_row(name, f"{points:+.2f}", factor.get("why", ""))
    table.add_row("total", f"{found.score:+.2f}", "", style="bold")
    console.print(table)
    face = found.factors.get("face", {})
    if "pair" in face:
        console.print(
            f"driving pair: face {face['pair'][0]} of {am_ref} and face {face['pair'][1]} of "
            f"{pm_ref} ({face['best_pair']:.3f}; quality-weighted over {face['pairs']} pairs: "
            f"{face['weighted']:.3f})",
            soft_wrap=True,
        )
    console.print(
        f"face model: {found.model[0]} {found.model[1]}; {found.calibration}", soft_wrap=True
    )
    console.print(f"verdict: {found.verdict()}", soft_wrap=True)
    exclusion = found.factors.get("exclusion")
    if exclusion:
        console.print(
            f"excluded on {exclusion['on']} by {exclusion['by']}: {exclusion['reason']}"
            + ("" if found.status == "excluded" else " — the evidence has changed since"),
            soft_wrap=True,
        )
    if found.stored:
        console.print(
            f"listed: rank {found.rank_for_remains or '-'} for {pm_ref}, "
            f"rank {found.rank_for_missing or '-'} for {am_ref}",
            soft_wrap=True,
        )
    else:
        console.print("not among the stored candidates of either record", soft_wrap=True)


@app.command()
def exclude(
    pm_ref: Annotated[str, typer.Argument(help="The remains record's ref.")],
    am_ref: Annotated[str, typer.Argument(help="The missing-person report's ref.")],
    reason: Annotated[str, typer.Option("--reason", help="Why they are not the same person.")],
    by: Annotated[str, typer.Option("--by", help="The reviewer's username.")],
) -> None:
    """Record that a remains record and a report are not the same person."""
    from opendvi.review import exclude as exclude_pair

    dvi = _open()
    try:
        decision = exclude_pair(dvi, pm_ref, am_ref, reason=reason, username=by)
    finally:
        dvi.close()
    typer.echo(
        f"excluded {pm_ref} / {am_ref} (decision {decision}); the pair comes back, flagged, "
        "if the evidence behind it changes"
    )


@app.command()
def judge(
    pm_ref: Annotated[str, typer.Argument(help="The remains record's ref.")],
    am_ref: Annotated[str, typer.Argument(help="The missing-person report's ref.")],
    verdict: Annotated[str, typer.Argument(help="same, different or unsure.")],
    by: Annotated[str, typer.Option("--by", help="The reviewer's username.")],
    note: Annotated[str, typer.Option("--note", help="What the judgement rests on.")] = "",
) -> None:
    """Record a reviewer's own judgement of a pair, made before seeing its score."""
    from opendvi.review import VERDICTS
    from opendvi.review import judge as judge_pair

    dvi = _open()
    try:
        decision = judge_pair(dvi, pm_ref, am_ref, verdict=verdict, note=note, username=by)
    finally:
        dvi.close()
    typer.echo(
        f"{by} judged {pm_ref} / {am_ref}: {VERDICTS[verdict.strip().lower()]} "
        f"(decision {decision}); `opendvi explain {pm_ref} {am_ref}` shows the score"
    )


def _words(text: str) -> list[str]:
    return [w for w in text.replace(" ", ",").split(",") if w]


ByOpt = Annotated[str, typer.Option("--by", help="The reviewer's username.")]


@app.command()
def refer(
    pm_ref: Annotated[str, typer.Argument(help="The remains record's ref.")],
    am_ref: Annotated[str, typer.Argument(help="The missing-person report's ref.")],
    compare: Annotated[
        str, typer.Option("--compare", help="What to compare: dna, fingerprints, dental.")
    ],
    by: ByOpt,
    reason: Annotated[str, typer.Option("--reason", help="A note for the record.")] = "",
) -> None:
    """Record a possible match, referred for comparison of primary identifiers."""
    from opendvi.review import refer as refer_pair

    dvi = _open()
    try:
        decision = refer_pair(
            dvi, pm_ref, am_ref, compare=_words(compare), reason=reason, username=by
        )
    finally:
        dvi.close()
    typer.echo(f"{pm_ref} / {am_ref} referred (decision {decision})")


@identify_app.command("propose")
def identify_propose(
    pm_ref: Annotated[str, typer.Argument(help="The remains record's ref.")],
    am_ref: Annotated[str, typer.Argument(help="The missing-person report's ref.")],
    by: ByOpt,
    primary: Annotated[
        str,
        typer.Option(
            "--primary", help="Primary identifiers that agree: dna, fingerprints, dental."
        ),
    ] = "",
    secondary: Annotated[
        str,
        typer.Option(
            "--secondary",
            help="Secondary evidence that agrees: face, marks, effects, description, "
            "circumstances (two or more, with --note, when there is no primary identifier).",
        ),
    ] = "",
    note: Annotated[str, typer.Option("--note", help="How the evidence agrees.")] = "",
) -> None:
    """Propose that the remains are the reported person; two other reviewers confirm."""
    from opendvi.review import propose_identification

    dvi = _open()
    try:
        number = propose_identification(
            dvi,
            pm_ref,
            am_ref,
            primary=_words(primary),
            secondary=_words(secondary),
            note=note,
            username=by,
        )
    finally:
        dvi.close()
    typer.echo(
        f"identification {number} proposed: {pm_ref} is {am_ref}, pending confirmation by two "
        "other reviewers (`opendvi identify confirm " + str(number) + " --by NAME`)"
    )


@identify_app.command("confirm")
def identify_confirm(
    number: Annotated[int, typer.Argument(help="The identification's number.")], by: ByOpt
) -> None:
    """Add your confirmation; the second one confirms the identification."""
    from opendvi.review import confirm_identification

    dvi = _open()
    try:
        status = confirm_identification(dvi, number, username=by)
    finally:
        dvi.close()
    typer.echo(
        f"identification {number} confirmed: both records are now identified"
        if status == "confirmed"
        else f"identification {number}: first confirmation recorded; one more reviewer needed"
    )


@identify_app.command("revoke")
def identify_revoke(
    number: Annotated[int, typer.Argument(help="The identification's number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is revoked.")],
    by: ByOpt,
) -> None:
    """Revoke an identification: records reopen, pending notifications are cancelled."""
    from opendvi.review import revoke_identification

    dvi = _open()
    try:
        revoke_identification(dvi, number, reason=reason, username=by)
    finally:
        dvi.close()
    typer.echo(f"identification {number} revoked; its history is kept")


# -- users ----------------------------------------------------------------------------------


class Role(StrEnum):
    admin = "admin"
    forensic = "forensic"
    caseworker = "caseworker"
    reviewer = "reviewer"
    auditor = "auditor"


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name: lower-case letters and digits.")],
    role: Annotated[Role, typer.Option("--role", help="What the user may do.")],
    name: Annotated[str, typer.Option("--name", help="Full name shown to others.")] = "",
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No password yet (cannot log in).")
    ] = False,
    actor: ActorOpt = None,
) -> None:
    """Add a user with one role; asks for the password unless told otherwise."""
    from opendvi.users import add_user

    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    dvi = _open()
    try:
        with dvi.db.write() as session:
            add_user(
                session,
                username=username,
                role=role.value,
                actor=_actor(actor),
                password=password,
                display_name=name,
                email=email,
            )
    finally:
        dvi.close()
    typer.echo(f"user {username.strip().lower()} added as {role.value}")


@users_app.command("password")
def users_password(
    username: Annotated[str, typer.Argument(help="Whose password to set.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    actor: ActorOpt = None,
) -> None:
    """Set a user's password (their sessions end)."""
    from opendvi.users import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    dvi = _open()
    try:
        with dvi.db.write() as session:
            set_password(session, username=username, password=password, actor=_actor(actor))
    finally:
        dvi.close()
    typer.echo(f"password of {username} changed")


# -- web ------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="Server processes (more serve more people at once; each keeps its own "
            "failed-login counts).",
        ),
    ] = 1,
) -> None:
    """Run the web application on the configured database."""
    import os

    import uvicorn

    from opendvi.users import ensure_admin
    from opendvi.web import create_app
    from opendvi.worker import Worker

    dvi = _open()
    with dvi.db.write() as session:
        created = ensure_admin(session, actor="serve")
    if created is not None:
        typer.echo(
            f"No administrator yet: created user 'admin' with the password\n\n    {created}\n\n"
            "Write it down now; it is not shown again. Change it with "
            "`opendvi users password admin`."
        )
    worker = Worker(dvi)
    worker.start()
    typer.echo(f"OpenDVI on http://{host}:{port}/ (Ctrl-C stops it)")
    try:
        if processes == 1:
            uvicorn.run(create_app(dvi=dvi), host=host, port=port, log_level="warning")
        else:
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
            )
    finally:
        worker.stop()
        dvi.close()


# -- faces ----------------------------------------------------------------------------------


@faces_app.command("detect")
def faces_detect(
    redo: Annotated[
        bool, typer.Option("--redo", help="Look again at every photo, not only pending ones.")
    ] = False,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
    actor: ActorOpt = None,
) -> None:
    """Find and embed faces in photos still waiting (imports do this unless --no-faces)."""
    dvi = _open()
    try:
        _detect(dvi, quiet=quiet, actor=actor, workers=workers, redo=redo)
    except KeyboardInterrupt:
        _err("\nInterrupted. Photos done so far are saved; run it again to finish.")
        raise typer.Exit(130) from None
    finally:
        dvi.close()


@faces_app.command("list")
def faces_list(
    ref: Annotated[str, typer.Argument(help="A report's or remains record's ref.")],
) -> None:
    """The photos of a record and the faces found in each, with their ids."""
    from sqlalchemy import select

    from opendvi.db.tables import MissingPerson, Remains
    from opendvi.errors import NotFound

    dvi = _open()
    try:
        with dvi.db.read() as session:
            record = (
                session.execute(
                    select(MissingPerson).where(MissingPerson.ref == ref)
                ).scalar_one_or_none()
                or session.execute(select(Remains).where(Remains.ref == ref)).scalar_one_or_none()
            )
            if record is None:
                raise NotFound(f"no report or remains record has the ref {ref!r}")
            for photo in record.photos:
                if photo.withdrawn_at is not None:
                    continue
                typer.echo(
                    f"photo {photo.id}  {photo.original_name}  {photo.width}×{photo.height}  "
                    f"{photo.detection_status}  {photo.detection_note}".rstrip()
                )
                for face in photo.faces:
                    state = "usable" if face.usable else f"unusable: {face.unusable_reason}"
                    typer.echo(
                        f"  face {face.id}{' (the person)' if face.is_subject else ''}  "
                        f"box {face.box_x},{face.box_y},{face.box_w},{face.box_h}  "
                        f"turned {face.rotation_deg:g}°  quality {face.quality or 0:.2f}  "
                        f"{state}{'  boxed by hand' if face.manual else ''}  "
                        f"[{face.model_name}]"
                    )
    finally:
        dvi.close()


@faces_app.command("box")
def faces_box(
    photo_id: Annotated[int, typer.Argument(help="Photo id (see `opendvi faces list REF`).")],
    box: Annotated[str, typer.Argument(help="x,y,width,height of the face, in pixels.")],
    rotation: Annotated[
        float, typer.Option("--rotation", help="Degrees the photo is turned (anticlockwise).")
    ] = 0.0,
    actor: ActorOpt = None,
) -> None:
    """Mark a face by hand where the detector found none, and embed it."""
    from opendvi.detection import add_manual_face
    from opendvi.errors import InputError

    try:
        x, y, w, h = (float(v) for v in box.split(","))
    except ValueError:
        raise InputError(f"box {box!r}: write x,y,width,height, e.g. 120,80,200,240") from None
    dvi = _open()
    try:
        face_id = add_manual_face(
            dvi, photo_id=photo_id, box=(x, y, w, h), rotation_deg=rotation, actor=_actor(actor)
        )
        typer.echo(f"face {face_id} added to photo {photo_id}")
    finally:
        dvi.close()


@faces_app.command("subject")
def faces_subject(
    face_id: Annotated[int, typer.Argument(help="Face id (see `opendvi faces list REF`).")],
    actor: ActorOpt = None,
) -> None:
    """Choose which face in a group photo is the record's person."""
    from opendvi.detection import choose_subject

    dvi = _open()
    try:
        choose_subject(dvi, face_id=face_id, actor=_actor(actor))
        typer.echo(f"face {face_id} is now the person in its photo")
    finally:
        dvi.close()


# -- notify ---------------------------------------------------------------------------------

OPEN_TASKS = ("prepared", "approved", "carried_out", "acknowledged")

# Steps that are recorded by OpenDVI itself rather than logged by hand.
STEP_WORDS = {
    "email": "E-mail sent",
    "outbox": "E-mail put in the outbox",
    "alert": "Alert",
}

TaskArg = Annotated[int, typer.Argument(help="The task's number (see `opendvi notify list`).")]
StaffOpt = Annotated[str, typer.Option("--by", help="Your username (a caseworker or an admin).")]


def _plain_console() -> Any:
    """A console that prints families' names and words as they are (no markup, no colours
    guessed from the text)."""
    from rich.console import Console

    return Console(highlight=False, markup=False, emoji=False)


def _overdue(task: Any) -> bool:
    return is_overdue(task.status, task.due_on)


def _task_now(dvi: OpenDVI, task_id: int) -> Any:
    """The task as it is now (read only, detached)."""
    from opendvi.db.tables import Notification
    from opendvi.errors import NotFound

    with dvi.db.read() as session:
        task = session.get(Notification, task_id)
        if task is None:
            raise NotFound(f"there is no notification task {task_id}")
        session.expunge(task)
        return task


def _names(names: list[str]) -> str:
    return " and ".join(names) if names else "nobody yet"


@notify_app.command("list")
def notify_list(
    everything: Annotated[
        bool, typer.Option("--all", help="Closed and cancelled tasks too.")
    ] = False,
) -> None:
    """Notification tasks still open, the soonest due first; overdue ones are marked."""
    from sqlalchemy import select

    from opendvi.db.tables import Contact, Identification, MissingPerson, Notification

    query = (
        select(Notification, Contact.name, MissingPerson.ref)
        .join(Contact, Notification.contact_id == Contact.id)
        .join(Identification, Notification.identification_id == Identification.id)
        .join(MissingPerson, Identification.missing_person_id == MissingPerson.id)
        .order_by(Notification.due_on.is_(None), Notification.due_on, Notification.id)
    )
    if not everything:
        query = query.where(Notification.status.in_(OPEN_TASKS))
    dvi = _open()
    try:
        with dvi.db.read() as session:
            rows = [
                (
                    str(task.id),
                    ref,
                    contact,
                    task.channel,
                    task.language,
                    task.status,
                    f"{task.due_on or '-'}{' OVERDUE' if _overdue(task) else ''}",
                )
                for task, contact, ref in session.execute(query)
            ]
    finally:
        dvi.close()
    if not rows:
        typer.echo("no notification tasks" if everything else "no open notification tasks")
        return
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("task", "report", "contact", "channel", "lang", "status", "due"):
        if name == "contact":
            table.add_column(name, min_width=10, overflow="fold")
        else:
            table.add_column(name, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    _plain_console().print(table)


@notify_app.command("show")
def notify_show(task_id: TaskArg) -> None:
    """Everything about one task: the contact, why others are not told, the plan, the
    checklist, the words and what was done."""
    from opendvi.notify.tasks import read_task

    dvi = _open()
    try:
        with dvi.db.read() as session:
            found = read_task(session, task_id)
            task, contact, identification = found.task, found.contact, found.identification
            report, remains = found.report, found.remains
            steps_shown = [
                (
                    str(step.happened_on or ""),
                    STEP_WORDS.get(step.kind) or STEPS.get(step.kind, step.kind),
                    OUTCOMES.get(step.outcome, step.outcome),
                    username,
                    step.note,
                )
                for step, username in found.steps
            ]
            others = found.unreached
            lines = [
                f"task {task.id}: {task.status}"
                + (f", due {task.due_on}" if task.due_on else "")
                + (" — OVERDUE" if _overdue(task) else ""),
                f"identification {identification.id} ({identification.status}, "
                f"{identification.method}): remains {remains.ref} are {report.ref}"
                + (f", {report.full_name}" if report.full_name else ""),
                f"contact: {contact.name}"
                + (f" ({contact.relationship_})" if contact.relationship_ else "")
                + f", language {contact.language or '-'}",
                f"  chose: {contact.consent_channels or 'no way given'}; e-mail "
                f"{contact.email or '-'}; phone {contact.phone or '-'}"
                + (f"; address {contact.address}" if contact.address else ""),
            ]
            if task.cancel_reason:
                lines.append(f"cancelled: {task.cancel_reason}")
            lines.append("not told: nobody" if not others else "not told:")
            lines += [f"  {other.why}" for other in others]
            lines += [
                f"plan: {task.channel}, in {task.language or '-'}, told by "
                f"{_names(list(task.assigned or []))}",
                "words saved by "
                + (found.drafted_by or "nobody yet")
                + (
                    f"; approved by {found.approved_by} on {task.approved_at:%Y-%m-%d %H:%M}"
                    if found.approved_by and task.approved_at
                    else "; not approved"
                ),
                "checklist:",
            ]
            lines += [
                f"  [{'x' if (task.checklist or {}).get(item) else ' '}] {label} ({item})"
                for item, label in CHECKLIST.items()
            ]
    finally:
        dvi.close()
    console = _plain_console()
    for line in lines:
        console.print(line, soft_wrap=True)
    if task.subject:
        console.print(f"subject: {task.subject}", soft_wrap=True)
    console.print("words:", soft_wrap=True)
    console.print(task.draft or "(none)", soft_wrap=True)
    if task.note:
        console.print(f"note for staff: {task.note}", soft_wrap=True)
    if not steps_shown:
        console.print("steps: none yet", soft_wrap=True)
        return
    from rich import box
    from rich.table import Table

    console.print("steps:")
    table = Table(box=box.SIMPLE_HEAD)
    for name in ("on", "what", "outcome", "by", "note"):
        table.add_column(name, no_wrap=name == "on")
    for row in steps_shown:
        table.add_row(*row)
    console.print(table)


def _read_words(source: str) -> str:
    from opendvi.errors import InputError

    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise InputError(f"--file: cannot read {source}: {exc.strerror}", field="file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"--file: {source} is not UTF-8 text; save it as UTF-8 and try again", field="file"
        ) from None


@notify_app.command("words")
def notify_words(
    task_id: TaskArg,
    file: Annotated[
        str, typer.Option("--file", help="The words, a UTF-8 text file; - reads standard input.")
    ],
    by: StaffOpt,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Subject of the e-mail or letter (default: keep it)."),
    ] = None,
) -> None:
    """Save the words you have read (and perhaps changed); another person approves them."""
    from opendvi.notify import save_words

    text = _read_words(file)
    dvi = _open()
    try:
        before = _task_now(dvi, task_id)
        save_words(
            dvi,
            task_id,
            subject=before.subject if subject is None else subject,
            text=text,
            username=by,
        )
    finally:
        dvi.close()
    typer.echo(
        f"task {task_id}: words saved by {by}; another caseworker or admin approves them "
        f"(`opendvi notify approve {task_id} --by NAME`)"
    )
    if before.status == "approved":
        typer.echo("the earlier approval is withdrawn: changed words are approved again")


@notify_app.command("redraft")
def notify_redraft(
    task_id: TaskArg,
    language: Annotated[
        str, typer.Option("--language", help="Language code: en, es, fr, ar, uk, ru, ...")
    ],
    by: StaffOpt,
) -> None:
    """New words from the template, in a language; they are read and saved again."""
    from opendvi.notify import redraft
    from opendvi.notify.texts import LANGUAGES, language_of

    dvi = _open()
    try:
        redraft(dvi, task_id, language=language, username=by)
        after = _task_now(dvi, task_id)
    finally:
        dvi.close()
    used = language_of(after.language)
    typer.echo(
        f"task {task_id}: new words from the template in {LANGUAGES[used]} ({used}); read them "
        f"(`opendvi notify show {task_id}`), then save them (`opendvi notify words {task_id} "
        "--file FILE --by NAME`)"
    )
    if after.note:
        typer.echo(f"note: {after.note}")


@notify_app.command("plan")
def notify_plan(
    task_id: TaskArg,
    channel: Annotated[
        str,
        typer.Option(
            "--channel",
            help=f"How the family is told: {', '.join(CHANNELS)} (e-mail only if they chose it).",
        ),
    ],
    assign: Annotated[
        str,
        typer.Option("--assign", help="The two people who tell the family: a,b (usernames)."),
    ],
    by: StaffOpt,
    due: Annotated[
        dt.datetime | None,
        typer.Option(
            "--due",
            formats=["%Y-%m-%d"],
            help="Tell the family by this date, YYYY-MM-DD (default: keep the due date).",
        ),
    ] = None,
) -> None:
    """How the family is told, by which two staff, by when."""
    from opendvi.notify import plan

    dvi = _open()
    try:
        before = _task_now(dvi, task_id)
        plan(
            dvi,
            task_id,
            channel=channel.strip(),
            assigned=_words(assign),
            due_on=due.date() if due is not None else before.due_on,
            username=by,
        )
        after = _task_now(dvi, task_id)
    finally:
        dvi.close()
    typer.echo(
        f"task {task_id}: {after.channel}, told by {_names(list(after.assigned))}, due "
        f"{after.due_on or '-'}"
    )
    if before.status == "approved" and after.status == "prepared":
        typer.echo("the earlier approval is withdrawn: a second person approves the new plan")
    written = ("letter", "email")
    if (before.channel in written) != (after.channel in written):
        typer.echo(
            f"the words were drafted for {before.channel}; draft them again for "
            f"{after.channel}: `opendvi notify redraft {task_id} --language "
            f"{after.language or 'en'} --by {by}`"
        )


@notify_app.command("check")
def notify_check(
    task_id: TaskArg,
    items: Annotated[list[str], typer.Argument(help=f"Items done: {', '.join(CHECKLIST)}.")],
    by: StaffOpt,
    undo: Annotated[bool, typer.Option("--undo", help="Mark the items not done.")] = False,
) -> None:
    """Tick items of the checklist of the two people who tell the family."""
    from opendvi.errors import InputError
    from opendvi.notify import set_checklist

    unknown = [item for item in items if item not in CHECKLIST]
    if unknown:
        raise InputError(
            f"checklist: unknown item {unknown[0]!r}; the items are {', '.join(CHECKLIST)}",
            field="checklist",
        )
    dvi = _open()
    try:
        set_checklist(dvi, task_id, items=dict.fromkeys(items, not undo), username=by)
        after = _task_now(dvi, task_id)
    finally:
        dvi.close()
    for item, label in CHECKLIST.items():
        typer.echo(f"[{'x' if (after.checklist or {}).get(item) else ' '}] {label} ({item})")


@notify_app.command("approve")
def notify_approve(task_id: TaskArg, by: StaffOpt) -> None:
    """Approve the words and the plan (you did not write them); only then are they used."""
    from opendvi.notify import approve

    dvi = _open()
    try:
        approve(dvi, task_id, username=by)
        after = _task_now(dvi, task_id)
    finally:
        dvi.close()
    then = (
        f"send it: `opendvi notify send {task_id} --by NAME`"
        if after.channel == "email"
        else "record it when it is done: `opendvi notify log "
        f"{task_id} {CARRIED_OUT_BY[after.channel]} --outcome told --by NAME`"
    )
    typer.echo(f"task {task_id}: words and plan approved by {by}; {then}")


@notify_app.command("send")
def notify_send(task_id: TaskArg, by: StaffOpt) -> None:
    """Send the approved e-mail, as plain text (or put it in the outbox without a mail
    server)."""
    from opendvi.db.tables import Contact
    from opendvi.notify import send, transport

    dvi = _open()
    try:
        way = transport(dvi.settings)
        where = send(dvi, task_id, username=by, transport=way)
        task = _task_now(dvi, task_id)
        with dvi.db.read() as session:
            contact = session.get(Contact, task.contact_id)
            address = contact.email if contact is not None else "?"
    finally:
        dvi.close()
    typer.echo(f"task {task_id}: e-mail to {address} {where}")
    if getattr(way, "name", "") == "outbox":
        typer.echo(
            "It waits in the outbox (OPENDVI_OUTBOX_DIR) until someone sends it from a "
            "connected machine."
        )


@notify_app.command("log")
def notify_log(
    task_id: TaskArg,
    kind: Annotated[str, typer.Argument(help=f"What was done: {', '.join(STEPS)}.")],
    by: StaffOpt,
    outcome: Annotated[
        str,
        typer.Option("--outcome", help=f"For a visit, call or letter: {', '.join(OUTCOMES)}."),
    ] = "",
    on: Annotated[
        dt.datetime | None,
        typer.Option("--on", formats=["%Y-%m-%d"], help="When, YYYY-MM-DD (default: today)."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="What happened, in a few words.")] = "",
) -> None:
    """Record a visit, call or letter with its outcome, the family's acknowledgement, a
    follow-up, a referral, a request to see photos, photos viewed, or a note."""
    from opendvi.notify import record_step

    dvi = _open()
    try:
        record_step(
            dvi,
            task_id,
            kind=kind.strip(),
            outcome=outcome.strip(),
            on=on.date() if on is not None else None,
            note=note,
            username=by,
        )
        after = _task_now(dvi, task_id)
    finally:
        dvi.close()
    what = STEPS[kind.strip()]
    if outcome.strip():
        what += f" ({OUTCOMES.get(outcome.strip(), outcome.strip())})"
    typer.echo(f"task {task_id}: {what} recorded; the task is {after.status}")


@notify_app.command("close")
def notify_close(
    task_id: TaskArg,
    note: Annotated[str, typer.Option("--note", help="How it ended (kept with the task).")],
    by: StaffOpt,
) -> None:
    """Close a task once the family was told (and, usually, acknowledged it)."""
    from opendvi.notify import close

    dvi = _open()
    try:
        close(dvi, task_id, note=note, username=by)
    finally:
        dvi.close()
    typer.echo(f"task {task_id}: closed")


def main() -> None:
    from opendvi.errors import OpenDVIError

    try:
        app()
    except OpenDVIError as exc:
        _err(f"error: {exc}")
        sys.exit(2)

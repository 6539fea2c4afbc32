"""Importing missing-person reports and unidentified remains from CSV files.

One row is one record. Rows are saved a batch to a transaction (``batches``), a row that
the save refuses failing alone: a row either lands whole (record, photos, contacts, audit
event) or not at all, so an import stopped at any moment — Ctrl-C, ``kill -9``, a power
cut — leaves no half record, and running it again finishes the job. The photos of a batch
are read, hashed and kept by a pool of threads before its rows are written
(``batch_photos``). Rows already imported with the same values change nothing. A bad row
is reported with its file, line and field and what to do, and the other rows still import.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from opendvi.app import OpenDVI
from opendvi.core.fields import (
    MISSING_FIELDS,
    REMAINS_FIELDS,
    ParsedRecord,
    parse_missing_person,
    parse_remains,
)
from opendvi.core.roles import Permission
from opendvi.core.uncertain import DateRange, ValueProblem, parse_date_range
from opendvi.db.tables import MissingPerson, Remains
from opendvi.errors import InputError
from opendvi.infra.leftovers import clear_partial_writes
from opendvi.interchange.batch_photos import Wanted, prepare_photos, separator_hint
from opendvi.interchange.batches import BatchRow, save_batch
from opendvi.people.accounts import check_if_user
from opendvi.records.photos import StoredPhoto

__all__ = [
    "PHOTO_SUFFIXES",
    "ImportReport",
    "RowProblem",
    "import_csv",
    "import_folder",
    "import_rows",
    "ref_from_name",
]

Kind = Literal["missing", "unidentified"]
REQUIRED = ("ref", "photos")
# Rows saved per transaction: a kill loses at most the batch being written, never a half row.
BATCH = 100


@dataclass(frozen=True)
class RowProblem:
    file: str
    line: int
    field: str | None
    message: str
    ref: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        subject = f" (ref {self.ref})" if self.ref else ""
        column = f" {self.field}:" if self.field else ""
        return f"{where}{subject}:{column} {self.message}"


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    # Rows saved with something to know: a reference of the other kind too, new photos of
    # an identified record (``SaveResult.notes``).
    notes: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the sheet as 'CSV UTF-8'"
        ) from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:8192], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    # Only the csv module decides where a record ends (not str.splitlines, which also
    # breaks on form feeds and Unicode line separators inside a field).
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InputError(
            f"{path}: the file is empty; the first line must name the columns"
        ) from None
    # Spreadsheets often save empty columns at the right: ignore unnamed trailing columns.
    while header and not header[-1]:
        header.pop()
    rows = []
    for values in reader:
        while len(values) > len(header) and not values[-1].strip():
            values.pop()
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        padded = values + [""] * (len(header) - len(values))
        row = dict(zip(header, padded, strict=False))
        if len(values) > len(header):
            row["\0extra"] = "|".join(values[len(header) :])
        rows.append((line, row))
    return header, rows


WHAT = {"missing": "missing-person reports", "unidentified": "unidentified-remains records"}


def _check_kind(path: Path, header: list[str], kind: Kind) -> None:
    """Refuse a file whose columns are mostly those of the other kind of record."""
    known = MISSING_FIELDS if kind == "missing" else REMAINS_FIELDS
    other = REMAINS_FIELDS if kind == "missing" else MISSING_FIELDS
    own = [name for name in header if name in known and name not in other]
    theirs = [name for name in header if name in other and name not in known]
    if len(theirs) >= 2 and len(theirs) > len(own):
        meant: Kind = "unidentified" if kind == "missing" else "missing"
        raise InputError(
            f"{path}:1: its columns ({', '.join(theirs[:6])}{', …' if len(theirs) > 6 else ''}) "
            f"are those of {WHAT[meant]}, not {WHAT[kind]}; nothing was imported. Was it meant "
            f"for `opendvi import {meant} {path.name}`?"
        )


def _check_header(path: Path, header: list[str], known: tuple[str, ...]) -> list[RowProblem]:
    seen = set()
    for name in header:
        if name in seen:
            raise InputError(f"{path}:1: the column {name!r} appears twice; keep one")
        seen.add(name)
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise InputError(
            f"{path}:1: the required column {missing[0]!r} is missing; the first line must "
            f"name at least: {', '.join(REQUIRED)}"
        )
    return [
        RowProblem(
            str(path),
            1,
            name,
            f"unknown column {name!r}, not imported; rename it to one of: {', '.join(known)}, "
            "or remove it",
        )
        for name in header
        if name not in known
    ]


def _wanted(base: Path, row: dict[str, str]) -> tuple[list[Wanted], str | None, str]:
    """The row's photos to keep; on a problem with their dates, its field and message."""
    entries = [p.strip() for p in row.get("photos", "").split("|") if p.strip()]
    date_texts = [d.strip() for d in row.get("photo_dates", "").split("|")]
    if row.get("photo_dates", "").strip() and len(date_texts) != len(entries):
        return (
            [],
            "photo_dates",
            (
                f"has {len(date_texts)} dates for {len(entries)} photos; give one per photo, "
                "separated by |, leaving a date empty where unknown"
            ),
        )
    wanted = []
    for index, entry in enumerate(entries):
        taken: DateRange | None = None
        if index < len(date_texts) and date_texts[index]:
            try:
                taken = parse_date_range(date_texts[index])
            except ValueProblem as exc:
                return (
                    [],
                    "photo_dates",
                    f"photo {index + 1}: {exc}{separator_hint(date_texts[index])}",
                )
        if entry.startswith("sha256:"):
            wanted.append(Wanted(entry, None, entry.removeprefix("sha256:").strip().lower(), taken))
            continue
        path = Path(entry).expanduser()
        wanted.append(Wanted(entry, path if path.is_absolute() else base / path, "", taken))
    return wanted, None, ""


def import_csv(
    app: OpenDVI,
    path: Path,
    *,
    kind: Kind,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
    force_reason: str = "",
    batch: int = BATCH,
    workers: int | None = None,
) -> ImportReport:
    """Import every row of ``path``; returns counts and the problems of rows that failed.
    A file whose columns are mostly the other kind's is refused whole (``InputError``)."""
    header, rows = _read_rows(path)
    _check_kind(path, header, kind)
    return import_rows(
        app,
        path,
        header,
        rows,
        base=path.parent,
        kind=kind,
        actor=actor,
        progress=progress,
        force_reason=force_reason,
        batch=batch,
        workers=workers,
    )


def import_folder(
    app: OpenDVI,
    folder: Path,
    *,
    kind: Kind,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
    force_reason: str = "",
    batch: int = BATCH,
    workers: int | None = None,
) -> ImportReport:
    """Import a folder of photos: each sub-folder is one record (its name the ref) holding the
    photos inside it, and each photo directly in the folder is a record of its own."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    rows: list[tuple[int, dict[str, str]]] = []
    entries = sorted(folder.iterdir())
    for line, entry in enumerate(entries, start=1):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            photos = sorted(
                p
                for p in entry.iterdir()
                if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file() and not p.name.startswith(".")
            )
            if photos:
                inside = "|".join(str(p.relative_to(folder)) for p in photos)
                rows.append((line, {"ref": ref_from_name(entry.name), "photos": inside}))
        elif entry.suffix.lower() in PHOTO_SUFFIXES:
            rows.append((line, {"ref": ref_from_name(entry.stem), "photos": entry.name}))
    if not rows:
        raise InputError(
            f"{folder}: no photos found; put one sub-folder of photos per person, or photos "
            f"directly in the folder ({', '.join(sorted(PHOTO_SUFFIXES))})"
        )
    return import_rows(
        app,
        folder,
        ["ref", "photos"],
        rows,
        base=folder,
        kind=kind,
        actor=actor,
        progress=progress,
        columns=False,
        force_reason=force_reason,
        batch=batch,
        workers=workers,
    )


PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".gif", ".bmp"}


def ref_from_name(name: str) -> str:
    """A record's ref made from a file or folder name (what a folder import calls it)."""
    cleaned = re.sub(r"[^A-Za-z0-9._/:#-]+", "_", name).strip("_.-") or "photo"
    return cleaned[:120]


def import_rows(
    app: OpenDVI,
    source: Path,
    header: list[str],
    rows: list[tuple[int, dict[str, str]]],
    *,
    base: Path,
    kind: Kind,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
    columns: bool = True,
    force_reason: str = "",
    batch: int = BATCH,
    workers: int | None = None,
) -> ImportReport:
    """Import rows already read (line number, values by column) from ``source``, by
    ``actor``: a user who may import this kind of record (or a service account). First, the
    partial photo files a killed run left in the photo store are deleted. ``columns`` is
    false for a folder of photos: its problems name files, not a CSV file's columns. A
    photo already on a record of the other kind fails its row, unless ``force_reason``
    says why it belongs to both (audited). Rows are saved ``batch`` to a transaction, each
    in its own savepoint; their photos are read and kept by ``workers`` threads first."""
    workers = workers or os.cpu_count() or 1
    permission = Permission.IMPORT_REPORTS if kind == "missing" else Permission.IMPORT_REMAINS
    what = "missing-person reports" if kind == "missing" else "remains records"
    with app.db.read() as session:
        check_if_user(session, actor, permission, doing=f"import {what}")
    clear_partial_writes(app.media.root)
    known = MISSING_FIELDS if kind == "missing" else REMAINS_FIELDS
    parse = parse_missing_person if kind == "missing" else parse_remains
    report = ImportReport(str(source), rows=len(rows))
    how = _How(kind, parse, known, actor, columns, force_reason)
    report.problems.extend(_check_header(source, header, known))
    first_line: dict[str, int] = {}
    for start in range(0, len(rows), max(1, batch)):
        chunk = rows[start : start + max(1, batch)]
        ready = [_checked_row(source, base, n, raw, how, first_line, report) for n, raw in chunk]
        todo = [r for r in ready if r is not None]
        prepared = prepare_photos(app, [r.wanted for r in todo], workers=workers)
        _save_batch(app, source, how, list(zip(todo, prepared, strict=True)), report)
        if progress:
            progress(start + len(chunk), len(rows))
    return report


@dataclass(frozen=True)
class _How:
    """How every row of one import is read and saved."""

    kind: Kind
    parse: Callable[[dict[str, str]], ParsedRecord]
    known: tuple[str, ...]
    actor: str
    columns: bool  # a CSV file's (problems name its columns), not a folder of photos
    force_reason: str


@dataclass(frozen=True)
class _Row:
    """A row whose values read well, with the photos it lists."""

    line: int
    ref: str
    parsed: ParsedRecord
    wanted: list[Wanted]


def _checked_row(
    path: Path,
    base: Path,
    line: int,
    raw: dict[str, str],
    how: _How,
    first_line: dict[str, int],
    report: ImportReport,
) -> _Row | None:
    """The row read, or None after its problems are reported."""

    def fail(field_name: str | None, message: str, ref: str = "") -> None:
        report.problems.append(RowProblem(str(path), line, field_name, message, ref))

    ref = raw.get("ref", "").strip()
    if "\0extra" in raw:
        report.failed += 1
        fail(
            None, "has more values than the header has columns; quote values that hold commas", ref
        )
        return None
    parsed = how.parse({k: v for k, v in raw.items() if k in how.known})
    if ref and ref in first_line:
        parsed.problems["ref"] = (
            f"{ref!r} is already on line {first_line[ref]}; refs must be unique"
        )
    first_line.setdefault(ref, line)
    if not parsed.ok:
        report.failed += 1
        for name, message in parsed.problems.items():
            fail(name, message, ref)
        return None
    wanted, bad_field, message = _wanted(base, raw)
    if bad_field:
        report.failed += 1
        fail(bad_field if how.columns else None, message, ref)
        return None
    return _Row(line, ref, parsed, wanted)


def _save_batch(
    app: OpenDVI,
    path: Path,
    how: _How,
    rows: list[tuple[_Row, tuple[list[StoredPhoto], str]]],
    report: ImportReport,
) -> None:
    """Save the rows whose photos were kept in one transaction (``batches``): a row that
    fails fails alone, and the others of the batch are kept."""
    model = MissingPerson if how.kind == "missing" else Remains
    photos_field = "photos" if how.columns else None
    problems: list[RowProblem] = []
    todo: list[BatchRow] = []
    for row, (photos, problem) in rows:
        if problem:
            if how.columns and problem.endswith(": no such file"):
                problem += "; check the path in the photos column"
            problems.append(RowProblem(str(path), row.line, photos_field, problem, row.ref))
            continue
        todo.append(BatchRow(row.line, row.ref, row.parsed, photos, f"{path.name}:{row.line}"))
    saved = save_batch(
        app,
        model,
        todo,
        actor=how.actor,
        force_reason=how.force_reason,
        photos_field=photos_field,
    )
    problems.extend(
        RowProblem(str(path), done.line, field_name, message, done.ref)
        for done, field_name, message in saved.failed
    )
    report.failed += len(problems)
    report.problems.extend(sorted(problems, key=lambda problem: problem.line))
    # Counted once the batch is committed: a batch that did not commit saved nothing.
    report.notes.extend(RowProblem(str(path), d.line, None, n, d.ref) for d, n in saved.notes)
    report.created += saved.created
    report.updated += saved.updated
    report.unchanged += saved.unchanged

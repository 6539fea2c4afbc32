"""Importing missing-person reports and unidentified remains from CSV files.

One row is one record, saved in its own transaction: a row either lands whole (record,
photos, contacts, audit event) or not at all, so an import stopped at any moment — Ctrl-C,
``kill -9``, a power cut — leaves no half record, and running it again finishes the job.
Rows already imported with the same values change nothing. A bad row is reported with its
file, line and field and what to do, and the other rows still import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError

from opendvi.app import OpenDVI
from opendvi.core.fields import (
    MISSING_FIELDS,
    REMAINS_FIELDS,
    SEPARATOR,
    ParsedRecord,
    parse_missing_person,
    parse_remains,
)
from opendvi.core.roles import Permission
from opendvi.core.uncertain import DateRange, ValueProblem, parse_date_range
from opendvi.errors import InputError, OpenDVIError, PhotoError
from opendvi.infra.leftovers import clear_partial_writes
from opendvi.people.accounts import check_if_user
from opendvi.records.intake import save_parsed
from opendvi.records.photos import StoredPhoto, known_photo, store_photo

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


def _photos(
    app: OpenDVI, base: Path, row: dict[str, str]
) -> tuple[list[StoredPhoto], str | None, str]:
    """Store the row's photos; on failure return the field and message of the first problem."""
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
    stored = []

    def known(sha256: str) -> StoredPhoto | None:
        return known_photo(app, sha256)

    for index, entry in enumerate(entries):
        taken: DateRange | None = None
        if index < len(date_texts) and date_texts[index]:
            try:
                taken = parse_date_range(date_texts[index])
            except ValueProblem as exc:
                return (
                    [],
                    "photo_dates",
                    f"photo {index + 1}: {exc}{_separator_hint(date_texts[index])}",
                )
        if entry.startswith("sha256:"):
            previous = known(entry.removeprefix("sha256:").strip().lower())
            if previous is None or not app.media.path(previous.sha256).exists():
                return (
                    [],
                    "photos",
                    (
                        f"{entry}: no photo with this SHA-256 is in this installation's photo "
                        "store; export with --photos-dir to move photos to another installation"
                    ),
                )
            stored.append(replace(previous, taken=taken))
            continue
        path = Path(entry).expanduser()
        if not path.is_absolute():
            path = base / path
        try:
            stored.append(
                store_photo(path, media=app.media, settings=app.settings, taken=taken, known=known)
            )
        except OpenDVIError as exc:
            return [], "photos", f"{exc}{_separator_hint(entry)}"
    return stored, None, ""


def _separator_hint(value: str) -> str:
    """What to say when a value that failed holds a separator other than ``|``."""
    found = next((c for c in ";," if c in value), None)
    return f"; several values are separated by {SEPARATOR}, not {found}" if found else ""


def import_csv(
    app: OpenDVI,
    path: Path,
    *,
    kind: Kind,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
    force_reason: str = "",
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
    )


def import_folder(
    app: OpenDVI,
    folder: Path,
    *,
    kind: Kind,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
    force_reason: str = "",
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
) -> ImportReport:
    """Import rows already read (line number, values by column) from ``source``, by
    ``actor``: a user who may import this kind of record (or a service account). First, the
    partial photo files a killed run left in the photo store are deleted. ``columns`` is
    false for a folder of photos: its problems name files, not a CSV file's columns. A
    photo already on a record of the other kind fails its row, unless ``force_reason``
    says why it belongs to both (audited)."""
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
    for done, (line, raw) in enumerate(rows, start=1):
        try:
            _import_row(app, source, base, line, raw, how, first_line, report)
        except Exception as exc:  # one row must never stop the others
            report.failed += 1
            report.problems.append(
                RowProblem(
                    str(source),
                    line,
                    None,
                    f"not imported, unexpected error: {type(exc).__name__}: {exc}",
                    raw.get("ref", "").strip(),
                )
            )
        if progress:
            progress(done, len(rows))
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


def _import_row(
    app: OpenDVI,
    path: Path,
    base: Path,
    line: int,
    raw: dict[str, str],
    how: _How,
    first_line: dict[str, int],
    report: ImportReport,
) -> None:
    def fail(field_name: str | None, message: str, ref: str = "") -> None:
        report.problems.append(RowProblem(str(path), line, field_name, message, ref))

    ref = raw.get("ref", "").strip()
    if "\0extra" in raw:
        report.failed += 1
        fail(
            None, "has more values than the header has columns; quote values that hold commas", ref
        )
        return
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
        return
    photos, bad_field, message = _photos(app, base, raw)
    if bad_field:
        report.failed += 1
        if how.columns and message.endswith(": no such file"):
            message += "; check the path in the photos column"
        fail(bad_field if how.columns else None, message, ref)
        return
    source = f"{path.name}:{line}"
    try:
        result = save_parsed(
            app,
            kind=how.kind,
            parsed=parsed,
            photos=photos,
            actor=how.actor,
            source=source,
            force_reason=how.force_reason,
        )
    except PhotoError as exc:
        report.failed += 1
        fail("photos" if how.columns else None, str(exc), ref)
        return
    except (OpenDVIError, SQLAlchemyError) as exc:
        report.failed += 1
        fail(None, f"not saved: {str(exc).splitlines()[0]}", ref)
        return
    report.notes.extend(RowProblem(str(path), line, None, note, ref) for note in result.notes)

    if result.outcome == "created":
        report.created += 1
    elif result.outcome == "updated":
        report.updated += 1
    else:
        report.unchanged += 1

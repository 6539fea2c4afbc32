"""Matching at a national caseload (BENCHMARKS.md §6): what one pair, and one new record,
cost on a synthetic registry, beside the same work done by loading the whole registry.

Builds a database of reports and remains records directly (bulk rows, random 128-d faces,
half the remains records with a report of the same person, a share of records without a
usable face), fits the calibration once, then measures in the same run, in CPU seconds
of this process and face rows read from the database:

- scoring one pair as `opendvi explain` and an exclusion do (``pair_context``), beside
  the same pair scored with the whole registry loaded (``open_context``);
- adding one remains record and having its list stored (the queued run), by a run that
  loads the registry for itself, and by a worker that keeps it loaded (``MatchingService``),
  for a remains record and for a report.

    python benchmarks/scale.py                        # 10k reports x 7k remains
    python benchmarks/scale.py --reports 100000 --remains 70000 --name scale-100k
    python benchmarks/scale.py --reports 3000 --remains 2100 --rebuild --base /tmp/base
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import table, write_result

CHUNK = 20_000
DIM = 128
MODEL = ("dlib", "resnet-v1/dlib-20.0.1")


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def build(data_dir: Path, reports: int, remains: int, faceless: float, seed: int) -> None:
    """Fill a new database directly (bulk rows, no audit: benchmark data, not records)."""
    from sqlalchemy import insert

    from opendvi.app import OpenDVI
    from opendvi.db.tables import Face, MissingPerson, Photo, Remains
    from opendvi.settings import Settings

    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    people = _unit(vectors.normal(size=(reports, DIM)))
    start = dt.date(2020, 1, 1)
    dvi = OpenDVI.open(Settings(data_dir=data_dir))
    with dvi.db.engine.begin() as connection:
        rows: list[dict[str, Any]] = []
        for i in range(reports):
            birth = start - dt.timedelta(days=rng.randrange(365 * 80))
            seen = start + dt.timedelta(days=rng.randrange(1500))
            rows.append(
                {
                    "id": i + 1,
                    "ref": f"AM-{i + 1:06d}",
                    "sex": rng.choice("FM"),
                    "full_name": f"Person {i + 1}",
                    "birth_earliest": birth,
                    "birth_latest": birth,
                    "last_seen_earliest": seen,
                    "last_seen_latest": seen,
                }
            )
        for part in range(0, len(rows), CHUNK):
            connection.execute(insert(MissingPerson), rows[part : part + CHUNK])
        rows = []
        mates: list[int | None] = []
        for i in range(remains):
            age = rng.randrange(15, 70)
            found = start + dt.timedelta(days=rng.randrange(1500))
            mates.append(rng.randrange(reports) if rng.random() < 0.5 else None)
            rows.append(
                {
                    "id": i + 1,
                    "ref": f"PM-{i + 1:06d}",
                    "sex": rng.choice("FMU"),
                    "age_min": age,
                    "age_max": age + 10,
                    "found_earliest": found,
                    "found_latest": found,
                }
            )
        for part in range(0, len(rows), CHUNK):
            connection.execute(insert(Remains), rows[part : part + CHUNK])
        strangers = _unit(vectors.normal(size=(remains, DIM)))
        photos, faces = [], []
        for number in range(reports + remains):
            if rng.random() < faceless:
                continue  # a record without a usable face
            is_report = number < reports
            if is_report:
                vector = people[number]
            else:
                mate = mates[number - reports]
                base = people[mate] if mate is not None else strangers[number - reports]
                vector = _unit((base + vectors.normal(scale=0.06, size=DIM))[None])[0]
            sha = hashlib.sha256(f"p{number}".encode()).hexdigest()
            photos.append(
                {
                    "id": number + 1,
                    "sha256": sha,
                    "served_sha256": sha,
                    "original_name": f"{number}.jpg",
                    "media_type": "image/jpeg",
                    "byte_size": 1,
                    "width": 400,
                    "height": 500,
                    "detection_status": "done",
                    "missing_person_id": number + 1 if is_report else None,
                    "remains_id": None if is_report else number - reports + 1,
                }
            )
            faces.append(
                {
                    "photo_id": number + 1,
                    "box_x": 100,
                    "box_y": 100,
                    "box_w": 180,
                    "box_h": 200,
                    "quality": round(rng.uniform(0.3, 1.0), 2),
                    "usable": True,
                    "is_subject": True,
                    "embedding": vector.tobytes(),
                    "embedding_dim": DIM,
                    "model_name": MODEL[0],
                    "model_version": MODEL[1],
                }
            )
        # A second photo of three reports in ten: the self-test chooses how scores are read.
        for number in range(reports):
            if rng.random() < 0.3 and photos:
                second = len(photos) + reports + remains + 1
                vector = _unit((people[number] + vectors.normal(scale=0.06, size=DIM))[None])[0]
                photos.append(
                    {
                        **photos[0],
                        "id": second,
                        "sha256": f"s{second}",
                        "served_sha256": f"s{second}",
                        "missing_person_id": number + 1,
                        "remains_id": None,
                    }
                )
                faces.append({**faces[0], "photo_id": second, "embedding": vector.tobytes()})
        for part in range(0, len(photos), CHUNK):
            connection.execute(insert(Photo), photos[part : part + CHUNK])
            connection.execute(insert(Face), faces[part : part + CHUNK])
    dvi.close()


def _added(dvi: Any, side: str, ref: str, seed: int, service: Any = None) -> None:
    """Store one new record with one usable face (its match job queued in the same write,
    as storing any record does), then run the queued match: its list stored."""
    from opendvi.db.tables import Face, MissingPerson, Photo, Remains
    from opendvi.infra.jobs import queue_match
    from opendvi.matching import run_matching

    with dvi.db.write() as session:
        if side == "remains":
            record: Any = Remains(ref=ref, sex="M", age_min=30, age_max=40)
        else:
            record = MissingPerson(ref=ref, sex="M", full_name=f"Person {ref}")
        session.add(record)
        session.flush()
        photo = Photo(
            sha256=ref,
            served_sha256=ref,
            original_name="new.jpg",
            media_type="image/jpeg",
            byte_size=1,
            width=400,
            height=500,
            detection_status="done",
            **{"remains_id" if side == "remains" else "missing_person_id": record.id},
        )
        session.add(photo)
        session.flush()
        vector = _unit(np.random.default_rng(seed).normal(size=(1, DIM)))[0]
        session.add(
            Face(
                photo_id=photo.id,
                box_x=0,
                box_y=0,
                box_w=100,
                box_h=100,
                quality=0.9,
                usable=True,
                is_subject=True,
                embedding=vector.tobytes(),
                embedding_dim=DIM,
                model_name=MODEL[0],
                model_version=MODEL[1],
            )
        )
        queue_match(session, side, record.id)
    report = run_matching(dvi, actor="bench", service=service)
    assert report.records == 1, report


class Counted:
    """CPU seconds and face rows read of each call measured."""

    def __init__(self) -> None:
        import opendvi.matching.gallery as gallery

        self.faces = 0
        grouped = gallery._grouped

        def counted(rows: Any) -> Any:
            self.faces += len(rows)
            return grouped(rows)

        gallery._grouped = counted  # type: ignore[assignment]

        self.dvi: Any = None  # once set, the pairs stored by each call are counted too

    def _pairs(self) -> int:
        from sqlalchemy import func, select

        from opendvi.db.tables import Candidate

        if self.dvi is None:
            return 0
        with self.dvi.db.read() as session:
            return int(session.scalar(select(func.count()).select_from(Candidate)) or 0)

    def measure(self, work: Callable[[], object], times: int) -> tuple[float, float, float, float]:
        """Mean CPU seconds (this process's and its children's) and wall seconds per call,
        and face rows read and pairs added to the stored lists per call."""
        self.faces = 0
        pairs = self._pairs()
        cpu, wall, children = time.process_time(), time.perf_counter(), _children_cpu()
        for _ in range(times):
            work()
        used = time.process_time() - cpu + _children_cpu() - children
        elapsed = time.perf_counter() - wall
        return (
            used / times,
            elapsed / times,
            round(self.faces / times, 1),
            round((self._pairs() - pairs) / times, 1),
        )


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (a rebuild's processes)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def floor(dvi: Any) -> float:
    """CPU seconds of the face scores every pair block needs, as one batched FAISS search a
    side (IndexFlatIP, exact): each remains record's faces against every report's, and
    each report's against every remains record's, as many neighbours as a record's search
    asks for."""
    import faiss

    from opendvi.matching.context import load_context
    from opendvi.matching.gallery import PRESELECT

    ctx = load_context(dvi, actor="bench", recalibrate=False)
    cpu = time.process_time()
    for probe, other in ((ctx.pm, ctx.am), (ctx.am, ctx.pm)):
        index = faiss.IndexFlatIP(DIM)
        index.add(np.ascontiguousarray(other.vectors))
        index.search(np.ascontiguousarray(probe.vectors), min(len(other.vectors), PRESELECT * 4))
    return time.process_time() - cpu


# The other checkout's rebuild. A database whose schema is newer than that code's is read
# under the code's own version, and set back after: valid while the newer migrations
# change nothing it reads or writes (0016 only replaces an index).
BASE_REBUILD = """
import pathlib, sqlite3, sys, time
import opendvi
from opendvi.app import OpenDVI
from opendvi.matching import run_matching
from opendvi.settings import Settings
versions = pathlib.Path(opendvi.__file__).parent / "db" / "migrations" / "versions"
own = max(f.name[:4] for f in versions.glob("0*.py"))
stamp = sqlite3.connect(pathlib.Path(sys.argv[1]) / "opendvi.sqlite3")
found = stamp.execute("select version_num from alembic_version").fetchone()[0]
stamp.execute("update alembic_version set version_num = ?", (min(found, own),))
stamp.commit()
try:
    dvi = OpenDVI.open(Settings(data_dir=sys.argv[1]))
    cpu, wall = time.process_time(), time.perf_counter()
    run_matching(dvi, actor="bench", everything=True, processes=1)
    print(time.process_time() - cpu, time.perf_counter() - wall)
    dvi.close()
finally:
    stamp.execute("update alembic_version set version_num = ?", (found,))
    stamp.commit()
"""


def _stored_lists(dvi: Any) -> dict[tuple[int, int], tuple[Any, ...]]:
    """Every stored pair: its ranks for both records, its total and its face score."""
    from sqlalchemy import select

    from opendvi.db.tables import Candidate

    with dvi.db.read() as session:
        return {
            (pm, am): rest
            for pm, am, *rest in session.execute(
                select(
                    Candidate.remains_id,
                    Candidate.missing_person_id,
                    Candidate.rank_for_remains,
                    Candidate.rank_for_missing,
                    Candidate.score,
                    Candidate.face_score,
                )
            )
        }


def _compared(
    theirs: dict[tuple[int, int], tuple[Any, ...]],
    ours: dict[tuple[int, int], tuple[Any, ...]],
    name: str,
) -> str:
    """How the lists of one rebuild differ from another's, in words."""
    both = set(theirs) & set(ours)
    ranks = sum(theirs[k][:2] != ours[k][:2] for k in both)
    totals = [abs(theirs[k][2] - ours[k][2]) for k in both if theirs[k][2] != ours[k][2]]
    faces = [
        abs(theirs[k][3] - ours[k][3])
        for k in both
        if theirs[k][3] is not None and ours[k][3] is not None
    ]
    return (
        f"Against {name}'s lists: {len(set(theirs) ^ set(ours)):,} pairs stored by one and "
        f"not the other, {ranks:,} of {len(both):,} pairs ranked differently, "
        f"{len(totals):,} totals different (by at most {max(totals, default=0):.3f}), face "
        f"scores at most {max(faces, default=0):.1e} apart."
    )


def _base_rebuild(base: Path, data_dir: Path) -> tuple[float, float]:
    """CPU and wall seconds of a rebuild of every list by another checkout's code (one
    process) on the same database."""
    import os
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", BASE_REBUILD, str(data_dir)],
        env={**os.environ, "PYTHONPATH": str(base / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    cpu, wall = (float(v) for v in done.stdout.split()[-2:])
    return cpu, wall


def kept_memory(dvi: Any) -> int:
    """Bytes a worker's loaded registry holds (Python objects and arrays), traced over a
    load of its own once the timed rows are measured: tracing slows what it traces."""
    import tracemalloc

    from opendvi.matching.service import MatchingService

    tracemalloc.start()
    try:
        service = MatchingService(dvi, actor="worker")
        service.context()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return held


HEADER = [
    "work",
    "CPU s per call",
    "wall s per call",
    "face rows read per call",
    "pairs stored per call",
]


def rebuilt(
    dvi: Any, counted: Counted, rows: list[list[Any]], args: argparse.Namespace
) -> tuple[str, str]:
    """A rebuild of every list by one process and by two, beside the floor of its face
    scores, in the same run: the table and its notes."""
    from sqlalchemy import func, select

    from opendvi.db.tables import Candidate
    from opendvi.matching import run_matching

    used = floor(dvi)
    rows.append(
        ["face scores of every pair block, FAISS IndexFlatIP (the floor)", used, "-", "-", "-"]
    )
    theirs: dict[tuple[int, int], tuple[Any, ...]] = {}
    if args.base:
        # First, from no lists: the lists it leaves are replaced by the rows below.
        cpu, wall = _base_rebuild(Path(args.base), dvi.settings.data_dir)
        theirs = _stored_lists(dvi)
        rows.append(
            [f"rebuild every list, 1 process, {args.base_name}", cpu, wall, "-", len(theirs)]
        )
    same = ""
    for processes in args.processes:
        measured = counted.measure(
            lambda processes=processes: run_matching(
                dvi, actor="bench", everything=True, processes=processes
            ),
            1,
        )
        with dvi.db.read() as session:
            listed = session.scalar(select(func.count()).select_from(Candidate))
        if theirs and processes == 1:
            same = _compared(theirs, _stored_lists(dvi), args.base_name)
        rows.append(
            [
                f"rebuild every list, {processes} process{'es' if processes > 1 else ''}",
                *measured[:3],
                listed,
            ]
        )
    if len(args.processes) == 1:
        (processes,) = args.processes
        notes = (
            f"{args.reports:,} reports x {args.remains:,} remains records, "
            f"{args.faceless:.0%} of records without a usable face. The rebuild refits the "
            "calibration and scores every record's pairs; the last column is the pairs stored "
            f"after it. CPU is this process's and its scoring processes'. A rebuild with "
            f"{processes} process{'es' if processes > 1 else ''} costs "
            f"{rows[-1][1] / max(used, 1e-9):,.1f}x the CPU of its floor and "
            f"{rows[-1][2] / max(used, 1e-9):,.1f}x in wall time."
        )
        return table(HEADER, rows), notes
    one, two = rows[-2], rows[-1]
    versus = ""
    if args.base:
        base = rows[-3]
        versus = (
            f" {args.base_name} ({args.base}, the same rebuild in the same run, starting from "
            f"no lists) costs {base[1] / max(used, 1e-9):,.0f}x: this one takes "
            f"{one[1] / max(base[1], 1e-9):.2f} of its CPU. {same}"
        )
    notes = (
        f"{args.reports:,} reports x {args.remains:,} remains records, "
        f"{args.faceless:.0%} of records without a usable face. Each rebuild refits the "
        "calibration and scores every record's pairs afresh (the second replaces the "
        "first's lists with the same ones); the last column is the pairs stored after it. "
        "CPU is this process's and its scoring processes'.\n\n"
        f"A rebuild costs {one[1] / max(used, 1e-9):,.0f}x the CPU of its floor with one "
        f"process and {two[1] / max(used, 1e-9):,.0f}x with two; two processes take "
        f"{two[2] / max(one[2], 1e-9):.2f} of one's wall time.{versus}"
    )
    return table(HEADER, rows), notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--remains", type=int, default=7_000)
    parser.add_argument("--faceless", type=float, default=0.1)
    parser.add_argument("--pairs", type=int, default=20, help="pairs scored alone")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--spread",
        action="store_true",
        help="read face scores against each remains record's spread, whatever the self-test "
        "chooses (scoring a pair then reads the sampled reports' faces too)",
    )
    parser.add_argument("--adds", type=int, default=5, help="records added to the worker's")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="measure a rebuild of every list instead (one process, two), beside its floor",
    )
    parser.add_argument(
        "--base",
        default="",
        help="with --rebuild: another checkout (its src/ on PYTHONPATH) whose rebuild is "
        "measured first, on the same database",
    )
    parser.add_argument("--base-name", default="base", help="what to call it in the table")
    parser.add_argument(
        "--processes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="with --rebuild: the rebuilds measured, by their processes (default 1,2)",
    )
    parser.add_argument(
        "--listed",
        action="store_true",
        help="store every list first by a rebuild (measured beside its floor, with "
        "--processes' last number), so that added records meet lists as a registry in use "
        "holds them",
    )
    parser.add_argument(
        "--data",
        default="",
        help="keep the database in this folder; one there already (the same --reports, "
        "--remains, --faceless and --seed) is used as it is, with its lists",
    )
    parser.add_argument("--name", default="scale")
    args = parser.parse_args()
    if args.spread:
        import opendvi.matching.calibration as calibration

        calibration.choose_spread = lambda test: (True, "read against the spread (--spread)")

    from opendvi.app import OpenDVI
    from opendvi.matching.context import open_context, pair_context
    from opendvi.matching.pairs import score_pair
    from opendvi.matching.service import MatchingService
    from opendvi.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(args.data or tmp)
        reused = (data_dir / "opendvi.sqlite3").exists()
        if not reused:
            began = time.perf_counter()
            data_dir.mkdir(parents=True, exist_ok=True)
            build(data_dir, args.reports, args.remains, args.faceless, args.seed)
            print(f"built in {time.perf_counter() - began:.0f} s", flush=True)
        dvi = OpenDVI.open(Settings(data_dir=data_dir))
        counted = Counted()
        rows = []
        with dvi.db.write() as session:
            fit = counted.measure(
                lambda: open_context(session, dvi, actor="bench", recalibrate=True), 1
            )
        rows.append(["load the registry and fit the calibration", *fit])
        counted.dvi = dvi
        if args.rebuild:
            body, notes = rebuilt(dvi, counted, rows, args)
            dvi.close()
            write_result(args.name, "Matching at scale: a rebuild of every list", body, notes)
            return
        run = time.strftime("%H%M%S")  # the added records' references, new in a kept database
        listed = ""
        if args.listed and reused:
            listed = (
                f"The lists were stored by a rebuild of an earlier run on this database "
                f"({args.data})."
            )
        elif args.listed:
            processes = args.processes[-1:]
            _, listed = rebuilt(
                dvi,
                counted,
                rows,
                argparse.Namespace(**{**vars(args), "processes": processes, "base": ""}),
            )
        rng = random.Random(args.seed)
        pairs = [
            (rng.randrange(1, args.remains + 1), rng.randrange(1, args.reports + 1))
            for _ in range(args.pairs)
        ]
        with dvi.db.read() as session:
            whole_pairs = pairs[:3]

            def whole() -> None:
                pm_id, am_id = whole_pairs.pop()
                ctx = open_context(session, dvi, actor="bench", recalibrate=False)
                score_pair(ctx, am_id, pm_id)

            rows.append(["score one pair, the whole registry loaded", *counted.measure(whole, 3)])
            alone_pairs = list(pairs)

            def alone() -> None:
                pm_id, am_id = alone_pairs.pop()
                score_pair(pair_context(session, dvi, pm_id, am_id), am_id, pm_id)

            rows.append(
                ["score one pair alone (explain, exclusion)", *counted.measure(alone, args.pairs)]
            )
            spread = open_context(session, dvi, actor="b", recalibrate=False).calibration
        rows.append(
            [
                "add one remains record, its list stored (queued run, registry loaded)",
                *counted.measure(lambda: _added(dvi, "remains", f"PM-NEW-{run}", 1), 1),
            ]
        )
        # A worker's kept registry (opendvi worker, or the one in opendvi serve): loaded on
        # its first run, then brought up to date from the queue before each one.
        service = MatchingService(dvi, actor="worker")
        rows.append(["the worker's first load", *counted.measure(service.context, 1)])
        for side, ref, label in (
            (
                "remains",
                f"PM-KEPT-{run}-" + "{}",
                "add one remains record, its list stored (worker)",
            ),
            ("missing", f"AM-KEPT-{run}-" + "{}", "add one report, its list stored (worker)"),
        ):
            serial = iter(range(2, 2 + args.adds))
            rows.append(
                [
                    label,
                    *counted.measure(
                        lambda side=side, ref=ref, serial=serial: _added(
                            dvi, side, ref.format(n := next(serial)), n, service
                        ),
                        args.adds,
                    ),
                ]
            )
        assert service.loads == 1, "the worker loaded the registry again"
        kept_mib = kept_memory(dvi) / 2**20
        dvi.close()
    body = table(HEADER, rows)
    row = {r[0]: r for r in rows}
    whole_row = row["score one pair, the whole registry loaded"]
    alone_row = row["score one pair alone (explain, exclusion)"]
    queued_row = row["add one remains record, its list stored (queued run, registry loaded)"]
    remains_row = row["add one remains record, its list stored (worker)"]
    report_row = row["add one report, its list stored (worker)"]
    ratio = whole_row[1] / max(alone_row[1], 1e-9)
    kept = queued_row[1] / max(remains_row[1], 1e-9)
    if listed:
        stored = (
            "The records are added after a rebuild has stored every list, as in a registry in "
            "use: a new record's pair is stored where it enters a list.\n\n" + listed
        )
    else:
        stored = (
            "Most of them are description-only pairs with the records without a face, whose "
            "lists were never stored in this registry: a list not yet full takes any pair "
            "(--listed stores every list first)."
        )
    notes = (
        f"{args.reports:,} reports x {args.remains:,} remains records, "
        f"{args.faceless:.0%} of records without a usable face; calibration: "
        f"{spread.describe()}.\n\nScoring one pair alone costs 1/{ratio:,.0f} of the CPU of "
        "scoring it with the whole registry loaded, in the same run. A new remains record's "
        f"queued run costs 1/{kept:,.0f} as much in a worker that keeps the registry loaded "
        f"(the mean of {args.adds} records, each stored and then matched, the kept registry "
        "brought up to date from the queue first; the face rows read are the new record's) "
        "as in a run that loads the registry for itself. The worker's first load is paid "
        f"once, when it starts matching; the registry it keeps holds {kept_mib:,.0f} MiB "
        "(traced on a load of its own).\n\nIn a worker, what a new record costs follows the "
        f"pairs it stores: {remains_row[1] / max(remains_row[4], 1) * 1000:.2f} ms of CPU per "
        f"pair for a remains record, {report_row[1] / max(report_row[4], 1) * 1000:.2f} ms "
        "for a report. " + stored
    )
    write_result(args.name, "Matching at scale", body, notes)


if __name__ == "__main__":
    main()

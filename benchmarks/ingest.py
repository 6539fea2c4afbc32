"""Ingest: photos per second through `opendvi import`, against the naive-dlib loop on the
same photos in the same run (BENCHMARKS.md §4). Writes results/ingest.md.

    python benchmarks/ingest.py                 # 1,000 LFW photos
    python benchmarks/ingest.py --photos 50     # a smoke run
    python benchmarks/ingest.py --no-faces      # rows/s: batches against a row per transaction
    python benchmarks/ingest.py --no-photos --base /tmp/base-import   # rows/s without photos,
                                                 # against the import of another checkout
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import LFW, lfw_identities, signed_in_env, table, write_result

NAIVE_LOOP = """
import sys, numpy as np
sys.path.insert(0, {bench!r})
from common import naive_embed
paths = open({listing!r}).read().split("\\n")
vectors = [naive_embed(p) for p in paths if p]
print(sum(len(v) for v in vectors))
"""


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak resident memory of the whole process tree (KiB), stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, _ = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{command} failed with status {process.returncode}")
    return seconds, peak, out


def cpu_seconds() -> float:
    """CPU seconds of the finished children of this process (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def no_faces(args: argparse.Namespace, paths: list[str]) -> None:
    """Rows per second of `opendvi import --no-faces --no-match`, each batch size in turn."""
    rows = []
    results: list[tuple[int, float, float]] = []
    for batch in (1, 100):
        with tempfile.TemporaryDirectory(prefix="opendvi-ingest-") as tmp:
            folder = Path(tmp)
            with (folder / "reports.csv").open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["ref", "photos", "full_name"])
                writer.writerows([f"AM-{n:05d}", p, f"Person {n}"] for n, p in enumerate(paths))
            env = signed_in_env(dict(os.environ), folder / "data")
            before = cpu_seconds()
            seconds, _, _ = measure(
                [
                    sys.executable,
                    "-m",
                    "opendvi",
                    "import",
                    "missing",
                    str(folder / "reports.csv"),
                    "--quiet",
                    "--no-faces",
                    "--no-match",
                    "--batch",
                    str(batch),
                ],
                env,
            )
            results.append((batch, seconds, cpu_seconds() - before))
    base_s = results[0][1]
    for batch, seconds, cpu in results:
        what = "a row per transaction" if batch == 1 else f"{batch} rows per transaction"
        rows.append(
            [
                f"opendvi import --no-faces, {what}",
                len(paths),
                f"{seconds:.1f}",
                f"{len(paths) / seconds:.1f}",
                f"{cpu:.1f}",
                f"{base_s / seconds:.2f}×",
            ]
        )
    body = table(["peer", "rows", "wall s", "rows / s", "CPU s", "speed vs batch 1"], rows)
    notes = (
        "Each row stores one LFW photo (original + metadata-free copy) with a record and its "
        "audit event; no faces, no matching. CPU s is the import process's own (user + system)."
    )
    write_result(args.name, "Ingest without faces: rows per second", body, notes)


def no_photos(args: argparse.Namespace) -> None:
    """Rows per second of rows without photos: the import of the checkout at ``args.base``
    (its src first on PYTHONPATH) beside this one's, each on a fresh data directory."""
    source = str(Path(__file__).resolve().parents[1] / "src")
    peers = [
        (f"{args.base_name} ({args.base})", str(Path(args.base) / "src")),
        ("this branch", source),
    ]
    results: list[tuple[str, float, float]] = []
    for _ in range(args.repeat):
        for name, src in peers:
            with tempfile.TemporaryDirectory(prefix="opendvi-ingest-") as tmp:
                folder = Path(tmp)
                with (folder / "rows.csv").open("w", newline="") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(["ref", "photos", "full_name"])
                    writer.writerows([f"AM-{n:05d}", "", f"Person {n}"] for n in range(args.rows))
                env = signed_in_env({**os.environ, "PYTHONPATH": src}, folder / "data")
                before = cpu_seconds()
                command = [sys.executable, "-m", "opendvi", "import", "missing"]
                command += [str(folder / "rows.csv"), "--quiet", "--no-faces", "--no-match"]
                seconds, _, _ = measure(command, env)
                results.append((name, seconds, cpu_seconds() - before))
    best = {
        name: min((r for r in results if r[0] == name), key=lambda r: r[2]) for name, _ in peers
    }
    base_cpu = best[peers[0][0]][2]
    rows = [
        [
            name,
            args.rows,
            f"{seconds:.1f}",
            f"{args.rows / seconds:.0f}",
            f"{cpu:.2f}",
            f"{args.rows / cpu:.0f}",
            f"{base_cpu / cpu:.2f}×",
        ]
        for name, seconds, cpu in best.values()
    ]
    head = ["peer", "rows", "wall s", "rows / s", "CPU s", "rows / CPU s", "speed vs base (CPU)"]
    notes = (
        f"`opendvi import missing rows.csv --quiet --no-faces --no-match`, rows `ref,photos,"
        f"full_name` with `photos` empty, each run on a fresh data directory; the best of "
        f"{args.repeat} runs by CPU seconds (the import process's own, user + system, start-up "
        "included). Each row stores a record, its audit event and its match job."
    )
    write_result(args.name, "Ingest without photos: rows per second", table(head, rows), notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--name", default=None)
    parser.add_argument("--no-faces", action="store_true", help="rows/s without faces")
    parser.add_argument("--no-photos", action="store_true", help="rows/s of rows without photos")
    parser.add_argument("--base", default="/tmp/base-import", help="checkout to compare with")
    parser.add_argument("--base-name", default="base", help="what to call it in the table")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if args.no_photos:
        args.name = args.name or "ingest-no-photos"
        no_photos(args)
        return
    paths = [p for ps in lfw_identities().values() for p in ps]
    random.Random(args.seed).shuffle(paths)
    paths = [str(LFW / p) for p in paths[: args.photos]]
    if args.no_faces:
        args.name = args.name or "ingest-no-faces"
        no_faces(args, paths)
        return
    args.name = args.name or "ingest"
    rows = []
    with tempfile.TemporaryDirectory(prefix="opendvi-ingest-") as tmp:
        folder = Path(tmp)
        listing = folder / "photos.txt"
        listing.write_text("\n".join(paths))
        with (folder / "reports.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["ref", "photos"])
            writer.writerows([f"AM-{n:05d}", p] for n, p in enumerate(paths))
        env = signed_in_env({**os.environ, "OPENDVI_FACE_BACKEND": "dlib"}, folder / "data")
        naive_s, naive_peak, _ = measure(
            [
                sys.executable,
                "-c",
                NAIVE_LOOP.format(bench=str(Path(__file__).parent), listing=str(listing)),
            ],
            env,
        )
        ours_s, ours_peak, _ = measure(
            [
                sys.executable,
                "-m",
                "opendvi",
                "import",
                "missing",
                str(folder / "reports.csv"),
                "--quiet",
                "--workers",
                str(args.workers),
            ],
            env,
        )
        for peer, seconds, peak in (
            ("naive-dlib loop (1 process)", naive_s, naive_peak),
            (f"opendvi import, dlib ({args.workers} workers)", ours_s, ours_peak),
        ):
            rows.append(
                [
                    peer,
                    len(paths),
                    f"{seconds:.1f}",
                    f"{len(paths) / seconds:.2f}",
                    f"{naive_s / seconds:.2f}×",
                    f"{peak / 1024:.0f}",
                ]
            )
    body = table(["peer", "photos", "wall s", "photos / s", "speed vs naive", "peak RSS MiB"], rows)
    notes = (
        "The opendvi import stores each photo (original + metadata-free copy), finds faces at "
        "any angle, judges quality, embeds and saves them with audit events; the naive loop "
        "only detects (HOG, upsample 1) and embeds, keeping vectors in memory. Peak RSS is "
        "the whole process tree (workers included), sampled every 0.2 s."
    )
    write_result(args.name, "Ingest: photos per second", body, notes)


if __name__ == "__main__":
    main()

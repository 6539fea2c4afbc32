"""Scale of the candidate search (BENCHMARKS.md §3): OpenDVI's exact index against FAISS
IndexFlatIP on the same random unit vectors, in the same run. Writes results/search.md.

    python benchmarks/search.py                         # 100k and 1M, 128-d and 256-d
    python benchmarks/search.py --sizes 20000 --queries 20   # a smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import table, write_result

from opendvi.index import ExactIndex

K = 50


def unit(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    out = np.empty((count, dim), dtype=np.float32)
    for start in range(0, count, 100_000):
        block = rng.standard_normal((min(100_000, count - start), dim)).astype(np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def timed(call, queries: np.ndarray) -> tuple[list[float], list[np.ndarray]]:  # type: ignore[no-untyped-def]
    times, answers = [], []
    call(queries[0])  # warm up
    for query in queries:
        started = time.perf_counter()
        answers.append(call(query))
        times.append(time.perf_counter() - started)
    return times, answers


def measure(
    rng: np.random.Generator, dim: int, size: int, count: int
) -> tuple[list[object], float]:
    """One row of the table: both indexes built on the same vectors and queried alike."""
    import faiss

    vectors = unit(rng, size, dim)
    sex = rng.choice(np.array(["F", "M", "U"]), size)
    age_low = rng.uniform(0, 90, size).astype(np.float32)
    age_high = age_low + 5
    queries = unit(rng, count, dim)

    started = time.perf_counter()
    ours = ExactIndex(dim)
    ours.add(np.arange(size), vectors, sex=sex, age_low=age_low, age_high=age_high)
    ours_build = time.perf_counter() - started
    started = time.perf_counter()
    flat = faiss.IndexFlatIP(dim)
    flat.add(vectors)
    faiss_build = time.perf_counter() - started

    # Filters: women (or unknown sex) whose age range meets 18–22.
    keep = (sex != "M") & (age_high >= 18) & (age_low <= 22)
    params = faiss.SearchParameters(
        sel=faiss.IDSelectorBatch(np.flatnonzero(keep).astype(np.int64))
    )
    ours_t, ours_a = timed(lambda q: ours.search(q, K).ids, queries)
    faiss_t, faiss_a = timed(lambda q: flat.search(q[None], K)[1][0], queries)
    ours_ft, ours_fa = timed(lambda q: ours.search(q, K, sex="F", age=(18, 22)).ids, queries)
    faiss_ft, faiss_fa = timed(lambda q: flat.search(q[None], K, params=params)[1][0], queries)

    def agreement(mine: list[np.ndarray], theirs: list[np.ndarray]) -> float:
        return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(mine, theirs, strict=True)]))

    raw = vectors.nbytes
    o50, o95 = percentiles(ours_t)
    f50, f95 = percentiles(faiss_t)
    of50, of95 = percentiles(ours_ft)
    ff50, ff95 = percentiles(faiss_ft)
    row: list[object] = [
        dim,
        f"{size:,}",
        f"{ours_build:.2f} / {faiss_build:.2f}",
        f"{ours.nbytes / raw:.2f} / {flat.ntotal * dim * 4 / raw:.2f}",
        f"{o50:.1f} / {o95:.1f}",
        f"{f50:.1f} / {f95:.1f}",
        f"{o95 / f95:.2f}",
        f"{of50:.1f} / {of95:.1f}",
        f"{ff50:.1f} / {ff95:.1f}",
        f"{of95 / ff95:.2f}",
        f"{agreement(ours_a, faiss_a):.3f} / {agreement(ours_fa, faiss_fa):.3f}",
    ]
    return row, o95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dims", default="128,256")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default="search")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows, slopes = [], []
    for dim in (int(d) for d in args.dims.split(",")):
        for size in (int(s) for s in args.sizes.split(",")):
            row, p95 = measure(rng, dim, size, args.queries)
            rows.append(row)
            slopes.append((dim, size, p95))
    extrapolated = []
    for dim in sorted({d for d, _, _ in slopes}):
        points = sorted((s, t) for d, s, t in slopes if d == dim)
        if len(points) >= 2:
            largest, p95 = points[-1]
            per_reference = p95 / largest  # the search is linear in the references
            extrapolated.append(
                [
                    dim,
                    f"{per_reference * 10_000_000:.0f} ms",
                    f"{10_000_000 * dim * 4 / 2**30:.1f} GiB",
                ]
            )
    body = (
        f"Top-{K} search, {args.queries} queries per row, random unit vectors (seed {args.seed}). "
        "Each cell: OpenDVI exact index / FAISS IndexFlatIP (exact), same vectors, same run.\n\n"
        + table(
            [
                "dim",
                "references",
                "build s",
                "memory ÷ raw vectors",
                "p50 / p95 ms",
                "FAISS p50 / p95 ms",
                "p95 ratio",
                "filtered p50 / p95 ms",
                "FAISS filtered p50 / p95 ms",
                "filtered p95 ratio",
                "agreement with FAISS (plain / filtered)",
            ],
            rows,
        )
        + (
            "\n\n10M references, computed from the p95 per reference at the largest size (not "
            "run: the vectors alone need the memory shown, twice with FAISS beside them):\n\n"
            + table(["dim", "p95 at 10M (estimate)", "raw vectors"], extrapolated)
            if extrapolated
            else ""
        )
    )
    notes = (
        "Filters: sex F (unknown sex kept) and an age range overlapping 18–22, applied by "
        "OpenDVI as masks (comparing only the kept vectors when the filter keeps under a "
        "quarter) and by FAISS with an IDSelectorBatch. Both indexes are exact, so agreement "
        "below 1.000 comes only from ties. OpenDVI's memory includes 17 bytes of attributes "
        "per vector and the growth room of its array."
    )
    write_result(args.name, "Search: exact top-50 over random unit vectors", body, notes)


if __name__ == "__main__":
    main()

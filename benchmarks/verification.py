"""LFW verification, 10-fold, on the 6,000 standard pairs (BENCHMARKS.md §2).

Each backend embeds every image in pairs.txt through OpenDVI's face pipeline; a pair's score
is the cosine similarity. For each fold, the threshold that is most accurate on the other
nine folds is applied to it. Writes results/verification.md.

    python benchmarks/verification.py
    python benchmarks/verification.py --folds 2 --backends onnx   # a smoke run
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import BACKENDS
from common import LFW, SHARED, table, write_result

PUBLISHED = {"dlib": "99.38 (dlib)", "onnx": "98.8 (DATA.md)", "openvino": "99.5 (DATA.md)"}
# Where no face is found, the centre of a deep-funneled LFW image, where its face is.
CENTRE_BOX = (68.0, 68.0, 114.0, 114.0)

_backend = None


def _init(env: dict[str, str]) -> None:
    global _backend
    os.environ.update(env)
    from opendvi.faces import open_backend
    from opendvi.settings import Settings

    _backend = open_backend(Settings())


def _embed(path: str) -> tuple[np.ndarray, bool]:
    from opendvi.faces import find_faces, manual_face

    data = Path(path).read_bytes()
    result = find_faces(data, _backend)
    if result.faces:
        centre = min(
            result.faces,
            key=lambda f: abs(f.box[0] + f.box[2] / 2 - 125) + abs(f.box[1] + f.box[3] / 2 - 125),
        )
        return centre.embedding, True
    return manual_face(data, _backend, CENTRE_BOX).embedding, False


def read_pairs(path: Path) -> list[list[tuple[str, str, bool]]]:
    lines = path.read_text().split("\n")
    folds, per_fold = (int(v) for v in lines[0].split())
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    out = []
    for fold in range(folds):
        chunk = rows[fold * 2 * per_fold : (fold + 1) * 2 * per_fold]
        pairs = []
        for parts in chunk:
            if len(parts) == 3:
                name, a, b = parts
                pairs.append((_path(name, a), _path(name, b), True))
            else:
                n1, a, n2, b = parts
                pairs.append((_path(n1, a), _path(n2, b), False))
        out.append(pairs)
    return out


def _path(name: str, number: str) -> str:
    return str(LFW / name / f"{name}_{int(number):04d}.jpg")


def ten_fold(scores: list[np.ndarray], labels: list[np.ndarray]) -> tuple[float, float]:
    accuracies = []
    for k in range(len(scores)):
        train_s = np.concatenate([s for i, s in enumerate(scores) if i != k])
        train_l = np.concatenate([lab for i, lab in enumerate(labels) if i != k])
        candidates = np.unique(train_s)
        best = max(candidates, key=lambda t: float(((train_s >= t) == train_l).mean()))
        accuracies.append(float(((scores[k] >= best) == labels[k]).mean()))
    return float(np.mean(accuracies)), float(np.std(accuracies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="dlib,onnx,openvino")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--name", default="verification")
    args = parser.parse_args()
    folds = read_pairs(SHARED / "data" / "lfw-meta" / "pairs.txt")[: args.folds]
    images = sorted({p for fold in folds for a, b, _ in fold for p in (a, b)})
    rows = []
    for backend in args.backends.split(","):
        started = time.perf_counter()
        with ProcessPoolExecutor(
            args.workers, initializer=_init, initargs=(BACKENDS[backend],)
        ) as pool:
            embedded = dict(zip(images, pool.map(_embed, images, chunksize=8), strict=True))
        seconds = time.perf_counter() - started
        scores = [
            np.array([float(embedded[a][0] @ embedded[b][0]) for a, b, _ in f]) for f in folds
        ]
        labels = [np.array([same for _, _, same in f]) for f in folds]
        mean, std = ten_fold(scores, labels)
        missed = sum(not found for _, found in embedded.values()) / len(embedded)
        rows.append(
            [
                f"opendvi-{backend}",
                f"{100 * mean:.2f}",
                f"{100 * std:.2f}",
                PUBLISHED[backend],
                f"{missed:.3f}",
                f"{seconds * args.workers / len(images):.3f}",
            ]
        )
    body = (
        f"{len(folds)} folds × {len(folds[0])} pairs, {len(images)} images, "
        f"{args.workers} workers.\n\n"
        + table(
            [
                "backend",
                "accuracy %",
                "± std",
                "published %",
                "no face found (centre box used)",
                "core-s / image",
            ],
            rows,
        )
    )
    notes = (
        "Each image is embedded by OpenDVI's pipeline (any-angle search, alignment, "
        "embedding); where it holds several faces, the one nearest the centre is used. Where no "
        "face is found, the face is boxed by hand at the image centre, as staff would. "
        "Published figures are the models' own LFW protocols, which align faces their own way."
    )
    write_result(args.name, "LFW verification (10-fold, pairs.txt)", body, notes)


if __name__ == "__main__":
    main()

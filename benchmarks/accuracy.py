"""Open-set identification on simulated post-mortem photos (BENCHMARKS.md §1).

Builds missing-person reports and remains records from LFW, imports them with the
`opendvi import` command for each face backend (the path users run), and compares the
faces stored against each other; the naive-dlib peer runs on the same photos in the same
run. Prints one table overall and one per condition, and writes results/accuracy.md.

    python benchmarks/accuracy.py                       # the whole protocol
    python benchmarks/accuracy.py --identities 60 --distractors 200   # a smoke run
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from common import (
    CONDITIONS,
    LFW,
    MODELS,
    Gallery,
    Search,
    jpeg,
    lfw_identities,
    metrics,
    naive_embed_all,
    simulate,
    table,
    write_result,
)

BACKENDS = {
    "dlib": {"OPENDVI_FACE_BACKEND": "dlib"},
    "onnx": {
        "OPENDVI_FACE_BACKEND": "onnx",
        "OPENDVI_FACE_DETECTOR_PATH": str(MODELS / "yunet" / "face_detection_yunet_2026may.onnx"),
        "OPENDVI_FACE_MODEL_PATH": str(MODELS / "mobilefacenet-foamliu" / "MobileFaceNet.onnx"),
    },
    "openvino": {
        "OPENDVI_FACE_BACKEND": "openvino",
        "OPENDVI_FACE_DETECTOR_PATH": str(MODELS / "yunet" / "face_detection_yunet_2026may.onnx"),
        "OPENDVI_FACE_MODEL_PATH": str(
            MODELS
            / "openvino-face-reidentification-retail-0095"
            / "FP16"
            / "face-reidentification-retail-0095.xml"
        ),
        "OPENDVI_FACE_MODEL_SIZE": "128",
        "OPENDVI_FACE_MODEL_COLOUR": "bgr",
        "OPENDVI_FACE_MODEL_MEAN": "0",
        "OPENDVI_FACE_MODEL_STD": "1",
        "OPENDVI_FACE_MODEL_TEMPLATE": "sphereface",
    },
}


# The descriptive truth is made up per identity (LFW says nothing of sex, age or height):
# sex from the first name where gender-guesser knows it (so that it agrees with the face, as
# it would in life: similar faces tend to share sex), else drawn at random; age, height and
# dates drawn at random. It is then reported with the noise of each side: families give the
# truth (height a few cm off); post-mortem estimates get sex right 98% of the time, an age
# range 10 years wide whose centre is off by up to ±8 years, a height range 10 cm wide off
# by up to ±6 cm.
# Remains are found 1–180 days after the person was last seen; 2% of the reports carry a
# last-seen date a few days after the recovery date (a typing error).
START = dt.date(2019, 1, 1)


_GUESSER = None


def _sex_of(name: str, rng: random.Random) -> str:
    global _GUESSER
    if _GUESSER is None:
        import gender_guesser.detector

        _GUESSER = gender_guesser.detector.Detector()
    guess = _GUESSER.get_gender(name.split("_")[0])
    if guess in ("male", "mostly_male"):
        return "M"
    if guess in ("female", "mostly_female"):
        return "F"
    return rng.choice("FM")


def _truth(name: str, rng: random.Random) -> dict:
    sex = _sex_of(name, rng)
    age = rng.uniform(16, 80)
    last_seen = START + dt.timedelta(days=rng.randrange(5 * 365))
    return {
        "sex": sex,
        "birth": last_seen - dt.timedelta(days=round(age * 365.2425)),
        "height": rng.gauss(176, 7) if sex == "M" else rng.gauss(163, 6),
        "last_seen": last_seen,
    }


def _am_fields(truth: dict, rng: random.Random) -> dict:
    last_seen = truth["last_seen"]
    if rng.random() < 0.02:
        last_seen = truth["found"] + dt.timedelta(days=rng.randint(1, 5))
    return {
        "sex": truth["sex"],
        "birth_date": truth["birth"].isoformat(),
        "height_cm": str(round(truth["height"] + rng.gauss(0, 2))),
        "last_seen_date": last_seen.isoformat(),
    }


def _pm_fields(truth: dict, rng: random.Random) -> dict:
    sex = truth["sex"] if rng.random() < 0.98 else {"F": "M", "M": "F"}[truth["sex"]]
    age = (truth["found"] - truth["birth"]).days / 365.2425 + rng.uniform(-8, 8)
    height = truth["height"] + rng.uniform(-6, 6)
    return {
        "sex": sex,
        "age_min": str(max(0, round(age - 5))),
        "age_max": str(round(age + 5)),
        "height_min_cm": str(round(height - 5)),
        "height_max_cm": str(round(height + 5)),
        "found_date": truth["found"].isoformat(),
    }


AM_COLUMNS = ["ref", "photos", "sex", "birth_date", "height_cm", "last_seen_date"]
PM_COLUMNS = [
    "ref",
    "photos",
    "sex",
    "age_min",
    "age_max",
    "height_min_cm",
    "height_max_cm",
    "found_date",
]


def build(folder: Path, seed: int, identities: int | None, distractors: int | None) -> dict:
    """Write the AM and PM CSV files and PM photos; return the truth kept by the benchmark."""
    rng = random.Random(seed)
    people = lfw_identities()
    multi = [n for n, p in people.items() if len(p) >= 3]
    single = [n for n, p in people.items() if len(p) == 1]
    unreported = [n for n, p in people.items() if len(p) == 2]
    rng.shuffle(multi)
    rng.shuffle(single)
    rng.shuffle(unreported)
    multi = multi[: identities or len(multi)]
    single = single[: distractors if distractors is not None else len(single)]
    unreported = unreported[: len(multi)]
    truths = {name: _truth(name, rng) for name in multi + single + unreported}
    for truth in truths.values():
        truth["found"] = truth["last_seen"] + dt.timedelta(days=rng.randint(1, 180))

    am_rows, am_names = [], []
    for number, name in enumerate(multi + single):
        paths = people[name]
        chosen = rng.sample(paths, 2) if len(paths) >= 3 else paths[:1]
        am_rows.append(
            {
                "ref": f"AM-{number:05d}",
                "photos": "|".join(str(LFW / p) for p in chosen),
                **_am_fields(truths[name], rng),
            }
        )
        am_names.append((name, set(chosen)))
    am_index = {name: i for i, (name, _) in enumerate(am_names)}

    probes = []
    for name in multi:
        used = am_names[am_index[name]][1]
        probes.append((name, rng.choice([p for p in people[name] if p not in used]), True))
    for name in unreported:
        probes.append((name, rng.choice(people[name]), False))
    rng.shuffle(probes)
    (folder / "pm").mkdir()
    pm_rows, truth = [], []
    for number, (name, path, mated) in enumerate(probes):
        condition = CONDITIONS[number % len(CONDITIONS)]
        image, quality = simulate(Image.open(LFW / path), condition, rng)
        target = folder / "pm" / f"PM-{number:05d}.jpg"
        target.write_bytes(jpeg(image, quality))
        pm_rows.append(
            {"ref": f"PM-{number:05d}", "photos": str(target), **_pm_fields(truths[name], rng)}
        )
        truth.append((condition, am_index[name] if mated else None))
    for name, rows, columns in (("am.csv", am_rows, AM_COLUMNS), ("pm.csv", pm_rows, PM_COLUMNS)):
        with (folder / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    return {"am": am_rows, "pm": pm_rows, "truth": truth}


def _choose_centre_faces(data_dir: Path, env: dict[str, str]) -> None:
    """Where a photo holds several faces, choose the one nearest the centre, as a caseworker
    choosing the person would (LFW photos are centred on their subject)."""
    from sqlalchemy import select

    from opendvi.app import OpenDVI
    from opendvi.db.tables import Photo
    from opendvi.detection import choose_subject
    from opendvi.settings import Settings

    dvi = OpenDVI.open(Settings(data_dir=data_dir))
    with dvi.db.read() as session:
        photos = session.execute(select(Photo)).scalars().all()
        choices = []
        for photo in photos:
            faces = photo.faces
            if len(faces) > 1 and not any(f.is_subject for f in faces):
                # Distance from the centre of the (turned) photo, as a share of its size.
                def off_centre(face: object, photo: Photo = photo) -> float:
                    turned = face.rotation_deg % 180 == 90  # type: ignore[attr-defined]
                    width, height = (
                        (photo.height, photo.width) if turned else (photo.width, photo.height)
                    )
                    cx = face.box_x + face.box_w / 2  # type: ignore[attr-defined]
                    cy = face.box_y + face.box_h / 2  # type: ignore[attr-defined]
                    return abs(cx / width - 0.5) + abs(cy / height - 0.5)

                choices.append(min(faces, key=off_centre).id)
    for face_id in choices:
        choose_subject(dvi, face_id=face_id, actor="benchmark")
    dvi.close()


def _faces_by_ref(data_dir: Path) -> dict[str, list[np.ndarray]]:
    from sqlalchemy import select

    from opendvi.app import OpenDVI
    from opendvi.db.tables import Face, MissingPerson, Photo, Remains
    from opendvi.settings import Settings

    dvi = OpenDVI.open(Settings(data_dir=data_dir))
    out: dict[str, list[np.ndarray]] = {}
    with dvi.db.read() as session:
        for model, key in ((MissingPerson, Photo.missing_person_id), (Remains, Photo.remains_id)):
            rows = session.execute(
                select(model.ref, Face.embedding, Face.usable)
                .join(Photo, key == model.id)
                .join(Face, Face.photo_id == Photo.id)
                .where(Face.is_subject)
            ).all()
            grouped: dict[str, list[tuple[np.ndarray, bool]]] = {}
            for ref, blob, usable in rows:
                grouped.setdefault(ref, []).append((np.frombuffer(blob, np.float32), usable))
            for ref, faces in grouped.items():
                usable = [f for f, ok in faces if ok]
                out[ref] = usable or [f for f, _ in faces]
    dvi.close()
    return out


def import_backend(folder: Path, build_info: dict, backend: str, workers: int) -> float:
    """Import both files with `opendvi import` (once per work folder); core-seconds/photo."""
    data_dir = folder / f"db-{backend}"
    done = data_dir / "imported.json"
    if done.exists():
        return float(json.loads(done.read_text())["per_image"])
    env = {**os.environ, **BACKENDS[backend], "OPENDVI_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    for kind, name in (("missing", "am.csv"), ("unidentified", "pm.csv")):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "opendvi",
                "import",
                kind,
                str(folder / name),
                "--quiet",
                "--no-match",
                "--workers",
                str(workers),
            ],
            env=env,
            check=False,
        )
    seconds = time.perf_counter() - started
    _choose_centre_faces(data_dir, env)
    photos = sum(len(r["photos"].split("|")) for r in build_info["am"]) + len(build_info["pm"])
    per_image = seconds * workers / photos
    done.write_text(json.dumps({"per_image": per_image}))
    return per_image


def run_opendvi(folder: Path, build_info: dict, backend: str, workers: int) -> tuple[list, float]:
    per_image = import_backend(folder, build_info, backend, workers)
    data_dir = folder / f"db-{backend}"
    faces = _faces_by_ref(data_dir)
    gallery = Gallery([faces.get(row["ref"], []) for row in build_info["am"]], euclidean=False)
    searches = []
    for row, (condition, mate) in zip(build_info["pm"], build_info["truth"], strict=True):
        probe = faces.get(row["ref"], [])
        searches.append(Search(condition, mate, bool(probe), gallery.scores(probe)))
    return searches, per_image


def run_naive(folder: Path, build_info: dict, workers: int) -> tuple[list, float]:
    am_paths = [r["photos"].split("|") for r in build_info["am"]]
    flat = [p for paths in am_paths for p in paths]
    pm_paths = [r["photos"] for r in build_info["pm"]]
    cache = folder / "naive.pickle"
    if cache.exists():
        embedded, per_image = pickle.loads(cache.read_bytes())
    else:
        started = time.perf_counter()
        embedded = naive_embed_all(flat + pm_paths, workers)
        per_image = (time.perf_counter() - started) * workers / len(flat + pm_paths)
        cache.write_bytes(pickle.dumps((embedded, per_image)))
    lookup = dict(zip(flat + pm_paths, embedded, strict=True))
    # face_recognition's habit: the first face found in each reference photo.
    gallery = Gallery(
        [[lookup[p][0] for p in paths if lookup[p]] for paths in am_paths], euclidean=True
    )
    searches = []
    for path, (condition, mate) in zip(pm_paths, build_info["truth"], strict=True):
        probe = lookup[path]
        searches.append(Search(condition, mate, bool(probe), gallery.scores(probe)))
    return searches, per_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--identities",
        type=int,
        default=None,
        help="AM identities with ≥3 images to use (default: all 901)",
    )
    parser.add_argument(
        "--distractors",
        type=int,
        default=None,
        help="single-image identities added as reports (default: all 4,069)",
    )
    parser.add_argument("--backends", default="dlib,onnx,openvino")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--name", default="accuracy", help="results/NAME.md")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep the generated records, imports and naive embeddings here and reuse them "
        "on the next run with the same options (default: a temporary folder)",
    )
    parser.add_argument(
        "--import-only", action="store_true", help="stop after the imports (with --workdir)"
    )
    args = parser.parse_args()

    results: dict[str, tuple[list, float]] = {}
    with tempfile.TemporaryDirectory(prefix="opendvi-accuracy-") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        built = folder / "build.json"
        if built.exists():
            info = json.loads(built.read_text())
        else:
            info = build(folder, args.seed, args.identities, args.distractors)
            built.write_text(json.dumps(info))
        results["naive-dlib"] = run_naive(folder, info, args.workers)
        for backend in args.backends.split(","):
            if args.import_only:
                import_backend(folder, info, backend, args.workers)
            else:
                results[f"opendvi-{backend}"] = run_opendvi(folder, info, backend, args.workers)
        if args.import_only:
            return
    n_am, n_pm = len(info["am"]), len(info["pm"])

    overall = []
    for peer, (searches, per_image) in results.items():
        m = metrics(searches)
        overall.append([peer, m["rank1"], m["rank10"], m["fnir"], m["no_face"], f"{per_image:.3f}"])
    by_condition = []
    for condition in CONDITIONS:
        row: list[object] = [condition]
        for searches, _ in results.values():
            m = metrics([s for s in searches if s.condition == condition])
            row.append(f"{m['rank1']:.3f} / {m['no_face']:.3f}")
        by_condition.append(row)
    base = metrics(results["naive-dlib"][0])["rank1"]
    ratios = []
    for peer, (searches, _) in results.items():
        rot = metrics([s for s in searches if s.condition == "rotated"])["rank1"]
        clean = metrics([s for s in searches if s.condition == "clean"])["rank1"]
        naive_rot = metrics([s for s in results["naive-dlib"][0] if s.condition == "rotated"])
        ratios.append(
            [
                peer,
                f"{metrics(searches)['rank1'] - base:+.3f}",
                f"{rot / max(naive_rot['rank1'], 1e-9):.1f}×"
                if naive_rot["rank1"]
                else "∞ (peer 0)",
                f"{rot - clean:+.3f}",
            ]
        )
    body = (
        f"{n_am} missing-person reports ({len([r for r in info['am'] if '|' in r['photos']])} "
        f"with 2 photos, the rest 1-photo distractors), {n_pm} remains records "
        f"({sum(t[1] is not None for t in info['truth'])} mated), seed {args.seed}, "
        f"{args.workers} workers.\n\n"
        "## Overall\n\n"
        + table(
            ["peer", "rank-1", "rank-10", "FNIR@FPIR=0.1", "no face found", "core-s / image"],
            overall,
        )
        + "\n\n## Rank-1 / no-face share per condition\n\n"
        + table(["condition", *results], by_condition)
        + "\n\n## Against the targets\n\n"
        + table(
            [
                "peer",
                "rank-1 vs naive-dlib",
                "rotated rank-1 vs naive-dlib's",
                "rotated − clean rank-1",
            ],
            ratios,
        )
    )
    notes = (
        "Scores are face-only: the best cosine similarity (euclidean distance for naive-dlib) "
        "between the faces stored for a remains record and those of each report, read from the "
        "database the `opendvi import` commands filled. Where a photo holds several faces, the "
        "one nearest the centre is chosen as the person (`opendvi faces subject`), as a "
        "caseworker would. core-s / image = wall-clock seconds × workers / photos imported."
    )
    write_result(args.name, "Accuracy on simulated post-mortem photos (LFW)", body, notes)


if __name__ == "__main__":
    main()

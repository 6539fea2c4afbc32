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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
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
    signed_in_env,
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
    from opendvi.records.faces import choose_subject
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
        choose_subject(dvi, face_id=face_id, actor="cli:benchmark")
    dvi.close()


def import_backend(folder: Path, build_info: dict, backend: str, workers: int) -> float:
    """Import both files with `opendvi import` (once per work folder); core-seconds/photo."""
    data_dir = folder / f"db-{backend}"
    done = data_dir / "imported.json"
    if done.exists():
        return float(json.loads(done.read_text())["per_image"])
    env = signed_in_env({**os.environ, **BACKENDS[backend]}, data_dir)
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


@dataclass
class Run:
    """One OpenDVI backend's searches, scored two ways, and what its calibration predicted."""

    face_only: list
    combined: list
    per_image: float
    match_seconds: float
    credible: dict[str, float]
    calibration: list[list[object]]
    reading: str  # how the calibration reads scores, and the self-test behind the choice


def run_opendvi(folder: Path, build_info: dict, backend: str, workers: int) -> Run:
    """Import (cached), then `opendvi match --all` and `opendvi export candidates`, exactly
    as a user would, and read the ranked lists back from the exported file."""
    per_image = import_backend(folder, build_info, backend, workers)
    data_dir = folder / f"db-{backend}"
    env = {**os.environ, **BACKENDS[backend], "OPENDVI_DATA_DIR": str(data_dir)}
    opendvi = [sys.executable, "-m", "opendvi"]
    matched = data_dir / "matched.json"
    if matched.exists():  # a work folder reused: the lists are already there
        match_seconds = float(json.loads(matched.read_text())["seconds"])
    else:
        started = time.perf_counter()
        subprocess.run([*opendvi, "match", "--all", "--quiet"], env=env, check=True)
        match_seconds = time.perf_counter() - started
        matched.write_text(json.dumps({"seconds": match_seconds}))
    exported = folder / f"candidates-{backend}.csv"
    subprocess.run(
        [*opendvi, "export", "candidates", "--format", "csv", "--output", str(exported)],
        env=env,
        check=True,
    )
    am_index = {row["ref"]: i for i, row in enumerate(build_info["am"])}
    lists: dict[str, list[dict[str, str]]] = {}
    with exported.open() as handle:
        for row in csv.DictReader(handle):
            if row["rank"]:  # the remains record's own list, as a reviewer sees it
                lists.setdefault(row["pm_ref"], []).append(row)
    face_only, combined = [], []
    mated_credible = non_mated_credible = mated_total = non_mated_total = 0
    for row, (condition, mate) in zip(build_info["pm"], build_info["truth"], strict=True):
        rows = lists.get(row["ref"], [])
        found = any(r["face_score"] for r in rows)
        face = np.full(len(am_index), -np.inf)
        total = np.full(len(am_index), -np.inf)
        for r in rows:
            if r["face_score"]:
                # The face's own evidence: its points where the face is calibrated (with a
                # spread calibration they depend on the remains record, not the score alone).
                face[am_index[r["am_ref"]]] = (
                    float(r["face_points"]) + 1e-6 * float(r["face_score"])  # ties: by score
                    if r["false_candidate_rate"]
                    else float(r["face_score"])
                )
            total[am_index[r["am_ref"]]] = float(r["score"])
        face_only.append(Search(condition, mate, found, face if found else None))
        combined.append(Search(condition, mate, found, total if found else None))
        top = next((r for r in rows if r["rank"] == "1"), None)
        if mate is None:
            non_mated_total += 1
            non_mated_credible += bool(top and top["credible"] == "True")
        else:
            mated_total += 1
            mated_credible += bool(
                top and top["credible"] == "True" and am_index[top["am_ref"]] == mate
            )
    checked, reading = check_calibration(
        data_dir, build_info, unaltered_probes(folder, build_info, backend, workers)
    )
    return Run(
        face_only=face_only,
        combined=combined,
        per_image=per_image,
        match_seconds=match_seconds,
        credible={
            "mated": mated_credible / max(1, mated_total),
            "non_mated": non_mated_credible / max(1, non_mated_total),
        },
        calibration=checked,
        reading=reading,
    )


MEASURABLE = 10  # impostor pairs above a threshold needed before an observed rate means much
RESAMPLES = 1000  # bootstrap draws of the held-out records behind each interval
_UNALTERED_BACKEND: object = None  # the face backend of an embedding worker


def _unaltered_init(env: dict[str, str]) -> None:
    os.environ.update(env)
    from opendvi.faces import open_backend
    from opendvi.settings import Settings

    global _UNALTERED_BACKEND
    _UNALTERED_BACKEND = open_backend(Settings())


def _unaltered_embed(path: str) -> list[float] | None:
    """The face nearest the centre of one unaltered LFW photo, as the import would choose."""
    from opendvi.faces import find_faces

    found = find_faces(Path(path).read_bytes(), _UNALTERED_BACKEND, name=path)
    if not found.faces:
        return None
    face = min(
        found.faces,
        key=lambda f: abs(f.box[0] + f.box[2] / 2 - 125) + abs(f.box[1] + f.box[3] / 2 - 125),
    )
    return [float(v) for v in face.embedding] if face.usable else None


def unaltered_probes(folder: Path, build_info: dict, backend: str, workers: int) -> np.ndarray:
    """Both LFW photos of every identity nobody reported, as they are (no simulated
    post-mortem condition), embedded by the backend; cached in the work folder."""
    reported = {Path(p).parent.name for r in build_info["am"] for p in r["photos"].split("|")}
    held_out = [
        photos
        for name, photos in lfw_identities().items()
        if len(photos) == 2 and name not in reported
    ]
    # As many people as there are remains records of people nobody reported.
    people = held_out[: sum(mate is None for _, mate in build_info["truth"])]
    paths = [str(LFW / p) for photos in people for p in photos]
    cache = folder / f"unaltered-{backend}-{len(people)}.npy"
    if cache.exists():
        return np.load(cache)
    env = {**BACKENDS[backend]}
    with ProcessPoolExecutor(workers, initializer=_unaltered_init, initargs=(env,)) as pool:
        embedded = list(pool.map(_unaltered_embed, paths, chunksize=16))
    vectors = np.array([v for v in embedded if v is not None], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.save(cache, vectors)
    return vectors


def check_calibration(
    data_dir: Path, build_info: dict, unaltered: np.ndarray
) -> tuple[list[list[object]], str]:
    """Predicted against observed false-candidate rates on held-out identities.

    The calibration was fitted by `opendvi match` from pairs of different reports. Two sets
    of people it never saw are searched against the reports: the remains of people nobody
    reported (simulated post-mortem photos), and the unaltered photos of the same people.
    For a search of n reports drawn from the gallery, the observed rate at a threshold t is
    the chance that at least one of the n scores ≥ t (exact, hypergeometric, averaged over
    the searches). t is set where the prediction is 1e-2 and 1e-3. The interval is the 5th
    to 95th percentile of observed / predicted over bootstrap draws of the searches: the
    pairs above a threshold cluster on a few lookalike searches, so their count overstates
    how much is known.
    """
    from sqlalchemy import select

    from opendvi.app import OpenDVI
    from opendvi.core.scoring import (
        Calibration,
        FaceSet,
        fuse_many,
        search_rate,
        standardise_each,
    )
    from opendvi.db.tables import Calibration as CalibrationRow
    from opendvi.matching import load_side
    from opendvi.settings import Settings

    dvi = OpenDVI.open(Settings(data_dir=data_dir))
    with dvi.db.read() as session:
        row = session.execute(
            select(CalibrationRow).order_by(CalibrationRow.id.desc()).limit(1)
        ).scalar_one_or_none()
        if row is None:  # too few reports to calibrate on: nothing of this database to check
            return [], "the built-in estimate (too few reports to calibrate on)"
        calibration = Calibration.from_json(row.params)
        model = (row.model_name, row.model_version)
        am = load_side(session, "missing", model)
        pm = load_side(session, "remains", model)
    dvi.close()
    sampled = np.zeros(len(am.groups), dtype=bool)
    sampled[list(am.sample().positions)] = True

    def read(faces: FaceSet) -> np.ndarray:
        """The values the calibration reads for one search, sorted, as `opendvi match` does:
        with a spread calibration each score against the sampled reports' other scores."""
        fused, _ = fuse_many(faces, am.vectors, am.quality, am.starts)
        return np.sort(standardise_each(fused, sampled) if calibration.spread else fused)

    ref_to_pm = {ref: i for i, ref in pm.refs.items()}
    remains = []
    for record, (_, mate) in zip(build_info["pm"], build_info["truth"], strict=True):
        faces = pm.faces(ref_to_pm[record["ref"]])
        if mate is None and len(faces):
            remains.append(read(faces))
    photos = [
        read(FaceSet([0], vector[None, :], np.ones(1, np.float32)))
        for vector in unaltered
        if vector.shape[0] == am.vectors.shape[1]
    ]
    gallery = len(am.groups)
    rng = np.random.default_rng(0)
    out: list[list[object]] = []
    for label, probes in (("remains (simulated)", remains), ("unaltered photos", photos)):
        if not probes:
            continue
        for size in (10, 100, gallery):
            for target in (1e-2, 1e-3):
                low, high = -100.0, 100.0
                for _ in range(100):  # the value where the prediction equals the target
                    middle = (low + high) / 2
                    if search_rate(calibration.pair_rate(middle), size) > target:
                        low = middle
                    else:
                        high = middle
                threshold = high
                each, above = [], 0
                for values in probes:
                    m = len(values) - int(np.searchsorted(values, threshold, side="left"))
                    above += m
                    # P(no chosen report among the m above t) for n drawn without replacement.
                    none = 1.0
                    for i in range(min(size, gallery)):
                        none *= max(0.0, (gallery - m - i) / (gallery - i))
                        if none == 0.0:
                            break
                    each.append(1.0 - none)
                per_search = np.asarray(each)
                ratio = float(per_search.mean()) / target
                draws = per_search[rng.integers(0, len(per_search), (RESAMPLES, len(per_search)))]
                low_ratio, high_ratio = np.quantile(draws.mean(axis=1) / target, [0.05, 0.95])
                if above < MEASURABLE:
                    verdict = "too few pairs to tell"
                else:
                    verdict = "yes" if 0.5 <= ratio <= 2 else "no"
                out.append(
                    [
                        label,
                        f"{size:,}",
                        f"{target:.0e}",
                        f"{threshold:.4f}",
                        f"{per_search.mean():.2e}",
                        f"{ratio:.2f}",
                        f"{low_ratio:.2f}–{high_ratio:.2f}",
                        above,
                        verdict,
                    ]
                )
    return out, calibration.chosen_by


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

    naive: tuple[list, float]
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix="opendvi-accuracy-") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        built = folder / "build.json"
        if built.exists():
            info = json.loads(built.read_text())
        else:
            info = build(folder, args.seed, args.identities, args.distractors)
            built.write_text(json.dumps(info))
        naive = run_naive(folder, info, args.workers)
        for backend in args.backends.split(","):
            if args.import_only:
                import_backend(folder, info, backend, args.workers)
            else:
                runs[backend] = run_opendvi(folder, info, backend, args.workers)
        if args.import_only:
            return
    write_result(
        args.name,
        "Accuracy on simulated post-mortem photos (LFW)",
        report(info, args, naive, runs),
        NOTES,
    )


NOTES = """\
How OpenDVI is run: `opendvi import missing am.csv`, `opendvi import unidentified pm.csv`
(both `--no-match`, then one `opendvi match --all`), `opendvi export candidates`; the lists
are read back from the exported CSV. *face only* ranks each remains record's list by the
face factor's points (the best pair's score read through the calibration, so with a spread
calibration against the remains record's own spread); *face + description* by the total
score (face points plus the descriptive factors), both from the same exported rows. Where a
photo holds several faces, the one nearest the centre is chosen as the person (`opendvi
faces subject`), as a caseworker would.
naive-dlib: the first face of each reference photo, euclidean distance, best over the
report's photos. core-s / image = wall-clock seconds of the import × workers / photos.

Descriptive data is simulated (see the comment above `_truth` in the script): sex from the
first name where gender-guesser knows it, else random, so sex agrees with the face about as
in life; age, height and dates drawn at random, independently of the face, which makes age
and height more informative here than they would be among people who look alike.

Calibration: predicted = the false-candidate rate `opendvi match` estimated from pairs of
different reports; observed = the same rate measured on people the calibration never saw:
the remains of people nobody reported (their simulated post-mortem photos), and both
unaltered LFW photos of as many such people. "pairs above" = impostor pairs scoring above
the threshold (with fewer than 10 the observed rate is noise, and the row says so); the 90%
interval comes from resampling the searches, since those pairs cluster on a few lookalike
photos. `match --all` seconds come from the run that filled the work folder."""


def report(info: dict, args: argparse.Namespace, naive: tuple[list, float], runs: dict) -> str:
    n_am, n_pm = len(info["am"]), len(info["pm"])
    peers: dict[str, list] = {"naive-dlib": naive[0]}
    for backend, run in runs.items():
        peers[f"opendvi-{backend} face only"] = run.face_only
        peers[f"opendvi-{backend} face + description"] = run.combined
    speed = {"naive-dlib": naive[1]}
    overall = []
    for peer, searches in peers.items():
        m = metrics(searches)
        backend = peer.split()[0].removeprefix("opendvi-")
        per_image = speed.get(peer, runs[backend].per_image if backend in runs else 0.0)
        overall.append([peer, m["rank1"], m["rank10"], m["fnir"], m["no_face"], f"{per_image:.3f}"])
    description = []
    for backend, run in runs.items():
        face, both = metrics(run.face_only), metrics(run.combined)
        cut = 1 - both["fnir"] / face["fnir"] if face["fnir"] else 0.0
        description.append(
            [
                backend,
                face["fnir"],
                both["fnir"],
                f"{cut:.0%}",
                "yes" if cut >= 1 / 3 else "no",
                face["rank1"],
                both["rank1"],
            ]
        )
    by_condition = []
    for condition in CONDITIONS:
        row: list[object] = [condition]
        for searches in [naive[0], *(run.combined for run in runs.values())]:
            m = metrics([s for s in searches if s.condition == condition])
            row.append(f"{m['rank1']:.3f} / {m['no_face']:.3f}")
        by_condition.append(row)
    naive_rot = metrics([s for s in naive[0] if s.condition == "rotated"])["rank1"]
    base = metrics(naive[0])["rank1"]
    ratios = []
    for backend, run in runs.items():
        rot = metrics([s for s in run.face_only if s.condition == "rotated"])["rank1"]
        clean = metrics([s for s in run.face_only if s.condition == "clean"])["rank1"]
        ratios.append(
            [
                f"opendvi-{backend} face only",
                f"{metrics(run.face_only)['rank1'] - base:+.3f}",
                f"{rot / naive_rot:.1f}×" if naive_rot else "∞ (peer 0)",
                f"{rot - clean:+.3f}",
            ]
        )
    credible = [
        [
            backend,
            f"{run.credible['mated']:.3f}",
            f"{run.credible['non_mated']:.3f}",
            f"{run.match_seconds:.1f}",
        ]
        for backend, run in runs.items()
    ]
    calibration = [[backend, *row] for backend, run in runs.items() for row in run.calibration]
    readings = [[backend, run.reading] for backend, run in runs.items()]
    return (
        f"{n_am} missing-person reports ({len([r for r in info['am'] if '|' in r['photos']])} "
        f"with 2 photos, the rest 1-photo distractors), {n_pm} remains records "
        f"({sum(t[1] is not None for t in info['truth'])} mated), seed {args.seed}, "
        f"{args.workers} workers.\n\n"
        "## Overall\n\n"
        + table(
            ["peer", "rank-1", "rank-10", "FNIR@FPIR=0.1", "no face found", "core-s / image"],
            overall,
        )
        + "\n\n## Face + description against face only\n\n"
        + table(
            [
                "backend",
                "FNIR face only",
                "FNIR face + description",
                "FNIR lower by",
                "≥ 1/3 lower",
                "rank-1 face only",
                "rank-1 face + description",
            ],
            description,
        )
        + "\n\n## Rank-1 / no-face share per condition (face + description)\n\n"
        + table(["condition", "naive-dlib", *(f"opendvi-{b}" for b in runs)], by_condition)
        + "\n\n## Face only, against the face-pipeline targets\n\n"
        + table(
            ["peer", "rank-1 vs naive-dlib", "rotated rank-1 vs naive-dlib's", "rotated − clean"],
            ratios,
        )
        + "\n\n## Credible candidates at the default threshold (1 in 20)\n\n"
        + table(
            [
                "backend",
                "mated: true mate credible at rank 1",
                "non-mated: a stranger credible at rank 1",
                "`match --all` seconds",
            ],
            credible,
        )
        + "\n\n## How each model's scores are read (`opendvi match`'s self-test)\n\n"
        + table(["backend", "reading"], readings)
        + "\n\n## Calibration on held-out identities\n\n"
        + table(
            [
                "backend",
                "held-out searches",
                "search of n reports",
                "predicted rate",
                "threshold",
                "observed rate",
                "observed / predicted",
                "90% interval",
                "pairs above",
                "within 2×",
            ],
            calibration,
        )
    )


if __name__ == "__main__":
    main()

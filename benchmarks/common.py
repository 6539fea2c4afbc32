"""What the benchmarks share: LFW, simulated post-mortem conditions, the naive-dlib peer,
open-set metrics, and writing a results table."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import platform
import random
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LFW = SHARED / "data" / "lfw"
MODELS = SHARED / "models"
CONDITIONS = ("clean", "rotated", "dark", "blurred", "pallor", "occluded")


def lfw_identities() -> dict[str, list[str]]:
    """identity → image paths relative to the LFW folder, sorted."""
    people: dict[str, list[str]] = {}
    with (LFW / "labels.csv").open() as handle:
        for row in csv.DictReader(handle):
            people.setdefault(row["identity"], []).append(row["path"])
    return {name: sorted(paths) for name, paths in sorted(people.items())}


# -- simulated post-mortem conditions ------------------------------------------------------


def simulate(image: Image.Image, condition: str, rng: random.Random) -> tuple[Image.Image, int]:
    """The photo as a post-mortem photo might look; returns the image and a JPEG quality."""
    image = image.convert("RGB")
    if condition == "rotated":
        angle = rng.choice((90, 180, 270)) + rng.uniform(-15, 15)
        return image.rotate(angle, expand=True, resample=Image.Resampling.BILINEAR), 92
    if condition == "dark":
        gamma = rng.uniform(2.0, 3.0)
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        pixels = 255.0 * pixels**gamma
        pixels += np.random.default_rng(rng.randrange(2**32)).normal(0, 6, pixels.shape)
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), 90
    if condition == "blurred":
        factor = rng.uniform(0.4, 0.55)
        small = image.resize((round(image.width * factor), round(image.height * factor)))
        return small.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.4))), rng.randint(15, 30)
    if condition == "pallor":
        pale = ImageEnhance.Color(image).enhance(rng.uniform(0.1, 0.35))
        tint = Image.new("RGB", image.size, (150, 172, 140))
        pale = Image.blend(pale, tint, rng.uniform(0.2, 0.3))
        return ImageEnhance.Contrast(pale).enhance(rng.uniform(0.55, 0.7)), 90
    if condition == "occluded":
        draw_on = image.copy()
        draw = ImageDraw.Draw(draw_on, "RGBA")
        for _ in range(rng.randint(1, 2)):
            w = rng.uniform(0.15, 0.3) * image.width
            h = rng.uniform(0.1, 0.25) * image.height
            cx = rng.uniform(0.3, 0.7) * image.width
            cy = rng.uniform(0.3, 0.75) * image.height
            colour = (rng.randint(70, 110), rng.randint(20, 40), rng.randint(15, 30), 235)
            draw.ellipse((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), fill=colour)
        return draw_on, 90
    return image, 95


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


# -- the naive-dlib peer -------------------------------------------------------------------

_naive: tuple[object, object, object] | None = None


def _naive_init() -> None:
    global _naive
    import dlib
    import face_recognition_models as models

    _naive = (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(models.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(models.face_recognition_model_location()),
    )


def naive_embed(path: str) -> list[np.ndarray]:
    """What a face_recognition user writes: HOG (upsample 1), 5 landmarks, ResNet."""
    if _naive is None:
        _naive_init()
    detector, shape, resnet = _naive  # type: ignore[misc]
    rgb = np.asarray(Image.open(path).convert("RGB"))
    return [
        np.asarray(resnet.compute_face_descriptor(rgb, shape(rgb, box)), dtype=np.float32)  # type: ignore[operator, attr-defined]
        for box in detector(rgb, 1)  # type: ignore[operator]
    ]


def naive_embed_all(paths: list[str], workers: int) -> list[list[np.ndarray]]:
    if workers <= 1:
        return [naive_embed(p) for p in paths]
    with ProcessPoolExecutor(workers, initializer=_naive_init) as pool:
        return list(pool.map(naive_embed, paths, chunksize=8))


# -- open-set metrics ----------------------------------------------------------------------


@dataclass
class Search:
    """One PM record's search: its condition, its mate (None when nobody reported them),
    whether a face was found, and the score of every AM report (higher is more alike)."""

    condition: str
    mate: int | None
    face_found: bool
    scores: np.ndarray | None  # one per AM report; None when no face was found


def metrics(searches: list[Search], fpir: float = 0.1) -> dict[str, float]:
    mated = [s for s in searches if s.mate is not None]
    non_mated = [s for s in searches if s.mate is None]
    # Non-mated searches' top scores set the threshold at the wanted FPIR.
    tops = sorted((float(s.scores.max()) if s.scores is not None else -math.inf) for s in non_mated)
    threshold = tops[max(0, math.ceil(len(tops) * (1 - fpir)) - 1)] if tops else -math.inf
    rank1 = rank10 = misses = 0
    for search in mated:
        if search.scores is None:
            misses += 1
            continue
        mate_score = search.scores[search.mate]
        rank = int((search.scores > mate_score).sum()) + 1
        rank1 += rank == 1
        rank10 += rank <= 10
        misses += not (rank == 1 and mate_score > threshold)
    n = max(1, len(mated))
    return {
        "mated": len(mated),
        "non_mated": len(non_mated),
        "rank1": rank1 / n,
        "rank10": rank10 / n,
        "fnir": misses / n,
        "no_face": sum(not s.face_found for s in searches) / max(1, len(searches)),
    }


class Gallery:
    """Every report's faces in one matrix, so a search is one product and a maximum."""

    def __init__(self, faces: list[list[np.ndarray]], *, euclidean: bool) -> None:
        self.size = len(faces)
        self.euclidean = euclidean
        owners = [i for i, group in enumerate(faces) for _ in group]
        self.owners = np.array(owners, dtype=np.int64)
        vectors = [v for group in faces for v in group]
        self.matrix = np.stack(vectors) if vectors else np.zeros((0, 1), np.float32)

    def scores(self, probe: list[np.ndarray]) -> np.ndarray | None:
        """Per report, the best score over every pair of its faces with the probe's faces."""
        if not probe:
            return None
        p = np.stack(probe)
        if self.euclidean:
            squared = (
                (p**2).sum(1)[:, None] + (self.matrix**2).sum(1)[None, :] - 2 * p @ self.matrix.T
            )
            pair = -np.sqrt(np.maximum(squared, 0)).min(axis=0)
        else:
            pair = (p @ self.matrix.T).max(axis=0)
        out = np.full(self.size, -np.inf)
        np.maximum.at(out, self.owners, pair)
        return out


# -- results -------------------------------------------------------------------------------


def machine() -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
            memory = f", {kb / 1024 / 1024:.0f} GiB memory"
    except OSError:
        pass
    return (
        f"{platform.machine()}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"
    )


def table(header: list[str], rows: Iterable[list[object]]) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_result(name: str, title: str, body: str, notes: str = "") -> Path:
    command = "python " + " ".join([f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    text = (
        f"# {title}\n\n"
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {machine()}\n"
        f"- command: `{command}`\n\n{body}\n" + (f"\n{notes}\n" if notes else "")
    )
    path = ROOT / "benchmarks" / "results" / f"{name}.md"
    path.write_text(text)
    print(text)
    return path


def signed_in_env(env: dict[str, str], data_dir: Path) -> dict[str, str]:
    """``env`` with an admin signed in at the command line of the database in ``data_dir``
    (imports act as a signed-in user); the token is kept beside the data, not in the home
    folder."""
    import subprocess

    env = {**env, "OPENDVI_DATA_DIR": str(data_dir), "XDG_CONFIG_HOME": str(data_dir / "config")}
    password = "benchmark password"
    for command in (["users", "add", "bench", "--role", "admin"], ["login", "bench"]):
        subprocess.run(
            [sys.executable, "-m", "opendvi", *command, "--password-stdin"],
            env=env,
            input=password + "\n",
            text=True,
            capture_output=True,
            check=command[0] == "login",
        )
    return env

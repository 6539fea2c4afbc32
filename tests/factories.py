"""Factories for test inputs: photo files of every awkward kind, and CSV files."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw


def picture(size: tuple[int, int] = (120, 90), seed: int = 0) -> Image.Image:
    """A small synthetic RGB picture; different seeds give different bytes."""
    image = Image.new("RGB", size, (40 + seed * 13 % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        (size[0] // 4, size[1] // 6, 3 * size[0] // 4, 5 * size[1] // 6),
        fill=(220, 180 - seed % 100, 150),
    )
    draw.text((4, 4), str(seed), fill=(0, 0, 0))
    return image


def write_photo(
    path: Path,
    *,
    seed: int = 0,
    size: tuple[int, int] = (120, 90),
    fmt: str = "JPEG",
    **save: object,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    picture(size, seed).save(path, format=fmt, **save)
    return path


def jpeg_bytes(seed: int = 0, **save: object) -> bytes:
    out = io.BytesIO()
    picture(seed=seed).save(out, format="JPEG", **save)
    return out.getvalue()


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    *,
    columns: list[str] | None = None,
    delimiter: str = ",",
) -> Path:
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter=delimiter)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def face_row(
    photo_id: int,
    vector: Any,
    model: tuple[str, str],
    box: tuple[int, int, int, int] = (0, 0, 50, 50),
    quality: float = 0.8,
) -> Any:
    """A usable face, the person of its photo, with a made-up embedding (unit length)."""
    import numpy as np

    from opendvi.db.tables import Face

    vector = np.asarray(vector, dtype=np.float32)
    vector = vector / np.linalg.norm(vector)
    return Face(
        photo_id=photo_id,
        box_x=box[0],
        box_y=box[1],
        box_w=box[2],
        box_h=box[3],
        quality=quality,
        usable=True,
        is_subject=True,
        model_name=model[0],
        model_version=model[1],
        embedding=vector.astype(np.float32).tobytes(),
        embedding_dim=int(vector.size),
    )

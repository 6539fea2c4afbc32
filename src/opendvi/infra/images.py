"""Reading photo files safely: what they are, their pixels, and a copy without metadata.

Photos come from families' phones, scanners and mortuary cameras, so anything arrives:
EXIF-rotated JPEGs, 16-bit TIFFs, CMYK scans, palette PNGs with transparency, animated GIFs,
truncated downloads, and files that are not images at all. Each is either read correctly or
refused with a message that names the file; the size is checked from the header before any
pixel is decoded, so a decompression bomb costs no memory.

A photo is only ever decoded to a bounded size (``decode_bounded``): a JPEG is decoded
directly at a fraction of its size (its draft mode), any other format is reduced as soon as
it is read, so detection and the served copy cost the same whatever the original's size.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from opendvi.errors import PhotoError

__all__ = [
    "ImageInfo",
    "check_header",
    "decode_bounded",
    "decode_rgb",
    "inspect_image",
    "served_copy",
]

ACCEPTED = {"JPEG", "PNG", "TIFF", "WEBP", "GIF", "BMP", "MPO"}
# OpenDVI checks the pixel count itself, from the header, against its own setting
# (OPENDVI_MAX_IMAGE_PIXELS); Pillow's fixed limit would override a larger setting.
Image.MAX_IMAGE_PIXELS = None
# Modes Image.reduce works on; others (16-bit greys, palettes) are converted first.
REDUCIBLE = {"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "I", "F", "La", "RGBa"}
# EXIF orientation to the turn that makes the photo upright (as ImageOps.exif_transpose).
TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    media_type: str
    width: int
    height: int


def _open(data: bytes, *, name: str, max_pixels: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise PhotoError(
            f"{name}: not an image file that OpenDVI can read (JPEG, PNG, TIFF, WebP, GIF, BMP); "
            "check that the file is a photo and not damaged",
            field="photos",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:  # ValueError: a text chunk too large
        raise PhotoError(
            f"{name}: the image is damaged or cut short ({exc}); export or copy it again",
            field="photos",
        ) from None
    if image.format not in ACCEPTED:
        raise PhotoError(
            f"{name}: {image.format} images are not accepted; convert it to JPEG or PNG",
            field="photos",
        )
    if image.width * image.height > max_pixels:
        raise PhotoError(
            f"{name}: {image.width}×{image.height} pixels is above the limit of "
            f"{max_pixels:,} pixels (setting OPENDVI_MAX_IMAGE_PIXELS); resize the photo or "
            "raise the limit",
            field="photos",
        )
    if image.width < 1 or image.height < 1:
        raise PhotoError(f"{name}: the image has no pixels", field="photos")
    return image


def check_header(data: bytes, *, name: str, max_pixels: int) -> ImageInfo:
    """What the photo's header says (format, size), checked against the pixel limit; no
    pixel is decoded, so this costs the same for any photo (a form's upload is checked so,
    and decoded later by the background worker)."""
    image = _open(data, name=name, max_pixels=max_pixels)
    fmt = image.format or ""
    media_type = Image.MIME.get(fmt, "application/octet-stream")
    return ImageInfo(fmt, media_type, image.width, image.height)


def inspect_image(data: bytes, *, name: str, max_pixels: int) -> ImageInfo:
    """Check that ``data`` is a whole, decodable image within the pixel limit."""
    image = _open(data, name=name, max_pixels=max_pixels)
    fmt = image.format or ""
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(
            f"{name}: the image is damaged or cut short ({exc}); export or copy it again",
            field="photos",
        ) from None
    media_type = Image.MIME.get(fmt, "application/octet-stream")
    return ImageInfo(fmt, media_type, image.width, image.height)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in {"I", "I;16", "I;16B", "I;16L", "F"}:
        # 16-bit and float greys: stretch to 8 bits instead of clipping at 255.
        pixels = np.asarray(image, dtype=np.float64)
        low, high = float(pixels.min()), float(pixels.max())
        scaled = (pixels - low) * (255.0 / (high - low)) if high > low else pixels * 0
        return Image.fromarray(np.round(scaled).astype(np.uint8), "L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in {"RGBA", "LA", "PA", "RGBa", "La"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def decode_rgb(data: bytes, *, name: str, max_pixels: int) -> Image.Image:
    """The photo's pixels as 8-bit RGB, upright (EXIF orientation applied), first frame only."""
    image = _open(data, name=name, max_pixels=max_pixels)
    try:
        image.seek(0)
        image = ImageOps.exif_transpose(image) or image
        return _to_rgb(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(
            f"{name}: the image is damaged or cut short ({exc}); export or copy it again",
            field="photos",
        ) from None


def decode_bounded(
    data: bytes, *, name: str, max_pixels: int, max_side: int
) -> tuple[Image.Image, float]:
    """The photo as 8-bit RGB, upright, first frame, its longest side at most ``max_side``;
    and the factor from its coordinates to the photo's own (1.0 when not reduced).

    A JPEG is decoded at the smallest of 1/2, 1/4 or 1/8 of its size that is still larger
    than ``max_side`` (its draft mode); other formats are reduced by whole factors as soon as
    they are read, before any copy is made, so memory and time stay bounded by the pixel
    limit and the work after decoding by ``max_side``.
    """
    image = _open(data, name=name, max_pixels=max_pixels)
    longest = max(image.size)
    try:
        image.seek(0)
        if image.format in {"JPEG", "MPO"} and longest > max_side:
            image.draft("RGB", (max_side, max_side))
        turn = TURNS.get(image.getexif().get(ExifTags.Base.Orientation, 1))
        image.load()
        factor = max(image.size) // max_side
        if factor >= 2 and image.mode in REDUCIBLE:
            image = image.reduce(factor)
        if turn is not None:
            image = image.transpose(turn)
        image = _to_rgb(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(
            f"{name}: the image is damaged or cut short ({exc}); export or copy it again",
            field="photos",
        ) from None
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image, longest / max(image.size)


def served_copy(data: bytes, *, name: str, max_pixels: int, max_side: int) -> bytes:
    """A JPEG of the photo with no metadata at all (no EXIF, GPS, ICC, XMP, text or
    comments): only its pixels are copied, so nothing the original carried can follow."""
    image, _ = decode_bounded(data, name=name, max_pixels=max_pixels, max_side=max_side)
    pixels = Image.frombytes("RGB", image.size, image.tobytes())
    out = io.BytesIO()
    pixels.save(out, format="JPEG", quality=90, optimize=True)
    return out.getvalue()

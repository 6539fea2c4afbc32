"""Reading photo files: every awkward kind is read or refused with the file's name."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from opendvi.errors import PhotoError
from opendvi.infra.images import decode_rgb, inspect_image, served_copy
from tests.factories import jpeg_bytes, picture, png_header_only

LIMIT = 80_000_000


def encoded(image: Image.Image, fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def test_a_truncated_jpeg_is_refused_as_damaged() -> None:
    data = jpeg_bytes()
    with pytest.raises(PhotoError, match=r"cut\.jpg: the image is damaged or cut short"):
        inspect_image(data[: len(data) // 2], name="cut.jpg", max_pixels=LIMIT)


def test_a_text_file_named_jpg_is_refused_as_not_an_image() -> None:
    with pytest.raises(PhotoError, match=r"notes\.jpg: not an image file"):
        inspect_image(b"these are my notes, not a photo", name="notes.jpg", max_pixels=LIMIT)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = png_header_only(60_000, 60_000)  # 3.6 gigapixels declared in 45 bytes
    with pytest.raises(PhotoError, match=r"bomb\.png: .*limit"):
        inspect_image(bomb, name="bomb.png", max_pixels=LIMIT)


def test_the_pixel_limit_is_a_setting() -> None:
    data = encoded(picture((200, 100)), "PNG")
    with pytest.raises(PhotoError, match=r"200×100 pixels is above the limit of 10,000"):
        inspect_image(data, name="big.png", max_pixels=10_000)
    assert inspect_image(data, name="big.png", max_pixels=20_000).width == 200


def test_a_16_bit_grey_image_is_stretched_not_clipped() -> None:
    image = Image.new("I;16", (64, 32))
    image.putdata([i * 1000 for i in range(64)] * 32)
    rgb = decode_rgb(encoded(image, "PNG"), name="x.png", max_pixels=LIMIT)
    assert rgb.mode == "RGB"
    values = [rgb.getpixel((x, 0))[0] for x in range(64)]
    assert values[0] == 0 and values[-1] == 255 and len(set(values)) > 50


def test_cmyk_palette_alpha_and_grey_images_become_rgb() -> None:
    base = picture()
    variants = {
        "cmyk.jpg": encoded(base.convert("CMYK"), "JPEG"),
        "palette.png": encoded(base.convert("P"), "PNG"),
        "alpha.png": encoded(base.convert("RGBA"), "PNG"),
        "grey.tif": encoded(base.convert("L"), "TIFF"),
        "la.png": encoded(base.convert("LA"), "PNG"),
    }
    transparent = base.convert("P")
    variants["transparent.png"] = encoded(transparent, "PNG", transparency=0)
    for name, data in variants.items():
        rgb = decode_rgb(data, name=name, max_pixels=LIMIT)
        assert rgb.mode == "RGB" and rgb.size == base.size, name


def test_an_animated_gif_gives_its_first_frame() -> None:
    frames = [picture(seed=1).convert("P"), picture(seed=99).convert("P")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    rgb = decode_rgb(out.getvalue(), name="a.gif", max_pixels=LIMIT)
    first = frames[0].convert("RGB")
    assert rgb.getpixel((60, 45)) == first.getpixel((60, 45))


def _with_exif(orientation: int, *, gps: bool) -> bytes:
    image = picture((120, 60))
    exif = Image.Exif()
    exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}
    return encoded(image, "JPEG", exif=exif.tobytes())


def test_exif_orientation_is_applied_when_decoding() -> None:
    rgb = decode_rgb(_with_exif(6, gps=False), name="phone.jpg", max_pixels=LIMIT)
    assert rgb.size == (60, 120)


def test_the_served_copy_has_no_metadata_and_is_upright() -> None:
    original = _with_exif(6, gps=True)
    assert b"Exif" in original
    copy = served_copy(original, name="phone.jpg", max_pixels=LIMIT, max_side=2048)
    served = Image.open(io.BytesIO(copy))
    assert served.size == (60, 120)
    assert not served.getexif() and "exif" not in served.info and "icc_profile" not in served.info
    assert b"Exif" not in copy


def test_the_served_copy_is_shrunk_to_the_longest_side_setting() -> None:
    copy = served_copy(
        encoded(picture((800, 400)), "PNG"), name="x.png", max_pixels=LIMIT, max_side=200
    )
    assert Image.open(io.BytesIO(copy)).size == (200, 100)


def test_an_unaccepted_format_is_refused_with_what_to_do(tmp_path: Path) -> None:
    data = encoded(picture(), "PPM")
    with pytest.raises(PhotoError, match="convert it to JPEG or PNG"):
        inspect_image(data, name="scan.ppm", max_pixels=LIMIT)


def _markers(jpeg: bytes) -> list[int]:
    """The JPEG segment markers before the image data: APPn (0xE0-0xEF), COM (0xFE), ..."""
    found, at = [], 2
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF:
        marker = jpeg[at + 1]
        if marker == 0xDA:  # start of scan: the pixels follow
            break
        found.append(marker)
        at += 2 + int.from_bytes(jpeg[at + 2 : at + 4], "big")
    return found


def test_the_served_copy_keeps_no_comment_text_or_xmp() -> None:
    """Issue 13, finding 12: a JPEG's comment survived in the 'metadata-free' copy."""
    image = picture(size=(80, 60))
    commented = encoded(image, "JPEG", comment=b"Kovalenko, grave 7")
    png = PngImagePlugin.PngInfo()
    png.add_text("Author", "Kovalenko, grave 7")
    png.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>grave 7</x:xmpmeta>")
    texted = encoded(image, "PNG", pnginfo=png)
    for original in (commented, texted):
        assert b"grave 7" in original
        served = served_copy(original, name="p", max_pixels=LIMIT, max_side=2048)
        assert b"grave 7" not in served and b"Kovalenko" not in served
        # Only the JFIF header (APP0) and the tables that describe the pixels remain.
        assert [m for m in _markers(served) if m == 0xFE or 0xE1 <= m <= 0xEF] == []

import io

import pytest
from PIL import Image

from snapshots import images


def jpeg_bytes(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def test_inspect_reads_dimensions():
    info = images.inspect_jpeg(jpeg_bytes(1920, 1080))
    assert (info.width, info.height, info.content_type) == (1920, 1080, "image/jpeg")


def test_png_is_not_accepted():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="PNG")
    with pytest.raises(images.InvalidImage, match="not a JPEG"):
        images.inspect_jpeg(out.getvalue())


def test_truncated_jpeg_is_refused():
    data = jpeg_bytes(640, 360)
    with pytest.raises(images.InvalidImage):
        images.inspect_jpeg(data[:200])


def test_garbage_is_refused():
    with pytest.raises(images.InvalidImage, match="not a readable image"):
        images.inspect_jpeg(b"\x00" * 100)


def test_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(images.InvalidImage, match="too many pixels"):
        images.inspect_jpeg(jpeg_bytes(100, 100))


def test_resize_keeps_aspect_ratio():
    thumbnail = Image.open(io.BytesIO(images.resize_jpeg(jpeg_bytes(1920, 1080), max_width_px=320)))
    assert thumbnail.size == (320, 180)
    assert thumbnail.format == "JPEG"


def test_resize_never_upscales():
    thumbnail = Image.open(io.BytesIO(images.resize_jpeg(jpeg_bytes(200, 100), max_width_px=320)))
    assert thumbnail.size == (200, 100)


def test_resize_to_the_width_or_wider_returns_the_same_bytes():
    data = jpeg_bytes(200, 100)
    assert images.resize_jpeg(data, max_width_px=200) == data
    assert images.resize_jpeg(data, max_width_px=4096) == data


def test_jpeg_cut_off_mid_scan_is_refused():
    data = jpeg_bytes(1920, 1080)
    with pytest.raises(images.InvalidImage, match="truncated"):
        images.inspect_jpeg(data[: len(data) * 2 // 3])


def test_resize_of_a_cut_off_jpeg_is_invalid_image():
    data = jpeg_bytes(1920, 1080)
    with pytest.raises(images.InvalidImage):
        images.resize_jpeg(data[: len(data) * 2 // 3], max_width_px=320)

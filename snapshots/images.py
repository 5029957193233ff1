"""Pillow work on captured frames: validation, thumbnails and downscaling."""

import io
import warnings
from dataclasses import dataclass

from PIL import Image

JPEG_QUALITY = 85


class InvalidImage(Exception):
    """The bytes are not an image we accept."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    content_type: str


def _open(data: bytes) -> Image.Image:
    # A decompression bomb is an error, not a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            image.size  # noqa: B018 - reading the header triggers the bomb check
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise InvalidImage("The image has too many pixels.") from None
        except (OSError, ValueError, SyntaxError):
            raise InvalidImage("The data is not a readable image.") from None
    return image


def inspect_jpeg(data: bytes) -> ImageInfo:
    """Check that data is a complete JPEG and read its dimensions.

    The whole scan is decoded, at 1/8 scale in draft mode (about a millisecond for
    1080p): Pillow's verify() alone does not notice a JPEG cut off mid-scan.
    """
    image = _open(data)
    if image.format != "JPEG":
        raise InvalidImage("The image is not a JPEG.")
    width, height = image.size
    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
    _load(image)
    return ImageInfo(width=width, height=height, content_type="image/jpeg")


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise InvalidImage("The JPEG is truncated or corrupt.") from None


def resize_jpeg(data: bytes, *, max_width_px: int) -> bytes:
    """A JPEG at most max_width_px wide, keeping the aspect ratio.

    JPEG draft mode lets the decoder scale by 1/2, 1/4 or 1/8 while decoding,
    which makes a 1080p thumbnail a matter of milliseconds.
    """
    image = _open(data)
    if image.width <= max_width_px:
        if image.format == "JPEG":
            # Never upscaled, and re-encoding at the same size would only cost time and quality.
            return data
        target = image.size
    else:
        target = (max_width_px, max(1, round(image.height * max_width_px / image.width)))
    image.draft("RGB", target)
    _load(image)
    image = image.convert("RGB")
    if image.size != target:
        image = image.resize(target, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=False)
    return out.getvalue()

"""The timelapse encoder: stored JPEGs in, an H.264 MP4 out, through PyAV (the ffmpeg
libraries the keeper already uses) in this process. Frames are decoded one at a time and
written as they are encoded, so memory stays flat however many frames there are."""

import io
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError


class TimelapseError(Exception):
    pass


def _even(pixels: float) -> int:
    # yuv420p halves both dimensions for the colour planes: H.264 needs them even.
    return max(2, int(pixels) // 2 * 2)


def _decoded(jpeg: bytes, size: tuple[int, int] | None) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    if size is not None:
        image.draft("RGB", size)  # decode a JPEG at a reduced scale when that is enough: faster
    return image.convert("RGB")


def _video_stream(
    container: av.container.OutputContainer, first: Image.Image, fps: int, width_px: int | None
) -> av.video.stream.VideoStream:
    width = min(width_px or first.width, first.width)  # never upscaled
    stream = container.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
    stream.width, stream.height = _even(width), _even(width * first.height / first.width)
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = Fraction(1, fps)
    return stream


def encode_timelapse(frames: Iterable[bytes], *, path: Path, fps: int, width_px: int | None) -> int:
    """Write frames to path as an MP4 at fps frames per second, width_px wide (None: as the
    first frame), every frame scaled to the first frame's size; the number of frames written.
    A frame that does not decode is skipped; no frame at all is a TimelapseError."""
    written = 0
    with av.open(str(path), "w", format="mp4", container_options={"movflags": "+faststart"}) as container:
        stream = None
        for jpeg in frames:
            try:
                image = _decoded(jpeg, (stream.width, stream.height) if stream is not None else None)
            except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
                continue
            if stream is None:
                stream = _video_stream(container, image, fps, width_px)
            frame = av.VideoFrame.from_image(image).reformat(width=stream.width, height=stream.height, format="yuv420p")
            frame.pts = written
            container.mux(stream.encode(frame))
            written += 1
        if stream is None:
            raise TimelapseError("None of the snapshots in the range could be decoded.")
        container.mux(stream.encode(None))
    return written

"""The one module that runs ffmpeg: grab a single JPEG frame from an RTSP stream.

It builds an argv list (never a shell string), pins the input to the RTSP
demuxer over TCP, bounds every wait and turns every failure into CaptureError
with a message free of credentials.
"""

import functools
import logging
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings

logger = logging.getLogger(__name__)

# Everything RTSP needs (rtsps adds tls; rtp/udp for the transport) and nothing else,
# so a crafted URL cannot make ffmpeg read files or fetch other URLs.
PROTOCOL_WHITELIST = "rtsp,rtsps,tcp,tls,udp,rtp"
# How many bytes of the stream ffmpeg may read before choosing codec parameters;
# the default (5 MB / 5 s) is what made the first VAS take seconds per snapshot. The
# SDP already names the codec and its parameters; probing on only guesses the frame
# rate: 32 KB of it cost 0.08 s on a 3 Mbit/s camera and 0.2 s on a 600 kbit/s one.
PROBE_SIZE_BYTES = 4096
STDERR_KEEP_CHARS = 2000


class CaptureError(Exception):
    """A capture failed; `code` is stable for clients, the message is for humans."""

    def __init__(self, message: str, *, code: str, stderr: str = ""):
        super().__init__(message)
        self.code = code
        self.stderr = stderr


@dataclass(frozen=True)
class Ffmpeg:
    path: str
    version: str
    major: int


def _ffmpeg_candidates() -> list[str]:
    candidates = [settings.FFMPEG_BINARY] if settings.FFMPEG_BINARY else []
    on_path = shutil.which("ffmpeg")
    if on_path:
        candidates.append(on_path)
    try:
        import imageio_ffmpeg

        candidates.append(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        pass
    return candidates


@functools.lru_cache(maxsize=8)
def _probe(path: str) -> Ffmpeg | None:
    try:
        # An argv list with a binary path from settings or PATH; never a shell.
        result = subprocess.run(  # noqa: S603
            [path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"ffmpeg version (n?(\d+)\S*)", result.stdout)
    if result.returncode != 0 or not match:
        return None
    return Ffmpeg(path=path, version=match.group(1), major=int(match.group(2)))


def find_ffmpeg() -> Ffmpeg:
    """The setting first, then `ffmpeg` on PATH, then the imageio-ffmpeg wheel's binary."""
    if settings.FFMPEG_BINARY:
        found = _probe(settings.FFMPEG_BINARY)
        if found is None:
            raise CaptureError("The configured ffmpeg binary cannot be run.", code="ffmpeg_unavailable")
        return found
    for candidate in _ffmpeg_candidates():
        found = _probe(candidate)
        if found is not None:
            return found
    raise CaptureError("ffmpeg is not installed.", code="ffmpeg_unavailable")


def ffmpeg_status() -> dict[str, object]:
    try:
        ffmpeg = find_ffmpeg()
    except CaptureError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "path": ffmpeg.path, "version": ffmpeg.version}


def url_with_credentials(url: str, username: str, password: str) -> str:
    """The URL ffmpeg connects to; the only place credentials meet the URL."""
    if not username:
        return url
    parts = urlsplit(url)
    userinfo = quote(username, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def redact(text: str, *secrets: str) -> str:
    """Remove secrets (raw and URL-encoded) and any URL userinfo from text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return re.sub(r"(rtsps?://)[^/@\s]*@", r"\1***@", text)


def build_argv(ffmpeg: Ffmpeg, url: str, *, timeout_s: float, one_frame: bool = True) -> list[str]:
    """ffmpeg's argv: one JPEG on stdout, or (one_frame=False) a JPEG per keyframe until stopped."""
    timeout_option = "-timeout" if ffmpeg.major >= 5 else "-stimeout"
    frames = ["-frames:v", "1"] if one_frame else []
    return [
        ffmpeg.path,
        "-nostdin",
        "-hide_banner",
        "-loglevel", "error",
        "-protocol_whitelist", PROTOCOL_WHITELIST,
        "-rtsp_transport", "tcp",
        timeout_option, str(int(timeout_s * 1_000_000)),
        "-probesize", str(PROBE_SIZE_BYTES),
        "-analyzeduration", "0",
        # Decode keyframes only: a frame decoded before the first keyframe would be
        # grey or smeared, and cameras send no keyframe when a client joins.
        "-skip_frame", "nokey",
        "-f", "rtsp",
        "-i", url,
        "-map", "0:v:0",
        "-an", "-sn", "-dn",
        *frames,
        "-q:v", "2",
        "-f", "image2pipe",
        "-c:v", "mjpeg",
        "pipe:1",
    ]  # fmt: skip


# ffmpeg's stderr phrases, most specific first, and what they mean to a user.
ERROR_PATTERNS = [
    ("401 Unauthorized", "auth_failed", "The camera rejected the username or password (authentication failed)."),
    ("403 Forbidden", "auth_failed", "The camera refused access (authentication failed)."),
    ("Connection refused", "unreachable", "The camera refused the connection; nothing is listening there."),
    ("No route to host", "unreachable", "The camera cannot be reached (no route to host)."),
    ("Network is unreachable", "unreachable", "The camera cannot be reached (network unreachable)."),
    ("Name or service not known", "unreachable", "The camera's host name cannot be resolved."),
    ("Temporary failure in name resolution", "unreachable", "The camera's host name cannot be resolved."),
    ("timed out", "timeout", "The camera did not answer in time."),
    ("404 Not Found", "stream_not_found", "The camera has no stream at that path."),
    ("matches no streams", "not_video", "The camera's stream has no video."),
    ("does not contain any stream", "not_video", "The camera's stream has no video."),
]


def classify_failure(stderr: str, *, waited_full_timeout: bool) -> CaptureError:
    for phrase, code, message in ERROR_PATTERNS:
        if phrase in stderr:
            return CaptureError(message, code=code, stderr=stderr)
    if waited_full_timeout:
        # ffmpeg reports its socket timeout only as "Invalid data found when processing input".
        return CaptureError("The camera did not answer in time.", code="timeout", stderr=stderr)
    return CaptureError("The camera did not deliver a video frame.", code="capture_failed", stderr=stderr)


def grab_jpeg(url: str, *, username: str = "", password: str = "", timeout_s: float, max_bytes: int) -> bytes:
    """Run ffmpeg once and return one JPEG frame, or raise CaptureError."""
    ffmpeg = find_ffmpeg()
    argv = build_argv(ffmpeg, url_with_credentials(url, username, password), timeout_s=timeout_s)
    started = time.monotonic()
    try:
        process = subprocess.Popen(  # noqa: S603 - an argv list, never a shell
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError:
        raise CaptureError("ffmpeg cannot be started.", code="ffmpeg_unavailable") from None
    # The socket timeout covers a silent camera; the wall-clock limit also covers one
    # that trickles bytes forever. A little margin lets ffmpeg report its own timeout.
    try:
        stdout, stderr_bytes = process.communicate(timeout=timeout_s + 2)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise CaptureError("The camera did not deliver a frame in time.", code="timeout") from None
    stderr = redact(stderr_bytes.decode(errors="replace"), username, password)[-STDERR_KEEP_CHARS:]
    if process.returncode != 0 or not stdout:
        error = classify_failure(stderr, waited_full_timeout=time.monotonic() - started >= timeout_s)
        logger.info("capture failed: %s (%s)", error.code, stderr.strip().splitlines()[-1:] or "")
        raise error
    if len(stdout) > max_bytes:
        raise CaptureError(f"The camera's image is larger than {max_bytes} bytes.", code="image_too_large")
    return stdout

"""The one module that starts ffmpeg: one JPEG from an RTSP stream, or a JPEG per keyframe.

It builds an argv list (never a shell string), refuses anything but an rtsp:// or rtsps:// URL,
pins the input to the RTSP demuxer over TCP, bounds every wait and turns every failure into
CaptureError (snapshots.errors) with a message free of credentials.

ffmpeg is the system's: VAS_FFMPEG_BINARY when set, else `ffmpeg` on PATH (Debian's package,
installed by scripts/install-system-deps.sh and by the Dockerfile).
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

from snapshots.errors import CaptureError, failure_from_stderr

logger = logging.getLogger(__name__)

RTSP_SCHEMES = ("rtsp", "rtsps")
# Everything RTSP needs (rtsps adds tls; rtp/udp for the transport) and nothing else,
# so a crafted URL cannot make ffmpeg read files or fetch other URLs.
PROTOCOL_WHITELIST = "rtsp,rtsps,tcp,tls,udp,rtp"
# How many bytes of the stream ffmpeg may read before choosing codec parameters;
# the default (5 MB / 5 s) is what made the first VAS take seconds per snapshot. The
# SDP already names the codec and its parameters; probing on only guesses the frame
# rate: 32 KB of it cost 0.08 s on a 3 Mbit/s camera and 0.2 s on a 600 kbit/s one.
PROBE_SIZE_BYTES = 4096
STDERR_KEEP_CHARS = 2000
# Beyond the socket timeout, how long ffmpeg may take to report its own timeout before it is killed.
KILL_MARGIN_S = 2


@dataclass(frozen=True)
class Ffmpeg:
    path: str
    version: str
    major: int


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
    """VAS_FFMPEG_BINARY when set, else `ffmpeg` on PATH."""
    path = settings.FFMPEG_BINARY or shutil.which("ffmpeg")
    found = _probe(path) if path else None
    if found is None:
        where = "The configured ffmpeg (VAS_FFMPEG_BINARY)" if settings.FFMPEG_BINARY else "ffmpeg on PATH"
        raise CaptureError(f"{where} is missing or cannot be run.", code="ffmpeg_unavailable")
    return found


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


def _check_url(url: str) -> None:
    # A row written straight into the database skips the model's validator; ffmpeg's
    # protocol whitelist is the second wall, this the first.
    parts = urlsplit(url)
    if parts.scheme.lower() not in RTSP_SCHEMES or not parts.hostname:
        raise CaptureError(code="invalid_url")


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


def classify_failure(stderr: str, *, waited_full_timeout: bool) -> CaptureError:
    named = failure_from_stderr(stderr)
    if named is not None:
        failure, phrase = named
        return CaptureError(f"{failure.message.rstrip('.')} ({phrase}).", code=failure.code, stderr=stderr)
    if waited_full_timeout:
        # ffmpeg reports its socket timeout only as "Invalid data found when processing input".
        return CaptureError(code="timeout", stderr=stderr)
    return CaptureError(code="capture_failed", stderr=stderr)


def _start(url: str, *, username: str, password: str, timeout_s: float, one_frame: bool) -> subprocess.Popen[bytes]:
    _check_url(url)
    argv = build_argv(
        find_ffmpeg(), url_with_credentials(url, username, password), timeout_s=timeout_s, one_frame=one_frame
    )
    stderr = subprocess.PIPE if one_frame else subprocess.DEVNULL
    try:
        return subprocess.Popen(  # noqa: S603 - an argv list, never a shell
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr
        )
    except OSError:
        raise CaptureError("ffmpeg cannot be started.", code="ffmpeg_unavailable") from None


def grab_jpeg(url: str, *, username: str = "", password: str = "", timeout_s: float, max_bytes: int) -> bytes:
    """Run ffmpeg once and return one JPEG frame, or raise CaptureError."""
    started = time.monotonic()
    process = _start(url, username=username, password=password, timeout_s=timeout_s, one_frame=True)
    # The socket timeout covers a silent camera; the wall-clock limit also covers one
    # that trickles bytes forever.
    try:
        stdout, stderr_bytes = process.communicate(timeout=timeout_s + KILL_MARGIN_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise CaptureError(code="timeout") from None
    stderr = redact(stderr_bytes.decode(errors="replace"), username, password)[-STDERR_KEEP_CHARS:]
    if process.returncode != 0 or not stdout:
        error = classify_failure(stderr, waited_full_timeout=time.monotonic() - started >= timeout_s)
        logger.info("capture failed: %s (%s)", error.code, stderr.strip().splitlines()[-1:] or "")
        raise error
    if len(stdout) > max_bytes:
        raise CaptureError(f"The camera's image is larger than {max_bytes} bytes.", code="image_too_large")
    return stdout


def start_keyframe_stream(
    url: str, *, username: str = "", password: str = "", timeout_s: float
) -> subprocess.Popen[bytes]:
    """Start ffmpeg writing a JPEG per keyframe of the stream to its stdout, until it is killed."""
    return _start(url, username=username, password=password, timeout_s=timeout_s, one_frame=False)

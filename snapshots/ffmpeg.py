"""The one module that starts ffmpeg: one JPEG from an RTSP stream, or a JPEG per keyframe.

It builds an argv list (never a shell string), refuses anything but an rtsp:// or rtsps:// URL,
pins the input to the RTSP demuxer over TCP, bounds every wait and turns every failure into
CaptureError (snapshots.errors) with a message free of credentials.

ffmpeg is the system's: VAS_FFMPEG_BINARY when set, else `ffmpeg` on PATH (Debian's package,
installed by scripts/install-system-deps.sh and by the Dockerfile).
"""

import functools
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from devices.validators import validate_rtsp_url
from snapshots.errors import CaptureError, failure_from_stderr

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
# Beyond the socket timeout, how long ffmpeg may take to report its own timeout before it is killed.
KILL_MARGIN_S = 2
# What the decoder says of a damaged frame (with -err_detect explode -xerror).
DECODE_ERROR_PHRASES = ("error while decoding", "corrupt decoded frame", "Invalid NAL unit")
# A damaged keyframe is tried again from the next one, once, while this much of the timeout is left.
GRAB_ATTEMPTS = 2
# How long a stopped ffmpeg may take to close its session before it is killed.
STOP_GRACE_S = 0.5
RETRY_MIN_S = 1.0


@dataclass(frozen=True)
class Ffmpeg:
    path: str
    version: str
    major: int


def _probe(path: str) -> Ffmpeg | None:
    """The binary at path, if it runs. Probed again whenever the file there changes (installed,
    upgraded or removed while the service runs), never cached as missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _probe_file(path, stat.st_ino, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _probe_file(path: str, inode: int, mtime_ns: int) -> Ffmpeg | None:
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
    """The URL ffmpeg connects to; the only place credentials meet the URL. The scheme is made
    lower case: URL schemes are case-insensitive, ffmpeg's protocol names are not."""
    parts = urlsplit(url)
    parts = parts._replace(scheme=parts.scheme.lower())
    if username:
        userinfo = quote(username, safe="")
        if password:
            userinfo += ":" + quote(password, safe="")
        parts = parts._replace(netloc=f"{userinfo}@{parts.netloc}")
    return urlunsplit(parts)


def redact(text: str, *secrets: str) -> str:
    """Remove secrets (raw and URL-encoded) and any URL userinfo from text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return re.sub(r"(rtsps?://)[^/@\s]*@", r"\1***@", text)


def check_url(url: str) -> None:
    # A row written straight into the database skips the model's validator, so it runs again
    # here; ffmpeg's protocol whitelist is the second wall, this the first.
    try:
        validate_rtsp_url(url)
    except ValidationError as invalid:
        raise CaptureError(f"The camera's URL cannot be used: {invalid.messages[0]}", code="invalid_url") from None


def _input_argv(ffmpeg: Ffmpeg, url: str, *, timeout_s: float) -> list[str]:
    timeout_option = "-timeout" if ffmpeg.major >= 5 else "-stimeout"
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
        "-f", "rtsp",
        "-i", url,
        "-map", "0:v:0",
        "-an", "-sn", "-dn",
    ]  # fmt: skip


def build_reader_argv(ffmpeg: Ffmpeg, url: str, *, timeout_s: float) -> list[str]:
    """A one-shot grab's first process: the camera's video packets, undecoded, from the first
    keyframe on (stream copy drops what comes before it), as NUT on stdout."""
    # Cameras' timestamps for B-frames (RTP carries presentation times only) are often not in
    # decoding order, which NUT refuses; the decoder needs the order alone, so each packet is
    # numbered instead.
    return [
        *_input_argv(ffmpeg, url, timeout_s=timeout_s),
        "-c:v", "copy",
        "-bsf:v", "setts=pts=N:dts=N",
        "-f", "nut",
        "pipe:1",
    ]  # fmt: skip


def build_decoder_argv(ffmpeg: Ffmpeg) -> list[str]:
    """A one-shot grab's second process: decode the first frame of the reader's stream, which is
    the keyframe, and write it as one JPEG. It decodes every frame after the keyframe as well,
    so a decoder that reorders B-frames hands the keyframe out after a few frames (tens of ms),
    not after further keyframes as decoding keyframes only would (4 s at a 2 s interval).
    A damaged or cut-off frame is an error, never a grey or smeared picture."""
    return [
        ffmpeg.path,
        "-nostdin",
        "-hide_banner",
        "-loglevel", "error",
        "-xerror",
        "-err_detect", "explode",
        # NUT's header already holds the codec parameters; probing on would wait for more frames.
        "-probesize", "32",
        "-analyzeduration", "0",
        "-f", "nut",
        "-i", "pipe:0",
        "-frames:v", "1",
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


def _die_with_caller(argv: list[str]) -> list[str]:
    """argv run so that the kernel kills it when the thread that started it dies, even by
    kill -9 of the whole web or worker process: no ffmpeg outlives its grab. setpriv (util-linux,
    in every Debian) sets the parent-death signal; Python's preexec_fn is unsafe with threads."""
    setpriv = _setpriv()
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


@functools.cache
def _setpriv() -> str | None:
    return shutil.which("setpriv")


def _popen(argv: list[str], *, stdin: int | IO[bytes], stderr: int) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr)  # noqa: S603 - argv, no shell
    except OSError:
        raise CaptureError("ffmpeg cannot be started.", code="ffmpeg_unavailable") from None


def _stop(process: subprocess.Popen[bytes]) -> bytes:
    """Stop the process if it still runs, and return its stderr. SIGTERM first, so a reader
    closes its RTSP session (TEARDOWN) instead of leaving it to the camera's session timeout."""
    if process.poll() is None:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=STOP_GRACE_S)
            return stderr or b""
        except subprocess.TimeoutExpired:
            process.kill()
    _, stderr = process.communicate()
    return stderr or b""


def grab_jpeg(url: str, *, username: str = "", password: str = "", timeout_s: float, max_bytes: int) -> bytes:
    """Return one JPEG of the camera's first keyframe, or raise CaptureError.

    Two processes: a reader that copies the stream's packets from the first keyframe on, and a
    decoder that turns the first of them into a JPEG (see build_decoder_argv for why). A keyframe
    that arrives damaged while the camera goes on sending is tried again from the next one, as
    long as the timeout leaves room.
    """
    check_url(url)
    binary = find_ffmpeg()
    deadline = time.monotonic() + timeout_s
    damaged: CaptureError | None = None
    for _attempt in range(GRAB_ATTEMPTS):
        remaining_s = deadline - time.monotonic()
        try:
            jpeg = _grab_once(binary, url, username=username, password=password, timeout_s=remaining_s)
        except _DamagedFrame as failure:
            damaged = failure.error
            if deadline - time.monotonic() < RETRY_MIN_S:
                break
            continue
        except CaptureError as error:
            # A retry that ran out of time says nothing new: the camera sent a damaged frame
            # (and is not offline).
            if damaged is not None and error.code in ("timeout", "capture_failed"):
                raise damaged from None
            raise
        if len(jpeg) > max_bytes:
            raise CaptureError(f"The camera's image is larger than {max_bytes} bytes.", code="image_too_large")
        return jpeg
    assert damaged is not None  # noqa: S101 - every attempt ended damaged
    raise damaged


class _DamagedFrame(Exception):
    def __init__(self, error: CaptureError):
        self.error = error


def _grab_once(binary: Ffmpeg, url: str, *, username: str, password: str, timeout_s: float) -> bytes:
    started = time.monotonic()
    source = url_with_credentials(url, username, password)
    reader_argv = build_reader_argv(binary, source, timeout_s=timeout_s)
    reader = _popen(_die_with_caller(reader_argv), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert reader.stdout is not None  # noqa: S101 - set by PIPE
    try:
        decoder = _popen(_die_with_caller(build_decoder_argv(binary)), stdin=reader.stdout, stderr=subprocess.PIPE)
    except CaptureError:
        _stop(reader)
        raise
    reader.stdout.close()  # the decoder holds it now; the reader sees a closed pipe when the decoder is done
    # The socket timeout covers a silent camera; the wall-clock limit also covers one
    # that trickles bytes forever.
    try:
        jpeg, decoder_stderr = decoder.communicate(timeout=timeout_s + KILL_MARGIN_S)
    except subprocess.TimeoutExpired:
        _stop(decoder)
        _stop(reader)
        raise CaptureError(code="timeout") from None
    if decoder.returncode == 0 and jpeg:
        # The reader closes its session in the background: the answer need not wait for it.
        threading.Thread(target=_stop, args=(reader,), daemon=True, name="ffmpeg-reader-stop").start()
        return jpeg
    camera_still_sending = reader.poll() is None
    reader_stderr = _stop(reader)
    error = _failure(reader_stderr, decoder_stderr, secrets=(username, password), started=started, timeout_s=timeout_s)
    if camera_still_sending and error.code in ("invalid_image", "capture_failed"):
        raise _DamagedFrame(error)
    raise error


def _failure(
    reader_stderr: bytes, decoder_stderr: bytes, *, secrets: tuple[str, str], started: float, timeout_s: float
) -> CaptureError:
    """What went wrong: the camera, as the reader tells it; else a frame the decoder could not decode."""
    # Classified before redaction (a password such as "401" must not hide "401 Unauthorized");
    # only the redacted text is kept and logged.
    raw_reader_text = reader_stderr.decode(errors="replace")
    reader_text = redact(raw_reader_text, *secrets)[-STDERR_KEEP_CHARS:]
    decoder_text = decoder_stderr.decode(errors="replace")[-STDERR_KEEP_CHARS:]
    error = classify_failure(raw_reader_text, waited_full_timeout=time.monotonic() - started >= timeout_s)
    error.stderr = reader_text
    if error.code == "capture_failed" and any(phrase in decoder_text for phrase in DECODE_ERROR_PHRASES):
        message = "The camera's frame could not be decoded (damaged or cut off)."
        error = CaptureError(message, code="invalid_image", stderr=decoder_text)
    last_lines = [text.strip().splitlines()[-1] for text in (reader_text, decoder_text) if text.strip()]
    logger.warning("capture failed: %s (%s)", error.code, " / ".join(last_lines))
    return error

"""Every RTSP connection the product makes, in this process, with PyAV (FFmpeg's libraries).

One-shot grabs (grab_jpeg) and the stream keeper's sessions (capture.sessions) both open
cameras through open_stream. No ffmpeg process is started, so a camera password never
appears in any process's argv and a process killed with `kill -9` leaves nothing behind.

Before a stream is opened its URL is checked again (a row written straight into the database
skipped the model's validator), the input format is pinned to RTSP over TCP and FFmpeg's
protocol whitelist allows RTSP's own protocols only, never a file or http. Every failure is a
CaptureError (capture.errors) whose message holds no credential. An rtsps:// camera is
reached through TlsRelay, which checks its certificate with Python's ssl first.
"""

import contextlib
import io
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import cast
from urllib.parse import quote, urlsplit, urlunsplit

import av
from av.container import InputContainer
from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image

from capture.addresses import DEFAULT_PORTS, validate_rtsp_url
from capture.errors import CaptureError, failure_from_text

logger = logging.getLogger(__name__)

# Everything RTSP needs (rtsps adds tls; rtp/udp for the transport) and nothing else,
# so a crafted URL cannot make FFmpeg read files or fetch other URLs.
PROTOCOL_WHITELIST = "rtsp,rtsps,tcp,tls,udp,rtp"
# How many bytes of the stream FFmpeg may read before choosing codec parameters: its least. The
# SDP already names the codec and its parameters; probing on (5 MB / 5 s by default, what made the
# first VAS take seconds per snapshot) only guesses the frame rate. Even 4096 bytes cost 350 ms
# on a stream of small frames (a still scene between keyframes), measured on the test camera's
# /on-request; 32 opens every path in 50-100 ms.
PROBE_SIZE_BYTES = 32
JPEG_QUALITY = 90
# How long past its timeout a one-shot grab may take to give up (FFmpeg notices the
# interrupt within a tenth of a second).
GIVE_UP_MARGIN_S = 0.5
# How early FFmpeg's timer may fire before a deadline.
TIMER_SLACK_S = 0.1


# What cameras send; health reports whether FFmpeg's libraries (PyAV's) decode them.
CAMERA_DECODERS = ("h264", "hevc")


def library_status() -> dict[str, object]:
    """FFmpeg's libraries as PyAV has them, and whether they decode what cameras send."""
    missing = []
    for name in CAMERA_DECODERS:
        try:
            av.Codec(name, "r")
        except av.codec.codec.UnknownCodecError:
            missing.append(name)
    found: dict[str, object] = {"ok": not missing, "version": av.ffmpeg_version_info, "pyav": av.__version__}
    if missing:
        found["error"] = f"FFmpeg's libraries lack the decoders {', '.join(missing)}."
    return found


def url_with_credentials(url: str, username: str, password: str) -> str:
    """The URL FFmpeg connects to; the only place credentials meet the URL. The scheme is made
    lower case: URL schemes are case-insensitive, FFmpeg's protocol names are not."""
    parts = urlsplit(url)
    parts = parts._replace(scheme=parts.scheme.lower())
    if username:
        userinfo = quote(username, safe="")
        if password:
            userinfo += ":" + quote(password, safe="")
        parts = parts._replace(netloc=f"{userinfo}@{parts.netloc}")
    return urlunsplit(parts)


def check_url(url: str) -> None:
    try:
        validate_rtsp_url(url)
    except ValidationError as invalid:
        raise CaptureError(f"The camera's URL cannot be used: {invalid.messages[0]}", code="invalid_url") from None


def classify_failure(text: str) -> CaptureError:
    """The failure FFmpeg's error text names; capture_failed when it names none."""
    named = failure_from_text(text)
    if named is None:
        return CaptureError(code="capture_failed")
    failure, phrase = named
    return CaptureError(f"{failure.message.rstrip('.')} ({phrase}).", code=failure.code)


def stream_error(exc: BaseException, *, deadline: float | None = None) -> CaptureError:
    """A failed connection as a capture error. Never str(exc): PyAV puts the URL, with the
    camera's credentials, in its exceptions' text; only FFmpeg's own error string is read.
    FFmpeg's RTSP demuxer reports its timeouts as "Invalid data": a failure it does not name
    that comes at the deadline is a timeout."""
    if isinstance(exc, CaptureError):
        return exc
    if isinstance(exc, TimeoutError | av.error.ExitError):
        return CaptureError(code="timeout")
    error = CaptureError(code="capture_failed")
    if isinstance(exc, av.FFmpegError):
        error = classify_failure(exc.strerror or "")
    if error.code == "capture_failed" and deadline is not None and time.monotonic() >= deadline - TIMER_SLACK_S:
        return CaptureError(code="timeout")
    return error


def _tls_connect(host: str, port: int, *, verify: bool, timeout_s: float) -> ssl.SSLSocket:
    """A TLS connection to the camera, its certificate and name checked unless verify is off."""
    context = ssl.create_default_context(cafile=settings.RTSPS_CA_FILE or None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection((host, port), timeout=timeout_s)
    except TimeoutError:
        raise CaptureError(code="timeout") from None
    except OSError as exc:
        raise classify_failure(exc.strerror or "") from None
    try:
        return context.wrap_socket(raw, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        reason = exc.verify_message or "verification failed"
        raise CaptureError(f"The camera's TLS certificate is not trusted ({reason}).", code="tls_untrusted") from None
    except TimeoutError:
        raw.close()
        raise CaptureError(code="timeout") from None
    except OSError:
        raw.close()
        raise CaptureError("The camera's TLS handshake failed.", code="capture_failed") from None


def relay_tls(plain: socket.socket, tls: ssl.SSLSocket, *, edit: Callable[[bytes], bytes] | None = None) -> None:
    """Relay bytes both ways until either side closes; edit, when given, rewrites what comes
    out of the TLS side. One thread for both directions: an SSL socket must not be read and
    written by two threads at once."""
    tls.settimeout(0.05)
    while True:
        try:
            readable, _, _ = select.select([plain, tls], [], [], 1.0)
            if plain in readable:
                data = plain.recv(65536)
                if not data:
                    return
                tls.sendall(data)
            while tls in readable or tls.pending():
                readable = []
                data = tls.recv(65536)
                if not data:
                    return
                plain.sendall(edit(data) if edit else data)
        except (TimeoutError, ssl.SSLWantReadError):
            continue
        except (OSError, ValueError):  # ValueError: the other side was closed meanwhile
            return


class TlsRelay:
    """rtsps:// through a loopback relay. FFmpeg's RTSP client makes its TLS connection without
    taking any option (it cannot be told to verify a certificate), so the product connects
    with Python's ssl, checking the certificate before a byte of RTSP (or a password) is sent,
    and FFmpeg speaks plain RTSP to 127.0.0.1 through this relay. It relays one connection."""

    def __init__(self, camera: ssl.SSLSocket):
        self.camera = camera
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._relay, daemon=True, name="rtsps-relay").start()

    def _relay(self) -> None:
        try:
            self.listener.settimeout(settings.CAPTURE_TIMEOUT_S)
            client, _ = self.listener.accept()
        except OSError:
            self.close()
            return
        self.listener.close()
        with client:
            relay_tls(client, self.camera)
        self.close()

    def close(self) -> None:
        for closable in (self.listener, self.camera):
            with contextlib.suppress(OSError):
                closable.close()


def _through_relay(url: str, *, verify: bool, timeout_s: float) -> tuple[str, TlsRelay | None]:
    """The URL FFmpeg connects to: an rtsps:// camera's is the relay's, on 127.0.0.1."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "rtsps":
        return url, None
    assert parts.hostname is not None  # noqa: S101 - check_url requires a host
    camera = _tls_connect(parts.hostname, parts.port or DEFAULT_PORTS["rtsps"], verify=verify, timeout_s=timeout_s)
    relay = TlsRelay(camera)
    return urlunsplit(parts._replace(scheme="rtsp", netloc=f"127.0.0.1:{relay.port}")), relay


@contextlib.contextmanager
def open_stream(
    url: str, *, username: str, password: str, timeout_s: float, quick: bool, tls_verify: bool = True
) -> Iterator[tuple[InputContainer, av.VideoStream]]:
    """The camera's video stream, open over RTSP/TCP. timeout_s bounds the connection and each
    wait for a packet; a failure is a CaptureError. quick cuts probing short, for a grab that
    needs one keyframe; a session held for long probes as FFmpeg does by default. An rtsps://
    camera's certificate is verified unless tls_verify is off."""
    check_url(url)
    url, relay = _through_relay(url, verify=tls_verify, timeout_s=timeout_s)
    try:
        with _open_container(url, username=username, password=password, timeout_s=timeout_s, quick=quick) as opened:
            yield opened
    finally:
        if relay is not None:
            relay.close()


@contextlib.contextmanager
def _open_container(
    url: str, *, username: str, password: str, timeout_s: float, quick: bool
) -> Iterator[tuple[InputContainer, av.VideoStream]]:
    options = {
        "rtsp_transport": "tcp",
        "allowed_media_types": "video",
        "timeout": str(int(timeout_s * 1_000_000)),
        "protocol_whitelist": PROTOCOL_WHITELIST,
    }
    if quick:
        options |= {"probesize": str(PROBE_SIZE_BYTES), "analyzeduration": "0"}
    source = url_with_credentials(url, username, password)
    # PyAV bounds reads with an interrupt callback that takes the GIL each time FFmpeg polls the
    # socket: fine for one grab, but a keeper's hundreds of sessions would spend a core
    # contending for the GIL (measured: 104 % of a core at 100 cameras). A held session's reads
    # are bounded by FFmpeg's own socket timeout ("timeout" above) instead, in C.
    read_timeout_s = timeout_s if quick else None
    deadline = time.monotonic() + timeout_s
    failure: CaptureError | None = None
    try:
        container = av.open(source, format="rtsp", options=options, timeout=(timeout_s, read_timeout_s))
    except Exception as exc:
        failure = stream_error(exc, deadline=deadline)
    # Raised outside the except block: PyAV's exception names the URL with its credentials
    # and must not travel on as the error's __context__.
    if failure is not None:
        raise failure
    with container:
        if not container.streams.video:
            raise CaptureError(code="not_video")
        yield container, container.streams.video[0]


def decode_keyframe(*, codec: str, extradata: bytes, packet: bytes) -> bytes | None:
    """Decode one keyframe alone into a JPEG, or None when it is damaged (cut off, or parts of
    it lost): a damaged keyframe would decode to a grey or smeared picture. Flushing the decoder
    right after the keyframe hands the picture out at once, even where B-frames would have it
    wait for the frames that follow."""
    context = cast(av.VideoCodecContext, av.CodecContext.create(codec, "r"))
    context.options = {"err_detect": "explode"}
    if extradata:
        context.extradata = extradata
    try:
        pictures = context.decode(av.Packet(packet)) + context.decode(None)
    except av.FFmpegError:
        return None
    if not pictures:
        return None
    output = io.BytesIO()
    picture: Image.Image = pictures[0].to_image()  # type: ignore[no-untyped-call] # PyAV's stub has no types here
    picture.save(output, "JPEG", quality=JPEG_QUALITY)
    return output.getvalue()


def grab_jpeg(
    url: str,
    *,
    username: str = "",
    password: str = "",
    timeout_s: float,
    max_bytes: int,
    tls_verify: bool = True,
    on_playing: Callable[[], object] | None = None,
) -> bytes:
    """The camera's first keyframe that arrives whole, as JPEG; a damaged one is passed over for
    the next, as long as the timeout leaves time. Raises CaptureError. on_playing, when given,
    is called once the stream plays and must return at once (it asks the camera for a keyframe).

    The grab runs in a thread of its own so that the caller gets its answer at the timeout
    even from a camera that trickles bytes (FFmpeg's timeouts bound each wait, not the whole):
    the thread notices it was given up on at its next packet and closes the connection.
    """
    outcome: Future[bytes] = Future()
    given_up = threading.Event()
    deadline = time.monotonic() + timeout_s

    def run() -> None:
        try:
            outcome.set_result(
                _first_whole_keyframe(
                    url,
                    username,
                    password,
                    deadline=deadline,
                    given_up=given_up,
                    tls_verify=tls_verify,
                    on_playing=on_playing,
                )
            )
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=run, daemon=True, name="rtsp-grab").start()
    try:
        jpeg = outcome.result(timeout=timeout_s + GIVE_UP_MARGIN_S)
    except FutureTimeout:
        given_up.set()
        raise CaptureError(code="timeout") from None
    if len(jpeg) > max_bytes:
        raise CaptureError(f"The camera's image is larger than {max_bytes} bytes.", code="image_too_large")
    return jpeg


def _first_whole_keyframe(
    url: str,
    username: str,
    password: str,
    *,
    deadline: float,
    given_up: threading.Event,
    tls_verify: bool,
    on_playing: Callable[[], object] | None,
) -> bytes:
    damaged = False
    failure: CaptureError | None = None
    try:
        timeout_s = deadline - time.monotonic()
        with open_stream(
            url, username=username, password=password, timeout_s=timeout_s, quick=True, tls_verify=tls_verify
        ) as (
            container,
            stream,
        ):
            context = stream.codec_context
            if on_playing is not None:
                on_playing()
            for packet in container.demux(stream):
                if given_up.is_set() or time.monotonic() >= deadline:
                    break
                if packet.is_keyframe and packet.size:
                    extradata = bytes(context.extradata or b"")
                    jpeg = None
                    if not packet.is_corrupt:
                        jpeg = decode_keyframe(codec=context.name, extradata=extradata, packet=bytes(packet))
                    if jpeg is not None:
                        return jpeg
                    damaged = True
    except Exception as exc:
        # A connection that fails after a damaged keyframe is a camera that sends damaged frames.
        if not damaged:
            failure = stream_error(exc, deadline=deadline)
    if failure is not None:
        raise failure  # outside the except block, for the reason open_stream gives
    if damaged:
        raise CaptureError("The camera's keyframe arrived damaged or cut off.", code="invalid_image")
    if time.monotonic() >= deadline or given_up.is_set():
        raise CaptureError(code="timeout")
    raise CaptureError("The camera's stream ended before a keyframe.", code="capture_failed")

"""A camera's own still image over HTTP (its snapshot URL): no keyframe wait, no decode.

Basic and Digest authentication with the camera's username and password (sent only when the
camera asks for them); TLS checked as for rtsps:// cameras (tls_verify, VAS_RTSPS_CA_FILE); no
proxy and no redirect followed; the body bounded in bytes and the whole fetch in time, so a
camera that trickles bytes is cut off at the capture timeout. What the camera sends is checked
by the capture service like any other frame: an HTML or XML "busy" page is invalid_image.
"""

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request

from django.conf import settings

from capture.errors import CaptureError
from vas_project import outbound

READ_CHUNK_BYTES = 64 * 1024


def _opener(
    url: str, *, username: str, password: str, tls_verify: bool, sockets: list[socket.socket]
) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context(cafile=settings.RTSPS_CA_FILE or None)
    if not tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    handlers: list[urllib.request.BaseHandler] = []
    if username or password:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, username, password)
        handlers += [urllib.request.HTTPBasicAuthHandler(passwords), urllib.request.HTTPDigestAuthHandler(passwords)]
    return outbound.opener(*handlers, tls_context=context, on_socket=sockets.append)


def _failure(exc: BaseException) -> CaptureError:
    """What went wrong, in the capture failures' terms; never the URL or the password."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (401, 403):
            return CaptureError(code="auth_failed")
        if 300 <= exc.code < 400:
            return CaptureError(
                f"The camera's snapshot URL answered {exc.code}, a redirect; redirects are not followed.",
                code="still_failed",
            )
        return CaptureError(f"The camera's snapshot URL answered {exc.code}.", code="still_failed")
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return CaptureError(code="tls_untrusted")
    if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
        return CaptureError(code="timeout")
    if isinstance(reason, ConnectionRefusedError | OSError) and not isinstance(exc, http.client.HTTPException):
        return CaptureError(code="unreachable")
    return CaptureError(f"The camera's snapshot URL gave no usable answer ({type(exc).__name__}).", code="still_failed")


def fetch_still(url: str, *, username: str, password: str, timeout_s: float, max_bytes: int, tls_verify: bool) -> bytes:
    """The camera's still image: its bytes as sent (checked by the caller), or CaptureError."""
    deadline = time.monotonic() + timeout_s
    try:
        with (
            outbound.cut_off_after(timeout_s) as sockets,
            _opener(url, username=username, password=password, tls_verify=tls_verify, sockets=sockets).open(
                url, timeout=timeout_s
            ) as response,
        ):
            body = bytearray()
            # read1: whatever has come, so a camera trickling bytes is checked against the deadline.
            while chunk := response.read1(READ_CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    raise CaptureError(code="image_too_large")
                if time.monotonic() > deadline:
                    raise CaptureError(code="timeout")
            if time.monotonic() > deadline:  # cut off by the watchdog
                raise CaptureError(code="timeout")
            return bytes(body)
    except CaptureError:
        raise
    except Exception as exc:  # noqa: BLE001 - every way a fetch fails is the camera's failure, classified
        if time.monotonic() >= deadline:
            raise CaptureError(code="timeout") from None
        raise _failure(exc) from None

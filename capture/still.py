"""A camera's own still image over HTTP (its snapshot URL): no keyframe wait, no decode.

Basic and Digest authentication with the camera's username and password (sent only when the
camera asks for them); TLS checked as for rtsps:// cameras (tls_verify, VAS_RTSPS_CA_FILE); no
proxy and no redirect followed; the body bounded in bytes and the whole fetch in time, so a
camera that trickles bytes is cut off at the capture timeout. What the camera sends is checked
by the capture service like any other frame: an HTML or XML "busy" page is invalid_image.
"""

import http.client
import ssl
import time
import urllib.request

from django.conf import settings

from capture.errors import CaptureError
from vas_project import outbound


def _tls_context(tls_verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.RTSPS_CA_FILE or None)
    if not tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _authentication(url: str, *, username: str, password: str) -> list[urllib.request.BaseHandler]:
    if not (username or password):
        return []
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, url, username, password)
    return [urllib.request.HTTPBasicAuthHandler(passwords), urllib.request.HTTPDigestAuthHandler(passwords)]


def _refusal(status: int) -> CaptureError:
    """The camera's answer that is not a 2xx, in the capture failures' terms."""
    if status in (401, 403):
        return CaptureError(code="auth_failed")
    if 300 <= status < 400:
        return CaptureError(
            f"The camera's snapshot URL answered {status}, a redirect; redirects are not followed.",
            code="still_failed",
        )
    return CaptureError(f"The camera's snapshot URL answered {status}.", code="still_failed")


def _failure(exc: BaseException) -> CaptureError:
    """What went wrong, in the capture failures' terms; never the URL or the password."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return CaptureError(code="tls_untrusted")
    if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
        return CaptureError(code="timeout")
    if isinstance(reason, ConnectionRefusedError | OSError) and not isinstance(exc, http.client.HTTPException):
        return CaptureError(code="unreachable")
    return CaptureError(f"The camera's snapshot URL gave no usable answer ({type(exc).__name__}).", code="still_failed")


def fetch_still(url: str, *, username: str, password: str, timeout_s: float, max_bytes: int, tls_verify: bool) -> bytes:
    """The camera's still image: its bytes as sent (checked by the caller), or CaptureError.
    Through vas_project.outbound: the body read up to max_bytes, the whole fetch (authentication
    included) within timeout_s, no redirect followed."""
    deadline = time.monotonic() + timeout_s
    try:
        with outbound.cut_off_after(timeout_s) as watch:
            answer = outbound.exchange(
                urllib.request.Request(url),  # noqa: S310 - validate_snapshot_url allows http and https only
                watch=watch,
                max_bytes=max_bytes,
                handlers=_authentication(url, username=username, password=password),
                tls_context=_tls_context(tls_verify),
                error_bytes=0,  # the status says it all
            )
    except outbound.TooLarge:
        raise CaptureError(code="image_too_large") from None
    except Exception as exc:  # noqa: BLE001 - every way a fetch fails is the camera's failure, classified
        if time.monotonic() >= deadline:
            raise CaptureError(code="timeout") from None
        raise _failure(exc) from None
    if not 200 <= answer.status < 300:
        raise _refusal(answer.status)
    return answer.body

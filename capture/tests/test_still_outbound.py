"""A camera's still URL against hostile HTTP peers on 127.0.0.1: a huge answer is read only up to
the cap, a TLS handshake trickled byte by byte is cut at the capture timeout like a trickled
answer, and no redirect is followed."""

import time

import pytest

from capture import still
from capture.errors import CaptureError
from capture.tests import hostile


def fetch(url: str, *, timeout_s: float = 3, tls_verify: bool = False) -> bytes:
    return still.fetch_still(
        url, username="", password="", timeout_s=timeout_s, max_bytes=1024 * 1024, tls_verify=tls_verify
    )


def failure(url: str, **kwargs) -> str:
    with pytest.raises(CaptureError) as failed:
        fetch(url, **kwargs)
    return failed.value.code


@pytest.mark.parametrize(("status", "code"), [(b"200 OK", "image_too_large"), (b"404 Not Found", "still_failed")])
def test_a_huge_answer_is_read_only_up_to_the_cap(peers, status, code):
    peer = peers(hostile.huge(b"image/jpeg", status))
    failed, _ = hostile.read_boundedly(peer, lambda: failure(peer.url("/snapshot.jpg")))
    assert failed == code


@pytest.mark.parametrize("tls_verify", [False, True])
def test_a_tls_handshake_trickled_byte_by_byte_is_cut_at_the_capture_timeout(peers, tls_verify):
    peer = peers(hostile.tls_handshake_trickle, http=False)
    started = time.monotonic()
    assert failure(peer.url("/snapshot.jpg", scheme="https"), timeout_s=1, tls_verify=tls_verify) == "timeout"
    assert time.monotonic() - started < 1.5
    assert peer.sent > 5  # the handshake was under way, a byte at a time, when it was cut


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_no_redirect_is_followed(peers, status):
    elsewhere = peers(hostile.huge(b"image/jpeg"))
    peer = peers(hostile.redirect(status, elsewhere.url("/snapshot.jpg")))
    assert failure(peer.url("/snapshot.jpg")) == "still_failed"
    assert elsewhere.connections == 0

"""Webhook deliveries (through webhooks.services' public functions) against hostile receivers on
127.0.0.1: a huge answer is read only up to the cap, a trickle (of the answer or of the TLS
handshake) is cut at the webhook timeout, and no redirect is followed. Discovery, keyframe
requests and still URLs have theirs in capture/tests (test_onvif_outbound, test_still_outbound)."""

import time

import pytest
from django.utils import timezone

from capture.tests import hostile
from webhooks.models import Delivery, Webhook
from webhooks.services import delivery_send


def attempt(url: str) -> Delivery:
    webhook = Webhook.objects.create(url=url, events=["device.online"], secret="a-receivers-secret-0123456789")
    delivery = Delivery.objects.create(
        webhook=webhook, event="device.online", payload={}, next_attempt_at=timezone.now()
    )
    sent = delivery_send(delivery_id=delivery.pk)
    assert sent is not None
    return sent


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "state"), [(b"200 OK", "succeeded"), (b"500 Oops", "pending")])
def test_a_receivers_huge_answer_is_read_only_up_to_the_cap(peers, status, state):
    peer = peers(hostile.huge(b"text/plain", status))
    delivery, elapsed = hostile.read_boundedly(peer, lambda: attempt(peer.url("/hook")))
    assert (delivery.state, delivery.last_status) == (state, int(status.split()[0]))
    assert elapsed < 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answer", "scheme"),
    [
        (hostile.trickle(b"HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n"), "http"),
        (hostile.tls_handshake_trickle, "https"),
    ],
    ids=["answer", "tls-handshake"],
)
def test_a_receiver_trickling_is_cut_at_the_webhook_timeout(peers, settings, answer, scheme):
    settings.WEBHOOK_TIMEOUT_S = 1
    peer = peers(answer, http=scheme == "http")
    started = time.monotonic()
    delivery = attempt(peer.url("/hook", scheme=scheme))
    assert time.monotonic() - started < settings.WEBHOOK_TIMEOUT_S + 0.5
    assert delivery.state == "pending"
    assert peer.sent > 5  # the answer was under way, a byte at a time, when it was cut


@pytest.mark.django_db
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_receivers_redirect_is_not_followed_nor_the_delivery_sent_there(peers, status):
    elsewhere = peers(hostile.huge(b"text/plain"))
    peer = peers(hostile.redirect(status, elsewhere.url("/hook")))
    delivery = attempt(peer.url("/hook"))
    assert (delivery.state, delivery.last_status) == ("pending", status)
    assert elsewhere.connections == 0
    assert len(peer.requests) == 1

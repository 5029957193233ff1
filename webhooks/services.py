"""Webhooks: events recorded as deliveries in the transaction that caused them, sent once it
commits, signed, and retried with growing pauses.

A delivery is sent by a Celery worker when a broker is configured, else by a small thread pool
of the process that made it; either way never by the request or capture that caused the event,
so a receiver that hangs delays nothing but its own deliveries. Retries (and a delivery whose
sender died) are picked up by webhook_send_due, which the scheduler runs every tick.

A webhook turned off (or deleted) sends nothing more: its pending deliveries are cancelled,
saying why, and every attempt checks again, on its way to the connection, that its webhook is
still active, so one claimed just before the webhook was turned off is not sent after it.

Each request carries X-VAS-Signature: "t=<unix seconds>,v1=<hex>", the HMAC-SHA256 under the
webhook's secret of "<t>.<body>"; a receiver checks it and refuses an old t (replay).
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from vas_project import metrics, outbound
from vas_project.fields import UnreadableSecret
from vas_project.logs import current_request_id, log_context
from webhooks.models import Delivery, Webhook
from webhooks.validators import address_problem, connection_problem, webhook_url_problem

logger = logging.getLogger(__name__)

USER_AGENT = "VAS-Snapshots-Webhook/1"
# What is kept of a receiver's answer: its status, and this much of its body for the error.
RESPONSE_READ_BYTES = 1024
# A delivery whose attempt started is left alone this long past the timeout before it is
# taken as abandoned (its sender died) and sent again.
LEASE_MARGIN_S = 30

# A cancelled delivery's cancel_reason.
DEACTIVATED = "The webhook was deactivated."

_pool: ThreadPoolExecutor | None = None


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The X-VAS-Signature header's value for this body sent at timestamp."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_update(*, webhook: Webhook, **fields: Any) -> Webhook:
    """Change a webhook and save it (the API's PATCH, the admin's form). Turned off, it sends
    nothing more: its pending deliveries are cancelled in the same transaction, saying why (one
    whose request is already on its way records what its receiver answers, and is not retried).
    Turned on again, it gets the events that come after, never the cancelled deliveries."""
    for name, value in fields.items():
        setattr(webhook, name, value)
    with transaction.atomic():
        webhook.save()
        if not webhook.active:
            _cancel(Delivery.objects.filter(webhook=webhook), reason=DEACTIVATED)
    return webhook


def _cancel(deliveries: QuerySet[Delivery], *, reason: str) -> int:
    """Cancel those of the deliveries still pending, for good; how many."""
    return deliveries.filter(state=Delivery.State.PENDING).update(
        state=Delivery.State.CANCELLED, cancel_reason=reason, next_attempt_at=None
    )


def webhook_event(*, event: str, data: Callable[[], dict[str, Any]]) -> None:
    """Record the event for every active webhook that asked for it; they are sent once the
    current transaction commits (at once outside one), so a receiver never hears of a row it
    cannot read yet. Nothing is sent for a transaction that rolls back. data() makes the
    payload's "data", only when some webhook wants the event."""
    webhooks = [hook for hook in Webhook.objects.filter(active=True).only("pk", "events") if event in hook.events]
    if not webhooks:
        return
    now = timezone.now()
    body = {"event": event, "created_at": now.isoformat(), "data": data()}
    request_id = current_request_id()
    deliveries = [Delivery(webhook=hook, event=event, payload=dict(body), request_id=request_id) for hook in webhooks]
    for delivery in deliveries:
        delivery.payload["id"] = str(delivery.pk)
        delivery.next_attempt_at = now
    Delivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _dispatch(ids))


def _dispatch(delivery_ids: list[uuid.UUID]) -> None:
    if settings.CELERY_BROKER_URL:
        from webhooks.tasks import send_delivery

        for delivery_id in delivery_ids:
            try:
                send_delivery.delay(str(delivery_id))
            except Exception as exc:  # the broker is down: the scheduler's sweep sends it later
                logger.warning("queueing webhook delivery %s failed (%s)", delivery_id, type(exc).__name__)
        return
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=settings.WEBHOOK_CONCURRENCY, thread_name_prefix="webhook")
    for delivery_id in delivery_ids:
        _pool.submit(_send_in_thread, delivery_id)


def _send_in_thread(delivery_id: uuid.UUID) -> None:
    try:
        delivery_send(delivery_id=delivery_id)
    except Exception:
        logger.exception("webhook delivery %s failed unexpectedly", delivery_id)
    finally:
        connection.close()  # this thread's own connection


def _claim(delivery_id: uuid.UUID | str) -> Delivery | None:
    """Take the delivery for one attempt if it is due, its webhook active and nobody else has it
    (a compare-and-set). Due for a webhook turned off without webhook_update (a queryset update):
    cancelled instead."""
    now = timezone.now()
    lease_end = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_S + LEASE_MARGIN_S)
    due = Delivery.objects.filter(pk=delivery_id, state=Delivery.State.PENDING, next_attempt_at__lte=now)
    if not due.filter(webhook__active=True).update(next_attempt_at=lease_end, attempts=F("attempts") + 1):
        _cancel(due.filter(webhook__active=False), reason=DEACTIVATED)
        return None
    return Delivery.objects.select_related("webhook").filter(pk=delivery_id).first()  # None: just deleted


class _Stopped(Exception):
    """Raised on the way to the connection: the claimed delivery must not be sent after all."""


def _still_to_send(delivery: Delivery) -> bool:
    """Whether a claimed delivery may be sent now: not cancelled meanwhile, and its webhook still
    there and active."""
    return Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.PENDING, webhook__active=True).exists()


def _post(delivery: Delivery) -> tuple[int | None, str]:
    """One attempt: the receiver's status (None: no answer) and what went wrong ("" for a 2xx)."""
    url = delivery.webhook.url
    if problem := webhook_url_problem(url):  # checked again: the allowed hosts may have changed
        return None, problem
    if isinstance(delivery.webhook.secret, UnreadableSecret) or not delivery.webhook.secret:
        return None, "No key in VAS_ENCRYPTION_KEYS decrypts this webhook's secret; set the secret again."
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-VAS-Event": delivery.event,
        "X-VAS-Delivery": str(delivery.pk),
        "X-VAS-Signature": signature(secret=delivery.webhook.secret, timestamp=int(time.time()), body=body),
    }
    if delivery.request_id:
        headers["X-Request-ID"] = delivery.request_id
    if problem := address_problem(urlsplit(url).hostname or ""):
        return None, problem
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - webhook_url_problem checked the scheme

    def checked_at_connection(hostname: str, address: str) -> str | None:
        # The last moment before a connection is made, the host resolved: the webhook turned off
        # by now, nothing is sent.
        if not _still_to_send(delivery):
            raise _Stopped
        return connection_problem(hostname, address)

    # The whole attempt, error answer included, within VAS_WEBHOOK_TIMEOUT_S however the receiver trickles.
    with outbound.cut_off_after(settings.WEBHOOK_TIMEOUT_S) as sockets:
        # Connects only to the addresses connection_problem accepts, whatever the name resolves to by then.
        opener = outbound.opener(address_check=checked_at_connection, on_socket=sockets.append)
        try:
            with opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_S) as response:
                response.read(RESPONSE_READ_BYTES)
                return response.status, ""
        except _Stopped:
            raise
        except urllib.error.HTTPError as answer:
            return answer.code, f"HTTP {answer.code}" + _answer_text(answer)
        except Exception as exc:  # noqa: BLE001 - refused, timed out, TLS, a malformed answer: the receiver's failure
            reason = getattr(exc, "reason", None) or exc
            return None, f"{type(exc).__name__}: {reason}"


def _answer_text(answer: urllib.error.HTTPError) -> str:
    """The start of a receiver's error answer, on one line, for the delivery's last_error."""
    try:
        text = " ".join(answer.read(RESPONSE_READ_BYTES).decode(errors="replace").split())
    except Exception:  # noqa: BLE001 - an answer cut off or timed out mid-body: the status says enough
        return ""
    return f": {text}" if text else ""


def retry_delay_s(attempts: int) -> float:
    """The pause after the attempts-th failed attempt: doubling from WEBHOOK_RETRY_BASE_S."""
    return float(settings.WEBHOOK_RETRY_BASE_S * 2 ** (attempts - 1))


def delivery_send(*, delivery_id: uuid.UUID | str) -> Delivery | None:
    """Make one attempt at a due delivery and record its outcome; None when it was not due
    (sent already, being sent by another process, its webhook inactive) or is gone (its webhook
    deleted)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    with log_context(request_id=delivery.request_id):
        return _attempt(delivery)


def _attempt(delivery: Delivery) -> Delivery | None:
    """One attempt at a claimed delivery, its outcome recorded; None if the delivery is gone."""
    try:
        status, error = _post(delivery)
    except _Stopped:
        return _stopped(delivery)
    now = timezone.now()
    fields: dict[str, Any] = {"last_status": status, "last_error": error[:300]}
    if not error:
        fields |= {"state": Delivery.State.SUCCEEDED, "delivered_at": now, "next_attempt_at": None, "cancel_reason": ""}
        result = "delivered"
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        fields |= {"state": Delivery.State.FAILED, "next_attempt_at": None}
        result = "failed"
    else:
        fields["next_attempt_at"] = now + timedelta(seconds=retry_delay_s(delivery.attempts))
        result = "retrying"
    metrics.WEBHOOK_DELIVERIES.labels(result=result).inc()
    # Only over this attempt's own claim: a late answer never overwrites a later attempt's outcome.
    claim = Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts)
    if not claim.filter(state=Delivery.State.PENDING).update(**fields):
        # Cancelled while its request was on its way: a 2xx is recorded (the receiver has it), a
        # failure only as the receiver's last answer, with no retry.
        cancelled = claim.filter(state=Delivery.State.CANCELLED)
        cancelled.update(**(fields if not error else {"last_status": status, "last_error": error[:300]}))
    if error:
        logger.warning(
            "webhook delivery %s (%s) attempt %d failed: %s", delivery.pk, delivery.event, delivery.attempts, error
        )
    else:
        logger.info("webhook delivery %s (%s) delivered: HTTP %s", delivery.pk, delivery.event, status)
    return Delivery.objects.filter(pk=delivery.pk).first()


def _stopped(delivery: Delivery) -> Delivery | None:
    """A claimed delivery not sent after all, its webhook turned off or deleted: cancelled (if
    nobody did yet), and its claim's attempt, never made, not counted."""
    claim = Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts)
    _cancel(claim, reason=DEACTIVATED)
    claim.filter(state=Delivery.State.CANCELLED).update(attempts=F("attempts") - 1)
    logger.info("webhook delivery %s (%s) not sent: its webhook was turned off", delivery.pk, delivery.event)
    return Delivery.objects.filter(pk=delivery.pk).first()


# A delivery is handed to a sender when it is made; the sweep leaves it this long to that
# sender before taking it as lost, so a busy queue is not fed the same delivery every tick.
SWEEP_GRACE_S = 5


def webhook_send_due(*, limit: int = 100) -> int:
    """Send the deliveries whose retry has come or whose sender died (the scheduler's tick);
    how many were handed to a sender. Those of a webhook turned off without webhook_update (a
    queryset update) are cancelled instead."""
    _cancel(Delivery.objects.filter(webhook__active=False), reason=DEACTIVATED)
    ready = timezone.now() - timedelta(seconds=SWEEP_GRACE_S)
    due = Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=ready, webhook__active=True)
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    if ids:
        _dispatch(ids)
    return len(ids)


@dataclass(frozen=True)
class SecretReencryption:
    reencrypted: int
    # Webhooks whose secret no configured key decrypts: left as they are.
    unreadable: list[Webhook]


def webhook_secrets_reencrypt() -> SecretReencryption:
    """Re-encrypt every webhook secret with the newest key (beside the camera passwords)."""
    count = 0
    unreadable = []
    with transaction.atomic():
        for webhook in Webhook.objects.only("pk", "url", "secret").select_for_update():
            if isinstance(webhook.secret, UnreadableSecret):
                unreadable.append(webhook)
                continue
            Webhook.objects.filter(pk=webhook.pk).update(secret=webhook.secret)
            count += 1
    return SecretReencryption(reencrypted=count, unreadable=unreadable)

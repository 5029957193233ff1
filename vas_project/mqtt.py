"""MQTT out of the product: one connection per process that publishes, started at its first
message, knowing nothing of cameras or snapshots (the apps name their topics and payloads).

Publishing never fails nor waits on the broker: a message goes into paho's own queue, bounded
(VAS_MQTT_QUEUE_MAX messages, VAS_MQTT_QUEUE_MAX_BYTES payload bytes), which paho's network
thread sends once connected, again after a reconnect; a message that does not fit, or that paho
refuses, is dropped and counted (vas_mqtt_dropped). The connection's last will is
`<prefix>/status` = `offline`, and it says `online` there as it connects (both retained). The
broker's password is handed to paho alone: no log line, error or metric of this module holds it
(nor the URL it came in)."""

import contextlib
import logging
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from vas_project import metrics

logger = logging.getLogger(__name__)

SCHEMES = {"mqtt": 1883, "mqtts": 8883}
# Every message is sent at least once: QoS 1 is what paho keeps (and sends again) while the
# connection is down; QoS 0 messages would be lost without a count.
QOS = 1
KEEPALIVE_S = 30
RECONNECT_MAX_S = 30


# A subscriber's handler: (topic, payload), in a thread of the publisher's handler pool.
Handler = Callable[[str, bytes], None]
HANDLER_THREADS = 4


def _handle(handler: Handler, topic: str, payload: bytes) -> None:
    try:
        handler(topic, payload)
    except Exception:  # one message's failure must not end the subscription
        logger.exception("handling the MQTT message on %s failed", topic)


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # mqtts://: the broker's certificate is checked against the system's CAs, or this PEM bundle.
    ca_file: str = ""


def broker_from_url(url: str, *, ca_file: str = "") -> Broker:
    """The broker an mqtt:// or mqtts:// URL names (ImproperlyConfigured, never quoting the URL:
    it may hold a password)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ImproperlyConfigured("VAS_MQTT_URL must be mqtt://[user:password@]host[:port]/ or mqtts://…")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        raise ImproperlyConfigured("VAS_MQTT_URL has a port that is not a number") from None
    return Broker(
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ca_file=ca_file,
    )


def status_topic(prefix: str) -> str:
    """The topic where the product says whether it is connected (online / offline, retained)."""
    return f"{prefix}/status"


class Publisher:
    """One connection to the broker, its network thread started at once (it connects, and
    reconnects, on its own: nothing here waits for it)."""

    def __init__(self, *, broker: Broker, prefix: str, queue_max: int, queue_max_bytes: int):
        self.broker, self.prefix = broker, prefix
        # The payload bytes paho holds until the broker has them (its own bound counts messages
        # only, and a message may be a camera's JPEG): by message id, until its PUBACK.
        self.queue_max_bytes = queue_max_bytes
        self.queued_bytes = 0
        self._queued: dict[int, int] = {}
        self._acked_early: set[int] = set()
        self._bytes_lock = threading.Lock()
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"vas-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        )
        self.client.max_queued_messages_set(queue_max)
        self.client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX_S)
        if broker.username is not None:
            self.client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            self.client.tls_set_context(ssl.create_default_context(cafile=broker.ca_file or None))
        self.client.will_set(status_topic(prefix), "offline", qos=QOS, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_publish = self._on_publish
        self.client.message_callback_add(status_topic(prefix), self._on_status)
        self._stopping = False
        self._down_reported = False
        # Subscriptions, made again on every connect (a clean session forgets them).
        self._subscriptions: dict[str, str] = {}
        self._handlers: ThreadPoolExecutor | None = None
        self.client.connect_async(broker.host, broker.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> paho.MQTTMessageInfo | None:
        """Queue the message; None (and counted) when it was dropped."""
        size = len(payload.encode() if isinstance(payload, str) else payload)
        if self.queued_bytes + size > self.queue_max_bytes:
            metrics.MQTT_DROPPED.labels(reason="queue_full").inc()
            return None
        try:
            info = self.client.publish(topic, payload, qos=QOS, retain=retain)
        except (ValueError, OSError) as exc:  # a topic or payload paho refuses
            logger.warning("MQTT message to %s dropped (%s)", topic, type(exc).__name__)
            metrics.MQTT_DROPPED.labels(reason="refused").inc()
            return None
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):  # NO_CONN: kept, sent on connect
            metrics.MQTT_DROPPED.labels(reason="queue_full" if info.rc == paho.MQTT_ERR_QUEUE_SIZE else "error").inc()
            return None
        with self._bytes_lock:
            if info.mid in self._acked_early:  # its PUBACK came before this line
                self._acked_early.discard(info.mid)
            else:
                self._queued[info.mid] = size
                self.queued_bytes += size
        return info

    def _on_publish(self, client: paho.Client, userdata: object, mid: int, reason: object, props: object) -> None:
        # paho's network thread, holding paho's own lock: this lock is never held around a paho call.
        with self._bytes_lock:
            if mid in self._queued:
                self.queued_bytes -= self._queued.pop(mid)
            else:
                self._acked_early.add(mid)

    def subscribe(self, topic_filter: str, handler: Handler, *, share_group: str = "") -> None:
        """Call handler(topic, payload) for each message on the filter, in a thread of a small pool
        of its own (never paho's network thread, which must go on sending). With a share_group,
        the broker hands each message to one of the processes subscribed in that group."""
        if self._handlers is None:
            self._handlers = ThreadPoolExecutor(max_workers=HANDLER_THREADS, thread_name_prefix="mqtt-handler")
        handlers = self._handlers

        def hand_off(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
            handlers.submit(_handle, handler, message.topic, bytes(message.payload))

        self.client.message_callback_add(topic_filter, hand_off)
        subscription = f"$share/{share_group}/{topic_filter}" if share_group else topic_filter
        self._subscriptions[topic_filter] = subscription
        if self.client.is_connected():
            self.client.subscribe(subscription, qos=QOS)

    def wait_connected(self, *, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.client.is_connected()

    def stop(self) -> None:
        """Say offline (a clean disconnect sends no last will) and close the connection."""
        self._stopping = True
        if self.client.is_connected():
            with contextlib.suppress(ValueError, RuntimeError):  # not queued: nothing to wait for
                self.client.publish(status_topic(self.prefix), "offline", qos=QOS, retain=True).wait_for_publish(1)
        self.client.disconnect()
        self.client.loop_stop()
        if self._handlers is not None:
            self._handlers.shutdown(wait=False, cancel_futures=True)

    def _on_connect(self, client: paho.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            logger.warning("MQTT broker %s:%d refused the connection: %s", self.broker.host, self.broker.port, reason)
            return
        logger.info("MQTT connected to %s:%d", self.broker.host, self.broker.port)
        self._down_reported = False
        client.publish(status_topic(self.prefix), "online", qos=QOS, retain=True)
        client.subscribe(status_topic(self.prefix), qos=QOS)
        for subscription in self._subscriptions.values():
            client.subscribe(subscription, qos=QOS)

    def _on_status(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        # Every process of the product shares the status topic: one that died (its last will) or
        # stopped said offline for all, so each one still connected says online again.
        if message.payload == b"offline" and not self._stopping:
            client.publish(status_topic(self.prefix), "online", qos=QOS, retain=True)

    def _on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        # Once per outage: paho tries again every few seconds, for as long as the broker is away.
        if not self._down_reported:
            logger.warning(
                "MQTT broker %s:%d unreachable; messages wait (bounded) and are sent once it is back",
                self.broker.host,
                self.broker.port,
            )
            self._down_reported = True

    def _on_disconnect(
        self, client: paho.Client, userdata: object, flags: object, reason: object, props: object
    ) -> None:
        logger.info("MQTT disconnected from %s:%d (%s)", self.broker.host, self.broker.port, reason)


_publisher: Publisher | None = None
_publisher_key: tuple[object, ...] | None = None
_lock = threading.Lock()


def enabled() -> bool:
    return bool(settings.MQTT_URL)


def publisher() -> Publisher | None:
    """This process's publisher (None when MQTT is off), started at the first call; a forked
    process (a gunicorn worker) or changed settings get their own."""
    global _publisher, _publisher_key
    if not enabled():
        return None
    key = (
        os.getpid(),
        settings.MQTT_URL,
        settings.MQTT_CA_FILE,
        settings.MQTT_PREFIX,
        settings.MQTT_QUEUE_MAX,
        settings.MQTT_QUEUE_MAX_BYTES,
    )
    with _lock:
        if _publisher_key != key:
            if _publisher is not None and _publisher_key is not None and _publisher_key[0] == os.getpid():
                _publisher.stop()
            broker = broker_from_url(settings.MQTT_URL, ca_file=settings.MQTT_CA_FILE)
            _publisher = Publisher(
                broker=broker,
                prefix=settings.MQTT_PREFIX,
                queue_max=settings.MQTT_QUEUE_MAX,
                queue_max_bytes=settings.MQTT_QUEUE_MAX_BYTES,
            )
            _publisher_key = key
        return _publisher


def topic(*parts: object) -> str:
    """A topic under VAS_MQTT_PREFIX: topic(device_id, "status") is <prefix>/<device_id>/status."""
    return "/".join([settings.MQTT_PREFIX, *(str(part) for part in parts)])


def _publisher_or_none() -> Publisher | None:
    """publisher(), or None (the message counted as dropped) when none can be made: a CA file
    that cannot be read, say. The caller is a capture, which must not fail for it."""
    try:
        return publisher()
    except (ImproperlyConfigured, OSError, ssl.SSLError) as exc:
        logger.error("MQTT publisher cannot start (%s); the message is dropped", type(exc).__name__)
        metrics.MQTT_DROPPED.labels(reason="error").inc()
        return None


def publish(topic: str, payload: bytes | str, *, retain: bool = False) -> None:
    """Send the message when MQTT is on; never raises, never waits on the broker."""
    client = _publisher_or_none()
    if client is not None:
        client.publish(topic, payload, retain=retain)


# A burst (every camera's configs at a keeper's start) goes out in steps this long, each waiting
# until the broker has the last one: never more in the queue at once than it holds.
BURST_STEP = 100
CONNECT_WAIT_S = 2


def publish_many(messages: Iterable[tuple[str, bytes | str, bool]], *, timeout_s: float) -> None:
    """Send (topic, payload, retain) messages as publish does, but paced, for a process that may
    wait (a keeper starting, never a capture): up to CONNECT_WAIT_S for the connection, then at
    most timeout_s in all for the broker to take them; a broker away, or one too slow, gets them
    queued (and dropped, counted, when they do not fit) as any."""
    client = _publisher_or_none()
    if client is None:
        return
    deadline = time.monotonic() + timeout_s
    client.wait_connected(timeout_s=min(CONNECT_WAIT_S, timeout_s))  # a broker away: queued at once
    for number, (name, payload, retain) in enumerate(messages, start=1):
        info = client.publish(name, payload, retain=retain)
        if info is not None and number % BURST_STEP == 0:
            while not info.is_published() and client.client.is_connected() and time.monotonic() < deadline:
                time.sleep(0.01)


def subscribe(topic_filter: str, handler: Handler, *, share_group: str = "") -> bool:
    """Subscribe this process's connection (Publisher.subscribe); False when MQTT is off."""
    client = _publisher_or_none()
    if client is None:
        return False
    client.subscribe(topic_filter, handler, share_group=share_group)
    return True

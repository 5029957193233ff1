"""The real Mosquitto on 127.0.0.1:1883, seen by a subscriber in the test; each test's topics
under a prefix of its own, so retained messages of one are never seen by another."""

import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest

BROKER_URL = "mqtt://127.0.0.1:1883/"
# A port nothing listens on: a broker that is away.
CLOSED_URL = "mqtt://vas-user:broker-secret-canary@127.0.0.1:9/"


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


class Subscriber:
    """Every message on the topics (wildcards allowed), in order of arrival."""

    def __init__(self, *topics: str, port: int = 1883):
        self.messages: list[Message] = []
        self._arrived = threading.Condition()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe([(topic, 1) for topic in topics])
        assert subscribed.wait(5), "the broker did not confirm the subscription"

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append(Message(message.topic, bytes(message.payload), bool(message.retain)))
            self._arrived.notify_all()

    def on(self, topic: str) -> list[Message]:
        with self._arrived:
            return [message for message in self.messages if message.topic == topic]

    def wait_for(self, topic: str, *, count: int = 1, timeout_s: float = 5) -> list[Message]:
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while len(found := [m for m in self.messages if m.topic == topic]) < count:
                if not self._arrived.wait(max(0.0, deadline - time.monotonic())) and time.monotonic() >= deadline:
                    raise AssertionError(f"{count} message(s) on {topic} expected, {len(found)} seen: {self.messages}")
            return found

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def retained(topic: str, *, wait_s: float = 1.0, port: int = 1883) -> list[Message]:
    """What a new subscriber is given at once on the topic: its retained message (or nothing)."""
    subscriber = Subscriber(topic, port=port)
    time.sleep(wait_s)
    subscriber.close()
    return subscriber.messages


def clear_retained(prefix: str) -> None:
    """Empty every retained message under the prefix, as the test leaves it."""
    subscriber = Subscriber(f"{prefix}/#")
    time.sleep(0.5)
    for topic in {message.topic for message in subscriber.messages if message.retain}:
        subscriber.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(2)
    subscriber.close()


@pytest.fixture
def mqtt_prefix(settings):
    """MQTT on, against the real broker, under a prefix of this test's own (the discovery prefix
    too); the retained messages it leaves are emptied after."""
    prefix = f"vas-test-{uuid.uuid4().hex[:12]}"
    settings.MQTT_URL = BROKER_URL
    settings.MQTT_PREFIX = prefix
    settings.MQTT_DISCOVERY_PREFIX = f"{prefix}-ha"
    yield prefix
    from vas_project import mqtt

    if mqtt._publisher is not None:
        mqtt._publisher.stop()
        mqtt._publisher, mqtt._publisher_key = None, None
    clear_retained(prefix)
    clear_retained(f"{prefix}-ha")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateBroker:
    """A Mosquitto of the test's own on another port of 127.0.0.1, to stop and start again (the
    shared one on 1883 is never stopped). No persistence: a restart forgets what it retained."""

    def __init__(self, directory, *, certificate: tuple[Path, Path] | None = None):
        self.port = free_port()
        config = f"per_listener_settings false\nallow_anonymous true\nlistener {self.port} 127.0.0.1\n"
        if certificate is not None:
            # A TLS listener beside the plain one (which the test's subscriber uses).
            self.tls_port = free_port()
            cert, key = certificate
            config += f"listener {self.tls_port} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\n"
        self.config = directory / "mosquitto.conf"
        self.config.write_text(config)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["/usr/sbin/mosquitto", "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the private Mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

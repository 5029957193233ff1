"""The MQTT publisher against the real Mosquitto on 127.0.0.1:1883."""

import logging
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from snapshots.tests.servers import make_certificate
from vas_project import metrics, mqtt
from vas_project.tests import mqtt_broker
from vas_project.tests.mqtt_broker import CLOSED_URL, PrivateBroker, Subscriber, retained
from vas_project.tests.test_settings import manage

mqtt_prefix = mqtt_broker.mqtt_prefix


def dropped(reason: str) -> float:
    return metrics.MQTT_DROPPED.labels(reason=reason)._value.get()


def test_the_product_says_online_retained_once_connected(mqtt_prefix):
    mqtt.publish(mqtt.topic("hello"), "x")
    subscriber = Subscriber(f"{mqtt_prefix}/status")
    try:
        assert subscriber.wait_for(f"{mqtt_prefix}/status")[-1].payload == b"online"
    finally:
        subscriber.close()
    assert [(m.payload, m.retain) for m in retained(f"{mqtt_prefix}/status")] == [(b"online", True)]


def test_a_message_is_received_with_its_payload_and_retain_flag(mqtt_prefix):
    subscriber = Subscriber(f"{mqtt_prefix}/#")
    try:
        mqtt.publish(mqtt.topic("a", "b"), b"\x00bytes", retain=False)
        message = subscriber.wait_for(f"{mqtt_prefix}/a/b")[0]
    finally:
        subscriber.close()
    assert message.payload == b"\x00bytes"
    assert retained(f"{mqtt_prefix}/a/b") == []


def test_the_last_will_says_offline_when_the_connection_dies(mqtt_prefix):
    mqtt.publish(mqtt.topic("hello"), "x")
    subscriber = Subscriber(f"{mqtt_prefix}/status")
    try:
        subscriber.wait_for(f"{mqtt_prefix}/status")
        publisher = mqtt.publisher()
        assert publisher is not None
        # The process dies: no DISCONNECT packet, the socket just closes.
        publisher.client.loop_stop()
        publisher.client.socket().close()
        assert subscriber.wait_for(f"{mqtt_prefix}/status", count=2)[-1].payload == b"offline"
    finally:
        subscriber.close()
        mqtt._publisher, mqtt._publisher_key = None, None
    assert [(m.payload, m.retain) for m in retained(f"{mqtt_prefix}/status")] == [(b"offline", True)]


def test_a_broker_away_never_slows_publishing_and_what_is_dropped_is_counted(mqtt_prefix, settings):
    settings.MQTT_URL, settings.MQTT_QUEUE_MAX = CLOSED_URL, 5
    before = dropped("queue_full")
    started = time.monotonic()
    for _ in range(20):
        mqtt.publish(mqtt.topic("image"), b"x" * 100_000, retain=True)
    assert time.monotonic() - started < 0.5
    assert dropped("queue_full") - before == 15


def test_the_broker_password_is_in_no_log_line(mqtt_prefix, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.MQTT_URL = CLOSED_URL
    mqtt.publish(mqtt.topic("x"), "x")
    time.sleep(1.5)  # paho's thread tries, and fails, to connect
    mqtt.publisher().stop()
    assert caplog.records
    assert "broker-secret-canary" not in caplog.text
    assert "broker-secret-canary" not in repr(mqtt.broker_from_url(CLOSED_URL))


@pytest.mark.parametrize("url", ["http://u:broker-secret-canary@h/", "mqtt://u:broker-secret-canary@h:port/"])
def test_a_url_mqtt_cannot_use_is_refused_without_quoting_it(url):
    with pytest.raises(ImproperlyConfigured) as refused:
        mqtt.broker_from_url(url)
    assert "broker-secret-canary" not in str(refused.value)


def test_nothing_is_published_when_mqtt_is_off(settings):
    settings.MQTT_URL = ""
    mqtt.publish("anything", "x")
    assert mqtt.publisher() is None


@pytest.fixture
def private_broker(tmp_path):
    broker = PrivateBroker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


def test_what_is_published_while_the_broker_restarts_is_sent_once_it_is_back(mqtt_prefix, settings, private_broker):
    settings.MQTT_URL = private_broker.url
    image = f"{mqtt_prefix}/camera/image"
    mqtt.publish(image, b"before", retain=True)
    assert retained(image, port=private_broker.port)[0].payload == b"before"
    private_broker.stop()
    started = time.monotonic()
    mqtt.publish(image, b"while away", retain=True)
    assert time.monotonic() - started < 0.1
    private_broker.start()
    subscriber = Subscriber(f"{mqtt_prefix}/#", port=private_broker.port)
    try:
        # paho reconnects on its own (1 s, then doubling), says online again, and sends what waited.
        assert subscriber.wait_for(image, timeout_s=15)[0].payload == b"while away"
        assert subscriber.wait_for(f"{mqtt_prefix}/status", timeout_s=5)[-1].payload == b"online"
    finally:
        subscriber.close()


def test_a_broker_away_holds_at_most_the_bytes_set_and_counts_the_rest(mqtt_prefix, settings):
    settings.MQTT_URL, settings.MQTT_QUEUE_MAX_BYTES = CLOSED_URL, 250_000
    before = dropped("queue_full")
    for _ in range(5):
        mqtt.publish(mqtt.topic("image"), b"x" * 100_000, retain=True)
    assert dropped("queue_full") - before == 3
    assert mqtt.publisher().queued_bytes == 200_000


def test_the_bytes_held_are_given_back_once_the_broker_has_them(mqtt_prefix, settings):
    settings.MQTT_QUEUE_MAX_BYTES = 250_000
    publisher = mqtt.publisher()
    assert publisher.wait_connected(timeout_s=5)
    for _ in range(10):
        publisher.publish(mqtt.topic("image"), b"x" * 100_000).wait_for_publish(5)
    assert publisher.queued_bytes == 0


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("http://vas-user:broker-secret-canary@127.0.0.1/", "VAS_MQTT_URL must start with mqtt:// or mqtts://"),
        ("mqtt://vas-user:broker-secret-canary@127.0.0.1:99999/", "VAS_MQTT_URL has a port that is not a number"),
    ],
)
def test_a_broker_url_mqtt_cannot_use_refuses_to_start_without_showing_it(url, sentence):
    result = manage("check", VAS_MQTT_URL=url)
    assert result.returncode != 0
    assert sentence in result.stderr
    assert "broker-secret-canary" not in result.stderr + result.stdout


@pytest.fixture
def tls_broker():
    # Not under pytest's tmp_path, whose parent only root may enter: Mosquitto reads the key as its own user.
    directory = Path(tempfile.mkdtemp(prefix="vas-mqtt-tls-"))
    directory.chmod(0o755)
    certificate = make_certificate(directory, name="127.0.0.1")
    for path in certificate:
        path.chmod(0o644)
    broker = PrivateBroker(directory, certificate=certificate)
    broker.start()
    yield broker, certificate[0]
    broker.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_an_mqtts_broker_is_trusted_with_the_ca_file_set_and_not_without(mqtt_prefix, settings, tls_broker, caplog):
    broker, ca_file = tls_broker
    settings.MQTT_URL = f"mqtts://vas-user:broker-secret-canary@127.0.0.1:{broker.tls_port}/"
    subscriber = Subscriber(f"{mqtt_prefix}/#", port=broker.port)
    try:
        mqtt.publish(mqtt.topic("untrusted"), b"x")  # the system's CAs: a self-signed broker is refused
        time.sleep(1.5)
        assert subscriber.on(f"{mqtt_prefix}/untrusted") == []
        settings.MQTT_CA_FILE = str(ca_file)
        mqtt.publish(mqtt.topic("trusted"), b"x")
        assert subscriber.wait_for(f"{mqtt_prefix}/trusted", timeout_s=10)[0].payload == b"x"
    finally:
        subscriber.close()
    assert "broker-secret-canary" not in caplog.text


def test_one_process_dying_leaves_the_status_online_while_another_is_connected(mqtt_prefix):
    broker = mqtt.broker_from_url(mqtt_broker.BROKER_URL)
    first, second = (
        mqtt.Publisher(broker=broker, prefix=mqtt_prefix, queue_max=10, queue_max_bytes=10**6) for _ in "12"
    )
    subscriber = Subscriber(f"{mqtt_prefix}/status")
    try:
        assert first.wait_connected(timeout_s=5) and second.wait_connected(timeout_s=5)
        subscriber.wait_for(f"{mqtt_prefix}/status")  # online, retained
        time.sleep(0.5)
        seen = len(subscriber.on(f"{mqtt_prefix}/status"))
        first.client.loop_stop()
        first.client.socket().close()  # the first process dies: its last will says offline
        statuses = subscriber.wait_for(f"{mqtt_prefix}/status", count=seen + 2)
        assert [message.payload for message in statuses[-2:]] == [b"offline", b"online"]
    finally:
        subscriber.close()
        second.stop()
    assert [m.payload for m in retained(f"{mqtt_prefix}/status")] == [b"offline"]  # the last one stopped


def test_a_publisher_that_cannot_start_fails_no_caller_and_counts_the_message(mqtt_prefix, settings, tmp_path):
    settings.MQTT_URL, settings.MQTT_CA_FILE = "mqtts://127.0.0.1:8883/", str(tmp_path / "missing.pem")
    before = dropped("error")
    mqtt.publish(mqtt.topic("x"), "x")
    assert dropped("error") - before == 1

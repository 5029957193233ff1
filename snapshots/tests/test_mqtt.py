"""Snapshots on MQTT once committed, and the keeper's announcement, seen by a subscriber on the
real Mosquitto; a broker away slows no capture."""

import io
import json
import logging
import threading
import time

import pytest
from django.db import transaction
from PIL import Image

from capture import rtsp
from devices.models import Device
from snapshots.keeper import Keeper
from snapshots.models import Snapshot
from snapshots.mqtt_commands import commands_subscribe
from snapshots.services import snapshot_capture
from snapshots.tests.factories import jpeg_bytes
from vas_project import metrics
from vas_project.tests import mqtt_broker
from vas_project.tests.mqtt_broker import CLOSED_URL, Subscriber, retained

mqtt_prefix = mqtt_broker.mqtt_prefix
JPEG = jpeg_bytes(1280, 720)


class RolledBack(Exception):
    pass


@pytest.fixture
def camera_device(transactional_db, monkeypatch):
    monkeypatch.setattr(rtsp, "grab_jpeg", lambda url, **kwargs: JPEG)
    return Device.objects.create(name="Porch", rtsp_url="rtsp://127.0.0.1:1/porch", live=False)


@pytest.fixture
def subscriber(mqtt_prefix):
    subscriber = Subscriber(f"{mqtt_prefix}/#", f"{mqtt_prefix}-ha/#")
    yield subscriber
    subscriber.close()


def test_a_snapshot_is_on_its_topics_once_committed_and_not_before(camera_device, subscriber, mqtt_prefix):
    topic = f"{mqtt_prefix}/{camera_device.pk}/snapshot"
    with transaction.atomic():
        snapshot = snapshot_capture(device=camera_device, trigger="api")
        time.sleep(0.5)
        assert subscriber.on(topic) == []
    metadata = json.loads(subscriber.wait_for(topic)[0].payload)
    assert (metadata["id"], metadata["device"]["id"]) == (str(snapshot.pk), str(camera_device.pk))
    assert (metadata["width"], metadata["height"], metadata["trigger"]) == (1280, 720, "api")
    assert metadata["captured_at"]
    assert subscriber.wait_for(f"{mqtt_prefix}/{camera_device.pk}/image")[0].payload == JPEG
    assert [(m.payload, m.retain) for m in retained(f"{mqtt_prefix}/{camera_device.pk}/image")] == [(JPEG, True)]


def test_nothing_is_published_for_a_snapshot_whose_transaction_rolls_back(camera_device, subscriber, mqtt_prefix):
    with pytest.raises(RolledBack), transaction.atomic():
        snapshot_capture(device=camera_device, trigger="api")
        raise RolledBack
    time.sleep(1)
    assert [m for m in subscriber.messages if m.topic.startswith(f"{mqtt_prefix}/{camera_device.pk}/")] == []


def test_with_images_off_only_the_metadata_is_published(camera_device, subscriber, mqtt_prefix, settings):
    settings.MQTT_IMAGES = False
    snapshot_capture(device=camera_device, trigger="api")
    subscriber.wait_for(f"{mqtt_prefix}/{camera_device.pk}/snapshot")
    time.sleep(0.5)
    assert subscriber.on(f"{mqtt_prefix}/{camera_device.pk}/image") == []


def test_an_image_is_capped_to_the_width_set(camera_device, subscriber, mqtt_prefix, settings):
    settings.MQTT_IMAGE_WIDTH_PX = 320
    snapshot_capture(device=camera_device, trigger="api")
    published = Image.open(io.BytesIO(subscriber.wait_for(f"{mqtt_prefix}/{camera_device.pk}/image")[0].payload))
    assert (published.format, published.size) == ("JPEG", (320, 180))


def capture_seconds(device, times):
    started = time.monotonic()
    for _ in range(times):
        snapshot_capture(device=device, trigger="api")
    return time.monotonic() - started


def test_a_broker_away_never_fails_nor_slows_a_capture_and_drops_are_counted(
    camera_device, mqtt_prefix, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    settings.MQTT_URL = ""
    off = capture_seconds(camera_device, 5)
    settings.MQTT_URL, settings.MQTT_QUEUE_MAX = CLOSED_URL, 4
    dropped = metrics.MQTT_DROPPED.labels(reason="queue_full")
    before = dropped._value.get()
    away = capture_seconds(camera_device, 5)
    assert away < off + 1
    assert dropped._value.get() - before == 10 - 4  # metadata and image each: 10, of which 4 wait
    assert "broker-secret-canary" not in caplog.text


def test_the_keeper_announces_every_camera_as_it_starts_and_when_home_assistant_is_back(
    camera_device, subscriber, mqtt_prefix
):
    Device.objects.filter(pk=camera_device.pk).update(status=Device.Status.OFFLINE)
    config_topic = f"{mqtt_prefix}-ha/sensor/{mqtt_prefix}_{camera_device.pk.hex}/last_snapshot/config"
    keeper = Keeper()
    thread = threading.Thread(target=keeper.run, daemon=True)
    thread.start()
    try:
        status = subscriber.wait_for(f"{mqtt_prefix}/{camera_device.pk}/status")
        config = subscriber.wait_for(config_topic)
        time.sleep(0.5)  # the keeper's subscription to Home Assistant's birth message
        subscriber.client.publish(f"{mqtt_prefix}-ha/status", b"online", qos=1).wait_for_publish(2)
        again = subscriber.wait_for(config_topic, count=2)
    finally:
        keeper.stop()
        thread.join(timeout=15)
    assert status[0].payload == b"offline"
    assert json.loads(config[0].payload)["device"]["name"] == "Porch"
    assert again[1].payload == config[0].payload


@pytest.fixture
def commands_on(settings, mqtt_prefix):
    settings.MQTT_COMMANDS = True
    assert commands_subscribe()
    time.sleep(0.5)  # the subscription made once connected


def command(subscriber, topic, payload):
    subscriber.client.publish(topic, payload, qos=1).wait_for_publish(2)
    return json.loads(subscriber.wait_for(f"{topic}/result", timeout_s=10)[0].payload)


def test_a_capture_command_captures_the_camera_and_publishes_the_result(
    camera_device, subscriber, mqtt_prefix, commands_on
):
    result = command(subscriber, f"{mqtt_prefix}/{camera_device.pk}/capture", b"")
    assert result["ok"] is True and result["device_id"] == str(camera_device.pk)
    snapshot = Snapshot.objects.get(device=camera_device)
    assert (result["snapshot"]["id"], snapshot.trigger) == (str(snapshot.pk), "command")


@pytest.mark.parametrize(
    ("payload", "code"),
    [(b'{"max_age": -1}', "invalid_command"), (b"[1]", "invalid_command"), (b'{"when": 1}', "invalid_command")],
)
def test_a_command_the_product_cannot_read_is_refused_and_captures_nothing(
    camera_device, subscriber, mqtt_prefix, commands_on, payload, code
):
    result = command(subscriber, f"{mqtt_prefix}/{camera_device.pk}/capture", payload)
    assert (result["ok"], result["code"]) == (False, code)
    assert not Snapshot.objects.exists()


def test_a_command_has_the_apis_checks(camera_device, subscriber, mqtt_prefix, commands_on):
    Device.objects.filter(pk=camera_device.pk).update(enabled=False)
    assert command(subscriber, f"{mqtt_prefix}/{camera_device.pk}/capture", b"{}")["code"] == "device_disabled"
    assert command(subscriber, f"{mqtt_prefix}/not-a-camera/capture", b"")["code"] == "device_not_found"
    assert not Snapshot.objects.exists()


def test_commands_are_off_unless_asked_for(settings, mqtt_prefix):
    settings.MQTT_COMMANDS = False
    assert not commands_subscribe()


def test_every_committed_snapshot_is_on_its_topic_in_order(camera_device, subscriber, mqtt_prefix):
    # The 100 ms p95 is a benchmark's figure to measure, not a test's to assert.
    topic = f"{mqtt_prefix}/{camera_device.pk}/snapshot"
    for number in range(1, 21):
        snapshot = snapshot_capture(device=camera_device, trigger="api")
        subscriber.wait_for(topic, count=number)
        assert json.loads(subscriber.on(topic)[-1].payload)["id"] == str(snapshot.pk)

"""A camera on MQTT: its status topic and its Home Assistant discovery configs, seen by a
subscriber on the real Mosquitto."""

import json

import pytest

from devices.models import Device
from devices.mqtt import devices_announce, discovery_configs
from devices.services import (
    device_create,
    device_delete,
    device_record_capture_failure,
    device_record_capture_success,
    device_update,
)
from vas_project import mqtt
from vas_project.tests import mqtt_broker
from vas_project.tests.mqtt_broker import Subscriber, retained

mqtt_prefix = mqtt_broker.mqtt_prefix


@pytest.fixture
def subscriber(mqtt_prefix):
    subscriber = Subscriber(f"{mqtt_prefix}/#", f"{mqtt_prefix}-ha/#")
    yield subscriber
    subscriber.close()


def config_topics(mqtt_prefix, device_id):
    node = f"{mqtt_prefix}_{device_id.hex}"
    return {
        entity: f"{mqtt_prefix}-ha/{component}/{node}/{entity}/config"
        for component, entity in (("image", "image"), ("binary_sensor", "online"), ("sensor", "last_snapshot"))
    }


def payloads(messages):
    return [(message.payload, message.retain) for message in messages]


def test_a_status_change_is_on_the_cameras_status_topic_retained(
    db, subscriber, mqtt_prefix, device, django_capture_on_commit_callbacks
):
    topic = f"{mqtt_prefix}/{device.pk}/status"
    with django_capture_on_commit_callbacks(execute=True):
        device_record_capture_success(device=device)
        device_record_capture_success(device=device)  # no change: nothing more
    assert payloads(subscriber.wait_for(topic)) == [(b"online", False)]
    with django_capture_on_commit_callbacks(execute=True):
        device_record_capture_failure(device=device, code="connection_refused", message="x", offline=True)
    assert subscriber.wait_for(topic, count=2)[-1].payload == b"offline"
    assert payloads(retained(topic)) == [(b"offline", True)]


def test_a_status_change_in_a_transaction_that_rolls_back_says_nothing(
    db, subscriber, mqtt_prefix, device, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        device_record_capture_success(device=device)
    assert len(callbacks) == 1  # held until the commit: a rollback drops it, and it never runs
    assert retained(f"{mqtt_prefix}/{device.pk}/status") == []


def test_a_new_camera_has_the_configs_home_assistant_needs(
    db, subscriber, mqtt_prefix, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        device = device_create(user=None, name="Gate", rtsp_url="rtsp://127.0.0.1:1/gate")
    topics = config_topics(mqtt_prefix, device.pk)
    configs = {entity: json.loads(subscriber.wait_for(topic)[0].payload) for entity, topic in topics.items()}
    for entity, config in configs.items():
        assert config["unique_id"] == f"{mqtt_prefix}_{device.pk.hex}_{entity}"
        assert config["device"]["identifiers"] == [f"{mqtt_prefix}_{device.pk.hex}"]
        assert config["device"]["name"] == "Gate"
        assert config["availability_topic"] == f"{mqtt_prefix}/status"
        assert (config["payload_available"], config["payload_not_available"]) == ("online", "offline")
    assert configs["image"]["image_topic"] == f"{mqtt_prefix}/{device.pk}/image"
    assert configs["image"]["content_type"] == "image/jpeg"
    online = configs["online"]
    assert (online["state_topic"], online["payload_on"], online["payload_off"]) == (
        f"{mqtt_prefix}/{device.pk}/status",
        "online",
        "offline",
    )
    assert online["device_class"] == "connectivity"
    last = configs["last_snapshot"]
    assert (last["state_topic"], last["device_class"]) == (f"{mqtt_prefix}/{device.pk}/snapshot", "timestamp")
    assert last["value_template"] == "{{ value_json.captured_at }}"
    assert all(message.retain for message in retained(topics["image"]))


def test_a_renamed_camera_has_its_configs_again_with_the_new_name(
    db, subscriber, mqtt_prefix, device, django_capture_on_commit_callbacks
):
    topic = config_topics(mqtt_prefix, device.pk)["online"]
    with django_capture_on_commit_callbacks(execute=True):
        device_update(device=device, enabled=False)  # not a rename: nothing
        device_update(device=device, name="Lobby east")
    assert [json.loads(m.payload)["device"]["name"] for m in subscriber.wait_for(topic)] == ["Lobby east"]
    assert json.loads(retained(topic)[0].payload)["device"]["name"] == "Lobby east"


def test_a_deleted_camera_has_its_configs_and_retained_messages_emptied(
    db, subscriber, mqtt_prefix, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        device = device_create(user=None, name="Gate", rtsp_url="rtsp://127.0.0.1:1/gate")
        device_record_capture_success(device=device)
    device_id = device.pk
    topics = [*config_topics(mqtt_prefix, device_id).values(), f"{mqtt_prefix}/{device_id}/status"]
    for topic in topics:
        subscriber.wait_for(topic)
    with django_capture_on_commit_callbacks(execute=True):
        device_delete(device=device)
    assert not Device.objects.filter(pk=device_id).exists()
    for topic in topics:
        assert subscriber.wait_for(topic, count=2)[-1].payload == b""
        assert retained(topic, wait_s=0.3) == []


def test_with_images_off_a_camera_has_no_image_entity(db, settings, mqtt_prefix, device):
    settings.MQTT_IMAGES = False
    configs = discovery_configs(device)
    assert configs[config_topics(mqtt_prefix, device.pk)["image"]] is None
    assert configs[config_topics(mqtt_prefix, device.pk)["online"]] is not None


def test_announcing_publishes_every_cameras_configs_and_known_status(db, subscriber, mqtt_prefix):
    seen = Device.objects.create(name="Seen", rtsp_url="rtsp://127.0.0.1:1/a", status=Device.Status.ONLINE)
    new = Device.objects.create(name="New", rtsp_url="rtsp://127.0.0.1:1/b")
    devices_announce(devices=[seen, new])
    assert payloads(subscriber.wait_for(f"{mqtt_prefix}/{seen.pk}/status")) == [(b"online", False)]
    subscriber.wait_for(config_topics(mqtt_prefix, new.pk)["online"])
    assert subscriber.on(f"{mqtt_prefix}/{new.pk}/status") == []  # unknown: neither online nor offline


def test_with_commands_on_a_camera_has_a_capture_button(db, settings, mqtt_prefix, device):
    button = f"{mqtt_prefix}-ha/button/{mqtt_prefix}_{device.pk.hex}/capture/config"
    assert discovery_configs(device)[button] is None
    settings.MQTT_COMMANDS = True
    config = discovery_configs(device)[button]
    assert config["command_topic"] == f"{mqtt_prefix}/{device.pk}/capture"
    assert config["payload_press"] == "{}"
    assert config["unique_id"] == f"{mqtt_prefix}_{device.pk.hex}_capture"


def test_two_hundred_cameras_are_all_announced(db, mqtt_prefix):
    # A figure (the 2 s) is a benchmark's to measure, not a test's to assert.
    devices = Device.objects.bulk_create(
        Device(name=f"cam{number}", rtsp_url=f"rtsp://127.0.0.1:1/{number}", status=Device.Status.ONLINE)
        for number in range(200)
    )
    subscriber = Subscriber(f"{mqtt_prefix}-ha/sensor/#")
    try:
        mqtt.publisher().wait_connected(timeout_s=5)  # the connection, which a keeper makes as it starts
        devices_announce(devices=devices)
        subscriber.wait_for(config_topics(mqtt_prefix, devices[-1].pk)["last_snapshot"], timeout_s=10)
    finally:
        subscriber.close()
    assert len(subscriber.messages) == 200

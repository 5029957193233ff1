"""A camera on MQTT (vas_project.mqtt publishes): its topics, its status, and the Home Assistant
discovery configs that make it a device there with no YAML. Every message leaves once the
transaction that made it commits (at once outside one), never for a rolled-back one.

Topics, under VAS_MQTT_PREFIX: <prefix>/<id>/status (online / offline, retained),
<prefix>/<id>/snapshot (the newest snapshot's metadata, retained), <prefix>/<id>/image (its
JPEG, retained). Discovery, under VAS_MQTT_DISCOVERY_PREFIX:
<discovery>/<component>/<prefix>_<id hex>/<entity>/config, retained; empty removes it."""

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator

from django import db
from django.conf import settings
from django.db import transaction

from devices.models import Device
from vas_project import mqtt

MANUFACTURER = "VAS Snapshots"
# How long a keeper waits, as it starts, for the broker to take every camera's configs.
ANNOUNCE_TIMEOUT_S = 10

Message = tuple[str, bytes | str, bool]


def status_topic(device_id: uuid.UUID) -> str:
    return mqtt.topic(device_id, "status")


def snapshot_topic(device_id: uuid.UUID) -> str:
    return mqtt.topic(device_id, "snapshot")


def image_topic(device_id: uuid.UUID) -> str:
    return mqtt.topic(device_id, "image")


def capture_topic(device_id: uuid.UUID | str) -> str:
    """Where a capture of the camera is commanded (VAS_MQTT_COMMANDS); its result on .../result."""
    return mqtt.topic(device_id, "capture")


def _publish_all(messages: list[Message]) -> None:
    for name, payload, retain in messages:
        mqtt.publish(name, payload, retain=retain)


def _after_commit(messages: list[Message]) -> None:
    if mqtt.enabled() and messages:
        # robust: a failure here is logged by Django, and is never the committed caller's.
        transaction.on_commit(lambda: _publish_all(messages), robust=True)


def device_status_publish(*, device: Device) -> None:
    """The camera's status as it is now, on its status topic (retained)."""
    _after_commit([(status_topic(device.pk), str(device.status), True)])


def _discovery_on() -> bool:
    return mqtt.enabled() and bool(settings.MQTT_DISCOVERY_PREFIX)


def _node_id(device_id: uuid.UUID) -> str:
    # Home Assistant's node and object ids allow letters, digits, _ and - only.
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', settings.MQTT_PREFIX)}_{device_id.hex}"


def _config_topic(device_id: uuid.UUID, component: str, entity: str) -> str:
    return f"{settings.MQTT_DISCOVERY_PREFIX}/{component}/{_node_id(device_id)}/{entity}/config"


# Each camera's entities: (component, entity, what its config adds to the common keys).
def _entities(device: Device) -> Iterator[tuple[str, str, dict[str, object] | None]]:
    images: dict[str, object] = {"image_topic": image_topic(device.pk), "content_type": "image/jpeg", "name": None}
    yield "image", "image", images if settings.MQTT_IMAGES else None
    yield (
        "binary_sensor",
        "online",
        {
            "name": "Online",
            "device_class": "connectivity",
            "state_topic": status_topic(device.pk),
            "payload_on": Device.Status.ONLINE.value,
            "payload_off": Device.Status.OFFLINE.value,
        },
    )
    yield (
        "sensor",
        "last_snapshot",
        {
            "name": "Last snapshot",
            "device_class": "timestamp",
            "state_topic": snapshot_topic(device.pk),
            "value_template": "{{ value_json.captured_at }}",
        },
    )
    button: dict[str, object] = {"name": "Capture", "command_topic": capture_topic(device.pk), "payload_press": "{}"}
    yield "button", "capture", button if settings.MQTT_COMMANDS else None


def discovery_configs(device: Device) -> dict[str, dict[str, object] | None]:
    """Each entity's config topic and its config (None: the entity is off, its config removed)."""
    common = {
        "device": {"identifiers": [_node_id(device.pk)], "name": device.name, "manufacturer": MANUFACTURER},
        "availability_topic": mqtt.status_topic(settings.MQTT_PREFIX),
        "payload_available": "online",
        "payload_not_available": "offline",
    }
    return {
        _config_topic(device.pk, component, entity): (
            None if extra is None else {**common, "unique_id": f"{_node_id(device.pk)}_{entity}", **extra}
        )
        for component, entity, extra in _entities(device)
    }


def _discovery_messages(device: Device) -> list[Message]:
    configs = discovery_configs(device)
    return [(name, b"" if config is None else json.dumps(config), True) for name, config in configs.items()]


def device_discovery_publish(*, device: Device) -> None:
    """The camera's discovery configs (a camera created, or renamed)."""
    if _discovery_on():
        _after_commit(_discovery_messages(device))


def device_mqtt_remove(*, device: Device) -> None:
    """A camera deleted: its discovery configs and its retained messages emptied."""
    retained = [status_topic(device.pk), snapshot_topic(device.pk), image_topic(device.pk)]
    configs = list(discovery_configs(device)) if _discovery_on() else []
    _after_commit([(name, b"", True) for name in [*configs, *retained]])


def devices_announce(*, devices: Iterable[Device]) -> None:
    """Every camera's discovery configs and status (retained), paced: a keeper as it starts."""
    if not mqtt.enabled():
        return
    messages: list[Message] = []
    for device in devices:
        messages.extend(_discovery_messages(device) if _discovery_on() else [])
        if device.status != Device.Status.UNKNOWN:  # the topic says online or offline, nothing else
            messages.append((status_topic(device.pk), str(device.status), True))
    mqtt.publish_many(messages, timeout_s=ANNOUNCE_TIMEOUT_S)


def discovery_birth_subscribe(*, devices: Callable[[], Iterable[Device]]) -> bool:
    """Announce the cameras again (devices(): which) whenever Home Assistant says it is back
    (its birth message, `online` on <discovery prefix>/status): after its restart, or a broker's
    that forgot what was retained."""
    if not _discovery_on():
        return False

    def home_assistant_back(topic: str, payload: bytes) -> None:
        if payload.strip() == b"online":
            try:
                devices_announce(devices=devices())
            finally:
                db.connection.close()  # the handler's thread: no connection left open behind it

    return mqtt.subscribe(f"{settings.MQTT_DISCOVERY_PREFIX}/status", home_assistant_back)

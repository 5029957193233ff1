"""A snapshot on MQTT, once its row is committed: its metadata (as the API shows it) on
<prefix>/<camera id>/snapshot and its JPEG on <prefix>/<camera id>/image, both retained (the
newest is what a subscriber, or Home Assistant after a restart, is given at once). Images can be
turned off (VAS_MQTT_IMAGES) or capped to a width (VAS_MQTT_IMAGE_WIDTH_PX)."""

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from devices.mqtt import image_topic, snapshot_topic
from snapshots import images
from snapshots.models import Snapshot
from snapshots.representation import snapshot_as_dict
from vas_project import mqtt


def _image(data: bytes) -> bytes:
    width = settings.MQTT_IMAGE_WIDTH_PX
    return images.resize_jpeg(data, max_width_px=width) if width > 0 else data


def _publish(snapshot: Snapshot, data: bytes) -> None:
    metadata = json.dumps(snapshot_as_dict(snapshot), cls=DjangoJSONEncoder)
    mqtt.publish(snapshot_topic(snapshot.device_id), metadata, retain=True)
    if settings.MQTT_IMAGES:
        mqtt.publish(image_topic(snapshot.device_id), _image(data), retain=True)


def snapshot_publish(*, snapshot: Snapshot, data: bytes) -> None:
    """Publish the snapshot (data: its JPEG, as captured) once the current transaction commits;
    nothing for one that rolls back."""
    if mqtt.enabled():
        # robust: a failure here is logged by Django, and is never the committed caller's.
        transaction.on_commit(lambda: _publish(snapshot, data), robust=True)

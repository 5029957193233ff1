"""Captures commanded over MQTT (VAS_MQTT_COMMANDS): a message on <prefix>/<camera id>/capture
(empty, or {"max_age": s, "force": bool}) captures that camera as the API's capture does
(trigger "command"), and its outcome goes to <prefix>/<camera id>/capture/result. Whoever may
publish on the broker may command any camera: the broker's access control is the only check."""

import json
import math
import uuid

from django import db
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from capture.errors import CaptureError
from devices.models import Device
from devices.mqtt import capture_topic
from snapshots.models import Snapshot
from snapshots.representation import snapshot_as_dict
from snapshots.services import snapshot_capture
from vas_project import mqtt

MAX_AGE_LIMIT_S = 3600  # as the API's max_age


class InvalidCommand(ValueError):
    pass


def _command_params(payload: bytes) -> tuple[float | None, bool]:
    """max_age_s and force from an empty payload or {"max_age": s, "force": bool}."""
    if not payload.strip():
        return None, False
    try:
        params = json.loads(payload)
    except ValueError:
        raise InvalidCommand("The payload must be empty or a JSON object.") from None
    if not isinstance(params, dict) or set(params) - {"max_age", "force"}:
        raise InvalidCommand('The payload may hold only "max_age" and "force".')
    max_age = params.get("max_age")
    if max_age is not None and (
        isinstance(max_age, bool)
        or not isinstance(max_age, int | float)
        or not math.isfinite(max_age)
        or not 0 <= max_age <= MAX_AGE_LIMIT_S
    ):
        raise InvalidCommand(f"max_age must be a number of seconds from 0 to {MAX_AGE_LIMIT_S}.")
    if not isinstance(params.get("force", False), bool):
        raise InvalidCommand("force must be true or false.")
    return (None if max_age is None else float(max_age)), params.get("force", False)


def _device(reference: str) -> Device:
    try:
        device = Device.objects.filter(pk=uuid.UUID(reference)).first()
    except ValueError:
        device = None
    if device is None:
        raise CaptureError(code="device_not_found")
    return device


def _command_outcome(reference: str, payload: bytes) -> dict[str, object]:
    try:
        max_age_s, force = _command_params(payload)
    except InvalidCommand as error:
        return {"device_id": reference, "ok": False, "code": "invalid_command", "detail": str(error)}
    try:
        device = _device(reference)
        snapshot = snapshot_capture(device=device, trigger=Snapshot.Trigger.COMMAND, force=force, max_age_s=max_age_s)
    except CaptureError as error:
        return {"device_id": reference, "ok": False, "code": error.code, "detail": str(error)}
    return {"device_id": reference, "ok": True, "snapshot": snapshot_as_dict(snapshot)}


def capture_commanded(topic: str, payload: bytes) -> None:
    """The handler of <prefix>/+/capture: capture, and publish the outcome on .../result."""
    reference = topic.split("/")[-2]
    try:
        outcome = _command_outcome(reference, payload)
    finally:
        db.connection.close()  # the handler's thread: no connection left open behind it
    mqtt.publish(f"{capture_topic(reference)}/result", json.dumps(outcome, cls=DjangoJSONEncoder))


def commands_subscribe() -> bool:
    """Answer capture commands in this process (the keeper), when VAS_MQTT_COMMANDS is on. Every
    keeper subscribes in one shared group: each command is run once, by one of them."""
    if not settings.MQTT_COMMANDS:
        return False
    group = f"{settings.MQTT_PREFIX.replace('/', '_')}-commands"
    return mqtt.subscribe(capture_topic("+"), capture_commanded, share_group=group)

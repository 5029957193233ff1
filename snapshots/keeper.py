"""The stream keeper's database side: which cameras it holds, and what its sessions find
written on the register (online, or offline with the error) and on its heartbeat. The
sessions themselves are capture.sessions, which reads no database."""

import logging
import uuid

from django import db

from capture import sessions
from capture.camera import Camera
from capture.errors import CaptureError
from devices.models import Device
from devices.mqtt import devices_announce, discovery_birth_subscribe
from devices.selectors import device_camera
from devices.services import device_record_capture_failure, device_record_capture_success
from monitoring.models import Heartbeat
from monitoring.services import heartbeat_beat
from snapshots.mqtt_commands import commands_subscribe

logger = logging.getLogger(__name__)

# What a session needs of a camera (capture.camera.Camera), and nothing else.
CAMERA_FIELDS = (
    "id",
    "name",
    "rtsp_url",
    "username",
    "password",
    "tls_verify",
    "snapshot_url",
    "frame_source",
    "live",
    "onvif_host",
    "onvif_port",
    "onvif_profile",
)


class Keeper(sessions.Keeper):
    def __init__(self, *, shard: tuple[int, int] = (1, 1)):
        super().__init__(shard=shard)
        # The devices of the cameras last wanted, which status writes go to.
        self._devices: dict[uuid.UUID, Device] = {}

    def wanted(self) -> dict[uuid.UUID, Camera]:
        devices = Device.objects.filter(enabled=True, live=True).only(*CAMERA_FIELDS)
        self._devices = {device.pk: device for device in devices if self.in_shard(device.pk)}
        return {device_id: device_camera(device=device) for device_id, device in self._devices.items()}

    def run(self) -> None:
        # On MQTT, the keeper says first what it knows: Home Assistant's configs and the status of
        # every camera of its shard (retained), then publishes each change as its sessions find it.
        try:
            devices_announce(devices=self._cameras_to_announce())
        except Exception:  # the keeper must start without its database; each change is published
            logger.exception("announcing the cameras on MQTT failed")
            db.close_old_connections()
        discovery_birth_subscribe(devices=self._cameras_to_announce)
        commands_subscribe()
        super().run()

    def _cameras_to_announce(self) -> list[Device]:
        # Every camera of the shard, live or not: each is a device in Home Assistant.
        return [device for device in Device.objects.only("id", "name", "status") if self.in_shard(device.pk)]

    def camera_online(self, camera: Camera) -> None:
        device_record_capture_success(device=self._device(camera))

    def camera_failed(self, camera: Camera, error: CaptureError) -> None:
        # Whatever failed (a wrong password, a path the camera does not serve, no answer), a camera
        # whose live session fails delivers nothing: it is offline until a session holds again.
        device_record_capture_failure(device=self._device(camera), code=error.code, message=str(error), offline=True)

    def beat(self) -> None:
        heartbeat_beat(component=Heartbeat.Component.KEEPER, name=self.name)

    def on_tick_failed(self) -> None:
        db.close_old_connections()

    def on_stopped(self) -> None:
        # This thread's connection: a keeper in a thread must not hold the database open after it.
        db.connection.close()

    def _device(self, camera: Camera) -> Device:
        return self._devices[camera.id]

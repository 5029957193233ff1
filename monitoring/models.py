"""What the status page and /metrics read besides the cameras and their snapshots: the
background processes' heartbeats, and each camera's captures and failures in five-minute slots."""

from django.db import models

from devices.models import Device


class Heartbeat(models.Model):
    """The last sign of life of one background process (a stream keeper, the scheduler, a Celery worker)."""

    class Component(models.TextChoices):
        KEEPER = "keeper"
        SCHEDULER = "scheduler"
        WORKER = "worker"

    component = models.CharField(max_length=20, choices=Component.choices)
    # host:pid of the process.
    name = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["component", "name"], name="one_heartbeat_per_process")]

    def __str__(self) -> str:
        return f"{self.component} {self.name}"


class CaptureTally(models.Model):
    """How many captures of one camera succeeded and failed in one five-minute slot."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    # The slot's start (a multiple of five minutes).
    slot = models.DateTimeField()
    captures = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "slot"], name="one_tally_per_camera_and_slot")]

    def __str__(self) -> str:
        return f"{self.device_id} at {self.slot}: {self.captures} captured, {self.failures} failed"

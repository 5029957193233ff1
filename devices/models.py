import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from devices.validators import validate_name, validate_onvif_host, validate_rtsp_url, validate_snapshot_url
from vas_project.fields import EncryptedTextField, UnreadableSecret

# Bounds of the per-camera settings: beyond them date arithmetic overflows (year 9999).
MAX_CAPTURE_INTERVAL_S = 366 * 24 * 3600
MAX_RETENTION_DAYS = 100 * 366
MAX_RETENTION_SNAPSHOTS = 100_000_000
MAX_RETENTION_BYTES = 1024**5  # a petabyte
# ONVIF's ReferenceToken: a string of up to 64 characters.
ONVIF_TOKEN_MAX_LENGTH = 64


def live_default() -> bool:
    return settings.LIVE_DEFAULT


class FrameSource(models.TextChoices):
    AUTO = "auto"
    STILL = "still"
    RTSP = "rtsp"


class Device(models.Model):
    class Status(models.TextChoices):
        ONLINE = "online"
        OFFLINE = "offline"
        UNKNOWN = "unknown"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True, validators=[validate_name])
    rtsp_url = models.CharField("RTSP URL", max_length=1024, validators=[validate_rtsp_url])
    # The camera's own still image over HTTP, fetched without a keyframe wait (capture.still).
    snapshot_url = models.CharField(
        "snapshot URL",
        max_length=1024,
        blank=True,
        validators=[validate_snapshot_url],
        help_text="The camera's JPEG over http(s), e.g. http://camera/ISAPI/Streaming/channels/101/picture. "
        "Same username and password as the RTSP URL (Basic or Digest).",
    )
    frame_source = models.CharField(
        max_length=10,
        choices=FrameSource.choices,
        default=FrameSource.AUTO,
        help_text="auto: the live frame if fresh, else the snapshot URL, else a one-shot RTSP grab; "
        "still: the snapshot URL only; rtsp: never the snapshot URL.",
    )
    # Where the camera's ONVIF device service answers (discovery fills the URLs from it).
    # A host name or an IP address only; rows stored before the rule stay readable, and a change
    # of the field asks for a valid one.
    onvif_host = models.CharField(
        "ONVIF host",
        max_length=255,
        blank=True,
        validators=[validate_onvif_host],
        help_text="A host name or an IP address (IPv6 with or without brackets). Empty: the RTSP URL's host.",
    )
    onvif_port = models.PositiveIntegerField(
        "ONVIF port", default=80, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    onvif_profile = models.CharField(
        "ONVIF profile",
        max_length=ONVIF_TOKEN_MAX_LENGTH,
        blank=True,
        help_text="The token of the ONVIF media profile the RTSP URL belongs to (discovery fills it in). "
        "When set, a capture that opens the stream asks the camera for a keyframe at once "
        "(SetSynchronizationPoint) instead of waiting for its next one. Empty: never asked.",
    )
    username = models.CharField(max_length=100, blank=True)
    # Ciphertext in the database; see vas_project.crypto.
    password = EncryptedTextField(blank=True)
    enabled = models.BooleanField(default=True)
    tls_verify = models.BooleanField(
        "verify TLS certificate",
        default=True,
        help_text=(
            "For rtsps:// cameras: check the camera's certificate and name before sending it the password. "
            "Turn off only for a camera with a self-signed certificate on a network you trust."
        ),
    )
    live = models.BooleanField(
        default=live_default,
        help_text="Keep one live session to the camera (run_stream_keeper), so captures answer at once.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Per-device overrides; empty means the global default from settings.
    capture_interval_s = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_CAPTURE_INTERVAL_S)],
        help_text="Seconds between scheduled captures; 0 turns them off. Empty: the default.",
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_RETENTION_DAYS)],
        help_text="Delete snapshots older than this many days; 0 keeps them. Empty: the default.",
    )
    retention_max_snapshots = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_RETENTION_SNAPSHOTS)],
        help_text="Keep at most this many snapshots; 0 means no limit. Empty: the default.",
    )
    retention_max_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_RETENTION_BYTES)],
        help_text="Keep at most this many bytes of images, deleting the oldest first; 0 means no limit. "
        "Empty: the default.",
    )
    # Who sees the camera (and its snapshots) besides superusers: the members of these groups,
    # unless VAS_CAMERAS_VISIBLE_TO_ALL is on. See devices.selectors.devices_visible.
    groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="devices",
        help_text="Members of these groups see the camera and its snapshots (superusers see every camera).",
    )
    # The scheduler's claim: the next slot this device is due for a scheduled capture.
    next_capture_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        # The camera's page (wall/); the admin's "View on site" link leads there.
        return reverse("wall-camera", args=[self.pk])

    def clean(self) -> None:
        """The rules across fields, held wherever a camera is saved through full_clean: the
        admin's form, and devices.services' device_create and device_update (the API, discovery).
        Each error has a code, by which a caller may word it its own way (the API's
        DeviceSerializer names snapshot_url by its field name)."""
        if self.frame_source == FrameSource.STILL and not self.snapshot_url:
            raise ValidationError(
                {"frame_source": ValidationError("still needs a snapshot URL.", code="snapshot_url_required")}
            )

    @property
    def problem(self) -> str:
        """Why the camera does not work, in words, for people: its last error without the code,
        while it is not online; empty when it works or nothing failed."""
        if self.status == Device.Status.ONLINE or not self.last_error:
            return ""
        return self.last_error.partition(": ")[2] or self.last_error

    @property
    def has_password(self) -> bool:
        return bool(self.password) or self.password_unreadable

    @property
    def password_unreadable(self) -> bool:
        """A password is stored, but no key in VAS_ENCRYPTION_KEYS decrypts it."""
        return isinstance(self.password, UnreadableSecret)


class DeviceStorage(models.Model):
    """Running totals of what a camera stores, so listing cameras reads one row each instead of
    summing their snapshots. Every write of snapshots adds to them in its own transaction
    (snapshots.services), and each prune recounts them exactly (devices.services.device_storage_recount)."""

    device = models.OneToOneField(Device, primary_key=True, on_delete=models.CASCADE, related_name="storage_totals")
    # Image bytes (file_size; thumbnails not counted) and rows.
    bytes = models.BigIntegerField(default=0)
    snapshots = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.snapshots} snapshot(s), {self.bytes} bytes"

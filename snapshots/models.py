import uuid

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from capture import sources
from devices.models import Device


class Snapshot(models.Model):
    class Trigger(models.TextChoices):
        API = "api"
        ADMIN = "admin"
        COMMAND = "command"
        SCHEDULE = "schedule"

    # Where the frame came from: a row of capture.sources.SOURCES (live, oneshot, still).
    Source = models.TextChoices(  # type: ignore[call-overload]  # django-stubs knows only the class form
        "Source", [(name.upper(), name) for name in sorted(sources.SOURCE_NAMES)]
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="snapshots")
    image = models.BinaryField()
    thumbnail = models.BinaryField()
    content_type = models.CharField(max_length=50, default="image/jpeg")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    file_size = models.PositiveIntegerField(help_text="Size of the image in bytes.")
    captured_at = models.DateTimeField(default=timezone.now)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    keep = models.BooleanField(default=False, help_text="Never deleted by retention.")
    # Empty and null on snapshots stored before these were recorded.
    source = models.CharField(max_length=10, choices=Source.choices, blank=True, help_text="Where the frame came from.")
    frame_age_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="How old the frame was when it was stored, in milliseconds."
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The key that encrypted image and thumbnail (vas_project.crypto); empty: stored as they are.
    key_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        # The id breaks ties between snapshots of one moment, so pages never overlap or skip.
        ordering = ["-captured_at", "-id"]
        get_latest_by = "captured_at"
        indexes = [
            # One camera's list and keyset pages; with file_size in it, what a camera stores
            # (devices.selectors.device_storage) is summed from the index alone.
            models.Index(fields=["device", "-captured_at", "-id", "file_size"], name="snapshot_device_captured_id"),
            # The list of all cameras' snapshots, newest first: without it every page sorts the
            # whole table. A keyset page (?cursor=) starts at its position in it.
            models.Index(fields=["-captured_at", "-id"], name="snapshot_captured_id"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} @ {self.captured_at:%Y-%m-%d %H:%M:%S}"


class LinkRevocation(models.Model):
    """A user's "links valid from" moment (snapshots/links.py): every signed link the user made
    before it (image links in answers, shares, exports) is refused; one row per user who ever
    revoked, moved forward by each revocation. Deleting the row makes the earlier links work
    again until they expire."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="link_revocation"
    )
    # A link holds when it was issued at or after this moment.
    links_valid_from = models.DateTimeField()

    def __str__(self) -> str:
        return f"links of user {self.user_id} valid from {self.links_valid_from:%Y-%m-%d %H:%M:%S}"


# A signed link holds while its maker may still see the image (snapshots/links.py). What decides
# that is cached a short while; these drop it at once when it changes through the ORM: a
# user's own row (deactivated, deleted, made superuser) forgets that user, a change of groups
# or permissions forgets everyone's.


def _user_changed(
    sender: type[User], instance: User, update_fields: frozenset[str] | None = None, **kwargs: object
) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every login saves last_login: nothing a link depends on
    from snapshots import links

    links.link_grant_forget(user_id=instance.pk)


def _access_changed(sender: object, action: str | None = None, **kwargs: object) -> None:
    if action is None or action in ("post_add", "post_remove", "post_clear"):
        from snapshots import links

        links.link_grants_changed()


post_save.connect(_user_changed, sender=User, dispatch_uid="snapshots.links.user_saved")
post_delete.connect(_user_changed, sender=User, dispatch_uid="snapshots.links.user_deleted")
for _through in (User.groups.through, User.user_permissions.through, Group.permissions.through, Device.groups.through):
    m2m_changed.connect(_access_changed, sender=_through, dispatch_uid=f"snapshots.links.{_through.__name__}")
for _model in (Group, Permission):
    post_delete.connect(_access_changed, sender=_model, dispatch_uid=f"snapshots.links.{_model.__name__}_deleted")

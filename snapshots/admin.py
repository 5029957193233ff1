"""Snapshots in the admin, and the snapshot side of the camera admin: thumbnails, counts and
the "capture now" action."""

from typing import ClassVar

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from devices.admin import DeviceAdmin
from devices.models import Device
from devices.selectors import devices_visible
from snapshots.admin_html import thumbnail_img
from snapshots.models import Snapshot
from snapshots.retention import snapshots_delete, snapshots_set_keep
from snapshots.selectors import snapshots_visible
from snapshots.services import snapshot_capture_many

RECENT_SNAPSHOTS = 12


class VisibleDeviceFilter(admin.RelatedFieldListFilter):
    """The camera filter offers only the cameras the user may see."""

    def field_choices(self, field, request, model_admin):  # type: ignore[no-untyped-def]
        return [(device.pk, device.name) for device in devices_visible(user=request.user).only("pk", "name")]


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Snapshots come from cameras: they can be viewed and deleted, never added or edited."""

    list_display = ["picture", "device", "captured_at", "file_size", "dimensions", "trigger", "source", "keep"]
    list_display_links = ["picture", "captured_at"]
    list_filter = [("device", VisibleDeviceFilter), "captured_at", "trigger", "keep"]
    actions = ["mark_keep", "unmark_keep"]
    date_hierarchy = "captured_at"
    list_per_page = 100
    fields: ClassVar[tuple[str, ...]] = (
        "full_image",
        "device",
        "captured_at",
        "dimensions",
        "file_size",
        "content_type",
        "trigger",
        "triggered_by",
        "source",
        "frame_age_ms",
        "keep",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        # Pages show images through their own routes; never load the bytes here.
        rows = super().get_queryset(request).select_related("device")
        return snapshots_visible(rows=rows.defer("image", "thumbnail", "device__password"), user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Snapshot) -> None:
        snapshots_delete(snapshots=Snapshot.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Snapshot]) -> None:
        snapshots_delete(snapshots=queryset)

    @admin.action(description="Keep (never delete by retention)", permissions=["keep"])
    def mark_keep(self, request: HttpRequest, queryset: QuerySet[Snapshot]) -> None:
        kept = snapshots_set_keep(snapshots=queryset, keep=True)
        self.message_user(request, f"{kept} snapshot(s) will be kept.")

    @admin.action(description="Stop keeping (retention applies again)", permissions=["keep"])
    def unmark_keep(self, request: HttpRequest, queryset: QuerySet[Snapshot]) -> None:
        released = snapshots_set_keep(snapshots=queryset, keep=False)
        self.message_user(request, f"{released} snapshot(s) are under retention again.")

    def has_keep_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("snapshots.change_snapshot")

    @admin.display(description="picture")
    def picture(self, snapshot: Snapshot) -> SafeString:
        return thumbnail_img(snapshot.pk, alt=f"snapshot of {snapshot.device.name}")

    @admin.display(description="dimensions")
    def dimensions(self, snapshot: Snapshot) -> str:
        return f"{snapshot.width} × {snapshot.height}"

    @admin.display(description="image")
    def full_image(self, snapshot: Snapshot) -> SafeString:
        src = reverse("snapshot-image-jpg", args=[snapshot.pk])
        return format_html(
            '<img src="{}" alt="full image" style="max-width: 100%; height: auto" class="vas-full-image"><br>'
            '<a href="{}" download="snapshot-{}.jpg">Download JPEG</a>',
            src,
            src,
            snapshot.pk,
        )


class DeviceWithSnapshotsAdmin(DeviceAdmin):
    """The camera admin with each camera's snapshots and a "capture now" action."""

    list_display = [*DeviceAdmin.list_display, "latest_thumbnail"]
    readonly_fields = [*DeviceAdmin.readonly_fields, "recent_snapshots"]
    actions = [*DeviceAdmin.actions, "capture_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Device]:
        # The latest snapshot's id comes with the device rows (an index seek each): no query per
        # row. How many snapshots each camera has is DeviceAdmin's "stored" column.
        latest = Snapshot.objects.filter(device=OuterRef("pk")).order_by("-captured_at", "-id").values("id")[:1]
        return super().get_queryset(request).annotate(latest_snapshot_id=Subquery(latest))

    @admin.display(description="latest snapshot")
    def latest_thumbnail(self, device: Device) -> SafeString | str:
        snapshot_id = getattr(device, "latest_snapshot_id", None)
        return thumbnail_img(snapshot_id, alt=f"latest snapshot of {device.name}") if snapshot_id else "-"

    @admin.display(description="newest snapshots")
    def recent_snapshots(self, device: Device) -> SafeString | str:
        snapshot_ids = list(device.snapshots.order_by("-captured_at").values_list("id", flat=True)[:RECENT_SNAPSHOTS])
        if not snapshot_ids:
            return "No snapshots yet."
        pictures = format_html_join(
            "",
            '<a href="{}">{}</a> ',
            (
                (reverse("admin:snapshots_snapshot_change", args=[pk]), thumbnail_img(pk, alt="snapshot"))
                for pk in snapshot_ids
            ),
        )
        all_link = reverse("admin:snapshots_snapshot_changelist") + f"?device__id__exact={device.pk}"
        return format_html('<div>{}</div><p><a href="{}">All snapshots of this camera</a></p>', pictures, all_link)

    @admin.action(description="Capture snapshot now", permissions=["capture"])
    def capture_now(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        # An operator pressing the button wants a try even if the camera was offline.
        results = snapshot_capture_many(devices=queryset, trigger=Snapshot.Trigger.ADMIN, user=request.user, force=True)
        for result in results:
            if result.snapshot is not None:
                snapshot = result.snapshot
                size = f"{snapshot.width}x{snapshot.height}, {snapshot.file_size} bytes"
                self.message_user(request, f"{result.device_name}: captured ({size}).", messages.SUCCESS)
            else:
                self.message_user(request, f"{result.device_name}: {result.error}", messages.ERROR)

    def has_capture_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("snapshots.add_snapshot")

    def get_urls(self) -> list[URLPattern]:
        capture = path(
            "<path:object_id>/capture/",
            self.admin_site.admin_view(self.capture_view),
            name="devices_device_capture",
        )
        return [capture, *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):  # type: ignore[no-untyped-def]
        # The change page's "Capture now" button (templates/admin/devices/device/change_form.html).
        extra_context = {**(extra_context or {}), "has_capture_permission": self.has_capture_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def capture_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Capture now": the same as the list's action, for this camera."""
        if request.method != "POST" or not self.has_capture_permission(request):
            raise PermissionDenied
        device = self.get_object(request, object_id)  # only a camera this user may see
        if device is None:
            raise Http404("No camera with that id.")
        self.capture_now(request, Device.objects.filter(pk=device.pk))
        return redirect("admin:devices_device_change", device.pk)


admin.site.unregister(Device)
admin.site.register(Device, DeviceWithSnapshotsAdmin)

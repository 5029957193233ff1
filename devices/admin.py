from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from devices.models import Device
from snapshots.admin_html import thumbnail_img
from snapshots.models import Snapshot
from snapshots.services import snapshot_capture_many

STATUS_COLOURS: dict[str, str] = {"online": "#2e7d32", "offline": "#c62828", "unknown": "#757575"}
RECENT_SNAPSHOTS = 12


class DeviceAdminForm(forms.ModelForm):
    # Never pre-filled: an empty field keeps the current password.
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current password.",
    )

    class Meta:
        model = Device
        fields = [
            "name",
            "rtsp_url",
            "username",
            "password",
            "enabled",
            "capture_interval_s",
            "retention_days",
            "retention_max_snapshots",
        ]

    def clean_password(self):
        password = self.cleaned_data["password"]
        return password or (self.instance.password if self.instance.pk else "")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = ["name", "status_badge", "enabled", "last_seen_at", "latest_thumbnail", "snapshot_count"]
    list_filter = ["status", "enabled"]
    search_fields = ["name"]
    readonly_fields = [
        "status_badge",
        "last_seen_at",
        "last_error",
        "last_error_at",
        "next_capture_at",
        "created_at",
        "updated_at",
        "recent_snapshots",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Device]:
        # The latest snapshot's id and the count come with the device rows: no query per row.
        latest = Snapshot.objects.filter(device=OuterRef("pk")).order_by("-captured_at").values("id")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(latest_snapshot_id=Subquery(latest), snapshot_count=Count("snapshots"))
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, device: Device) -> SafeString:
        colour = STATUS_COLOURS.get(device.status, "#757575")
        return format_html('<strong style="color: {}">&#9679; {}</strong>', colour, device.get_status_display())

    @admin.display(description="latest snapshot")
    def latest_thumbnail(self, device: Device) -> SafeString | str:
        snapshot_id = getattr(device, "latest_snapshot_id", None)
        return thumbnail_img(snapshot_id, alt=f"latest snapshot of {device.name}") if snapshot_id else "-"

    @admin.display(description="snapshots", ordering="snapshot_count")
    def snapshot_count(self, device: Device) -> int:
        return getattr(device, "snapshot_count", 0)

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

    actions = ["capture_now"]

    @admin.action(description="Capture snapshot now", permissions=["capture"])
    def capture_now(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        # An operator pressing the button wants a try even if the camera was offline.
        results = snapshot_capture_many(devices=queryset, trigger=Snapshot.Trigger.ADMIN, user=request.user, force=True)
        for result in results:
            if result.snapshot is not None:
                snapshot = result.snapshot
                size = f"{snapshot.width}x{snapshot.height}, {snapshot.file_size} bytes"
                self.message_user(request, f"{result.device.name}: captured ({size}).", messages.SUCCESS)
            else:
                self.message_user(request, f"{result.device.name}: {result.error}", messages.ERROR)

    def has_capture_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("snapshots.add_snapshot")

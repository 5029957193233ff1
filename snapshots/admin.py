from typing import ClassVar

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from snapshots.admin_html import thumbnail_img
from snapshots.models import Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Snapshots come from cameras: they can be viewed and deleted, never added or edited."""

    list_display = ["picture", "device", "captured_at", "file_size", "dimensions", "trigger", "keep"]
    list_display_links = ["picture", "captured_at"]
    list_filter = ["device", "captured_at", "trigger", "keep"]
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
        "keep",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        # Pages show images through their own routes; never load the bytes here.
        return super().get_queryset(request).select_related("device").defer("image", "thumbnail", "device__password")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False

    @admin.action(description="Keep (never delete by retention)", permissions=["keep"])
    def mark_keep(self, request: HttpRequest, queryset: QuerySet[Snapshot]) -> None:
        self.message_user(request, f"{queryset.update(keep=True)} snapshot(s) will be kept.")

    @admin.action(description="Stop keeping (retention applies again)", permissions=["keep"])
    def unmark_keep(self, request: HttpRequest, queryset: QuerySet[Snapshot]) -> None:
        self.message_user(request, f"{queryset.update(keep=False)} snapshot(s) are under retention again.")

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

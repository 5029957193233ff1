from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from devices.models import Device
from snapshots.models import Snapshot
from snapshots.services import snapshot_capture_many


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
        fields = ["name", "rtsp_url", "username", "password", "enabled"]

    def clean_password(self):
        password = self.cleaned_data["password"]
        return password or (self.instance.password if self.instance.pk else "")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = ["name", "status", "enabled", "last_seen_at"]
    list_filter = ["status", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["status", "last_seen_at", "created_at", "updated_at"]
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

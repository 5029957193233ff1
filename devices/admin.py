"""The camera register in the admin. The snapshot columns and the capture action are added by
snapshots/admin.py, so that devices/ knows nothing of snapshots."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.safestring import SafeString

from capture import onvif
from devices.models import Device
from devices.selectors import Storage, device_storage, devices_visible, groups_assignable, groups_visible
from devices.services import device_apply_profile, device_create, device_delete, device_discover, device_update
from vas_project.permissions import sees_every_camera

STATUS_COLOURS: dict[str, str] = {"online": "#2e7d32", "offline": "#c62828", "unknown": "#757575"}


class DeviceAdminForm(forms.ModelForm):
    # Never pre-filled. The same rule as the API: left empty keeps the current password,
    # "clear password" (the API's "password": null) removes it.
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=(
            "Leave empty to keep the current password; it is removed when the RTSP URL, the snapshot URL "
            "or the ONVIF address moves to another host, port or scheme, unless a new one is given."
        ),
    )
    clear_password = forms.BooleanField(required=False, help_text="Remove the stored password.")

    class Meta:
        model = Device
        fields = [
            "name",
            "rtsp_url",
            "snapshot_url",
            "frame_source",
            "onvif_host",
            "onvif_port",
            "onvif_profile",
            "username",
            "password",
            "clear_password",
            "enabled",
            "tls_verify",
            "live",
            "groups",
            "capture_interval_s",
            "retention_days",
            "retention_max_snapshots",
            "retention_max_bytes",
        ]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        # Not set on the instance: what is stored is decided by device_update's password rule
        # (DeviceAdmin.save_model), and until then the page shows what is stored.
        self.password_given = cleaned.pop("password", "")
        if cleaned.get("clear_password") and self.password_given:
            raise forms.ValidationError("Give a new password or clear it, not both.")
        # The rules across fields are Device.clean()'s, run with the model's full_clean.
        return cleaned

    def device_fields(self) -> dict[str, Any]:
        """The form's values as device_create and device_update take them: the password as
        typed (empty keeps the stored one), None when "clear password" is ticked."""
        fields = {name: value for name, value in self.cleaned_data.items() if name != "clear_password"}
        fields["password"] = None if self.cleaned_data.get("clear_password") else self.password_given
        return fields


class VisibleGroupFilter(admin.RelatedFieldListFilter):
    """The group filter offers only the groups the user may see."""

    def field_choices(self, field, request, model_admin):  # type: ignore[no-untyped-def]
        return [(group.pk, group.name) for group in groups_visible(user=request.user).order_by("name")]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    form = DeviceAdminForm
    list_display = ["name", "status_badge", "enabled", "live", "last_seen_at", "stored", "page_link"]
    list_filter = ["status", "enabled", "live", ("groups", VisibleGroupFilter)]
    search_fields = ["name"]
    filter_horizontal = ["groups"]
    readonly_fields = [
        "password_set",
        "status_badge",
        "last_seen_at",
        "last_error",
        "last_error_at",
        "next_capture_at",
        "created_at",
        "updated_at",
    ]

    actions = ["discover_onvif"]

    @admin.action(description="Fill URLs from ONVIF (first profile)", permissions=["change"])
    def discover_onvif(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        for device in queryset:
            try:
                profiles = device_discover(device=device)
                if not profiles:
                    raise onvif.DiscoveryError("The camera's ONVIF service lists no profile.", code="onvif_failed")
                device_apply_profile(device=device, profile=profiles[0])
            except (onvif.DiscoveryError, ValidationError) as error:
                self.message_user(request, f"{device.name}: {error}", messages.ERROR)
                continue
            urls = f"{device.rtsp_url}, {device.snapshot_url or 'no snapshot URL'}"
            kept = "" if device.has_password else " Its password was removed: the URLs lead elsewhere; set it again."
            message = f"{device.name}: filled from {profiles[0].name}: {urls}.{kept}"
            self.message_user(request, message, messages.SUCCESS)

    def get_form(self, request: HttpRequest, obj: Device | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "groups" in form.base_fields:
            # Only the groups the user may give this camera (devices.services.device_groups_check):
            # another group's name is not theirs to see or give.
            groups_field = cast(forms.ModelMultipleChoiceField, form.base_fields["groups"])
            groups_field.queryset = groups_assignable(user=request.user, device=obj).order_by("name")
        return form

    def get_queryset(self, request: HttpRequest) -> QuerySet[Device]:
        # The same cameras as the API shows this user (devices.selectors.devices_visible).
        queryset = super().get_queryset(request)
        if sees_every_camera(user=request.user):
            return queryset
        return queryset.filter(pk__in=devices_visible(user=request.user).values("pk"))

    def save_model(self, request: HttpRequest, obj: Device, form: Any, change: bool) -> None:
        # Saved through the services, as the API saves: the password rule, the creator's groups.
        # Their checks (full_clean, Device.clean()) already ran in the form, which showed any
        # error on its field.
        fields = form.device_fields()
        if change:
            # The stored camera, for the password rule to compare its URLs with the new ones (obj
            # already holds the form's).
            device = device_update(device=Device.objects.get(pk=obj.pk), user=request.user, **fields)
        else:
            device = device_create(user=request.user, **fields)
        # obj, which the admin goes on with (its log entry, its redirect), is what was saved.
        obj.pk = device.pk
        obj.refresh_from_db()
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Device) -> None:
        device_delete(device=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Device]) -> None:
        # One camera at a time, through the service, as the API deletes (its MQTT topics emptied).
        for device in queryset:
            device_delete(device=device)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The groups were saved with the camera (save_model); the formsets, if any, are left.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_fields(self, request: HttpRequest, obj: Device | None = None) -> list[Any]:
        fields = list(super().get_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            # A read-only form would render the decrypted password; a viewer sees only whether one is set.
            fields = [name for name in fields if name not in ("password", "clear_password")]
        return fields

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        # What the page's cameras store, in one query for the page, kept on the page's own
        # objects (this admin object serves every request at once).
        changelist = super().get_changelist_instance(request)
        storage = device_storage(device_ids=[device.pk for device in changelist.result_list])
        for device in changelist.result_list:
            device.storage = storage.get(device.pk, Storage())
        return changelist

    @admin.display(description="stored")
    def stored(self, device: Device) -> str:
        storage = getattr(device, "storage", Storage())
        return f"{filesizeformat(storage.bytes)} in {storage.snapshots} snapshot(s)"

    @admin.display(description="page")
    def page_link(self, device: Device) -> SafeString:
        return format_html('<a href="{}">View on site</a>', device.get_absolute_url())

    @admin.display(description="password set")
    def password_set(self, device: Device) -> str:
        if device.password_unreadable:
            return "stored, but no key in VAS_ENCRYPTION_KEYS decrypts it: set it again"
        return "yes" if device.has_password else "no"

    @admin.display(description="status", ordering="status")
    def status_badge(self, device: Device) -> SafeString:
        colour = STATUS_COLOURS.get(device.status, "#757575")
        return format_html('<strong style="color: {}">&#9679; {}</strong>', colour, device.get_status_display())

from django import forms
from django.contrib import admin

from devices.models import Device


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

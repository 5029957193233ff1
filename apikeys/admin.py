"""API keys in the admin: the library's list and its once-shown key on creation, for the keys
the API shows the user (their own; staff who see every camera: all)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey as LibraryApiKey

from apikeys.models import SCOPES, ApiKey
from apikeys.selectors import api_keys_visible
from apikeys.validators import validate_expiry, validate_networks, validate_scopes
from devices.selectors import devices_visible, groups_visible

# The library's own model is unused: its keys belong to no user and have no scope.
admin.site.unregister(LibraryApiKey)


class ApiKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(choices=[(scope, scope) for scope in SCOPES], validators=[validate_scopes])
    allowed_ips = forms.JSONField(
        required=False,
        initial=list,
        validators=[validate_networks],
        help_text='Client networks the key is accepted from, e.g. ["192.0.2.0/24"]; empty: any.',
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "devices", "groups", "expiry_date", "allowed_ips", "revoked"]

    def clean_expiry_date(self):  # type: ignore[no-untyped-def]
        expiry = self.cleaned_data["expiry_date"]
        if "expiry_date" in self.changed_data:
            validate_expiry(expiry)
        return expiry

    def clean_allowed_ips(self):  # type: ignore[no-untyped-def]
        return self.cleaned_data["allowed_ips"] or []


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    model = ApiKey
    form = ApiKeyForm
    list_display = (  # type: ignore[assignment]
        "prefix",
        "name",
        "user",
        "scopes",
        "created",
        "expiry_date",
        "_has_expired",
        "revoked",
        "last_used_at",
    )
    list_filter = ("revoked",)
    search_fields = ("name", "prefix")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        return api_keys_visible(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("prefix",)
        # What a key may do is fixed when it is made; it can be renamed and revoked.
        fixed = ("prefix", "user", "scopes", "devices", "groups", "expiry_date", "allowed_ips", "last_used_at")
        return (*fixed, "name", "revoked") if obj.revoked else fixed

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["name", "scopes", "devices", "groups", "expiry_date", "allowed_ips", "revoked"]
        return fields if obj is None else ["prefix", "user", *fields, "last_used_at"]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Only what the user may give: their cameras and groups.
        if db_field.name == "devices":
            kwargs["queryset"] = devices_visible(user=request.user)
        elif db_field.name == "groups":
            kwargs["queryset"] = groups_visible(user=request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any = None, change: bool = False) -> None:
        # The library's own tells a new key by its empty primary key; ours has its UUID already.
        if change:
            obj.save()
            return
        obj.user = request.user  # type: ignore[assignment]
        secret = ApiKey.objects.assign_key(obj)
        obj.save()
        message = f"The API key {obj.name} is {secret} — store it now: it is not shown again."
        messages.add_message(request, messages.WARNING, message)

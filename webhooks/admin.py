from django import forms
from django.contrib import admin
from django.http import HttpRequest

from vas_project.admin import ForStaffSeeingEveryCamera, MadeByTheProductAdmin
from webhooks.models import Delivery, Event, Webhook
from webhooks.services import webhook_update
from webhooks.validators import validate_webhook_url


class WebhookAdminForm(forms.ModelForm):
    url = forms.URLField(max_length=500, validators=[validate_webhook_url], assume_scheme="https")
    events = forms.MultipleChoiceField(choices=Event.choices, widget=forms.CheckboxSelectMultiple)
    # Never pre-filled: left empty keeps the current secret.
    secret = forms.CharField(
        required=False,
        min_length=16,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Signs every request (X-VAS-Signature). Leave empty to keep the current secret.",
    )

    class Meta:
        model = Webhook
        fields = ["url", "events", "secret", "active"]

    def clean_secret(self) -> str:
        secret = self.cleaned_data["secret"]
        if not secret and not self.instance.pk:
            raise forms.ValidationError("A new webhook needs a secret.")
        return secret or self.instance.secret


INLINE_COLUMNS = [
    "event",
    "state",
    "attempts",
    "last_status",
    "last_error",
    "cancel_reason",
    "created_at",
    "delivered_at",
]


class DeliveryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Delivery
    fields = tuple(INLINE_COLUMNS)
    readonly_fields = INLINE_COLUMNS
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        return super().get_queryset(request).order_by("-created_at")


@admin.register(Webhook)
class WebhookAdmin(ForStaffSeeingEveryCamera, admin.ModelAdmin):  # type: ignore[type-arg]
    form = WebhookAdminForm
    list_display = ["url", "events", "active", "created_at"]
    list_filter = ["active"]
    inlines = [DeliveryInline]

    def save_model(self, request: HttpRequest, obj: Webhook, form: forms.ModelForm, change: bool) -> None:  # type: ignore[type-arg]
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        # Saved through the services, as the API saves: unticked, its pending deliveries are cancelled.
        webhook_update(webhook=obj)


@admin.register(Delivery)
class DeliveryAdmin(ForStaffSeeingEveryCamera, MadeByTheProductAdmin):
    list_display = ["event", "webhook", "state", "attempts", "last_status", "created_at", "delivered_at"]
    list_filter = ["state", "event"]

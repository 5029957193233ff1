"""What several apps' admins share."""

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest


class MadeByTheProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows the product writes (jobs, webhook deliveries): they can be looked at, never added
    or edited by hand."""

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

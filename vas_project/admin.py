"""What several apps' admins share."""

from typing import Any, cast

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from vas_project.permissions import sees_every_camera
from vas_project.throttling import throttled_login


class AdminSite(admin.AdminSite):
    """The admin (vas_project.apps.AdminConfig makes it the default site): its login page takes
    no more password guesses than the API's login."""

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return cast(HttpResponse, throttled_login(super().login)(request, extra_context))


class MadeByTheProductAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows the product writes (jobs, webhook deliveries): they can be looked at, never added
    or edited by hand."""

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class SuperusersOnly:
    """A ModelAdmin mixin: the pages are a superuser's, whatever permissions staff were given."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser


class ForStaffSeeingEveryCamera:
    """A ModelAdmin mixin for what reaches every camera's events (webhooks and their deliveries):
    as in the API (vas_project.permissions.StaffSeeingEveryCamera), only staff who see every
    camera, and then by their model permissions."""

    def _sees_every_camera(self, request: HttpRequest) -> bool:
        return request.user.is_staff and sees_every_camera(user=request.user)  # type: ignore[union-attr]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._sees_every_camera(request) and super().has_module_permission(request)  # type: ignore[misc]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._sees_every_camera(request) and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._sees_every_camera(request) and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._sees_every_camera(request) and super().has_change_permission(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._sees_every_camera(request) and super().has_delete_permission(request, obj)  # type: ignore[misc]


def only_for_superusers(*models: type[Model]) -> None:
    """Register again, for superusers only, the admins a library registered for these models."""
    for model in models:
        library_admin = type(admin.site._registry[model])
        admin.site.unregister(model)
        admin.site.register(model, type(library_admin.__name__, (SuperusersOnly, library_admin), {}))

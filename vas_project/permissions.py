import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from rest_framework import permissions


@dataclass(frozen=True)
class CameraLimit:
    """A narrowing of what a request's user sees, set by its authentication (an API key given
    cameras or camera groups): the cameras named, and those of the groups named, among the
    user's own. devices.selectors.devices_visible applies it; the kernel only carries it."""

    device_ids: frozenset[uuid.UUID]
    group_ids: frozenset[int]


_CAMERA_LIMIT = "_vas_camera_limit"


def camera_limit_set(*, user: User, limit: CameraLimit) -> None:
    """Narrow this user object (one request's: authentication loads it afresh each time)."""
    setattr(user, _CAMERA_LIMIT, limit)


def camera_limit(*, user: User | AnonymousUser | None) -> CameraLimit | None:
    return getattr(user, _CAMERA_LIMIT, None)


def sees_every_camera(*, user: User | AnonymousUser | None) -> bool:
    """Superusers, everyone while VAS_CAMERAS_VISIBLE_TO_ALL is on, and the product itself (None:
    the scheduler, the commands, the Celery tasks) see every camera; others see those of their
    groups (devices.selectors.devices_visible). A request narrowed to some cameras (an API key's
    CameraLimit) never sees every camera."""
    if user is None:
        return True
    return camera_limit(user=user) is None and user_sees_every_camera(user=user)


def user_sees_every_camera(*, user: User | AnonymousUser) -> bool:
    """What the user sees, whatever narrowing their request has: every camera or their groups'."""
    return settings.CAMERAS_VISIBLE_TO_ALL or bool(getattr(user, "is_superuser", False))


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django's model permissions, with reading requiring the view permission."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class ViewPermissionToPost(ModelPermissions):
    """For a POST that only reads, such as sharing a link to an image: the view permission."""

    perms_map = {**ModelPermissions.perms_map, "POST": ModelPermissions.perms_map["GET"]}


class ChangePermissionToPost(ModelPermissions):
    """For a POST that changes an object, such as filling a camera's URLs by discovery: the change permission."""

    perms_map = {**ModelPermissions.perms_map, "POST": ModelPermissions.perms_map["PATCH"]}


class HasApiPermissions(permissions.IsAuthenticated):
    """The API's schema and docs describe every camera route: only for users allowed to use
    some of them (any permission on cameras or snapshots), not for every account."""

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        user = request.user
        return super().has_permission(request, view) and (
            user.is_superuser or user.has_module_perms("devices") or user.has_module_perms("snapshots")
        )


class StaffSeeingEveryCamera(permissions.BasePermission):
    """Staff who see every camera (superusers; everyone with VAS_CAMERAS_VISIBLE_TO_ALL): what
    they configure reaches every camera's events (webhooks)."""

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and sees_every_camera(user=user))

from django.urls import re_path

from snapshots.api import views
from vas_project.routers import UUID_PATTERN, ApiRouter

router = ApiRouter()
router.register("snapshots", views.SnapshotViewSet, basename="snapshot")

urlpatterns = [
    re_path(r"^storage/?$", views.StorageView.as_view(), name="storage"),
    re_path(r"^snapshots/capture/?$", views.BatchCaptureView.as_view(), name="snapshot-capture-batch"),
    re_path(
        rf"^snapshots/capture/(?P<device_id>{UUID_PATTERN})/?$",
        views.SnapshotCaptureView.as_view(),
        name="snapshot-capture",
    ),
    re_path(
        rf"^snapshots/(?P<snapshot_id>{UUID_PATTERN})/share/?$",
        views.SnapshotShareView.as_view(),
        name="snapshot-share",
    ),
    re_path(r"^links/revoke/?$", views.LinksRevokeView.as_view(), name="links-revoke"),
    re_path(
        r"^links/revoke/(?P<user_id>[1-9][0-9]{0,17})/?$", views.UserLinksRevokeView.as_view(), name="links-revoke-user"
    ),
    re_path(
        rf"^snapshots/device/(?P<device_id>{UUID_PATTERN})/?$",
        views.DeviceSnapshotListView.as_view(),
        name="device-snapshots",
    ),
    re_path(
        rf"^snapshots/device/(?P<device_id>{UUID_PATTERN})/latest/?$",
        views.DeviceLatestSnapshotView.as_view(),
        name="device-snapshot-latest",
    ),
    re_path(
        rf"^snapshots/device/(?P<device_id>{UUID_PATTERN})/latest\.jpg$",
        views.DeviceLatestImageView.as_view(),
        name="device-snapshot-latest-jpg",
    ),
    re_path(
        rf"^snapshots/device/(?P<device_id>{UUID_PATTERN})/at/?$",
        views.DeviceSnapshotAtView.as_view(),
        name="device-snapshot-at",
    ),
    re_path(
        rf"^snapshots/device/(?P<device_id>{UUID_PATTERN})/at\.jpg$",
        views.DeviceSnapshotAtImageView.as_view(),
        name="device-snapshot-at-jpg",
    ),
    re_path(rf"^devices/(?P<device_id>{UUID_PATTERN})/live/?$", views.DeviceLiveView.as_view(), name="device-live"),
    re_path(
        rf"^devices/(?P<device_id>{UUID_PATTERN})/live\.jpg$",
        views.DeviceLiveImageView.as_view(),
        name="device-live-jpg",
    ),
    *router.urls,
]

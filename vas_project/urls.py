from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter
from rest_framework_simplejwt.views import TokenRefreshView

from devices.api.views import DeviceViewSet
from snapshots.api import views as snapshot_views
from vas_project import views

# Every API route answers with and without a trailing slash, never with a redirect.
UUID = snapshot_views.UUID_PATTERN

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("devices", DeviceViewSet, basename="device")
router.register("snapshots", snapshot_views.SnapshotViewSet, basename="snapshot")

api_patterns = [
    re_path(r"^health/?$", views.HealthView.as_view(), name="health"),
    re_path(r"^auth/login-json/?$", views.LoginJsonView.as_view(), name="login-json"),
    re_path(r"^auth/token/?$", views.TokenObtainPairView.as_view(), name="token-obtain"),
    re_path(r"^auth/token/refresh/?$", TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(r"^snapshots/capture/?$", snapshot_views.BatchCaptureView.as_view(), name="snapshot-capture-batch"),
    re_path(
        rf"^snapshots/capture/(?P<device_id>{UUID})/?$",
        snapshot_views.SnapshotCaptureView.as_view(),
        name="snapshot-capture",
    ),
    re_path(
        rf"^snapshots/device/(?P<device_id>{UUID})/?$",
        snapshot_views.DeviceSnapshotListView.as_view(),
        name="device-snapshots",
    ),
    re_path(
        rf"^snapshots/device/(?P<device_id>{UUID})/latest/?$",
        snapshot_views.DeviceLatestSnapshotView.as_view(),
        name="device-snapshot-latest",
    ),
    re_path(
        rf"^snapshots/device/(?P<device_id>{UUID})/latest\.jpg$",
        snapshot_views.DeviceLatestImageView.as_view(),
        name="device-snapshot-latest-jpg",
    ),
    *router.urls,
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
]

handler404 = "vas_project.views.not_found"
handler500 = "vas_project.views.server_error"

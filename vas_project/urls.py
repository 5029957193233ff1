from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from exports.views import export_download
from monitoring import views as monitoring_views
from snapshots.views import signed_snapshot_image
from vas_project import views
from vas_project.routers import UUID_PATTERN
from wall import views as wall_views

# Every API route answers with and without a trailing slash, never with a redirect.
api_patterns: list[URLPattern | URLResolver] = [
    re_path(r"^health/?$", views.HealthView.as_view(), name="health"),
    re_path(r"^auth/login-json/?$", views.LoginJsonView.as_view(), name="login-json"),
    re_path(r"^auth/token/?$", views.TokenObtainPairView.as_view(), name="token-obtain"),
    re_path(r"^auth/token/refresh/?$", views.TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("devices.api.urls")),
    path("", include("snapshots.api.urls")),
    path("", include("jobs.api.urls")),
    path("", include("exports.api.urls")),
    path("", include("webhooks.api.urls")),
]

urlpatterns = [
    path("", wall_views.wall, name="wall"),
    path("login/", auth_views.LoginView.as_view(template_name="wall/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    re_path(rf"^cameras/(?P<device_id>{UUID_PATTERN})/frame\.jpg$", wall_views.camera_frame, name="wall-frame"),
    re_path(rf"^cameras/(?P<device_id>{UUID_PATTERN})/$", wall_views.camera_page, name="wall-camera"),
    re_path(
        rf"^cameras/(?P<device_id>{UUID_PATTERN})/snapshots/(?P<snapshot_id>{UUID_PATTERN})/$",
        wall_views.snapshot_page,
        name="wall-snapshot",
    ),
    path("status/", monitoring_views.status_page, name="status"),
    re_path(r"^metrics/?$", monitoring_views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    # Signed, expiring image links (snapshots/links.py): no login, no header.
    re_path(
        rf"^signed/snapshots/(?P<snapshot_id>{UUID_PATTERN})/(?P<column>image|thumbnail)\.jpg$",
        signed_snapshot_image,
        name="signed-snapshot-image",
    ),
    re_path(
        rf"^signed/exports/(?P<job_id>{UUID_PATTERN})/(?P<filename>[A-Za-z0-9_-]{{1,150}}\.(?:zip|mp4))$",
        export_download,
        name="export-download",
    ),
]

handler400 = "vas_project.views.bad_request"
handler404 = "vas_project.views.not_found"
handler500 = "vas_project.views.server_error"

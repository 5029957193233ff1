"""The root URLconf: the kernel's own routes (log in, schema, docs, admin) and each app's, by
dotted path, so the kernel imports no app."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from vas_project import views

# Every API route answers with and without a trailing slash, never with a redirect.
api_patterns: list[URLPattern | URLResolver] = [
    path("", include("monitoring.api.urls")),
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
    path("", include("wall.urls")),
    path("", include("monitoring.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("snapshots.urls")),
    path("", include("exports.urls")),
]

handler400 = "vas_project.views.bad_request"
handler404 = "vas_project.views.not_found"
handler500 = "vas_project.views.server_error"

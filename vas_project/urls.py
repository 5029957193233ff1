"""The root URLconf: the kernel's own routes (log in, schema, docs, the API's index, admin) and
each app's, by dotted path, so the kernel imports no app. Every answer under /api/ is JSON, with
DEBUG on too: a path there that is no route is the API's 404, not Django's debug page."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path

from vas_project import views

# Every API route answers with and without a trailing slash, never with a redirect.
api_patterns: list[URLPattern | URLResolver] = [
    path("", include("monitoring.api.urls")),
    re_path(r"^auth/login-json/?$", views.LoginJsonView.as_view(), name="login-json"),
    re_path(r"^auth/token/?$", views.TokenObtainPairView.as_view(), name="token-obtain"),
    re_path(r"^auth/token/refresh/?$", views.TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^schema/?$", views.ApiSchemaView.as_view(), name="schema"),
    re_path(r"^docs/?$", views.ApiDocsView.as_view(url_name="schema"), name="docs"),
    path("", include("devices.api.urls")),
    path("", include("apikeys.api.urls")),
    path("", include("snapshots.api.urls")),
    path("", include("jobs.api.urls")),
    path("", include("exports.api.urls")),
    path("", include("webhooks.api.urls")),
    # Last: anything else under /api/, whatever the method.
    re_path(r"", views.no_route, name="api-no-route"),
]

urlpatterns = [
    path("", include("wall.urls")),
    path("", include("monitoring.urls")),
    path("admin/", admin.site.urls),
    re_path(r"^api/?$", views.ApiIndexView.as_view(), name="api-index"),
    path("api/", include(api_patterns)),
    path("", include("snapshots.urls")),
    path("", include("exports.urls")),
]

handler400 = "vas_project.views.bad_request"
handler403 = "vas_project.views.permission_denied"
handler404 = "vas_project.views.not_found"
handler500 = "vas_project.views.server_error"

from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path, re_path
from django.views.generic import RedirectView

from vas_project.routers import UUID_PATTERN
from vas_project.throttling import throttled_login
from wall import views

urlpatterns = [
    path("", views.wall, name="wall"),
    # Browsers ask every site for /favicon.ico, the admin's pages too.
    path("favicon.ico", RedirectView.as_view(url=static("wall/favicon.svg"), permanent=True), name="favicon"),
    path("login/", throttled_login(auth_views.LoginView.as_view(template_name="wall/login.html")), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    re_path(rf"^cameras/(?P<device_id>{UUID_PATTERN})/frame\.jpg$", views.camera_frame, name="wall-frame"),
    re_path(rf"^cameras/(?P<device_id>{UUID_PATTERN})/$", views.camera_page, name="wall-camera"),
    re_path(
        rf"^cameras/(?P<device_id>{UUID_PATTERN})/snapshots/(?P<snapshot_id>{UUID_PATTERN})/$",
        views.snapshot_page,
        name="wall-snapshot",
    ),
]

from django.urls import path, re_path

from monitoring import views

urlpatterns = [
    path("status/", views.status_page, name="status"),
    re_path(r"^metrics/?$", views.metrics_view, name="metrics"),
]

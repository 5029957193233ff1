from django.urls import re_path

from exports.api import views

urlpatterns = [re_path(r"^exports/?$", views.ExportView.as_view(), name="export-create")]

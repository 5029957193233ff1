from django.urls import re_path

from monitoring.api.views import HealthView

urlpatterns = [re_path(r"^health/?$", HealthView.as_view(), name="health")]

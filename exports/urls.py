from django.urls import re_path

from exports.views import export_download
from vas_project.routers import UUID_PATTERN

urlpatterns = [
    re_path(
        rf"^signed/exports/(?P<job_id>{UUID_PATTERN})/(?P<filename>[A-Za-z0-9_-]{{1,150}}\.(?:zip|mp4))$",
        export_download,
        name="export-download",
    ),
]

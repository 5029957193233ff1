from django.urls import re_path

from snapshots.views import signed_snapshot_image
from vas_project.routers import UUID_PATTERN

urlpatterns = [
    # Signed, expiring image links (snapshots/links.py): no login, no header.
    re_path(
        rf"^signed/snapshots/(?P<snapshot_id>{UUID_PATTERN})/(?P<column>image|thumbnail)\.jpg$",
        signed_snapshot_image,
        name="signed-snapshot-image",
    ),
]

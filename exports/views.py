"""The signed download route of a finished export: no login, the link is the capability
(snapshots/links.py signs its path, which names the job and the file name to save as).

An export is made for the user who asked for it (its job's requested_by), so its link holds by
the signed links' rule for a link made by a user (links.link_grant_check): while that user is
active, may view snapshots and see the export's camera, and had not revoked their links after
asking for the export (its job's created_at stands for the link's issue time)."""

import uuid
from collections.abc import Mapping
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_safe

from exports.services import CONTENT_TYPES, export_path
from jobs.models import Job
from snapshots import links
from vas_project.exceptions import error_response

GONE_MESSAGE = "This export is gone: it expired and was removed."


def export_owner_check(job: Mapping[str, Any]) -> None:
    """Nothing when the export's link may still be used by who asked for it; else LinkError."""
    owner_id = job["requested_by_id"]
    if owner_id is not None:
        try:
            device_id = uuid.UUID(str(job["params"]["device_id"]))
        except (KeyError, TypeError, ValueError):
            raise links.link_refused() from None
        links.link_grant_check(user_id=owner_id, device_id=device_id, issued=job["created_at"].timestamp())
    elif job["request_id"]:
        # Asked for in a request, so by a user (the API makes no export for nobody), whose
        # account was deleted since (requested_by is set to null then).
        raise links.link_refused()
    # Else a job the product made itself: no user to check.


@require_safe
def export_download(request: HttpRequest, job_id: str, filename: str) -> HttpResponseBase:
    try:
        links.link_check(path=request.path, query=request.GET)
        job = (
            Job.objects.filter(pk=uuid.UUID(job_id), kind=Job.Kind.EXPORT)
            .values("requested_by_id", "request_id", "params", "created_at")
            .first()
        )
        if job is None:
            return error_response(GONE_MESSAGE, code="export_not_found", status=404)
        export_owner_check(job)
    except links.LinkError as error:
        return error_response(str(error), code=error.code, status=403)
    extension = filename.rsplit(".", 1)[-1]
    path = export_path(job_id=uuid.UUID(job_id), extension=extension)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return error_response(GONE_MESSAGE, code="export_not_found", status=404)
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[extension])

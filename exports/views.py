"""The signed download route of a finished export: no login, the link is the capability
(snapshots/links.py signs its path, which names the job and the file name to save as)."""

import uuid

from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_safe

from exports.services import CONTENT_TYPES, export_path
from snapshots import links
from vas_project.exceptions import error_response


@require_safe
def export_download(request: HttpRequest, job_id: str, filename: str) -> HttpResponseBase:
    try:
        links.link_check(path=request.path, query=request.GET)
    except links.LinkError as error:
        return error_response(str(error), code=error.code, status=403)
    extension = filename.rsplit(".", 1)[-1]
    path = export_path(job_id=uuid.UUID(job_id), extension=extension)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return error_response("This export is gone: it expired and was removed.", code="export_not_found", status=404)
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[extension])

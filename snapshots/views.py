"""The signed image route: a plain Django view, no DRF and no login, for <img> tags and shared
links (snapshots/links.py). It checks the link's signature and, for a link made by a user,
that the user may still see the image (cached, so most often no query); it answers a
revalidation from the link alone (a snapshot never changes, so the ETag is the API's, derived
from the path and the width) and otherwise reads only the image bytes by primary key."""

import time
import uuid

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from snapshots import images, links, selectors
from snapshots.api.jpeg import WIDTH_MESSAGE, width_allowed
from vas_project import crypto
from vas_project.exceptions import error_response


@require_safe
def signed_snapshot_image(request: HttpRequest, snapshot_id: str, column: str) -> HttpResponse:
    try:
        link = links.link_check(path=request.path, query=request.GET)
    except links.LinkError as error:
        return error_response(str(error), code=error.code, status=403)
    width = link.width
    if width is not None and not width_allowed(width):
        return error_response(WIDTH_MESSAGE, code="invalid_width", status=400)
    etag = f'"{snapshot_id}-{column}-{width or "full"}"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        try:
            data = selectors.snapshot_image_bytes(snapshot_id=uuid.UUID(snapshot_id), column=column)
        except crypto.ImageUnreadable as error:
            return error_response(str(error), code="image_unreadable", status=409)
        if data is None:
            return error_response("No snapshot with that id.", code="snapshot_not_found", status=404)
        if width is not None:
            data = images.resize_jpeg(data, max_width_px=width)
        response = HttpResponse(data, content_type="image/jpeg")
    response["ETag"] = etag
    # A browser may keep the image as long as the link lives; the link is the capability.
    remaining_s = max(0, link.expires - int(time.time()))
    patch_cache_control(response, private=True, max_age=remaining_s)
    return response

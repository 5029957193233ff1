"""Raw JPEG answers: the bytes of one image column, with validators so clients can cache them."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request

from capture import live
from snapshots import images, selectors
from snapshots.models import Snapshot
from vas_project.exceptions import ApiError
from vas_project.params import parse_whole_number

MIN_WIDTH_PX = 16
MAX_WIDTH_PX = 4096
JPEG_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The JPEG bytes (image/jpeg).")
WIDTH_MESSAGE = f"width must be a whole number from {MIN_WIDTH_PX} to {MAX_WIDTH_PX}."
WIDTH_PARAMETER = OpenApiParameter(
    "width", int, description=f"Downscale to this width in pixels ({MIN_WIDTH_PX}-{MAX_WIDTH_PX}); never upscales."
)


class JsonErrors(BaseContentNegotiation):
    """Raw image routes answer JPEG bytes themselves; their errors are always JSON,
    whatever the client's Accept header says (an <img> asks for image/*)."""

    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return (renderers[0], renderers[0].media_type)


def requested_width(request: Request) -> int | None:
    raw = request.query_params.get("width")
    if raw is None:
        return None
    width = parse_whole_number(raw)
    if width is None or not width_allowed(width):
        raise ApiError(WIDTH_MESSAGE, code="invalid_width", status_code=400)
    return width


def width_allowed(width: int) -> bool:
    return MIN_WIDTH_PX <= width <= MAX_WIDTH_PX


def live_jpeg_response(request: Request, image: live.LiveImage, *, device_id: str) -> HttpResponseBase:
    """The keeper's current frame: never cached without asking again, with an ETag per frame
    (and width), so a wall polling it gets 304 until the camera sends a new keyframe."""
    width = requested_width(request)
    frame = image.frame
    etag = f'"live-{device_id}-{frame.captured_at:.6f}-{width or "full"}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        data = image.jpeg if width is None else images.resize_jpeg(image.jpeg, max_width_px=width)
        response = HttpResponse(data, content_type="image/jpeg")
    response["ETag"] = etag
    response["Last-Modified"] = http_date(frame.captured_at)
    response["X-Frame-Age-Ms"] = str(round(frame.age_s * 1000))
    patch_cache_control(response, private=True, no_cache=True)
    return response


def jpeg_response(request: Request, snapshot: Snapshot, *, column: str) -> HttpResponseBase:
    """The raw JPEG of one image column ("image" or "thumbnail"), optionally downscaled.

    A snapshot never changes, so its id (and the requested width) is a strong ETag;
    a matching If-None-Match is answered before any image bytes are read.
    """
    width = requested_width(request)
    etag = f'"{snapshot.pk}-{column}-{width or "full"}"'
    last_modified = snapshot.captured_at.timestamp()
    response = get_conditional_response(request, etag=etag, last_modified=int(last_modified))
    if response is None:
        data = selectors.snapshot_bytes(snapshot_id=snapshot.pk, column=column)
        if width is not None:
            data = images.resize_jpeg(data, max_width_px=width)
        response = HttpResponse(data, content_type="image/jpeg")
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, private=True, max_age=settings.IMAGE_CACHE_MAX_AGE_S)
    return response

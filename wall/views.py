"""The camera wall: a grid of every camera the user may see, each tile refreshed by ETag
revalidation (wall/static/wall/wall.js), so an unchanged frame costs a 304."""

from datetime import date
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe

from devices.models import Device
from devices.selectors import device_get
from snapshots import images
from snapshots.models import Snapshot
from vas_project.params import parse_whole_number
from wall.selectors import STATUSES, camera_timeline, snapshot_neighbours, wall_devices, wall_frame

TILE_WIDTH_PX = 640
REFRESH_CHOICES_S = (2, 5, 10, 30, 60)


@require_safe
@login_required
@permission_required("devices.view_device", raise_exception=True)
def wall(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    name = _filter_text(request.GET.get("name", ""))
    context = {
        "devices": wall_devices(user=request.user, status=status, name=name),
        "status": status,
        "name": name,
        "statuses": STATUSES,
        "refresh_s": settings.WALL_REFRESH_S,
        "refresh_choices": REFRESH_CHOICES_S,
    }
    return render(request, "wall/wall.html", context)


@require_safe
@login_required
@permission_required("snapshots.view_snapshot", raise_exception=True)
def camera_frame(request: HttpRequest, device_id: str) -> HttpResponse:
    """A tile's image: the newest frame, tile-sized, with an ETag per frame; never cached without asking."""
    device = device_get(device_id=device_id, user=request.user)
    if device is None:
        raise Http404("No camera with that id.")
    frame = wall_frame(device_id=device.pk)
    etag = f'"{frame.tag if frame else "none"}-{device.status}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        if frame is None:
            response = HttpResponse(status=204)  # the page shows "no frame yet"
        else:
            response = HttpResponse(
                images.resize_jpeg(frame.jpeg, max_width_px=TILE_WIDTH_PX), content_type="image/jpeg"
            )
    response["ETag"] = etag
    response["X-Camera-Status"] = device.status
    # Why the camera does not work, for the tile to say (percent-encoded: a header is ASCII).
    response["X-Camera-Problem"] = quote(device.problem)
    if frame is not None:
        response["X-Frame-Captured-At"] = f"{frame.captured_at:.3f}"
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _visible_device(request: HttpRequest, device_id: str) -> Device:
    device = device_get(device_id=device_id, user=request.user)
    if device is None:
        raise Http404("No camera with that id.")
    return device


# The days a page may ask for: a day and the next must exist in every time zone (year 1 in
# UTC+14 is before year 1 in UTC; 9999-12-31 has no next day).
FIRST_DAY, LAST_DAY = date(2, 1, 1), date(9998, 12, 31)


def _asked_day(raw: str) -> date | None:
    """The day asked for, or None for the newest day (instead of an error page) when it is no
    date written as YYYY-MM-DD or one outside FIRST_DAY..LAST_DAY."""
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def _filter_text(raw: str) -> str:
    # What a person can type into a filter: no NUL, which no database column can hold.
    return raw.replace("\x00", "")[:100]


@require_safe
@login_required
@permission_required(["devices.view_device", "snapshots.view_snapshot"], raise_exception=True)
def camera_page(request: HttpRequest, device_id: str) -> HttpResponse:
    """One camera: its newest frame large, "Capture now", and its snapshots by day, newest first."""
    device = _visible_device(request, device_id)
    page = parse_whole_number(request.GET.get("page", "1")) or 1
    timeline = camera_timeline(device=device, day=_asked_day(request.GET.get("day", "")), page=page)
    context = {
        "device": device,
        "timeline": timeline,
        "can_capture": request.user.has_perm("snapshots.add_snapshot"),
        "refresh_s": settings.WALL_REFRESH_S,
    }
    return render(request, "wall/camera.html", context)


@require_safe
@login_required
@permission_required(["devices.view_device", "snapshots.view_snapshot"], raise_exception=True)
def snapshot_page(request: HttpRequest, device_id: str, snapshot_id: str) -> HttpResponse:
    """One snapshot full size, with the camera's previous and next, a download link and "keep"."""
    device = _visible_device(request, device_id)
    snapshot = Snapshot.objects.defer("image", "thumbnail").filter(device=device, pk=snapshot_id).first()
    if snapshot is None:
        raise Http404("No snapshot with that id.")
    context = {
        "device": device,
        "snapshot": snapshot,
        "neighbours": snapshot_neighbours(snapshot=snapshot),
        "can_keep": request.user.has_perm("snapshots.change_snapshot"),
    }
    return render(request, "wall/snapshot.html", context)

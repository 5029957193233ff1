from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.models import Device
from snapshots.api.serializers import SnapshotSerializer
from snapshots.capture import CaptureError
from snapshots.models import Snapshot
from snapshots.services import snapshot_capture
from vas_project.exceptions import ApiError, ErrorSerializer

# What each capture failure means over HTTP.
CAPTURE_ERROR_STATUS = {
    "device_disabled": status.HTTP_409_CONFLICT,
    "device_offline": status.HTTP_409_CONFLICT,
    "timeout": status.HTTP_504_GATEWAY_TIMEOUT,
    "ffmpeg_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def capture_api_error(error: CaptureError) -> ApiError:
    # Anything else went wrong at the camera: a bad gateway.
    status_code = CAPTURE_ERROR_STATUS.get(error.code, status.HTTP_502_BAD_GATEWAY)
    return ApiError(str(error), code=error.code, status_code=status_code)


def query_flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes", "on")


def get_device_or_404(device_id: str) -> Device:
    try:
        return Device.objects.get(pk=device_id)
    except Device.DoesNotExist:
        raise ApiError("No camera with that id.", code="device_not_found", status_code=404) from None


class SnapshotCaptureView(APIView):
    """Grab a frame from the camera now and store it."""

    queryset = Snapshot.objects.none()  # for the model permissions: capturing adds a snapshot

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("force", bool, description="Try even when the camera is known to be offline.")],
        responses={201: SnapshotSerializer, **{code: ErrorSerializer for code in (404, 409, 502, 503, 504)}},
    )
    def post(self, request: Request, device_id: str) -> Response:
        device = get_device_or_404(device_id)
        try:
            snapshot = snapshot_capture(
                device=device, trigger=Snapshot.Trigger.API, user=request.user, force=query_flag(request, "force")
            )
        except CaptureError as error:
            raise capture_api_error(error) from None
        location = request.build_absolute_uri(f"/api/snapshots/{snapshot.pk}")
        body = SnapshotSerializer(snapshot).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.api.shortcuts import get_device_or_404
from exports.api.serializers import ExportRequestSerializer
from exports.services import ExportRefused, export_create
from jobs.api.serializers import JobSerializer, job_accepted
from snapshots.models import Snapshot
from vas_project.exceptions import ERRORS, ApiError, ErrorSerializer
from vas_project.permissions import ViewPermissionToPost


class ExportRefusedError(ApiError):
    """An ExportRefused as an API error; with Retry-After (DRF's `wait`) when the refusal knows
    when there will be room (the oldest export file in the way expires)."""

    def __init__(self, refused: ExportRefused):
        super().__init__(str(refused), code=refused.code, status_code=refused.http_status)
        self.wait = refused.retry_after_s


class ExportView(APIView):
    """One camera's snapshots of a time range as a zip or an MP4 timelapse, built as a job; the
    finished job's result holds a signed download link that expires."""

    queryset = Snapshot.objects.none()
    permission_classes = [ViewPermissionToPost]  # exporting is reading: the view permission

    @extend_schema(
        operation_id="exports_create",
        request=ExportRequestSerializer,
        responses={
            202: JobSerializer,
            429: OpenApiResponse(
                ErrorSerializer,
                description="too_many_exports: VAS_EXPORT_MAX_UNFINISHED exports queued or running; "
                "export_quota_exceeded: the user's export files reach VAS_EXPORT_USER_MAX_BYTES or "
                "VAS_EXPORT_USER_MAX_FILES (with Retry-After: when the oldest expires).",
            ),
            507: OpenApiResponse(
                ErrorSerializer,
                description="export_storage_full: all users' export files reach VAS_EXPORT_TOTAL_MAX_BYTES "
                "or VAS_EXPORT_TOTAL_MAX_FILES (with Retry-After: when the oldest expires).",
            ),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        params = ExportRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        device = get_device_or_404(request, str(data["device_id"]))
        try:
            job = export_create(
                device=device,
                user=request.user,
                kind=data["kind"],
                start=data["start"],
                end=data["end"],
                fps=data["fps"],
                width=data.get("width"),
            )
        except ExportRefused as refused:
            raise ExportRefusedError(refused) from None
        return job_accepted(request, job)

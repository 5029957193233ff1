from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.models import Device
from snapshots import images, selectors
from snapshots.api.serializers import (
    BatchCaptureRequestSerializer,
    BatchCaptureResponseSerializer,
    SnapshotImageDataSerializer,
    SnapshotKeepSerializer,
    SnapshotSerializer,
)
from snapshots.capture import CaptureError
from snapshots.filters import SnapshotFilterSet
from snapshots.models import Snapshot
from snapshots.services import CaptureResult, snapshot_capture, snapshot_capture_many, snapshot_set_keep
from vas_project.exceptions import ApiError, ErrorSerializer
from vas_project.throttling import CaptureThrottle

# What each capture failure means over HTTP.
CAPTURE_ERROR_STATUS = {
    "device_disabled": status.HTTP_409_CONFLICT,
    "device_offline": status.HTTP_409_CONFLICT,
    "timeout": status.HTTP_504_GATEWAY_TIMEOUT,
    "ffmpeg_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}
UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
MIN_WIDTH_PX = 16
MAX_WIDTH_PX = 4096
ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 404)}
JPEG_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The JPEG bytes (image/jpeg).")
WIDTH_PARAMETER = OpenApiParameter(
    "width", int, description=f"Downscale to this width in pixels ({MIN_WIDTH_PX}-{MAX_WIDTH_PX}); never upscales."
)


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


def requested_width(request: Request) -> int | None:
    raw = request.query_params.get("width")
    if raw is None:
        return None
    if not raw.isdigit() or not MIN_WIDTH_PX <= int(raw) <= MAX_WIDTH_PX:
        message = f"width must be a whole number from {MIN_WIDTH_PX} to {MAX_WIDTH_PX}."
        raise ApiError(message, code="invalid_width", status_code=400)
    return int(raw)


def jpeg_response(request: Request, snapshot: Snapshot, *, column: str) -> HttpResponseBase:
    """The raw JPEG of one image column, with validators so clients can cache it.

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


def snapshot_page_response(view: generics.GenericAPIView, rows: QuerySet[Snapshot]) -> Response:  # type: ignore[type-arg]
    """One page of listing rows (selectors.snapshot_list_queryset), filtered, with their cameras' names."""
    page = view.paginate_queryset(view.filter_queryset(rows))
    assert page is not None  # every view here paginates  # noqa: S101
    names = selectors.device_names(device_ids=(row.device_id for row in page))
    context = {**view.get_serializer_context(), "device_names": names}
    return view.get_paginated_response(SnapshotSerializer(page, many=True, context=context).data)


class JsonErrors(BaseContentNegotiation):
    """Raw image routes answer JPEG bytes themselves; their errors are always JSON,
    whatever the client's Accept header says (an <img> asks for image/*)."""

    def select_parser(self, request, parsers):  # type: ignore[no-untyped-def]
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return (renderers[0], renderers[0].media_type)


class SnapshotViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):  # type: ignore[type-arg]
    """Snapshots: list (filterable), metadata, images, delete."""

    queryset = selectors.snapshot_metadata_queryset()
    serializer_class = SnapshotSerializer
    filterset_class = SnapshotFilterSet
    filter_backends = [DjangoFilterBackend]
    lookup_value_regex = UUID_PATTERN

    def list(self, request: Request) -> Response:
        return snapshot_page_response(self, selectors.snapshot_list_queryset())

    def filter_queryset(self, queryset):  # type: ignore[no-untyped-def]
        # The list's filters mean nothing to one snapshot's routes; building and validating
        # them took a quarter of a metadata request.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    @extend_schema(request=SnapshotKeepSerializer, responses={200: SnapshotSerializer, **ERRORS})
    def partial_update(self, request: Request, pk: str) -> Response:
        """Mark a snapshot to keep (never pruned by retention), or unmark it."""
        params = SnapshotKeepSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        snapshot = snapshot_set_keep(snapshot=self.get_object(), keep=params.validated_data["keep"])
        return Response(SnapshotSerializer(snapshot, context=self.get_serializer_context()).data)

    @extend_schema(responses={200: SnapshotImageDataSerializer, **ERRORS})
    @action(detail=True, url_path="image", url_name="image")
    def image(self, request: Request, pk: str) -> Response:
        """Metadata plus the JPEG as base64, as the first VAS answered."""
        snapshot = self.get_object()
        image_bytes = selectors.snapshot_bytes(snapshot_id=snapshot.pk, column="image")
        context = {**self.get_serializer_context(), "image_bytes": image_bytes}
        return Response(SnapshotImageDataSerializer(snapshot, context=context).data)

    @extend_schema(parameters=[WIDTH_PARAMETER], responses={(200, "image/jpeg"): JPEG_RESPONSE, 304: None, **ERRORS})
    @action(detail=True, url_path=r"image\.jpg", url_name="image-jpg", content_negotiation_class=JsonErrors)
    def image_jpg(self, request: Request, pk: str) -> HttpResponseBase:
        return jpeg_response(request, self.get_object(), column="image")

    @extend_schema(parameters=[WIDTH_PARAMETER], responses={(200, "image/jpeg"): JPEG_RESPONSE, 304: None, **ERRORS})
    @action(detail=True, url_path=r"thumbnail\.jpg", url_name="thumbnail-jpg", content_negotiation_class=JsonErrors)
    def thumbnail_jpg(self, request: Request, pk: str) -> HttpResponseBase:
        return jpeg_response(request, self.get_object(), column="thumbnail")


class DeviceSnapshotListView(generics.ListAPIView):  # type: ignore[type-arg]
    """One camera's snapshots, newest first."""

    queryset = selectors.snapshot_metadata_queryset()
    serializer_class = SnapshotSerializer
    filterset_class = SnapshotFilterSet
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        device = get_device_or_404(self.kwargs["device_id"])
        return selectors.snapshot_list_queryset().filter(device=device)

    def list(self, request: Request, device_id: str) -> Response:
        return snapshot_page_response(self, self.get_queryset())


class DeviceLatestSnapshotView(APIView):
    """That camera's newest snapshot (metadata)."""

    queryset = Snapshot.objects.none()

    def latest(self, device_id: str) -> Snapshot:
        snapshot = selectors.snapshot_latest_for_device(device=get_device_or_404(device_id))
        if snapshot is None:
            raise ApiError("This camera has no snapshot yet.", code="no_snapshot", status_code=404)
        return snapshot

    @extend_schema(responses={200: SnapshotSerializer, **ERRORS})
    def get(self, request: Request, device_id: str) -> Response:
        return Response(SnapshotSerializer(self.latest(device_id), context={"request": request}).data)


class DeviceLatestImageView(DeviceLatestSnapshotView):
    """That camera's newest snapshot as raw JPEG."""

    content_negotiation_class = JsonErrors

    @extend_schema(parameters=[WIDTH_PARAMETER], responses={(200, "image/jpeg"): JPEG_RESPONSE, 304: None, **ERRORS})
    def get(self, request: Request, device_id: str) -> HttpResponseBase:  # type: ignore[override]
        return jpeg_response(request, self.latest(device_id), column="image")


class SnapshotCaptureView(APIView):
    """Grab a frame from the camera now and store it."""

    queryset = Snapshot.objects.none()  # for the model permissions: capturing adds a snapshot
    throttle_classes = [CaptureThrottle]

    @extend_schema(
        operation_id="snapshots_capture",
        request=None,
        parameters=[OpenApiParameter("force", bool, description="Try even when the camera is known to be offline.")],
        responses={201: SnapshotSerializer, **{code: ErrorSerializer for code in (401, 403, 404, 409, 502, 503, 504)}},
    )
    def post(self, request: Request, device_id: str) -> Response:
        device = get_device_or_404(device_id)
        try:
            snapshot = snapshot_capture(
                device=device, trigger=Snapshot.Trigger.API, user=request.user, force=query_flag(request, "force")
            )
        except CaptureError as error:
            raise capture_api_error(error) from None
        body = SnapshotSerializer(snapshot, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["urls"]["self"]})


def batch_result(result: CaptureResult, request: Request) -> dict[str, object]:
    row: dict[str, object] = {"device_id": str(result.device.pk), "ok": result.error is None}
    if result.snapshot is not None:
        row["snapshot"] = SnapshotSerializer(result.snapshot, context={"request": request}).data
    if result.error is not None:
        row.update(code=result.error.code, detail=str(result.error))
    return row


class BatchCaptureView(APIView):
    """Capture from many cameras in parallel; one result per camera, whatever the others do."""

    queryset = Snapshot.objects.none()  # for the model permissions: capturing adds snapshots
    throttle_classes = [CaptureThrottle]

    @extend_schema(
        operation_id="snapshots_capture_batch",
        request=BatchCaptureRequestSerializer,
        responses={200: BatchCaptureResponseSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        params = BatchCaptureRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if params.validated_data["all"]:
            devices, missing = list(Device.objects.filter(enabled=True)), []
        else:
            wanted = list(dict.fromkeys(params.validated_data["device_ids"]))
            found = Device.objects.in_bulk(wanted)
            devices, missing = [found[pk] for pk in wanted if pk in found], [pk for pk in wanted if pk not in found]
        results = snapshot_capture_many(
            devices=devices, trigger=Snapshot.Trigger.API, user=request.user, force=params.validated_data["force"]
        )
        rows = [batch_result(result, request) for result in results]
        not_found = {"ok": False, "code": "device_not_found", "detail": "No camera with that id."}
        rows += [{"device_id": str(pk), **not_found} for pk in missing]
        captured = sum(1 for row in rows if row["ok"])
        return Response({"captured": captured, "failed": len(rows) - captured, "results": rows})

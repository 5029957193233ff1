"""Snapshot routes: each view looks up what the request names, calls a service or selector
and answers with a serializer. The JPEG answers are built in snapshots/api/jpeg.py."""

import math
import time
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponseBase
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from capture import live
from capture.errors import CAPTURE_FAILURES, CaptureError
from devices.api.shortcuts import get_device_or_404
from devices.models import Device
from devices.selectors import DeviceSelection, devices_select
from jobs.api.serializers import JobSerializer, job_accepted
from jobs.models import Job
from jobs.services import job_create
from snapshots import links, selectors
from snapshots.api.jpeg import JPEG_RESPONSE, WIDTH_PARAMETER, JsonErrors, jpeg_response, live_jpeg_response
from snapshots.api.serializers import (
    BatchCaptureRequestSerializer,
    BatchCaptureResponseSerializer,
    LiveFrameSerializer,
    ShareRequestSerializer,
    ShareResponseSerializer,
    SnapshotImageDataSerializer,
    SnapshotKeepSerializer,
    SnapshotSerializer,
    StorageTotalsSerializer,
)
from snapshots.filters import SnapshotFilterSet
from snapshots.models import Snapshot
from snapshots.retention import snapshot_set_keep, snapshots_delete
from snapshots.services import CaptureResult, snapshot_capture, snapshot_capture_many
from vas_project.exceptions import ERRORS, ApiError, ErrorSerializer, Responses, object_not_found
from vas_project.filters import InRangeIsoDateTimeField
from vas_project.pagination import SnapshotPagination
from vas_project.params import parse_decimal_number
from vas_project.permissions import ViewPermissionToPost
from vas_project.throttling import CaptureThrottle

# Every status a capture can fail with, from the one table of capture failures.
CAPTURE_ERRORS: Responses = {
    **ERRORS,
    **{failure.http_status: ErrorSerializer for failure in CAPTURE_FAILURES.values()},
}
IMAGE_RESPONSES: Responses = {(200, "image/jpeg"): JPEG_RESPONSE, 304: None, **ERRORS}


def capture_api_error(error: CaptureError) -> ApiError:
    return ApiError(str(error), code=error.code, status_code=error.failure.http_status)


def query_flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes", "on")


def snapshot_page_response(view: generics.GenericAPIView, rows: QuerySet[Snapshot]) -> Response:  # type: ignore[type-arg]
    """One page of listing rows (selectors.snapshot_list_queryset), filtered, with their cameras' names."""
    page = view.paginate_queryset(view.filter_queryset(rows))
    assert page is not None  # every view here paginates  # noqa: S101
    names = selectors.device_names(device_ids=(row.device_id for row in page))
    context = {**view.get_serializer_context(), "device_names": names}
    return view.get_paginated_response(SnapshotSerializer(page, many=True, context=context).data)


class SnapshotViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):  # type: ignore[type-arg]
    """Snapshots: list (filterable), metadata, images, delete."""

    queryset = selectors.snapshot_metadata_queryset()
    serializer_class = SnapshotSerializer
    filterset_class = SnapshotFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = SnapshotPagination

    def get_queryset(self) -> QuerySet[Snapshot]:
        return selectors.snapshots_visible(rows=selectors.snapshot_metadata_queryset(), user=self.request.user)

    def perform_destroy(self, instance: Snapshot) -> None:
        snapshots_delete(snapshots=Snapshot.objects.filter(pk=instance.pk))

    def list(self, request: Request) -> Response:
        rows = selectors.snapshots_visible(rows=selectors.snapshot_list_queryset(), user=request.user)
        return snapshot_page_response(self, rows)

    def get_object(self) -> Snapshot:
        try:
            return super().get_object()
        except Http404:
            raise object_not_found("snapshot") from None

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

    @extend_schema(parameters=[WIDTH_PARAMETER], responses=IMAGE_RESPONSES)
    @action(detail=True, url_path=r"image\.jpg", url_name="image-jpg", content_negotiation_class=JsonErrors)
    def image_jpg(self, request: Request, pk: str) -> HttpResponseBase:
        return jpeg_response(request, self.get_object(), column="image")

    @extend_schema(parameters=[WIDTH_PARAMETER], responses=IMAGE_RESPONSES)
    @action(detail=True, url_path=r"thumbnail\.jpg", url_name="thumbnail-jpg", content_negotiation_class=JsonErrors)
    def thumbnail_jpg(self, request: Request, pk: str) -> HttpResponseBase:
        return jpeg_response(request, self.get_object(), column="thumbnail")


class SnapshotShareView(APIView):
    """A signed link to one snapshot's image for someone without an account; it expires, and
    stops working once the user who shared it may no longer see the image or revokes their links."""

    queryset = Snapshot.objects.none()
    permission_classes = [ViewPermissionToPost]  # sharing is reading: the view permission

    @extend_schema(
        operation_id="snapshots_share",
        request=ShareRequestSerializer,
        responses={201: ShareResponseSerializer, **ERRORS},
    )
    def post(self, request: Request, snapshot_id: str) -> Response:
        params = ShareRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        snapshot_pk = uuid.UUID(snapshot_id)
        visible = selectors.snapshots_visible(rows=Snapshot.objects.all(), user=request.user)
        device_id = visible.filter(pk=snapshot_pk).values_list("device_id", flat=True).first()
        if device_id is None:
            raise object_not_found("snapshot")
        now = int(time.time())
        expires = now + params.validated_data.get("ttl_s", settings.SIGNED_LINK_TTL_S)
        issuer = links.link_issuer(user=request.user, natural_issue=now)
        maker = None if issuer is None else links.Maker(user_id=issuer[0], issued=issuer[1], device_id=device_id)
        path = links.snapshot_image_path(snapshot_id=str(snapshot_pk), column="image")
        query = links.signed_query(path=path, expires=expires, width=params.validated_data.get("width"), maker=maker)
        answer = {
            "url": f"{request.build_absolute_uri(path)}?{query}",
            "expires_at": datetime.fromtimestamp(expires, UTC),
        }
        return Response(ShareResponseSerializer(answer).data, status=status.HTTP_201_CREATED)


class LinksRevokeView(APIView):
    """Every signed link the user made until now (image links in answers, shares, exports)
    stops working: 403 link_invalid. Links made afterwards work."""

    permission_classes = [IsAuthenticated]  # anyone may revoke their own links

    @extend_schema(operation_id="links_revoke", request=None, responses={204: None, **ERRORS})
    def post(self, request: Request) -> Response:
        if not isinstance(request.user, User):
            raise NotAuthenticated()
        links.links_revoke(user_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserLinksRevokeView(APIView):
    """Staff: every signed link that user made until now stops working, as if they revoked them."""

    permission_classes = [IsAdminUser]  # is_staff

    @extend_schema(
        operation_id="links_revoke_user",
        request=None,
        parameters=[OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The user's id.")],
        responses={204: None, **ERRORS},
    )
    def post(self, request: Request, user_id: str) -> Response:
        if not User.objects.filter(pk=int(user_id)).exists():
            raise ApiError("No user with that id.", code="user_not_found", status_code=404)
        links.links_revoke(user_id=int(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceSnapshotListView(generics.ListAPIView):  # type: ignore[type-arg]
    """One camera's snapshots, newest first."""

    queryset = selectors.snapshot_metadata_queryset()
    serializer_class = SnapshotSerializer
    filterset_class = SnapshotFilterSet
    filter_backends = [DjangoFilterBackend]
    pagination_class = SnapshotPagination

    def get_queryset(self):  # type: ignore[no-untyped-def]
        device = get_device_or_404(self.request, self.kwargs["device_id"])
        return selectors.snapshot_list_queryset().filter(device=device)

    def list(self, request: Request, device_id: str) -> Response:
        return snapshot_page_response(self, self.get_queryset())


class DeviceLatestSnapshotView(APIView):
    """That camera's newest snapshot (metadata)."""

    queryset = Snapshot.objects.none()

    def latest(self, request: Request, device_id: str) -> Snapshot:
        snapshot = selectors.snapshot_latest_for_device(device=get_device_or_404(request, device_id))
        if snapshot is None:
            raise object_not_found("snapshot", "This camera has no snapshot yet.")
        return snapshot

    @extend_schema(responses={200: SnapshotSerializer, **ERRORS})
    def get(self, request: Request, device_id: str) -> Response:
        return Response(SnapshotSerializer(self.latest(request, device_id), context={"request": request}).data)


class DeviceLatestImageView(DeviceLatestSnapshotView):
    """That camera's newest snapshot as raw JPEG."""

    content_negotiation_class = JsonErrors

    @extend_schema(parameters=[WIDTH_PARAMETER], responses=IMAGE_RESPONSES)
    def get(self, request: Request, device_id: str) -> HttpResponseBase:  # type: ignore[override]
        return jpeg_response(request, self.latest(request, device_id), column="image")


class StorageView(APIView):
    """What is stored in all, for the cameras the user may see: bytes, snapshots, oldest, newest.
    Each camera's own figures are its `storage` in the devices API."""

    queryset = Snapshot.objects.none()  # the view permission on snapshots

    @extend_schema(responses={200: StorageTotalsSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        return Response(StorageTotalsSerializer(selectors.storage_usage(user=request.user)).data)


TIME_PARAMETER = OpenApiParameter(
    "time", str, required=True, description="ISO 8601, e.g. 2026-11-26T08:00:00Z (no offset: UTC)."
)
DIRECTION_PARAMETER = OpenApiParameter(
    "direction",
    str,
    enum=list(selectors.DIRECTIONS),
    description="The snapshot at or just before that moment, at or just after it, or the nearest (default).",
)


def requested_moment(request: Request) -> tuple[datetime, str]:
    """The time and direction of a lookup, or a 400 naming what is wrong."""
    try:
        # The lists' own parsing: ISO 8601, and a moment that exists in UTC (no offset: UTC).
        moment = InRangeIsoDateTimeField().clean(request.query_params.get("time") or None)
    except DjangoValidationError:
        moment = None
    if moment is None:
        message = "time must be an ISO 8601 date and time, e.g. 2026-11-26T08:00:00Z."
        raise ApiError(message, code="invalid_time", status_code=400)
    direction = request.query_params.get("direction", "nearest")
    if direction not in selectors.DIRECTIONS:
        message = f"direction must be one of {', '.join(selectors.DIRECTIONS)}."
        raise ApiError(message, code="invalid_direction", status_code=400)
    return moment, direction


class DeviceSnapshotAtView(APIView):
    """That camera's snapshot nearest to a moment (metadata): before, after or either side."""

    queryset = Snapshot.objects.none()

    def found(self, request: Request, device_id: str) -> Snapshot:
        device = get_device_or_404(request, device_id)
        moment, direction = requested_moment(request)
        snapshot = selectors.snapshot_at(device=device, moment=moment, direction=direction)
        if snapshot is None:
            detail = "This camera has no snapshot " + {"nearest": "at all."}.get(direction, f"{direction} that time.")
            raise object_not_found("snapshot", detail)
        return snapshot

    @extend_schema(parameters=[TIME_PARAMETER, DIRECTION_PARAMETER], responses={200: SnapshotSerializer, **ERRORS})
    def get(self, request: Request, device_id: str) -> Response:
        return Response(SnapshotSerializer(self.found(request, device_id), context={"request": request}).data)


class DeviceSnapshotAtImageView(DeviceSnapshotAtView):
    """That camera's snapshot nearest to a moment as raw JPEG."""

    content_negotiation_class = JsonErrors

    @extend_schema(parameters=[TIME_PARAMETER, DIRECTION_PARAMETER, WIDTH_PARAMETER], responses=IMAGE_RESPONSES)
    def get(self, request: Request, device_id: str) -> HttpResponseBase:  # type: ignore[override]
        return jpeg_response(request, self.found(request, device_id), column="image")


MAX_AGE_LIMIT_S = 3600
MAX_AGE_PARAMETER = OpenApiParameter(
    "max_age",
    float,
    description="Seconds: a live camera's current keyframe is stored when at most this old, else the next one "
    "(0: always the next). Default: one keyframe interval.",
)


def requested_max_age_s(request: Request) -> float | None:
    raw = request.query_params.get("max_age")
    if raw is None:
        return None
    value = parse_decimal_number(raw)
    if value is None or not 0 <= value <= MAX_AGE_LIMIT_S:
        message = f"max_age must be a number of seconds from 0 to {MAX_AGE_LIMIT_S}."
        raise ApiError(message, code="invalid_max_age", status_code=400)
    return value


NO_LIVE_SESSION = "No stream keeper holds a live session to this camera (its live mode is off, or no keeper runs)."


def live_image_or_404(device: Device) -> live.LiveImage:
    """The keeper's current frame of the camera, waiting for the first one of a session just opened."""
    try:
        image = live.live_image(device_id=device.pk, max_age_s=math.inf, timeout_s=settings.CAPTURE_TIMEOUT_S)
    except CaptureError as error:
        raise capture_api_error(error) from None
    if image is None:
        raise ApiError(NO_LIVE_SESSION, code="no_live_session", status_code=404)
    return image


class DeviceLiveView(APIView):
    """The camera's live frame from the stream keeper, without storing it: when it arrived, its size."""

    queryset = Snapshot.objects.none()

    @extend_schema(responses={200: LiveFrameSerializer, **CAPTURE_ERRORS})
    def get(self, request: Request, device_id: str) -> Response:
        device = get_device_or_404(request, device_id)
        image = live_image_or_404(device)
        return Response(LiveFrameSerializer(image, context={"request": request, "device": device}).data)


class DeviceLiveImageView(APIView):
    """The camera's live frame as raw JPEG, for a camera wall to poll: ETag per frame, no-cache."""

    queryset = Snapshot.objects.none()
    content_negotiation_class = JsonErrors

    @extend_schema(parameters=[WIDTH_PARAMETER], responses={**IMAGE_RESPONSES, **CAPTURE_ERRORS})
    def get(self, request: Request, device_id: str) -> HttpResponseBase:
        device = get_device_or_404(request, device_id)
        return live_jpeg_response(request, live_image_or_404(device), device_id=str(device.pk))


class SnapshotCaptureView(APIView):
    """Grab a frame from the camera now and store it."""

    queryset = Snapshot.objects.none()  # for the model permissions: capturing adds a snapshot
    throttle_classes = [CaptureThrottle]

    @extend_schema(
        operation_id="snapshots_capture",
        request=None,
        parameters=[
            OpenApiParameter("force", bool, description="Try even when the camera is known to be offline."),
            MAX_AGE_PARAMETER,
        ],
        responses={201: SnapshotSerializer, **CAPTURE_ERRORS},
    )
    def post(self, request: Request, device_id: str) -> Response:
        device = get_device_or_404(request, device_id)
        max_age_s = requested_max_age_s(request)
        try:
            snapshot = snapshot_capture(
                device=device,
                trigger=Snapshot.Trigger.API,
                user=request.user,
                force=query_flag(request, "force"),
                max_age_s=max_age_s,
            )
        except CaptureError as error:
            raise capture_api_error(error) from None
        body = SnapshotSerializer(snapshot, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["urls"]["self"]})


def batch_capture_job(request: Request, selection: DeviceSelection, *, force: bool) -> Response:
    """A batch as a job: 202 at once, with the job and its Location; the cameras are the ones
    chosen (and visible) now."""
    size = len(selection.devices) + len(selection.missing)
    if size > settings.JOB_MAX_DEVICES:
        message = f"A batch job may capture at most {settings.JOB_MAX_DEVICES} cameras (VAS_JOB_MAX_DEVICES)."
        raise ApiError(message, code="batch_too_large", status_code=400)
    params = {"device_ids": [str(device.pk) for device in selection.devices], "missing": selection.missing}
    job = job_create(kind=Job.Kind.CAPTURE_BATCH, params={**params, "force": force}, user=request.user, total=size)
    return job_accepted(request, job)


class BatchCaptureView(APIView):
    """Capture from many cameras in parallel; one result per camera, whatever the others do."""

    queryset = Snapshot.objects.none()  # for the model permissions: capturing adds snapshots
    throttle_classes = [CaptureThrottle]

    @extend_schema(
        operation_id="snapshots_capture_batch",
        request=BatchCaptureRequestSerializer,
        responses={200: BatchCaptureResponseSerializer, 202: JobSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        params = BatchCaptureRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if params.validated_data["all"] and not request.user.has_perm("devices.view_device"):
            # "all" would list every camera's id to someone not allowed to see the register.
            message = 'Capturing "all" cameras needs the permission to view cameras; name them in "device_ids".'
            raise ApiError(message, code="permission_denied", status_code=403)
        # "all" means every enabled camera the user may see; one they may not see is "not found".
        selection = devices_select(
            user=request.user,
            references=params.validated_data.get("device_ids", []),
            all_enabled=params.validated_data["all"],
        )
        size = len(selection.devices) + len(selection.missing)
        if params.validated_data["async"] or size > settings.BATCH_MAX_DEVICES:
            return batch_capture_job(request, selection, force=params.validated_data["force"])
        results = snapshot_capture_many(
            devices=selection.devices,
            trigger=Snapshot.Trigger.API,
            user=request.user,
            force=params.validated_data["force"],
            deadline_s=settings.BATCH_DEADLINE_S,
        )
        rows = [*results, *(CaptureResult.not_found(reference) for reference in selection.missing)]
        captured = sum(1 for result in results if result.ok)
        answer = {"captured": captured, "failed": len(rows) - captured, "results": rows}
        return Response(BatchCaptureResponseSerializer(answer, context={"request": request}).data)

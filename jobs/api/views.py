from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from jobs.api.serializers import JobSerializer
from jobs.models import Job
from jobs.selectors import jobs_visible
from jobs.services import job_cancel, jobs_fail_stale
from vas_project.exceptions import ApiError


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Work that outlives a request: a user's own jobs (staff: everyone's), newest first."""

    queryset = Job.objects.all()
    serializer_class = JobSerializer
    # Whoever started a job may follow and cancel it; no model permission is needed for that.
    permission_classes = [IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        jobs_fail_stale()  # a job whose worker died is failed before anyone reads it as running
        return jobs_visible(user=self.request.user)

    def get_object(self) -> Job:
        try:
            return super().get_object()
        except Http404:
            raise ApiError("No job with that id.", code="job_not_found", status_code=404) from None

    @extend_schema(request=None, responses={200: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Stop a job: queued, at once; running, before its next camera. A finished job is left as it is."""
        job = job_cancel(job=self.get_object())
        return Response(JobSerializer(job, context=self.get_serializer_context()).data)

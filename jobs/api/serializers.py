from django.urls import reverse
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from jobs.models import Job
from vas_project.public_urls import absolute_url


class JobSerializer(serializers.ModelSerializer[Job]):
    progress = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by.username", default=None, read_only=True)
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "progress",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "cancel_requested",
            "result",
            "error",
            "request_id",
            "urls",
        ]
        read_only_fields = fields

    def get_progress(self, job: Job) -> dict[str, int]:
        return {"done": job.progress_done, "total": job.progress_total}

    def get_urls(self, job: Job) -> dict[str, str]:
        urls = {"self": reverse("job-detail", args=[job.pk]), "cancel": reverse("job-cancel", args=[job.pk])}
        return {name: absolute_url(url, self.context.get("request")) for name, url in urls.items()}


def job_accepted(request: Request, job: Job) -> Response:
    """The answer to a request that started a job: 202 with the job, and its Location to follow."""
    body = JobSerializer(job, context={"request": request}).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["urls"]["self"]})

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from jobs.models import Job


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
            "urls",
        ]
        read_only_fields = fields

    def get_progress(self, job: Job) -> dict[str, int]:
        return {"done": job.progress_done, "total": job.progress_total}

    def get_urls(self, job: Job) -> dict[str, str]:
        request = self.context.get("request")
        urls = {"self": reverse("job-detail", args=[job.pk]), "cancel": reverse("job-cancel", args=[job.pk])}
        # Without a request (a webhook's payload): VAS_PUBLIC_URL, or paths.
        return {
            name: request.build_absolute_uri(url) if request else f"{settings.PUBLIC_URL}{url}"
            for name, url in urls.items()
        }

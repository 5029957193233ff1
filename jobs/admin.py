from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs.models import Job
from jobs.selectors import jobs_visible
from vas_project.admin import MadeByTheProductAdmin


@admin.register(Job)
class JobAdmin(MadeByTheProductAdmin):
    list_display = ["kind", "state", "progress_done", "progress_total", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "state"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        # The jobs the API shows this user: their own, everyone's for staff who see every camera
        # (a job's result names cameras and links to their images and exports).
        return jobs_visible(user=request.user)

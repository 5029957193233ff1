from django.contrib import admin

from jobs.models import Job
from vas_project.admin import MadeByTheProductAdmin


@admin.register(Job)
class JobAdmin(MadeByTheProductAdmin):
    list_display = ["kind", "state", "progress_done", "progress_total", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "state"]

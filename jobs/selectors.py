"""Reads on jobs."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from jobs.models import Job
from vas_project.permissions import sees_every_camera


def jobs_visible(*, user: User | AnonymousUser) -> QuerySet[Job]:
    """A user's own jobs; staff who see every camera see everyone's (a job's result names
    cameras and links to their images)."""
    jobs = Job.objects.select_related("requested_by")
    if user.is_staff and sees_every_camera(user=user):
        return jobs
    return jobs.filter(requested_by_id=user.pk) if user.is_authenticated else jobs.none()

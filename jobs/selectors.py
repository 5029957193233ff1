"""Reads on jobs."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from jobs.models import Job


def jobs_visible(*, user: User | AnonymousUser) -> QuerySet[Job]:
    """A user's own jobs; staff see everyone's."""
    jobs = Job.objects.select_related("requested_by")
    if user.is_staff:
        return jobs
    return jobs.filter(requested_by_id=user.pk) if user.is_authenticated else jobs.none()

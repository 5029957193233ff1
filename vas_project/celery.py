"""Celery for scale-out: capture tasks on as many worker machines as it takes.

Without CELERY_BROKER_URL nothing here runs; `manage.py run_scheduler` does the same
work in-process.
"""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vas_project.settings")

app = Celery("vas_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def log_as_the_web_does(**kwargs: object) -> None:
    """Workers log through settings.LOGGING (VAS_LOG_FORMAT, the jobs' request ids), not in
    Celery's own format, which would replace it."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)

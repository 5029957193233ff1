"""Celery for scale-out: capture tasks on as many worker machines as it takes.

Without CELERY_BROKER_URL nothing here runs; `manage.py run_scheduler` does the same
work in-process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vas_project.settings")

app = Celery("vas_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

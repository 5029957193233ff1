"""Celery for scale-out: capture tasks on as many worker machines as it takes.

Without CELERY_BROKER_URL nothing here runs; `manage.py run_scheduler` does the same
work in-process.
"""

import logging.config
import os
import threading

from celery import Celery
from celery.signals import setup_logging, worker_ready, worker_shutdown

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


# Seconds between a worker's heartbeats (monitoring.Heartbeat), read by the status page and /metrics.
WORKER_HEARTBEAT_S = 15.0
_stop_beating = threading.Event()


@worker_ready.connect
def beat_while_working(**kwargs: object) -> threading.Thread:
    """A thread of the worker's main process records its heartbeat until the worker shuts down."""

    def beat() -> None:
        from django import db

        from monitoring.models import Heartbeat
        from monitoring.services import heartbeat_beat

        try:
            while True:
                try:
                    heartbeat_beat(component=Heartbeat.Component.WORKER)
                except Exception:  # the database is away: beat again next time
                    logging.getLogger(__name__).warning("the worker's heartbeat could not be written")
                    db.close_old_connections()
                if _stop_beating.wait(WORKER_HEARTBEAT_S):
                    return
        finally:
            db.connection.close()

    _stop_beating.clear()
    thread = threading.Thread(target=beat, daemon=True, name="worker-heartbeat")
    thread.start()
    return thread


@worker_shutdown.connect
def stop_beating(**kwargs: object) -> None:
    _stop_beating.set()

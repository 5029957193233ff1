"""The Celery worker's heartbeat. Celery imports this module in every worker (the app's
autodiscovery of tasks modules), which connects the signals below."""

import logging
import threading

from celery.signals import worker_ready, worker_shutdown
from django import db

from monitoring.models import Heartbeat
from monitoring.services import heartbeat_beat

# Seconds between a worker's heartbeats (monitoring.Heartbeat), read by the status page and /metrics.
WORKER_HEARTBEAT_S = 15.0
_stop_beating = threading.Event()


@worker_ready.connect
def beat_while_working(**kwargs: object) -> threading.Thread:
    """A thread of the worker's main process records its heartbeat until the worker shuts down."""

    def beat() -> None:
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

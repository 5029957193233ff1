"""The product's Prometheus metrics that processes count as things happen (captures, requests,
webhook deliveries, prunes, keeper reconnects). What can be read from the database or the live
store at any time (stored bytes, live frame age, jobs by state, heartbeats) is read when
/metrics is scraped instead (monitoring.collectors), so it is right whichever process asks.

With PROMETHEUS_MULTIPROC_DIR set (a directory shared by every process of the product on one
machine, or by its containers through a volume: gunicorn workers, the keeper, the scheduler,
Celery workers), each process writes its counts there and /metrics adds them up; without it,
/metrics shows the counts of the process that answers, which is all of them under `runserver`."""

import os
import socket

from prometheus_client import Counter, Histogram, values

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Containers (or machines) sharing the directory may run processes of one pid: each process's
    # files are named by its host and pid, never by the pid alone, so no two processes share one.
    host = socket.gethostname().replace("_", "-")
    values.ValueClass = values.MultiProcessValue(process_identifier=lambda: f"{host}-{os.getpid()}")

CAMERA = ["device_id", "device"]

CAPTURES = Counter(
    "vas_captures",
    "Captures by camera, frame source (live, oneshot, still; none for a failure) and code (ok or the error).",
    [*CAMERA, "source", "code"],
)
CAPTURE_SECONDS = Histogram(
    "vas_capture_duration_seconds",
    "Seconds from asking the camera (or the keeper) for a frame to the snapshot stored or the error.",
    CAMERA,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30),
)
KEEPER_RECONNECTS = Counter("vas_keeper_reconnects", "Live sessions opened again after one ended or failed.", CAMERA)
HTTP_SECONDS = Histogram(
    "vas_http_request_duration_seconds",
    "Seconds to answer a request, by route name, method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_DELIVERIES = Counter(
    "vas_webhook_deliveries", "Webhook delivery attempts by result (delivered, retrying, failed).", ["result"]
)
PRUNE_RUNS = Counter("vas_prune_runs", "Retention runs over every camera.")
PRUNE_DELETED = Counter("vas_prune_deleted_snapshots", "Snapshots deleted by retention.")


def capture_counted(*, device_id: object, device_name: str, source: str, code: str, seconds: float) -> None:
    camera = {"device_id": str(device_id), "device": device_name}
    CAPTURES.labels(**camera, source=source, code=code).inc()
    CAPTURE_SECONDS.labels(**camera).observe(seconds)

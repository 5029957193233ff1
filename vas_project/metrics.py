"""The product's Prometheus metrics that processes count as things happen (captures, requests,
webhook deliveries, prunes, keeper reconnects). What can be read from the database or the live
store at any time (stored bytes, live frame age, jobs by state, heartbeats) is read when
/metrics is scraped instead (monitoring.collectors), so it is right whichever process asks.

Every process of the product on one machine (gunicorn workers or runserver, the keeper, the
scheduler, Celery workers, `manage.py capture_snapshot` in another shell) counts into one
directory, PROMETHEUS_MULTIPROC_DIR, and /metrics adds them up. The settings make it
.cache/metrics when the variable is unset (set it empty, or VAS_METRICS=false, and each process
keeps its own counts, /metrics showing those of the process that answers). Containers share it
through a volume. Each process writes its own files, named by host and pid, from its first count:
one that counts nothing (migrate, shell) leaves none. A web server, as it starts, removes the
files of this host's processes that ended before it started (metrics_forget_ended_processes),
so an earlier run's counts do not add up with this one's for ever."""

import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import Counter, Histogram, values

HOST = socket.gethostname().replace("_", "-")


def _process_identifier() -> str:
    # Containers (or machines) sharing the directory may run processes of one pid: each process's
    # files are named by its host and pid, never by the pid alone, so no two processes share one.
    return f"{HOST}-{os.getpid()}"


_counted = threading.Event()


def _opened_at_first_count(value_class: Callable[..., Any]) -> type:
    """prometheus_client's multiprocess value, whose files are opened (in PROMETHEUS_MULTIPROC_DIR
    as it is then) when the process first counts, not when the metrics are defined: a metric
    without labels (PRUNE_RUNS) is defined at import, by every process, most of which never count.
    At the first count every value defined until then is opened, every bucket of a histogram
    included, as prometheus_client would have at once; the values defined later, at once."""
    lock = threading.Lock()
    waiting: list[Any] = []

    class ValueOpenedAtFirstCount:
        _multiprocess = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._args, self._kwargs = args, kwargs
            self._value: Any = None
            with lock:
                if _counted.is_set():
                    self._value = value_class(*args, **kwargs)
                else:
                    waiting.append(self)

        def _opened(self) -> Any:
            if self._value is None:
                with lock:
                    if not _counted.is_set():
                        for value in waiting:
                            value._value = value_class(*value._args, **value._kwargs)
                        waiting.clear()
                        _counted.set()
            return self._value

        def inc(self, amount: float) -> None:
            self._opened().inc(amount)

        def set(self, value: float, timestamp: float | None = None) -> None:
            self._opened().set(value, timestamp)

        def set_exemplar(self, exemplar: object) -> None:
            return  # not in multiprocess mode

        def get(self) -> float:
            return self._opened().get()

        def get_exemplar(self) -> None:
            return None

    return ValueOpenedAtFirstCount


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    values.ValueClass = _opened_at_first_count(values.MultiProcessValue(process_identifier=_process_identifier))
else:
    # Set but empty, prometheus_client would count into files in the working directory.
    values.ValueClass = values.MutexValue


def metrics_count_into(directory: str) -> None:
    """Count into this directory instead (the test suite's own, per session); only before this
    process has counted anything, in multiprocess mode."""
    if _counted.is_set():
        raise RuntimeError("this process has counted already: its files are in the old directory")
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise RuntimeError("not in multiprocess mode (PROMETHEUS_MULTIPROC_DIR empty at import)")
    Path(directory).mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's
    return True


def metrics_forget_ended_processes(directory: Path, *, before: float) -> list[str]:
    """Remove the files of this host's processes that are no longer running and were last written
    before `before` (a web server's start): an earlier run's counts. Files of running processes,
    and those of other hosts sharing the directory (which this host cannot tell alive), stay.
    Returns the names removed."""
    removed = []
    for path in sorted(directory.glob("*.db")):
        # counter_HOST-PID.db, histogram_HOST-PID.db, gauge_MODE_HOST-PID.db
        host, _, pid = path.stem.rsplit("_", 1)[-1].rpartition("-")
        if host != HOST or not pid.isdigit() or _running(int(pid)):
            continue
        try:
            if path.stat().st_mtime >= before:
                continue  # a process of this server's run, which ended (a replaced worker)
            path.unlink()
        except FileNotFoundError:
            continue  # another server starting removed it
        removed.append(path.name)
    return removed


def _started_at(pid: int) -> float | None:
    """When a process started (Linux's /proc), in seconds since the epoch; None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    except (OSError, StopIteration):
        return None
    # The fields after the command's closing parenthesis begin at the third; starttime is the 22nd.
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")


def web_server_started_at() -> float | None:
    """When the web server this process belongs to started, if this process is the one that starts
    it: `manage.py runserver` (the autoreloader's parent, or the only process with --noreload; not
    the child it restarts on each code change), or a gunicorn worker (the server started with
    its master, the worker's parent: a worker replaced mid-run forgets nothing of that run).
    None for any other process: the keeper, the scheduler, commands, Celery."""
    if sys.argv[1:2] == ["runserver"]:
        return None if os.environ.get("RUN_MAIN") == "true" else time.time()
    if "gunicorn" in sys.modules:
        return _started_at(os.getppid())
    return None


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


MQTT_DROPPED = Counter(
    "vas_mqtt_dropped",
    "MQTT messages dropped (never sent) by reason: queue_full (the broker away too long), refused, error.",
    ["reason"],
)

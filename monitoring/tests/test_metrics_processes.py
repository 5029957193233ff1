"""/metrics counts what every process of the product on this machine did, by default: a
`manage.py capture_snapshot` in another shell too; a web server's start forgets the counts of
processes that ended before it (an earlier run's), and a process that counts nothing leaves no file."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.models import Device
from monitoring.tests.test_metrics import parse, scrape, value
from snapshots.tests.servers import BASE_DIR, free_port, product_environment, start_web, stop_process, wait_for

# PROMETHEUS_MULTIPROC_DIR set empty: each process keeps its own counts, this one's included.
multiprocess_session = pytest.mark.skipif(
    os.environ.get("PROMETHEUS_MULTIPROC_DIR") == "", reason="multiprocess mode off: PROMETHEUS_MULTIPROC_DIR=''"
)


# How the product names this host in its files (vas_project.metrics): counter_HOST-PID.db.
HOST = socket.gethostname().replace("_", "-")


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """A product command in a process of its own, on the test database."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=product_environment(**environment),
        capture_output=True,
        text=True,
        timeout=120,
    )


def captures(samples, device: Device) -> float:
    """Every capture of the device counted, whatever its frame source and code."""
    return sum(
        count
        for (name, labels), count in samples.items()
        if name == "vas_captures_total" and ("device_id", str(device.pk)) in labels
    )


@multiprocess_session
def test_a_capture_by_a_command_in_another_process_is_counted(transactional_db, client, refused_url):
    """The web process answering /metrics counts what a command in another shell captured: both
    count into the same directory without anybody setting PROMETHEUS_MULTIPROC_DIR (the session's
    own directory stands in for .cache/metrics)."""
    device = Device.objects.create(name="Cron camera", rtsp_url=refused_url)
    before = scrape(client)
    result = manage("capture_snapshot", "--force", str(device.pk))
    assert result.returncode == 1, result.stdout + result.stderr  # the camera refuses: a failed capture
    after = scrape(client)
    assert captures(after, device) - captures(before, device) == 1
    camera = {"device_id": str(device.pk), "device": "Cron camera"}
    moved = value(after, "vas_capture_duration_seconds_count", **camera) - value(
        before, "vas_capture_duration_seconds_count", **camera
    )
    assert moved == 1


def test_every_process_counts_into_one_directory_by_default():
    """Unset, the settings make it .cache/metrics and hand it down to the processes started from
    there; empty, or with the metrics off, each process keeps its own counts."""
    show = "import os; print(repr(os.environ.get('PROMETHEUS_MULTIPROC_DIR')))"
    environment = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}

    def directory(**overrides: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", show],
            cwd=BASE_DIR,
            env={**environment, **overrides},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]  # after the shell's own line about its imports

    assert directory() == repr(str(BASE_DIR / ".cache" / "metrics"))
    assert directory(PROMETHEUS_MULTIPROC_DIR="") == repr("")
    assert directory(VAS_METRICS="false") == repr(None)


def test_turned_off_a_process_counts_into_no_file(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR='' is off, not the working directory (where prometheus_client
    alone would put its files)."""
    count = "from vas_project import metrics; metrics.PRUNE_RUNS.inc(); print(metrics.PRUNE_RUNS._value.get())"
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "shell", "-c", count],
        cwd=tmp_path,
        env=product_environment(PROMETHEUS_MULTIPROC_DIR=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "1.0"
    assert list(tmp_path.iterdir()) == []


def test_a_process_that_counts_nothing_leaves_no_file(tmp_path):
    counts = tmp_path / "metrics"
    result = manage("check", PROMETHEUS_MULTIPROC_DIR=str(counts))
    assert result.returncode == 0, result.stderr
    assert counts.is_dir()  # made by the settings, for the processes that will count
    assert list(counts.iterdir()) == []


def start_runserver(tmp_path: Path, **environment: str):
    """`manage.py runserver` with its autoreloader, as `make demo` starts it; up when it answers."""
    port = free_port()
    log = (tmp_path / f"runserver-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=product_environment(**environment),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its reloaded child is stopped with it
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: scrape_url(base) is not None or process.poll() is not None, timeout_s=60, what="runserver")
    assert process.poll() is None, log.name
    return base, process


def scrape_url(base: str):
    import urllib.request

    try:
        with urllib.request.urlopen(base + "/metrics", timeout=5) as answer:  # noqa: S310 - 127.0.0.1
            return parse(answer.read().decode())
    except OSError:
        return None


@pytest.mark.parametrize("server", ["gunicorn", "runserver"])
def test_a_web_server_start_forgets_the_counts_of_processes_that_ended_before_it(
    server, transactional_db, tmp_path, refused_url
):
    counts = tmp_path / "metrics"
    device = Device.objects.create(name="Earlier run", rtsp_url=refused_url)
    # An earlier run: a capture by a command that has ended.
    assert manage("capture_snapshot", "--force", str(device.pk), PROMETHEUS_MULTIPROC_DIR=str(counts)).returncode == 1
    ended = sorted(path.name for path in counts.glob("*.db"))
    assert ended and all(HOST in name for name in ended)
    # A file of another host sharing the directory (its processes cannot be told alive from here).
    elsewhere = counts / "histogram_elsewhere-1.db"
    shutil.copy(next(counts.glob("histogram_*.db")), elsewhere)
    # A process still running from before the server, which has counted (a keeper, a scheduler).
    running = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from vas_project import metrics; metrics.PRUNE_RUNS.inc(); import time; time.sleep(120)",
        ],
        cwd=BASE_DIR,
        env=product_environment(PROMETHEUS_MULTIPROC_DIR=str(counts)),
    )
    try:
        wait_for(
            lambda: list(counts.glob(f"counter_*-{running.pid}.db")), timeout_s=60, what="the running process's count"
        )
        # The server's start is known to the second (a gunicorn master's, from /proc): the earlier
        # files were last written over a second before it.
        time.sleep(1.1)
        if server == "gunicorn":
            web = start_web(tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(counts))
            base, process = web.base, web.process
        else:
            base, process = start_runserver(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(counts))
        try:
            remaining = {path.name for path in counts.glob("*.db")}
            assert not remaining & set(ended), "the ended command's files should be gone"
            assert elsewhere.name in remaining
            assert f"counter_{HOST}-{running.pid}.db" in remaining
            samples = scrape_url(base)
            assert samples is not None
            assert captures(samples, device) == 0
            assert value(samples, "vas_prune_runs_total") == 1  # the running process's
            camera = {"device_id": str(device.pk), "device": "Earlier run"}
            assert value(samples, "vas_capture_duration_seconds_count", **camera) == 1  # the other host's
            # A command ending during this server's run stays counted.
            assert (
                manage("capture_snapshot", "--force", str(device.pk), PROMETHEUS_MULTIPROC_DIR=str(counts)).returncode
                == 1
            )
            assert captures(scrape_url(base), device) == 1
        finally:
            if server == "gunicorn":
                stop_process(process)
            else:
                os.killpg(process.pid, 15)
                process.wait(timeout=20)
    finally:
        stop_process(running)

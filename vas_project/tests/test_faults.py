"""The fault suite (`make faulttest`): each case starts the product's real processes on 127.0.0.1
(gunicorn, manage.py commands), kills or cuts off one part under them, and checks that the
answer is clear, that nothing is lost and that nothing is left behind.

The keeper's case (killed with SIGKILL while it holds a camera) is in snapshots/tests/test_keeper.py.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from unittest.mock import ANY

import psycopg
import pytest
import redis
from django.conf import global_settings
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from devices.models import Device
from jobs.services import WORKER_GONE
from snapshots.models import Snapshot
from snapshots.tests.servers import (
    BASE_DIR,
    DamagingProxy,
    SilentServer,
    WebServer,
    all_command_lines,
    free_port,
    product_environment,
    serve_connections,
    start_web,
    stop_process,
    wait_for,
)

pytestmark = pytest.mark.fault

PASSWORD = "fault-pass-123"  # noqa: S105 - a test user's


@pytest.fixture
def web_server(transactional_db, tmp_path) -> Iterator[Callable[..., WebServer]]:
    """Start gunicorn on the test database; every one started is stopped before the database is emptied."""
    started: list[WebServer] = []

    def start(*, workers: int = 1, **environment: str) -> WebServer:
        web = start_web(tmp_path, workers=workers, **environment)
        started.append(web)
        return web

    yield start
    for web in started:
        stop_process(web.process)


@pytest.fixture
def user(transactional_db, settings) -> User:
    # The server checks passwords with the production hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    return User.objects.create_superuser("fault", "fault@example.com", PASSWORD)


@pytest.fixture
def token(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


class TricklingServer:
    """Answers an RTSP request with one byte every 0.2 s, forever: a camera whose socket never goes quiet."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        serve_connections(self.sock, self._serve)

    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    def _serve(self, client: socket.socket) -> None:
        with client:
            client.recv(65536)
            try:
                client.sendall(b"RTSP/1.0 200 OK\r\nX-Padding: ")
                while True:
                    client.sendall(b"a")
                    time.sleep(0.2)
            except OSError:
                return  # the client gave up

    def close(self) -> None:
        self.sock.close()


def capture(web: WebServer, device: Device, token: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    status, body = web.call("POST", f"/api/snapshots/capture/{device.pk}", token=token, body={})
    return status, body, time.monotonic() - started


def test_a_web_worker_killed_mid_capture_leaves_no_process_and_no_camera_connection(web_server, token, silent_server):
    web = web_server(VAS_CAPTURE_TIMEOUT_S="30")
    device = Device.objects.create(name="hangs", rtsp_url=silent_server.url(), live=False)
    outcome: list[object] = []

    def request() -> None:
        try:
            outcome.append(capture(web, device, token))
        except OSError as error:
            outcome.append(error)

    client = threading.Thread(target=request)
    client.start()
    wait_for(lambda: silent_server.clients_connected() == 1, timeout_s=10, what="the capture's camera connection")
    [worker] = web.workers()
    os.kill(worker, signal.SIGKILL)
    # The camera connection dies with the worker: no grab goes on in any process.
    wait_for(lambda: silent_server.clients_connected() == 0, timeout_s=2, what="the camera connection to close")
    client.join(timeout=10)
    assert outcome and isinstance(outcome[0], OSError)  # the client sees the connection close, at once
    assert not [line for line in all_command_lines() if f"127.0.0.1:{silent_server.port}" in line]
    # gunicorn replaces the worker, and the next request is answered without any restart.
    wait_for(lambda: web.workers() and worker not in web.workers(), timeout_s=10, what="a new worker")
    assert web.call("GET", "/api/health") == (200, health(cache_ok=True))
    assert not Snapshot.objects.exists()


def health(*, cache_ok: bool) -> dict:
    """What health answers an anonymous caller when the database and the decoders work."""
    return {
        "status": "ok",
        "database": {"ok": True},
        "ffmpeg": {"ok": True},
        "cache": {"ok": cache_ok},
        # Whether they run is not these tests' concern (vas_project/tests/test_health.py).
        **{part: {"ok": ANY} for part in ("keeper", "scheduler", "worker")},
    }


@pytest.mark.parametrize("camera_kind", ["silent", "trickling"])
def test_a_camera_that_hangs_ends_the_request_within_the_capture_timeout(web_server, token, camera_kind):
    timeout_s = 2
    web = web_server(VAS_CAPTURE_TIMEOUT_S=str(timeout_s))
    server = SilentServer() if camera_kind == "silent" else TricklingServer()
    try:
        device = Device.objects.create(name="hangs", rtsp_url=server.url(), live=False)
        status, body, elapsed_s = capture(web, device, token)
    finally:
        server.close()
    assert (status, body["code"]) == (504, "timeout")
    # The grab gives up 0.5 s after the timeout; the rest is HTTP and the database.
    assert elapsed_s < timeout_s + 2, f"{camera_kind} camera: the request took {elapsed_s:.1f} s"
    assert not Snapshot.objects.exists()


def test_a_camera_that_cuts_the_connection_mid_frame_stores_no_smeared_snapshot(web_server, token, camera):
    web = web_server()
    proxy = DamagingProxy(camera.port, cut=True)
    try:
        device = Device.objects.create(name="cuts", rtsp_url=proxy.url("h264"), live=False)
        status, body, _ = capture(web, device, token)
    finally:
        proxy.close()
    assert proxy.damaged.is_set()
    assert (status, body["code"]) == (502, "invalid_image")
    assert not Snapshot.objects.exists()
    device.refresh_from_db()
    assert device.last_error.startswith("invalid_image:")


def test_postgresql_connections_killed_under_load_answer_503_then_recover(web_server, token):
    if connection.vendor != "postgresql":
        pytest.fail("this case needs PostgreSQL: run `make faulttest`, which uses the local one")
    web = web_server(workers=2)
    Device.objects.create(name="one", rtsp_url="rtsp://127.0.0.1:1/one")
    params = connection.settings_dict
    connect = {"dbname": params["NAME"], "host": params["HOST"], "user": params["USER"], "port": params["PORT"] or 5432}
    statuses: list[tuple[int, str]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            status, body = web.call("GET", "/api/devices/", token=token)
            statuses.append((status, body.get("code", "")))

    with psycopg.connect(**connect, autocommit=True) as admin, psycopg.connect(**connect) as locker:
        # Every device query waits behind this lock, so the workers' connections are mid-query when killed.
        locker.execute("LOCK TABLE devices_device IN ACCESS EXCLUSIVE MODE")
        clients = [threading.Thread(target=load) for _ in range(4)]
        for client in clients:
            client.start()
        waiting = (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND pid <> pg_backend_pid()"
        )
        wait_for(lambda: len(admin.execute(waiting).fetchall()) == 2, timeout_s=10, what="both workers to wait")
        admin.execute(f"SELECT pg_terminate_backend(pid) FROM ({waiting}) AS waiting")  # noqa: S608 - a constant
        locker.rollback()
        time.sleep(1)  # the load goes on against the recovered database
        stop.set()
        for client in clients:
            client.join(timeout=30)
    assert set(statuses) <= {(200, ""), (503, "database_unavailable")}, statuses
    assert statuses.count((503, "database_unavailable")) == 2  # the two killed mid-query
    # Recovery without a restart: every worker answers again.
    assert [web.call("GET", "/api/devices/", token=token)[0] for _ in range(10)] == [200] * 10


class CacheDown:
    """A Redis URL where nothing listens, or where a server accepts and never answers."""

    def __init__(self, kind: str) -> None:
        self.server = SilentServer() if kind == "hanging" else None
        port = self.server.port if self.server else free_port()
        self.url = f"redis://127.0.0.1:{port}/0"

    def close(self) -> None:
        if self.server:
            self.server.close()


@pytest.mark.parametrize(("kind", "path"), [("down", "cam6"), ("hanging", "cam7")])
def test_a_cache_down_or_hanging_leaves_login_and_capture_working_and_health_says_so(
    web_server, user, camera, kind, path
):
    cache = CacheDown(kind)
    try:
        # The cache holds the rate limits and, with no VAS_LIVE_URL, the live frames too.
        web = web_server(VAS_CACHE_URL=cache.url)
        device = Device.objects.create(name="cam", rtsp_url=camera.url(path))
        started = time.monotonic()
        status, tokens = web.call("POST", "/api/auth/token", body={"username": "fault", "password": PASSWORD})
        login_s = time.monotonic() - started
        assert status == 200, tokens
        status, body, capture_s = capture(web, device, tokens["access"])
        assert status == 201, body
        assert body["source"] == "oneshot"
        status, details = web.call("GET", "/api/health", token=tokens["access"])
        assert status == 200
        assert details["cache"]["ok"] is False
        assert web.call("GET", "/api/health") == (200, health(cache_ok=False))
    finally:
        cache.close()
    print(f"cache {kind}: login {login_s:.1f} s, capture {capture_s:.1f} s")
    # Two login throttles, each failing open after the 1 s socket timeouts.
    assert login_s < 6


ENQUEUE = "from snapshots.tasks import enqueue_due_captures; print(enqueue_due_captures())"


def enqueue(broker_url: str) -> tuple[str, str, float]:
    """The beat's enqueue task, run as its own process against the given broker."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ENQUEUE],
        cwd=BASE_DIR,
        env=product_environment(CELERY_BROKER_URL=broker_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1], done.stderr, time.monotonic() - started


def test_a_broker_down_or_hanging_at_enqueue_loses_no_slot(transactional_db, silent_server):
    devices = [
        Device.objects.create(name=f"due {n}", rtsp_url="rtsp://127.0.0.1:1/due", capture_interval_s=3600)
        for n in range(3)
    ]
    for broker_url in (f"redis://127.0.0.1:{free_port()}/0", f"redis://127.0.0.1:{silent_server.port}/0"):
        queued, log, elapsed_s = enqueue(broker_url)
        assert queued == "0"
        assert "and 2 more are due again at the next tick" in log
        for device in devices:
            device.refresh_from_db()
            assert device.next_capture_at <= timezone.now()  # due again at the next tick
        print(f"broker {broker_url}: enqueue gave the slots back in {elapsed_s:.1f} s")
        # A hanging broker is waited on once, for its 5 s socket timeout (and Django's start), not per camera.
        assert elapsed_s < 15
    # The broker back: every slot is queued, once.
    broker = redis.Redis(host="127.0.0.1", port=6379, db=13)
    broker.flushdb()
    try:
        queued, _, _ = enqueue("redis://127.0.0.1:6379/13")
        assert queued == "3"
        assert broker.llen("celery") == 3
        for device in devices:
            device.refresh_from_db()
            assert device.next_capture_at > timezone.now()
    finally:
        broker.flushdb()


def test_a_job_whose_web_worker_is_killed_is_failed_not_left_running(web_server, token, silent_server):
    # The demo's embedded runner: the job runs in a thread of the web worker that took the request.
    web = web_server(VAS_CAPTURE_TIMEOUT_S="30", VAS_JOB_HEARTBEAT_S="0.5", VAS_JOB_STALE_S="2")
    Device.objects.create(name="hangs", rtsp_url=silent_server.url(), live=False)
    status, job = web.call("POST", "/api/snapshots/capture/", token=token, body={"all": True, "async": True})
    assert status == 202

    def state() -> str:
        return web.call("GET", f"/api/jobs/{job['id']}", token=token)[1]["state"]

    wait_for(lambda: state() == "running", timeout_s=10, what="the job to run")
    [worker] = web.workers()
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: web.workers() and worker not in web.workers(), timeout_s=10, what="a new worker")
    wait_for(lambda: state() == "failed", timeout_s=10, what="the job to be failed")
    _, body = web.call("GET", f"/api/jobs/{job['id']}", token=token)
    assert body["error"] == WORKER_GONE
    assert body["finished_at"]

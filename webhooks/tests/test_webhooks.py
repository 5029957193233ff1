"""Webhooks against a real receiver on 127.0.0.1: signed events sent after commit, retries after
a 500, no redirect followed, a hanging receiver that delays no capture, and the staff-only API."""

import hashlib
import hmac
import io
import json
import socket
import threading
import time
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from devices.models import Device
from jobs.models import Job
from snapshots.tests.factories import make_snapshot
from snapshots.tests.servers import GarblingServer, free_port, serve_connections, wait_for
from webhooks import services
from webhooks.models import Delivery, Event, Webhook
from webhooks.services import (
    delivery_send,
    retry_delay_s,
    signature,
    webhook_event,
    webhook_send_due,
    webhook_update,
)

SECRET = "a-receivers-secret-0123456789"


class Receiver:
    """An HTTP receiver on 127.0.0.1 answering the statuses given, in turn (then 200), that
    keeps every request and can act on one as it arrives (fetch the snapshot it names)."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        on_request=None,
        headers: dict[str, str] | None = None,
        port: int = 0,
    ):
        self.statuses = list(statuses or [])
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seen = {"headers": self.headers, "body": body, "payload": json.loads(body)}
                if on_request is not None:
                    seen["reaction"] = on_request(seen["payload"])
                receiver.requests.append(seen)
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(b"received")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(*args, **kwargs) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def verified(request: dict, secret: str = SECRET, max_age_s: int = 300) -> bool:
    """What a receiver does: recompute the signature over t and the raw body, refuse an old t."""
    parts = dict(item.split("=", 1) for item in request["headers"]["X-VAS-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) <= max_age_s


def hook(url: str, *events: str) -> Webhook:
    return Webhook.objects.create(url=url, events=list(events), secret=SECRET)


def delivered(receiver: Receiver, count: int = 1) -> list[dict]:
    wait_for(lambda: len(receiver.requests) >= count, timeout_s=15, what=f"{count} request(s) at the receiver")
    return receiver.requests


@pytest.mark.django_db(transaction=True)
def test_snapshot_created_reaches_the_receiver_signed_and_its_image_is_readable_at_once(
    api, camera, receivers, live_server, settings
):
    settings.PUBLIC_URL = live_server.url
    settings.CAMERAS_VISIBLE_TO_ALL = True

    def fetch_image(payload: dict) -> tuple[int, bytes]:
        with urllib.request.urlopen(payload["data"]["snapshot"]["urls"]["signed_image"], timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read()

    receiver = receivers(on_request=fetch_image)
    response = api.post(
        "/api/webhooks/", {"url": receiver.url, "events": ["snapshot.created"], "secret": SECRET}, format="json"
    )
    assert response.status_code == 201
    device = Device.objects.create(name="Gate", rtsp_url=camera.url("cam1"), live=False)
    snapshot = api.post(f"/api/snapshots/capture/{device.pk}").json()
    [request] = delivered(receiver)
    assert verified(request)
    assert not verified(request, secret="another-secret-0123456789")
    assert request["headers"]["X-VAS-Event"] == "snapshot.created"
    assert request["payload"]["data"]["snapshot"]["id"] == snapshot["id"]
    status, image = request["reaction"]
    assert status == 200 and image[:2] == b"\xff\xd8"
    wait_for(lambda: Delivery.objects.get().state == "succeeded", timeout_s=10, what="the delivery recorded")
    [row] = api.get(response.json()["urls"]["deliveries"]).json()["results"]
    assert (row["state"], row["attempts"], row["last_status"], row["event"]) == (
        "succeeded",
        1,
        200,
        "snapshot.created",
    )


@pytest.mark.django_db(transaction=True)
def test_a_receiver_answering_500_gets_retries_with_growing_pauses_until_it_answers_200(
    receivers, settings, monkeypatch
):
    settings.WEBHOOK_RETRY_BASE_S = 0.2
    monkeypatch.setattr(services, "SWEEP_GRACE_S", 0)
    receiver = receivers(statuses=[500, 500])
    hook(receiver.url, "capture.failed")
    webhook_event(event=Event.CAPTURE_FAILED, data=lambda: {"code": "timeout"})
    delivered(receiver, 1)
    wait_for(
        lambda: Delivery.objects.get().attempts == 1 and Delivery.objects.get().last_status, timeout_s=10, what="1st"
    )
    first = Delivery.objects.get()
    assert (first.state, first.last_status, first.last_error) == ("pending", 500, "HTTP 500: received")
    assert first.next_attempt_at >= timezone.now() + timedelta(seconds=0.1) - timedelta(seconds=0.2)
    assert retry_delay_s(1) == 0.2 and retry_delay_s(3) == 0.8

    def sweep_until(count: int) -> bool:
        webhook_send_due()
        return len(receiver.requests) >= count

    wait_for(lambda: sweep_until(3), timeout_s=15, what="two retries")
    wait_for(lambda: Delivery.objects.get().state == "succeeded", timeout_s=10, what="success recorded")
    assert Delivery.objects.get().attempts == 3
    assert len({request["headers"]["X-Vas-Delivery"] for request in receiver.requests}) == 1  # one id: idempotent
    assert all(verified(request) for request in receiver.requests)


@pytest.mark.django_db
def test_a_delivery_that_never_succeeds_fails_after_the_last_attempt(receivers, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver = receivers(statuses=[503, 503, 503])
    delivery = Delivery.objects.create(
        webhook=hook(receiver.url, "device.offline"), event="device.offline", payload={}, next_attempt_at=timezone.now()
    )
    assert delivery_send(delivery_id=delivery.pk).state == "pending"
    assert delivery_send(delivery_id=delivery.pk) is None  # not due yet: its pause has not passed
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    failed = delivery_send(delivery_id=delivery.pk)
    assert (failed.state, failed.attempts, failed.next_attempt_at) == ("failed", 2, None)
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_a_host_taken_off_the_allowed_list_is_not_called(receivers, settings):
    receiver = receivers()
    delivery = Delivery.objects.create(
        webhook=hook(receiver.url, "device.online"), event="device.online", payload={}, next_attempt_at=timezone.now()
    )
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    attempt = delivery_send(delivery_id=delivery.pk)
    assert (attempt.last_status, receiver.requests) == (None, [])
    assert "VAS_WEBHOOK_ALLOWED_HOSTS" in attempt.last_error


@pytest.mark.django_db
def test_a_redirect_is_not_followed_and_counts_as_a_failure(receivers):
    elsewhere = receivers()
    receiver = receivers(statuses=[302], headers={"Location": elsewhere.url})
    delivery = Delivery.objects.create(
        webhook=hook(receiver.url, "device.online"), event="device.online", payload={}, next_attempt_at=timezone.now()
    )
    attempt = delivery_send(delivery_id=delivery.pk)
    assert (attempt.state, attempt.last_status) == ("pending", 302)
    assert elsewhere.requests == []


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_for_a_transaction_that_rolls_back(receivers):
    receiver = receivers()
    hook(receiver.url, "snapshot.created")
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_event(event=Event.SNAPSHOT_CREATED, data=lambda: {})
        raise RuntimeError("the capture's transaction failed")
    time.sleep(0.5)
    assert receiver.requests == [] and not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_delays_no_capture(api, camera, silent_server, settings):
    settings.WEBHOOK_TIMEOUT_S = 30
    settings.CAMERAS_VISIBLE_TO_ALL = True
    hook(f"http://127.0.0.1:{silent_server.port}/hook", "snapshot.created", "device.online")
    device = Device.objects.create(name="Gate", rtsp_url=camera.url("cam2"), live=False)
    started = time.monotonic()
    for _ in range(3):
        assert api.post(f"/api/snapshots/capture/{device.pk}").status_code == 201
    elapsed_s = time.monotonic() - started
    wait_for(lambda: silent_server.clients_connected() >= 1, timeout_s=10, what="the receiver called")
    assert elapsed_s < settings.WEBHOOK_TIMEOUT_S / 2  # three captures while the receiver holds its first request
    assert Delivery.objects.filter(state="pending").count() == 4  # 3 snapshots and the camera coming online


@pytest.mark.django_db(transaction=True)
def test_a_failing_camera_sends_capture_failed_and_device_offline_then_device_online(api, camera, receivers, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = True
    receiver = receivers()
    hook(receiver.url, "capture.failed", "device.offline", "device.online")
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1:1/none", live=False)
    assert api.post(f"/api/snapshots/capture/{device.pk}").status_code == 502
    assert api.post(f"/api/snapshots/capture/{device.pk}?force=true").status_code == 502  # offline already: no event
    Device.objects.filter(pk=device.pk).update(rtsp_url=camera.url("cam3"))
    assert api.post(f"/api/snapshots/capture/{device.pk}?force=true").status_code == 201
    requests = delivered(receiver, 4)
    time.sleep(0.5)
    events = sorted(request["payload"]["event"] for request in requests)
    assert events == ["capture.failed", "capture.failed", "device.offline", "device.online"]
    offline = next(
        request["payload"]["data"] for request in requests if request["payload"]["event"] == "device.offline"
    )
    assert (offline["device"]["id"], offline["device"]["status"]) == (str(device.pk), "offline")
    failure = next(
        request["payload"]["data"] for request in requests if request["payload"]["event"] == "capture.failed"
    )
    assert (failure["code"], failure["device"]["name"]) == ("unreachable", "Gate")


@pytest.mark.django_db(transaction=True)
def test_a_finished_export_sends_job_finished_with_its_download_link(api, device, receivers, settings, tmp_path):
    settings.EXPORT_DIR = tmp_path
    settings.CAMERAS_VISIBLE_TO_ALL = True
    receiver = receivers()
    hook(receiver.url, "job.finished")
    make_snapshot(device, captured_at=timezone.now() - timedelta(minutes=1))
    start, end = timezone.now() - timedelta(hours=1), timezone.now()
    body = {"device_id": str(device.pk), "start": start.isoformat(), "end": end.isoformat(), "kind": "zip"}
    job = api.post("/api/exports/", body, format="json").json()
    [request] = delivered(receiver)
    finished = request["payload"]["data"]["job"]
    assert (finished["id"], finished["state"], finished["kind"]) == (job["id"], "succeeded", "export")
    assert "/signed/exports/" in finished["result"]["download_url"]


@pytest.mark.django_db
def test_webhooks_are_for_staff_who_see_every_camera(viewer_api, anonymous_api, viewer_user, settings):
    assert viewer_api.get("/api/webhooks/").status_code == 403
    assert anonymous_api.get("/api/webhooks/").status_code == 401
    body = {"url": "http://127.0.0.1:9/hook", "events": ["snapshot.created"], "secret": SECRET}
    assert viewer_api.post("/api/webhooks/", body, format="json").status_code == 403
    viewer_user.is_staff = True
    viewer_user.save()
    settings.CAMERAS_VISIBLE_TO_ALL = False  # staff who see only their groups' cameras
    assert viewer_api.get("/api/webhooks/").status_code == 403
    settings.CAMERAS_VISIBLE_TO_ALL = True
    assert viewer_api.get("/api/webhooks/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_malformed_answer_is_a_failed_attempt_retried_later_not_a_delivery_stuck(settings):
    server = GarblingServer(b"garbage\r\n\r\n")
    url = f"http://127.0.0.1:{server.port}/hook"
    delivery = Delivery.objects.create(
        webhook=hook(url, "device.online"), event="device.online", payload={}, next_attempt_at=timezone.now()
    )
    attempt = delivery_send(delivery_id=delivery.pk)
    server.close()
    assert (attempt.state, attempt.attempts, attempt.last_status) == ("pending", 1, None)
    assert attempt.last_error.startswith("BadStatusLine")
    assert attempt.next_attempt_at > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_late_answer_never_overwrites_a_later_attempts_outcome(receivers):
    def another_attempt_claims_it_meanwhile(payload: dict) -> None:
        Delivery.objects.filter(pk=payload["id"]).update(attempts=F("attempts") + 1)

    receiver = receivers(on_request=another_attempt_claims_it_meanwhile)
    hook(receiver.url, "device.online")
    webhook_event(event=Event.DEVICE_ONLINE, data=lambda: {})
    delivered(receiver)
    time.sleep(0.5)
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 2, None)


@pytest.mark.django_db
def test_the_sweep_leaves_a_new_delivery_to_its_own_sender_for_a_while(receivers, monkeypatch):
    delivery = Delivery.objects.create(
        webhook=hook(receivers().url, "device.online"),
        event="device.online",
        payload={},
        next_attempt_at=timezone.now(),
    )
    monkeypatch.setattr(services, "_dispatch", lambda ids: None)
    assert webhook_send_due() == 0
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=10))
    assert webhook_send_due() == 1


@pytest.mark.django_db
def test_without_an_allowed_list_a_host_on_this_machine_or_a_private_network_is_never_called(receivers, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    receiver = receivers()
    for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost")):
        delivery = Delivery.objects.create(
            webhook=hook(url, "device.online"), event="device.online", payload={}, next_attempt_at=timezone.now()
        )
        attempt = delivery_send(delivery_id=delivery.pk)
        assert "non-public address" in attempt.last_error and attempt.last_status is None
    assert receiver.requests == []


@pytest.mark.django_db
def test_the_secret_is_never_shown_and_is_stored_encrypted(api, caplog):
    body = {"url": "http://127.0.0.1:9/hook", "events": ["snapshot.created", "snapshot.created"], "secret": SECRET}
    created = api.post("/api/webhooks/", body, format="json")
    assert created.status_code == 201
    assert created.json()["events"] == ["snapshot.created"]
    patched = api.patch(created.json()["urls"]["self"], {"active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["active"] is False
    answers = [created, patched, api.get("/api/webhooks/"), api.get(created.json()["urls"]["self"])]
    assert all(SECRET not in answer.content.decode() for answer in answers)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhook")
        [(stored,)] = cursor.fetchall()
    assert SECRET not in stored
    assert Webhook.objects.get().secret == SECRET  # left out of the PATCH: kept
    assert SECRET not in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"url": "ftp://127.0.0.1/hook"},
        {"url": "file:///etc/passwd"},
        {"url": "http://user:pass@127.0.0.1/hook"},
        {"url": "http://192.0.2.10/hook"},  # not in VAS_WEBHOOK_ALLOWED_HOSTS
        {"events": ["snapshot.deleted"]},
        {"events": []},
        {"secret": "short"},
        {"secret": None},
    ],
)
def test_a_bad_webhook_is_a_400_naming_the_field(api, change):
    body = {"url": "http://127.0.0.1:9/hook", "events": ["snapshot.created"], "secret": SECRET, **change}
    body = {name: value for name, value in body.items() if value is not None}
    response = api.post("/api/webhooks/", body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert set(response.json()["errors"]) == set(change)
    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_an_unknown_webhook_is_a_404_with_its_code(api):
    response = api.get("/api/webhooks/00000000-0000-0000-0000-000000000000/")
    assert (response.status_code, response.json()["code"]) == (404, "webhook_not_found")


def test_the_signature_is_hmac_sha256_over_the_timestamp_and_body():
    expected = hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert signature(secret="key", timestamp=1700000000, body=b"{}") == f"t=1700000000,v1={expected}"


@pytest.mark.django_db
def test_the_admin_adds_a_webhook_without_ever_showing_its_secret(admin_client):
    response = admin_client.post(
        "/admin/webhooks/webhook/add/",
        {"url": "http://127.0.0.1:9/hook", "events": ["device.offline"], "secret": SECRET, "active": "on"}
        | {"deliveries-TOTAL_FORMS": "0", "deliveries-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    webhook = Webhook.objects.get()
    assert (webhook.secret, webhook.events) == (SECRET, ["device.offline"])
    page = admin_client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/").content.decode()
    assert "device.offline" in page and SECRET not in page


@pytest.mark.django_db
def test_rotating_keys_reencrypts_webhook_secrets_and_a_lost_key_stops_sending_not_signing_blank(receivers, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old_key]
    receiver = receivers()
    kept = hook(receiver.url, "device.online")
    settings.ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("reencrypt_camera_passwords", stdout=out)
    assert "re-encrypted 1 webhook secret(s)" in out.getvalue()
    settings.ENCRYPTION_KEYS = [new_key]
    assert Webhook.objects.get(pk=kept.pk).secret == SECRET
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the key is lost
    delivery = Delivery.objects.create(webhook=kept, event="device.online", payload={}, next_attempt_at=timezone.now())
    attempt = delivery_send(delivery_id=delivery.pk)
    assert "VAS_ENCRYPTION_KEYS" in attempt.last_error and receiver.requests == []
    with pytest.raises(CommandError, match="1 webhook secret"):
        call_command("reencrypt_camera_passwords", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_admin_shows_deliveries_and_jobs_but_never_lets_them_be_added_or_edited(admin_client, device):
    webhook = hook("http://127.0.0.1:9/hook", "device.online")
    delivery = Delivery.objects.create(webhook=webhook, event="device.online", payload={}, last_error="HTTP 500: down")
    job = Job.objects.create(kind=Job.Kind.EXPORT, params={}, error="The range grew.")
    assert "HTTP 500: down" in admin_client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/").content.decode()
    for model, row, text in (("webhooks/delivery", delivery, "HTTP 500: down"), ("jobs/job", job, "The range grew.")):
        assert admin_client.get(f"/admin/{model}/").status_code == 200
        page = admin_client.get(f"/admin/{model}/{row.pk}/change/")
        assert page.status_code == 200 and text in page.content.decode()
        assert 'name="_save"' not in page.content.decode()
        assert admin_client.get(f"/admin/{model}/add/").status_code == 403


@pytest.mark.django_db
def test_a_host_that_resolves_to_this_machine_after_its_check_is_not_called(receivers, settings, monkeypatch):
    """DNS rebinding: public when checked, this machine when connected to. The connection is judged
    on the address it goes to. (The public answer is only ever checked, never connected to.)"""
    settings.WEBHOOK_ALLOWED_HOSTS = []
    receiver = receivers()
    port = int(receiver.url.split(":")[2].split("/")[0])
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host, *args, **kwargs):
        if host != "rebind.test":
            return real_getaddrinfo(host, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = receiver.url.replace("127.0.0.1", "rebind.test")
    delivery = Delivery.objects.create(
        webhook=hook(url, "device.online"), event="device.online", payload={}, next_attempt_at=timezone.now()
    )
    attempt = delivery_send(delivery_id=delivery.pk)
    assert "non-public address (127.0.0.1)" in attempt.last_error and attempt.last_status is None
    assert receiver.requests == []


@pytest.fixture
def trickling_receiver():
    """Receivers that read the request, send the head they are given at once, then one byte every
    0.1 s: each byte within the socket timeout, the whole taking minutes."""
    sockets: list[socket.socket] = []

    def start(head: bytes) -> str:
        sock = socket.create_server(("127.0.0.1", 0))
        sockets.append(sock)

        def serve(client: socket.socket) -> None:
            with client:
                client.recv(65536)
                client.sendall(head)
                for _ in range(2000):
                    try:
                        client.sendall(b"a")
                    except OSError:
                        return
                    time.sleep(0.1)

        serve_connections(sock, serve)
        return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"

    yield start
    for sock in sockets:
        sock.close()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("head", "state", "status"),
    [
        # Its headers: cut off at the deadline, the status line it sent is its answer.
        (b"HTTP/1.1 200 OK\r\nX-Slow: ", "succeeded", 200),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", "succeeded", 200),  # a body after a 2xx
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 2000\r\n\r\n", "pending", 500),  # an error answer's body
    ],
)
def test_a_receiver_trickling_its_answer_is_cut_off_at_the_webhook_timeout(
    trickling_receiver, settings, head, state, status
):
    settings.WEBHOOK_TIMEOUT_S = 1
    delivery = Delivery.objects.create(
        webhook=hook(trickling_receiver(head), "device.online"),
        event="device.online",
        payload={},
        next_attempt_at=timezone.now(),
    )
    started = time.monotonic()
    attempt = delivery_send(delivery_id=delivery.pk)
    assert time.monotonic() - started < settings.WEBHOOK_TIMEOUT_S + 1
    assert (attempt.state, attempt.last_status) == (state, status)


DEACTIVATED = "The webhook was deactivated."


def first_attempt_failed(delivery: Delivery | None = None) -> Delivery:
    """Wait for the (only, or given) delivery's first attempt to have failed, its retry scheduled."""

    def failed_once() -> Delivery | None:
        row = Delivery.objects.get(pk=delivery.pk) if delivery else Delivery.objects.get()
        return row if row.attempts == 1 and row.last_error and row.next_attempt_at else None

    wait_for(failed_once, timeout_s=15, what="the first attempt failed")
    row = failed_once()
    assert row is not None and row.state == "pending" and "refused" in row.last_error.lower()
    return row


def sweep_with_the_retry_due(monkeypatch) -> int:
    """The scheduler's tick once the retry has come: how many deliveries it handed to a sender;
    then time for a sender to have sent them."""
    monkeypatch.setattr(services, "SWEEP_GRACE_S", 0)
    Delivery.objects.filter(state="pending").update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    handed = webhook_send_due()
    time.sleep(1)
    return handed


@pytest.mark.django_db(transaction=True)
def test_a_webhook_deactivated_through_the_api_sends_no_more_retries_and_its_delivery_says_why(
    api, receivers, monkeypatch
):
    port = free_port()  # the receiver is down: nothing listens there yet
    created = api.post(
        "/api/webhooks/",
        {"url": f"http://127.0.0.1:{port}/hook", "events": ["capture.failed"], "secret": SECRET},
        format="json",
    ).json()
    webhook_event(event=Event.CAPTURE_FAILED, data=lambda: {"code": "timeout"})
    first_attempt_failed()
    patched = api.patch(created["urls"]["self"], {"active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["active"] is False
    receiver = receivers(port=port)  # back up
    handed = sweep_with_the_retry_due(monkeypatch)
    assert receiver.requests == []
    assert handed == 0
    [row] = api.get(created["urls"]["deliveries"]).json()["results"]
    assert (row["state"], row["cancel_reason"], row["attempts"], row["next_attempt_at"]) == (
        "cancelled",
        DEACTIVATED,
        1,
        None,
    )
    assert "refused" in row["last_error"].lower()  # the receiver's last failure is kept


@pytest.mark.django_db(transaction=True)
def test_a_webhook_unticked_in_the_admin_sends_no_more_retries_and_its_delivery_says_why(
    admin_client, receivers, monkeypatch
):
    port = free_port()
    webhook = hook(f"http://127.0.0.1:{port}/hook", "device.offline")
    delivery = Delivery.objects.create(
        webhook=webhook, event="device.offline", payload={}, next_attempt_at=timezone.now()
    )
    delivery_send(delivery_id=delivery.pk)
    first_attempt_failed(delivery)  # refused: a retry is scheduled
    response = admin_client.post(
        f"/admin/webhooks/webhook/{webhook.pk}/change/",
        {"url": webhook.url, "events": ["device.offline"], "secret": ""}  # "active" unticked: left out
        | {"deliveries-TOTAL_FORMS": "1", "deliveries-INITIAL_FORMS": "1"}
        | {"deliveries-MIN_NUM_FORMS": "0", "deliveries-MAX_NUM_FORMS": "0"}
        | {"deliveries-0-id": str(delivery.pk), "deliveries-0-webhook": str(webhook.pk)},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Webhook.objects.get().active is False
    receiver = receivers(port=port)
    handed = sweep_with_the_retry_due(monkeypatch)
    assert receiver.requests == []
    assert handed == 0
    stopped = Delivery.objects.get()
    assert (stopped.state, stopped.cancel_reason, stopped.next_attempt_at) == ("cancelled", DEACTIVATED, None)
    page = admin_client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/").content.decode()
    assert DEACTIVATED in page


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["api", "queryset update", "deleted"])
def test_a_delivery_whose_webhook_is_turned_off_between_its_claim_and_its_sending_is_not_sent(api, receivers, how):
    receiver = receivers()
    webhook = hook(receiver.url, "device.online")
    delivery = Delivery.objects.create(
        webhook=webhook, event="device.online", payload={}, next_attempt_at=timezone.now()
    )
    claimed = services._claim(delivery.pk)
    assert claimed is not None and claimed.webhook.active
    if how == "api":
        assert api.patch(f"/api/webhooks/{webhook.pk}/", {"active": False}, format="json").status_code == 200
    elif how == "queryset update":  # a shell or a bulk change: no service ran, the sender still stops
        Webhook.objects.filter(pk=webhook.pk).update(active=False)
    else:
        assert api.delete(f"/api/webhooks/{webhook.pk}/").status_code == 204
    outcome = services._attempt(claimed)
    assert receiver.requests == []
    if how == "deleted":
        assert outcome is None and not Delivery.objects.exists()
    else:
        # No request was made: the claim's attempt is not counted.
        assert (outcome.state, outcome.cancel_reason, outcome.attempts, outcome.next_attempt_at) == (
            "cancelled",
            DEACTIVATED,
            0,
            None,
        )
        assert delivery_send(delivery_id=delivery.pk) is None  # and nothing sends it later


@pytest.mark.django_db
def test_a_webhook_deactivated_while_its_request_is_being_connected_is_not_called(receivers, monkeypatch):
    """The last check is made on the way to the connection, after the host has been resolved."""
    receiver = receivers()
    webhook = hook(receiver.url, "device.online")
    delivery = Delivery.objects.create(
        webhook=webhook, event="device.online", payload={}, next_attempt_at=timezone.now()
    )
    real_getaddrinfo = socket.getaddrinfo

    def deactivated_meanwhile(host, *args, **kwargs):
        Webhook.objects.filter(pk=webhook.pk).update(active=False)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", deactivated_meanwhile)
    outcome = delivery_send(delivery_id=delivery.pk)
    assert receiver.requests == []
    assert (outcome.state, outcome.cancel_reason, outcome.attempts) == ("cancelled", DEACTIVATED, 0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("status", "state"), [(200, "succeeded"), (500, "cancelled")])
def test_a_delivery_cancelled_while_its_request_is_answered_records_the_answer_and_is_not_retried(
    receivers, status, state
):
    """Deactivated once the request reached the receiver: a 2xx is a delivery (the receiver has
    it); a failure stays cancelled, with the receiver's answer, and no retry."""

    def deactivate(payload: dict) -> None:
        webhook_update(webhook=Webhook.objects.get(), active=False)

    receiver = receivers(statuses=[status], on_request=deactivate)
    webhook = hook(receiver.url, "device.online")
    delivery = Delivery.objects.create(
        webhook=webhook, event="device.online", payload={}, next_attempt_at=timezone.now()
    )
    outcome = delivery_send(delivery_id=delivery.pk)
    assert len(receiver.requests) == 1 and Webhook.objects.get().active is False
    assert (outcome.state, outcome.attempts, outcome.last_status, outcome.next_attempt_at) == (state, 1, status, None)
    assert outcome.cancel_reason == ("" if state == "succeeded" else DEACTIVATED)
    assert delivery_send(delivery_id=delivery.pk) is None


@pytest.mark.django_db
def test_the_sweep_cancels_the_deliveries_of_a_webhook_turned_off_by_a_queryset_update(receivers):
    webhook = hook(receivers().url, "device.online")
    later = Delivery.objects.create(
        webhook=webhook, event="device.online", payload={}, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    Webhook.objects.filter(pk=webhook.pk).update(active=False)  # a shell or a bulk change: no service ran
    assert webhook_send_due() == 0
    later.refresh_from_db()
    assert (later.state, later.cancel_reason, later.next_attempt_at) == ("cancelled", DEACTIVATED, None)


@pytest.mark.django_db(transaction=True)
def test_a_reactivated_webhook_gets_new_events_but_not_its_cancelled_deliveries(api, receivers, monkeypatch):
    port = free_port()
    created = api.post(
        "/api/webhooks/",
        {"url": f"http://127.0.0.1:{port}/hook", "events": ["device.online"], "secret": SECRET},
        format="json",
    ).json()
    webhook_event(event=Event.DEVICE_ONLINE, data=lambda: {"n": 1})
    cancelled = first_attempt_failed()
    assert api.patch(created["urls"]["self"], {"active": False}, format="json").status_code == 200
    receiver = receivers(port=port)
    assert api.patch(created["urls"]["self"], {"active": True}, format="json").status_code == 200
    webhook_event(event=Event.DEVICE_ONLINE, data=lambda: {"n": 2})
    [request] = delivered(receiver)
    assert request["payload"]["data"] == {"n": 2} and verified(request)
    wait_for(
        lambda: Delivery.objects.exclude(pk=cancelled.pk).get().state == "succeeded", timeout_s=10, what="recorded"
    )
    sweep_with_the_retry_due(monkeypatch)
    assert [request["payload"]["data"] for request in receiver.requests] == [{"n": 2}]
    rows = {row["id"]: row for row in api.get(created["urls"]["deliveries"]).json()["results"]}
    assert (rows[str(cancelled.pk)]["state"], rows[str(cancelled.pk)]["cancel_reason"]) == ("cancelled", DEACTIVATED)


@pytest.mark.django_db
def test_the_schema_lists_a_deliverys_states_with_cancelled_last_and_its_reason(api):
    schemas = yaml.safe_load(api.get("/api/schema/").content)["components"]["schemas"]
    assert schemas["DeliveryStateEnum"]["enum"] == ["pending", "succeeded", "failed", "cancelled"]
    assert schemas["Delivery"]["properties"]["cancel_reason"]["readOnly"] is True

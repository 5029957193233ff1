"""Images encrypted at rest: raw rows are not JPEGs, every route answers the original bytes,
mixed rows read alike, keys rotate, and a lost key breaks that image only."""

import base64
import io
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from capture import rtsp
from exports.services import export_build
from jobs.models import Job
from jobs.services import JobRun
from snapshots import reencryption, services
from snapshots.models import Snapshot
from snapshots.tests.factories import jpeg_bytes, make_snapshot
from vas_project import crypto

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
JPEG = jpeg_bytes(800, 450)


def raw_columns(snapshot: Snapshot) -> tuple[bytes, bytes, str]:
    """What the database holds: the model's fields are the stored bytes, decrypted only by the selectors."""
    image, thumbnail, key_id = Snapshot.objects.values_list("image", "thumbnail", "key_id").get(pk=snapshot.pk)
    return bytes(image), bytes(thumbnail), key_id


@pytest.fixture
def capture(monkeypatch, device):
    """A capture through the real service, the camera's grab replaced by a known JPEG."""
    monkeypatch.setattr(rtsp, "grab_jpeg", lambda *args, **kwargs: JPEG)
    device.live = False
    device.save()

    def captured() -> Snapshot:
        return services.snapshot_capture(device=device, trigger=Snapshot.Trigger.API)

    return captured


@pytest.fixture
def encrypted(settings):
    settings.IMAGE_ENCRYPTION = True
    settings.ENCRYPTION_KEYS = [KEY_A]
    settings.CAMERAS_VISIBLE_TO_ALL = True
    return settings


def every_route(api, snapshot: Snapshot) -> dict[str, bytes]:
    """The image as each route answers it."""
    body = api.get(f"/api/snapshots/{snapshot.pk}").json()
    signed = urlsplit(body["urls"]["signed_image"])
    answers = {
        "image": api.get(f"/api/snapshots/{snapshot.pk}/image.jpg").content,
        "latest": api.get(f"/api/snapshots/device/{snapshot.device_id}/latest.jpg").content,
        "signed": Client().get(f"{signed.path}?{signed.query}").content,
        "image_data": base64.b64decode(api.get(f"/api/snapshots/{snapshot.pk}/image").json()["image_data"]),
    }
    return answers


@pytest.mark.django_db
def test_with_encryption_on_the_rows_are_not_jpegs_and_every_route_answers_the_original(api, capture, encrypted):
    snapshot = capture()
    image, thumbnail, key_id = raw_columns(snapshot)
    assert key_id and image[:2] != b"\xff\xd8" and thumbnail[:2] != b"\xff\xd8"
    assert JPEG not in image
    assert set(every_route(api, snapshot).values()) == {JPEG}
    assert api.get(f"/api/snapshots/{snapshot.pk}/thumbnail.jpg").content[:2] == b"\xff\xd8"


@pytest.mark.django_db
def test_rows_of_both_kinds_read_alike_whichever_way_the_setting_turns(api, capture, encrypted, device):
    plain = make_snapshot(device, captured_at=timezone.now() - timedelta(hours=1))
    sealed = capture()
    for setting in (True, False):
        encrypted.IMAGE_ENCRYPTION = setting
        assert api.get(f"/api/snapshots/{sealed.pk}/image.jpg").content == JPEG
        assert api.get(f"/api/snapshots/{plain.pk}/image.jpg").content == bytes(plain.image)
    assert raw_columns(capture())[2] == ""  # captured with encryption off: plain bytes


@pytest.mark.django_db
def test_rotation_and_reencryption_keep_every_image_readable(api, capture, encrypted):
    old = capture()
    etag = api.get(f"/api/snapshots/{old.pk}/image.jpg")["ETag"]
    encrypted.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    new = capture()
    assert raw_columns(new)[2] != raw_columns(old)[2]
    out = io.StringIO()
    call_command("reencrypt_snapshots", "--batch-size", "1", stdout=out)
    assert "moved 1 snapshot(s)" in out.getvalue() and "1/1 snapshot(s)" in out.getvalue()
    assert raw_columns(old)[2] == raw_columns(new)[2]
    encrypted.ENCRYPTION_KEYS = [KEY_B]  # the old key is gone now
    assert {api.get(f"/api/snapshots/{row.pk}/image.jpg").content for row in (old, new)} == {JPEG}
    assert api.get(f"/api/snapshots/{old.pk}/image.jpg")["ETag"] == etag


@pytest.mark.django_db
def test_with_encryption_off_reencryption_stores_the_rows_as_plain_jpegs(capture, encrypted):
    snapshot = capture()
    encrypted.IMAGE_ENCRYPTION = False
    call_command("reencrypt_snapshots", stdout=io.StringIO())
    assert raw_columns(snapshot) == (JPEG, raw_columns(snapshot)[1], "")


@pytest.mark.django_db
def test_a_row_whose_key_is_gone_answers_a_clear_error_for_that_image_only(api, capture, encrypted, device):
    lost = capture()
    encrypted.ENCRYPTION_KEYS = [KEY_B]
    fine = make_snapshot(device)
    response = api.get(f"/api/snapshots/{lost.pk}/image.jpg")
    assert (response.status_code, response.json()["code"]) == (409, "image_unreadable")
    assert "not in VAS_ENCRYPTION_KEYS" in response.json()["detail"]
    signed = urlsplit(api.get(f"/api/snapshots/{lost.pk}").json()["urls"]["signed_image"])
    assert Client().get(f"{signed.path}?{signed.query}").status_code == 409
    assert api.get(f"/api/snapshots/{fine.pk}/image.jpg").status_code == 200
    assert api.get("/api/snapshots/").status_code == 200
    with pytest.raises(CommandError, match="1 snapshot"):
        call_command("reencrypt_snapshots", stdout=io.StringIO())
    assert api.get(f"/api/snapshots/{fine.pk}/image.jpg").content == bytes(fine.image)


@pytest.mark.django_db
def test_bytes_moved_to_another_column_or_row_do_not_decrypt(api, capture, encrypted):
    first, second = capture(), capture()
    image, thumbnail, _ = raw_columns(first)
    Snapshot.objects.filter(pk=first.pk).update(image=thumbnail)
    Snapshot.objects.filter(pk=second.pk).update(image=image)
    for row in (first, second):
        assert api.get(f"/api/snapshots/{row.pk}/image.jpg").json()["code"] == "image_unreadable"


@pytest.mark.django_db
def test_reencryption_resumes_and_leaves_rows_captured_meanwhile_alone(capture, encrypted, device):
    encrypted.IMAGE_ENCRYPTION = False
    rows = [make_snapshot(device, captured_at=timezone.now() - timedelta(minutes=n)) for n in range(5)]
    encrypted.IMAGE_ENCRYPTION = True
    captured_meanwhile: list[Snapshot] = []

    def a_capture_comes_in(done: int, total: int) -> None:
        if not captured_meanwhile:
            captured_meanwhile.append(capture())

    result = reencryption.snapshots_reencrypt(batch_size=2, on_progress=a_capture_comes_in)
    assert (result.moved, result.unreadable) == (5, 0)
    assert {raw_columns(row)[2] for row in [*rows, *captured_meanwhile]} == {raw_columns(rows[0])[2]} != {""}
    assert reencryption.snapshots_reencrypt().moved == 0  # nothing left: a second run reads nothing


@pytest.mark.django_db
def test_the_wall_and_exports_read_encrypted_images_and_skip_a_lost_ones(
    client, admin_user, capture, encrypted, tmp_path
):
    lost = capture()
    encrypted.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    readable = capture()
    client.force_login(admin_user)
    assert client.get(f"/cameras/{readable.device_id}/frame.jpg").content[:2] == b"\xff\xd8"
    encrypted.ENCRYPTION_KEYS = [KEY_B]
    encrypted.EXPORT_DIR = tmp_path
    start, end = timezone.now() - timedelta(hours=1), timezone.now() + timedelta(minutes=1)
    params = {"device_id": str(lost.device_id), "device_name": "Lobby", "kind": "zip", "fps": 10, "width": None}
    job = Job.objects.create(kind="export", params={**params, "start": start.isoformat(), "end": end.isoformat()})
    result = export_build(JobRun(job))
    assert (result["frames"], result["unreadable_frames"]) == (1, 1)


def test_a_keys_id_is_its_own_wherever_it_stands_in_the_ring(settings):
    settings.ENCRYPTION_KEYS = [KEY_A]
    settings.IMAGE_ENCRYPTION = True
    first = crypto.target_key_id()
    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert crypto.target_key_id() != first
    settings.ENCRYPTION_KEYS = [KEY_A, KEY_B]
    assert crypto.target_key_id() == first
    settings.IMAGE_ENCRYPTION = False
    assert crypto.target_key_id() == ""


def test_reencryption_needs_a_batch_of_at_least_one_row():
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("reencrypt_snapshots", "--batch-size", "0", stdout=io.StringIO())


@pytest.mark.django_db
def test_postgresql_does_not_try_to_compress_image_bytes():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage setting; SQLite never compresses")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'snapshots_snapshot'::regclass "
            "AND attname IN ('image', 'thumbnail') ORDER BY attname"
        )
        assert cursor.fetchall() == [("image", "e"), ("thumbnail", "e")]

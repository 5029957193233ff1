"""The snapshot nearest to a moment: before, after, either side; as metadata and as JPEG."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from snapshots.tests.factories import make_snapshot

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def three(device):
    """Snapshots at 11:50, 12:00:00 and 12:07."""
    return [make_snapshot(device, captured_at=NOON + timedelta(minutes=minutes)) for minutes in (-10, 0, 7)]


def at(api, device, time: str, **params) -> dict:
    response = api.get(f"/api/snapshots/device/{device.pk}/at", {"time": time, **params})
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("time", "direction", "expected"),
    [
        ("2026-11-20T12:04:00Z", "nearest", 2),  # 12:07 is 3 min away, 12:00 is 4
        ("2026-11-20T12:03:00Z", "nearest", 1),
        ("2026-11-20T12:03:30Z", "nearest", 1),  # a tie goes to the earlier
        ("2026-11-20T12:04:00Z", "before", 1),
        ("2026-11-20T12:04:00Z", "after", 2),
        ("2026-11-20T12:00:00Z", "before", 1),  # at the moment itself, either way
        ("2026-11-20T12:00:00Z", "after", 1),
        ("2026-11-20T13:00:00+01:00", "nearest", 1),  # an offset is honoured
        ("2026-11-21T11:59:00+23:59", "nearest", 1),  # even one PostgreSQL itself refuses
        ("2026-11-20T12:00:00", "nearest", 1),  # no offset: UTC
        ("2026-11-19T00:00:00Z", "nearest", 0),  # before every snapshot: the first
        ("2026-11-21T00:00:00Z", "nearest", 2),
    ],
)
def test_the_lookup_picks_the_right_snapshot(api, device, three, time, direction, expected):
    assert at(api, device, time, direction=direction)["id"] == str(three[expected].pk)


@pytest.mark.django_db
def test_nothing_on_the_asked_side_is_a_404_saying_so(api, device, three):
    response = api.get(f"/api/snapshots/device/{device.pk}/at", {"time": "2026-11-19T00:00:00Z", "direction": "before"})
    assert (response.status_code, response.json()["code"]) == (404, "snapshot_not_found")
    assert "before that time" in response.json()["detail"]


@pytest.mark.django_db
def test_the_jpeg_route_answers_the_same_snapshots_image(api, device, three):
    response = api.get(f"/api/snapshots/device/{device.pk}/at.jpg", {"time": "2026-11-20T12:06:00Z", "width": 64})
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["ETag"] == f'"{three[2].pk}-image-64"'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "invalid_time"),
        ({"time": "yesterday"}, "invalid_time"),
        ({"time": "2026-13-45T00:00:00Z"}, "invalid_time"),
        ({"time": "0001-01-01T00:00:00+14:00"}, "invalid_time"),  # before year 1 in UTC
        ({"time": "2026-11-20T12:00:00Z", "direction": "sideways"}, "invalid_direction"),
    ],
)
def test_a_bad_time_or_direction_is_a_400(api, device, three, params, code):
    for route in ("at", "at.jpg"):
        response = api.get(f"/api/snapshots/device/{device.pk}/{route}", params)
        assert (response.status_code, response.json()["code"]) == (400, code)


@pytest.mark.django_db
def test_a_camera_the_user_may_not_see_is_not_found(viewer_api, device, three, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False
    response = viewer_api.get(f"/api/snapshots/device/{device.pk}/at", {"time": "2026-11-20T12:00:00Z"})
    assert (response.status_code, response.json()["code"]) == (404, "device_not_found")


@pytest.mark.django_db
def test_the_lookup_is_one_query_per_side_and_reads_no_image(api, device, three):
    with CaptureQueriesContext(connection) as queries:
        at(api, device, "2026-11-20T12:04:00Z")
    lookups = [query["sql"] for query in queries if "snapshots_snapshot" in query["sql"]]
    assert len(lookups) == 2
    assert not any('"image"' in sql or '"thumbnail"' in sql for sql in lookups)

"""Every parameter a page accepts, fed the values a fuzzer tries: an answer, never a 500."""

import pytest

from devices.models import Device
from snapshots.tests.factories import make_snapshot

NASTY_VALUES = [
    "",
    "0",
    "-1",
    "1e9",
    "99999999999999999999",
    "NaN",
    "inf",
    "٣",
    "²",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "2026-12-04T00:00:00+14:00",
    "\x00",
    "a\x00b",
    "\n",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "x" * 5000,
]
PAGES = [("/", ("status", "name")), ("/cameras/{device}/", ("day", "page"))]


@pytest.mark.parametrize("value", NASTY_VALUES, ids=repr)
@pytest.mark.parametrize(("path", "names"), PAGES, ids=[path for path, _ in PAGES])
def test_a_page_answers_every_value_of_its_parameters(admin_client, path, names, value):
    device = Device.objects.create(name="Gate", rtsp_url="rtsp://127.0.0.1:1/gate")
    make_snapshot(device)
    for name in names:
        response = admin_client.get(path.format(device=device.pk), {name: value})
        assert response.status_code == 200, (name, value)

"""Keyset pages (?cursor=) walk every snapshot once while rows are added; counts are estimated
above VAS_COUNT_EXACT_BELOW and say so; page/per_page keep working either way."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from snapshots.tests.factories import make_snapshot

NEW_KEY = "a-new-secret-key-for-this-test-0123456789abcdefghijklmnop"
FORGER_KEY = "a-key-this-server-never-had-0123456789abcdefghijklmnopqrs"


@pytest.fixture
def seeded(device):
    """25 snapshots a minute apart, two of them at the very same moment; newest first."""
    now = timezone.now() - timedelta(hours=1)
    rows = [make_snapshot(device, captured_at=now - timedelta(minutes=n)) for n in range(24)]
    rows.append(make_snapshot(device, captured_at=rows[10].captured_at))  # a tie: the id decides
    return rows


def next_cursor(api, url: str) -> str:
    """The cursor of the next link of the page at url."""
    return parse_qs(urlsplit(api.get(url).json()["next"]).query)["cursor"][0]


def walk(api, url: str, link: str = "next") -> list[list[str]]:
    pages = []
    while url:
        body = api.get(url).json()
        assert "page" not in body
        pages.append([row["id"] for row in body["results"]])
        url = body[link]
    return pages


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["/api/snapshots/", "/api/snapshots/device/{device}/"])
def test_a_cursor_walk_sees_every_snapshot_once_in_order_while_new_ones_arrive(api, device, seeded, route):
    url = route.format(device=device.pk) + "?per_page=10&cursor="
    first = api.get(url).json()
    assert first["previous"] is None and "cursor=" in first["next"]
    make_snapshot(device)  # captured while the client pages: newer than every page it will see
    pages = walk(api, first["next"])
    seen = [row["id"] for row in first["results"]] + [row for page in pages for row in page]
    assert len(seen) == len(set(seen)) == 25
    newest_first = api.get(route.format(device=device.pk) + "?per_page=100").json()["results"]
    assert seen == [row["id"] for row in newest_first][1:]  # the same order as the pages, without the new one


@pytest.mark.django_db
def test_previous_links_walk_back_through_the_same_pages(api, seeded):
    forward = walk(api, "/api/snapshots/?per_page=10&cursor=")
    assert [len(page) for page in forward] == [10, 10, 5]
    last = api.get("/api/snapshots/?per_page=10&cursor=").json()
    while last["next"]:
        last = api.get(last["next"]).json()
    backward = walk(api, last["previous"], link="previous")
    assert backward == forward[-2::-1]


@pytest.mark.django_db
def test_oldest_first_cursor_pages_run_the_other_way(api, seeded):
    pages = walk(api, "/api/snapshots/?per_page=7&ordering=captured_at&cursor=")
    oldest_first = api.get("/api/snapshots/?per_page=100&ordering=captured_at").json()["results"]
    assert [row for page in pages for row in page] == [row["id"] for row in oldest_first]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    [
        "nonsense",
        "eyJhIjogMX0",
        "%%%",
        "0.1764000000.000000." + "0" * 48,
        "0.1764000000.000000." + "0" * 32 + "." + "A" * 43,  # well spelled, signed by nobody
        "[" * 1200,
    ],
)
def test_a_cursor_the_server_did_not_give_is_a_400(api, seeded, cursor):
    response = api.get("/api/snapshots/", {"cursor": cursor})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert list(response.json()["errors"]) == ["cursor"]


@pytest.mark.django_db
def test_counts_are_exact_below_the_threshold(api, seeded):
    body = api.get("/api/snapshots/?per_page=10").json()
    assert (body["count"], body["count_is_estimate"]) == (25, False)
    assert api.get("/api/snapshots/?per_page=10&cursor=").json()["count"] == 25


@pytest.mark.django_db
def test_above_the_threshold_postgresql_estimates_and_pages_still_end_where_the_rows_do(api, seeded, settings):
    settings.COUNT_EXACT_BELOW = 0
    pages = [api.get(f"/api/snapshots/?per_page=10&page={number}").json() for number in (1, 2, 3)]
    estimated = connection.vendor == "postgresql"
    assert [page["count_is_estimate"] for page in pages] == [estimated, estimated, False]  # the end is counted
    assert pages[2]["count"] == 25
    assert [len(page["results"]) for page in pages] == [10, 10, 5]
    assert [page["next"] is not None for page in pages] == [True, True, False]
    response = api.get("/api/snapshots/?per_page=10&page=4")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.django_db
def test_a_cursor_changed_by_the_client_is_a_400(api, seeded):
    cursor = next_cursor(api, "/api/snapshots/?per_page=5&cursor=")
    assert api.get("/api/snapshots/", {"cursor": cursor}).status_code == 200  # as given, it pages
    moved = cursor.replace(".", ".9", 1)  # another moment, the same signature
    response = api.get("/api/snapshots/", {"cursor": moved})
    assert (response.status_code, list(response.json()["errors"])) == (400, ["cursor"])


@pytest.mark.django_db
@pytest.mark.parametrize("exact_below", [100000, 0])
@pytest.mark.parametrize("page", ["10000000000000000000000000", "99999", "0", "-1", "1_0", " 2"])
def test_a_page_past_the_end_or_not_a_page_is_a_404_never_a_500(api, seeded, settings, exact_below, page):
    settings.COUNT_EXACT_BELOW = exact_below
    response = api.get("/api/snapshots/", {"page": page})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.django_db
def test_a_cursor_handed_out_under_an_old_key_still_pages_while_that_key_is_a_fallback(api, seeded, settings):
    cursor = next_cursor(api, "/api/snapshots/?per_page=10&cursor=")
    before = api.get("/api/snapshots/", {"per_page": 10, "cursor": cursor}).json()
    assert len(before["results"]) == 10
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [old_key]
    after = api.get("/api/snapshots/", {"per_page": 10, "cursor": cursor})
    assert after.status_code == 200
    assert [row["id"] for row in after.json()["results"]] == [row["id"] for row in before["results"]]
    # Its next link is signed under the new key: it pages on once the old key is gone.
    onwards = parse_qs(urlsplit(after.json()["next"]).query)["cursor"][0]
    settings.SECRET_KEY_FALLBACKS = []
    assert len(api.get("/api/snapshots/", {"per_page": 10, "cursor": onwards}).json()["results"]) == 5
    response = api.get("/api/snapshots/", {"per_page": 10, "cursor": cursor})
    assert (response.status_code, list(response.json()["errors"])) == (400, ["cursor"])


@pytest.mark.django_db
def test_a_cursor_forged_under_a_key_neither_current_nor_fallback_is_a_400(api, seeded, settings):
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = FORGER_KEY, []
    forged = next_cursor(api, "/api/snapshots/?per_page=10&cursor=")  # this server's own spelling
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [old_key]
    response = api.get("/api/snapshots/", {"per_page": 10, "cursor": forged})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert response.json()["errors"] == {
        "cursor": ["This cursor is not one this server gave; start again with ?cursor= ."]
    }

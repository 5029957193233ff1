"""Signed, expiring image links: they work without any header, and only as signed."""

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.models import Group

from snapshots import links
from snapshots.tests.factories import make_snapshot


@pytest.fixture
def snapshot(device):
    return make_snapshot(device)


def signed_urls(api, snapshot) -> dict[str, str]:
    return api.get(f"/api/snapshots/{snapshot.pk}").json()["urls"]


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


def test_the_links_in_an_answer_work_without_any_header(api, client, snapshot):
    urls = signed_urls(api, snapshot)
    image = client.get(urls["signed_image"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert image.content == bytes(snapshot.image)
    thumbnail = client.get(urls["signed_thumbnail"])
    assert thumbnail.content == bytes(snapshot.thumbnail)
    # The same ETag as the authenticated route's: a browser's cache serves both.
    assert image["ETag"] == api.get(urls["image"])["ETag"]
    assert "private" in image["Cache-Control"]


def test_a_revalidation_is_a_304_without_any_database_query(api, client, snapshot, django_assert_num_queries):
    url = signed_urls(api, snapshot)["signed_image"]
    etag = client.get(url)["ETag"]
    with django_assert_num_queries(0):
        response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_answers_within_one_expiry_step_hand_out_the_same_link(api, snapshot):
    # A listing polled every few seconds must not defeat the browser's cache with new links.
    assert signed_urls(api, snapshot)["signed_image"] == signed_urls(api, snapshot)["signed_image"]


@pytest.mark.parametrize(
    "change",
    [
        {"sig": "0" * 64},
        {"exp": str(int(time.time()) + 10 * 365 * 24 * 3600)},  # a longer life, not signed for
        {"width": "100"},  # a width not signed for
        {"sig": ""},
        {"exp": "soon"},
    ],
)
def test_a_changed_link_is_refused(api, client, snapshot, change):
    response = client.get(with_query(signed_urls(api, snapshot)["signed_image"], **change))
    assert response.status_code == 403
    assert response.json()["code"] == "link_invalid"


def test_a_link_to_one_snapshot_opens_no_other(api, client, device, snapshot):
    other = make_snapshot(device)
    url = signed_urls(api, snapshot)["signed_image"]
    response = client.get(url.replace(str(snapshot.pk), str(other.pk)))
    assert (response.status_code, response.json()["code"]) == (403, "link_invalid")
    response = client.get(url.replace("image.jpg", "thumbnail.jpg"))
    assert (response.status_code, response.json()["code"]) == (403, "link_invalid")


def test_an_expired_link_is_refused(client, snapshot):
    path = links.snapshot_image_path(snapshot_id=str(snapshot.pk), column="image")
    response = client.get(f"{path}?{links.signed_query(path=path, expires=int(time.time()) - 1)}")
    assert (response.status_code, response.json()["code"]) == (403, "link_expired")


def test_links_survive_a_key_rotation_while_the_old_key_is_a_fallback(api, client, snapshot, settings):
    url = signed_urls(api, snapshot)["signed_image"]
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-0123456789abcdefghijklmnop"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert client.get(url).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    response = client.get(url)
    assert (response.status_code, response.json()["code"]) == (403, "link_invalid")


def test_a_link_forged_under_a_key_neither_current_nor_fallback_is_refused(client, snapshot, settings):
    path = links.snapshot_image_path(snapshot_id=str(snapshot.pk), column="image")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-key-this-server-never-had-0123456789abcdefghijklmnopqrs"
    forged = f"{path}?{links.signed_query(path=path, expires=links.link_expiry(ttl_s=60))}"
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-0123456789abcdefghijklmnop"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    response = client.get(forged)
    assert (response.status_code, response.json()["code"]) == (403, "link_invalid")


def test_a_snapshot_deleted_after_signing_is_404(api, client, snapshot):
    url = signed_urls(api, snapshot)["signed_image"]
    snapshot.delete()
    response = client.get(url)
    assert (response.status_code, response.json()["code"]) == (404, "snapshot_not_found")


def test_a_signed_width_downscales(client, snapshot):
    path = links.snapshot_image_path(snapshot_id=str(snapshot.pk), column="image")
    expires = links.link_expiry(ttl_s=60)
    response = client.get(f"{path}?{links.signed_query(path=path, expires=expires, width=100)}")
    assert response.status_code == 200
    assert response["ETag"] == f'"{snapshot.pk}-image-100"'
    assert len(response.content) < len(bytes(snapshot.image))


def test_sharing_a_snapshot_answers_a_link_that_lives_as_long_as_asked(viewer_api, client, snapshot):
    # Sharing is reading: the view permission is enough.
    before = time.time()
    response = viewer_api.post(f"/api/snapshots/{snapshot.pk}/share", {"ttl_s": 120}, format="json")
    assert response.status_code == 201
    body = response.json()
    expires = int(parse_qs(urlsplit(body["url"]).query)["exp"][0])
    assert int(before) + 120 <= expires <= time.time() + 121
    assert body["expires_at"].endswith("Z")
    assert client.get(body["url"]).content == bytes(snapshot.image)


@pytest.mark.parametrize("body", [{"ttl_s": 59}, {"ttl_s": 8 * 24 * 3600}, {"ttl_s": "x"}, {"width": 5}])
def test_a_share_out_of_bounds_is_a_400(api, snapshot, body):
    response = api.post(f"/api/snapshots/{snapshot.pk}/share", body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_a_snapshot_the_user_may_not_see_cannot_be_shared(viewer_api, viewer_user, snapshot, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False
    response = viewer_api.post(f"/api/snapshots/{snapshot.pk}/share", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "snapshot_not_found")
    group = Group.objects.create(name="site")
    snapshot.device.groups.set([group])
    viewer_user.groups.set([group])
    assert viewer_api.post(f"/api/snapshots/{snapshot.pk}/share", {}, format="json").status_code == 201


def test_sharing_needs_a_login(anonymous_api, snapshot):
    assert anonymous_api.post(f"/api/snapshots/{snapshot.pk}/share", {}, format="json").status_code == 401


def test_a_signed_link_only_reads(api, client, snapshot):
    url = signed_urls(api, snapshot)["signed_image"]
    assert client.post(url).status_code == 405
    assert client.head(url).status_code == 200

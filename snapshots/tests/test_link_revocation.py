"""Signed links hold while whoever made them could still see the image: a link names its maker
inside the signed message, and stops (403, as a changed link) once the camera leaves the
maker's groups, the maker loses the view permission, is deactivated or deleted, or revokes
their links; links made afterwards work. Export links follow their job's owner."""

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache

from conftest import bearer_client
from devices.models import Device
from exports.services import export_build
from exports.tests.test_exports import download, export_job, seed
from jobs.services import JobRun
from snapshots import links
from snapshots.models import LinkRevocation
from snapshots.tests.factories import make_snapshot

TAMPERED = {"detail": links.INVALID_MESSAGE, "code": "link_invalid"}


@pytest.fixture(autouse=True)
def cameras_visible_by_group(settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False


@pytest.fixture
def site(db):
    return Group.objects.create(name="site")


@pytest.fixture
def camera(site):
    camera = Device.objects.create(name="Lobby", rtsp_url="rtsp://127.0.0.1:1/none")
    camera.groups.set([site])
    return camera


@pytest.fixture
def snapshot(camera):
    return make_snapshot(camera)


def member(name: str, site: Group, *, staff: bool = False) -> User:
    user = User.objects.create_user(name, password=f"{name}-pass-123", is_staff=staff)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_device", "view_snapshot"]))
    user.groups.set([site])
    return user


@pytest.fixture
def bob(site):
    return member("bob", site)


@pytest.fixture
def bob_api(bob):
    return bearer_client(bob)


def image_link(api, snapshot) -> str:
    response = api.get(f"/api/snapshots/{snapshot.pk}")
    assert response.status_code == 200, response.json()
    return response.json()["urls"]["signed_image"]


def share_link(api, snapshot) -> str:
    response = api.post(f"/api/snapshots/{snapshot.pk}/share", {"ttl_s": 7 * 24 * 3600}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["url"]


def fetch(client, url: str, **headers):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", **headers)


def refused_as_tampered(response) -> bool:
    return response.status_code == 403 and response.json() == TAMPERED


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


def without(url: str, *names: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items() if key not in names}
    return f"{parts.path}?{urlencode(query)}"


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_a_link_names_its_maker_and_works_while_they_see_the_camera(bob_api, bob, client, camera, snapshot):
    for url in (image_link(bob_api, snapshot), share_link(bob_api, snapshot)):
        query = query_of(url)
        assert (query["by"], query["cam"]) == (str(bob.pk), camera.pk.hex)
        assert int(query["iat"]) <= time.time()
        response = fetch(client, url)
        assert response.status_code == 200
        assert response.content == bytes(snapshot.image)
    # And keeps working: nothing changed.
    assert fetch(client, image_link(bob_api, snapshot)).status_code == 200


@pytest.mark.parametrize("make", [image_link, share_link])
def test_a_link_stops_at_once_when_the_camera_leaves_the_makers_groups(bob_api, client, camera, site, snapshot, make):
    url = make(bob_api, snapshot)
    assert fetch(client, url).status_code == 200  # the grant is cached now
    camera.groups.remove(site)
    assert refused_as_tampered(fetch(client, url))
    camera.groups.add(site)
    assert fetch(client, url).status_code == 200


def test_a_link_stops_at_once_when_the_maker_leaves_the_group(bob_api, bob, client, snapshot):
    url = share_link(bob_api, snapshot)
    assert fetch(client, url).status_code == 200
    bob.groups.clear()
    assert refused_as_tampered(fetch(client, url))


def test_a_change_no_signal_announces_stops_the_link_within_the_cache_time(
    bob_api, bob, client, camera, snapshot, monkeypatch
):
    monkeypatch.setattr(links, "GRANT_CACHE_S", 1)
    url = image_link(bob_api, snapshot)
    assert fetch(client, url).status_code == 200
    Device.groups.through.objects.filter(device=camera).delete()  # a bulk delete: no m2m signal
    assert fetch(client, url).status_code == 200  # still cached
    time.sleep(1.1)
    assert refused_as_tampered(fetch(client, url))


def test_a_link_stops_when_the_maker_loses_the_view_permission(bob_api, bob, client, snapshot):
    url = share_link(bob_api, snapshot)
    assert fetch(client, url).status_code == 200
    bob.user_permissions.remove(Permission.objects.get(codename="view_snapshot"))
    assert refused_as_tampered(fetch(client, url))


@pytest.mark.parametrize("make", [image_link, share_link])
def test_a_link_stops_when_the_maker_is_deactivated_or_deleted(bob_api, bob, client, snapshot, make):
    url = make(bob_api, snapshot)
    assert fetch(client, url).status_code == 200
    bob.is_active = False
    bob.save()
    assert refused_as_tampered(fetch(client, url))
    bob.is_active = True
    bob.save()
    assert fetch(client, url).status_code == 200
    bob.delete()
    assert refused_as_tampered(fetch(client, url))


def test_a_superusers_link_needs_no_group_but_stops_when_they_are_no_longer_superuser(
    api, admin_user, client, snapshot, site
):
    url = image_link(api, snapshot)
    assert fetch(client, url).status_code == 200
    admin_user.is_superuser = False
    admin_user.save()
    assert refused_as_tampered(fetch(client, url))


def test_revoking_refuses_every_earlier_link_and_not_the_later_ones(bob_api, bob, client, snapshot):
    image, share = image_link(bob_api, snapshot), share_link(bob_api, snapshot)
    assert fetch(client, image).status_code == fetch(client, share).status_code == 200
    response = bob_api.post("/api/links/revoke")
    assert (response.status_code, response.content) == (204, b"")
    assert refused_as_tampered(fetch(client, image))
    assert refused_as_tampered(fetch(client, share))
    assert refused_as_tampered(fetch(client, image, HTTP_IF_NONE_MATCH=f'"{snapshot.pk}-image-full"'))
    # At once, in the same expiry step and second: the answers hand out new links that work.
    new_image, new_share = image_link(bob_api, snapshot), share_link(bob_api, snapshot)
    assert new_image != image
    assert fetch(client, new_image).status_code == 200
    assert fetch(client, new_share).status_code == 200
    # Another revocation in the same second refuses the links made between the two.
    assert bob_api.post("/api/links/revoke").status_code == 204
    assert refused_as_tampered(fetch(client, new_image))
    assert fetch(client, image_link(bob_api, snapshot)).status_code == 200


def test_a_revocation_is_one_row_per_user_and_deleting_it_undoes_it(bob_api, bob, client, snapshot):
    url = image_link(bob_api, snapshot)
    for _ in range(3):
        assert bob_api.post("/api/links/revoke").status_code == 204
    assert LinkRevocation.objects.filter(user=bob).count() == 1
    assert refused_as_tampered(fetch(client, url))
    LinkRevocation.objects.filter(user=bob).delete()
    cache.clear()  # or GRANT_CACHE_S later
    assert fetch(client, url).status_code == 200


def test_staff_may_revoke_another_users_links_and_others_may_not(bob_api, bob, client, site, snapshot):
    carol_api = bearer_client(member("carol", site))
    url = image_link(bob_api, snapshot)
    response = carol_api.post(f"/api/links/revoke/{bob.pk}")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert fetch(client, url).status_code == 200
    staff_api = bearer_client(member("dana", site, staff=True))
    assert staff_api.post(f"/api/links/revoke/{bob.pk}").status_code == 204
    assert refused_as_tampered(fetch(client, url))
    assert fetch(client, image_link(bob_api, snapshot)).status_code == 200
    response = staff_api.post("/api/links/revoke/999999999")
    assert (response.status_code, response.json()["code"]) == (404, "user_not_found")


def test_revoking_needs_a_login(anonymous_api, bob):
    assert anonymous_api.post("/api/links/revoke").status_code == 401
    assert anonymous_api.post(f"/api/links/revoke/{bob.pk}").status_code == 401


def test_a_link_cannot_be_changed_to_name_another_maker(bob_api, bob, api, admin_user, client, snapshot, settings):
    other_camera = Device.objects.create(name="Yard", rtsp_url="rtsp://127.0.0.1:1/none")
    url = image_link(bob_api, snapshot)
    changes = [
        {"by": str(admin_user.pk)},  # a superuser, who sees every camera
        {"iat": str(int(time.time()) + 3600)},  # issued after any revocation
        {"cam": other_camera.pk.hex},
        {"by": "0"},
        {"cam": "x" * 32},
    ]
    for change in changes:
        response = fetch(client, with_query(url, **change))
        assert (response.status_code, response.json()["code"]) == (403, "link_invalid")
    for names in [("by",), ("by", "iat", "cam")]:  # a link of nobody's (the product's own) is signed otherwise
        response = fetch(client, without(url, *names))
        assert (response.status_code, response.json()["code"]) == (403, "link_invalid")


def test_a_revalidation_of_a_members_link_reads_no_database(bob_api, client, snapshot, django_assert_num_queries):
    url = image_link(bob_api, snapshot)
    etag = fetch(client, url)["ETag"]
    with django_assert_num_queries(0):
        for _ in range(3):
            assert fetch(client, url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_cache_that_fails_is_worked_out_from_the_database(bob_api, client, camera, site, snapshot, monkeypatch):
    url = image_link(bob_api, snapshot)

    class Broken:
        def __getattr__(self, name):
            raise ConnectionError("the cache is down")

    monkeypatch.setattr(links, "cache", Broken())
    assert fetch(client, url).status_code == 200
    Device.groups.through.objects.filter(device=camera).delete()
    assert refused_as_tampered(fetch(client, url))


# Export links: made for the user who asked for the export (its job's requested_by).


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


def bobs_export(camera, bob, *, asked_in_a_request: bool = True) -> str:
    seed(camera, 1)
    job = export_job(camera, "zip", 1)
    job.requested_by = bob
    job.request_id = "req-1" if asked_in_a_request else ""
    job.save()
    return export_build(JobRun(job))["download_url"]


def test_an_export_link_follows_its_owners_access(export_dir, camera, site, bob):
    url = bobs_export(camera, bob)
    assert download(url).status_code == 200
    camera.groups.remove(site)
    assert refused_as_tampered(download(url))
    camera.groups.add(site)
    assert download(url).status_code == 200
    bob.is_active = False
    bob.save()
    assert refused_as_tampered(download(url))


def test_an_export_link_stops_when_its_owner_revokes_and_a_later_export_works(export_dir, camera, bob):
    url = bobs_export(camera, bob)
    assert download(url).status_code == 200
    bearer_client(bob).post("/api/links/revoke")
    assert refused_as_tampered(download(url))
    later = export_job(camera, "zip", 1)
    later.requested_by, later.request_id = bob, "req-2"
    later.save()
    assert download(export_build(JobRun(later))["download_url"]).status_code == 200


def test_an_export_link_of_a_deleted_owner_is_refused(export_dir, camera, bob):
    url = bobs_export(camera, bob)
    assert download(url).status_code == 200
    bob.delete()  # the job's requested_by becomes null
    assert refused_as_tampered(download(url))

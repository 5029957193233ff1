"""The admin shows a user of one group nothing of another group's cameras, as the API does:
every registered ModelAdmin's list, search, filters, change pages and add pages, walked."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from devices.models import Device
from jobs.models import Job
from snapshots.tests.factories import make_snapshot
from webhooks.models import Delivery, Webhook

# User management has its own permissions and shows no camera: it is left to whoever is given them.
NOT_TIED_TO_CAMERAS = {"auth.user", "auth.group"}


@pytest.fixture(autouse=True)
def cameras_visible_by_group(settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False


@pytest.fixture
def other_site(db, refused_url):
    """Site B: its camera, snapshot, a user's export job, and a webhook made by a superuser that
    receives every camera's events (and so site B's)."""
    group = Group.objects.create(name="site B")
    camera = Device.objects.create(name="b-secret-door", rtsp_url=refused_url)
    camera.groups.set([group])
    bob = User.objects.create_user("bob-of-b", password="bob-pass-123")
    bob.groups.set([group])
    root = User.objects.create_superuser("root", "root@example.com", "root-pass-123")
    job = Job.objects.create(kind="export", requested_by=bob, params={"device_id": str(camera.pk)})
    webhook = Webhook.objects.create(url="http://127.0.0.1:9/b-hook", events=["snapshot.created"], created_by=root)
    delivery = Delivery.objects.create(webhook=webhook, event="snapshot.created", payload={"b": "b-secret-door"})
    token = RefreshToken.for_user(bob)  # recorded in the JWT blacklist's outstanding tokens
    return {
        "token_id": token["jti"],
        "group": group,
        "camera": camera,
        "snapshot": make_snapshot(camera),
        "job": job,
        "webhook": webhook,
        "delivery": delivery,
        "bob": bob,
    }


@pytest.fixture
def alice_client(client, other_site, refused_url):
    """Site A's operator: staff with every permission of the product's models, in site A only."""
    site_a = Group.objects.create(name="site A")
    mine = Device.objects.create(name="a-door", rtsp_url=refused_url)
    mine.groups.set([site_a])
    alice = User.objects.create_user("alice", password="alice-pass-123", is_staff=True)
    alice.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["devices", "snapshots", "jobs", "webhooks", "token_blacklist"]
        )
    )
    alice.groups.set([site_a])
    client.force_login(alice)
    return client


def camera_admins():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.label_lower not in NOT_TIED_TO_CAMERAS
    ]


def other_sites_words(other_site) -> list[str]:
    return [
        other_site["camera"].name,
        str(other_site["camera"].pk),
        str(other_site["snapshot"].pk),
        str(other_site["job"].pk),
        other_site["webhook"].url,
        str(other_site["delivery"].pk),
        "site B",
        other_site["token_id"],
    ]


def other_sites_objects(other_site) -> dict[str, object]:
    return {
        "devices.device": other_site["camera"],
        "snapshots.snapshot": other_site["snapshot"],
        "jobs.job": other_site["job"],
        "webhooks.webhook": other_site["webhook"],
        "webhooks.delivery": other_site["delivery"],
    }


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(
    "query", ["", "?q=b-secret-door", "?q=b-hook", "?all="], ids=["list", "search", "search url", "all"]
)
def test_no_admin_list_shows_anything_of_another_group(alice_client, other_site, query):
    searched = query.partition("=")[2]
    words = [word for word in other_sites_words(other_site) if not searched or searched not in word]
    found = {}
    for model, _ in camera_admins():
        text = alice_client.get(admin_url(model, "changelist") + query).content.decode()
        found[model._meta.label] = [word for word in words if word in text]
    assert {label: words for label, words in found.items() if words} == {}


def test_no_filter_lets_another_groups_rows_through(alice_client, other_site):
    camera = other_site["camera"]
    for path in [
        admin_url(Device, "changelist") + f"?groups__id__exact={other_site['group'].pk}",
        admin_url(Device, "changelist") + f"?id={camera.pk}",
        reverse("admin:snapshots_snapshot_changelist") + f"?device__id__exact={camera.pk}",
        reverse("admin:jobs_job_changelist") + f"?requested_by__id__exact={other_site['bob'].pk}",
    ]:
        text = alice_client.get(path).content.decode()
        # What the query itself holds is echoed in the page's filter links and form.
        words = [word for word in other_sites_words(other_site) if word not in path]
        assert [word for word in words if word in text] == [], path


def test_no_change_page_of_another_groups_object_opens(alice_client, other_site):
    opened = {
        label: alice_client.get(admin_url(type(obj), "change", obj.pk)).status_code
        for label, obj in other_sites_objects(other_site).items()
    }
    assert {label: status for label, status in opened.items() if status not in (302, 403, 404)} == {}


def test_webhooks_are_not_added_in_the_admin_by_who_the_api_refuses(alice_client):
    # The API lets only staff who see every camera make webhooks: they receive every camera's events.
    assert alice_client.get(reverse("admin:webhooks_webhook_add")).status_code == 403
    response = alice_client.post(
        reverse("admin:webhooks_webhook_add"),
        {"url": "http://127.0.0.1:9/mine", "events": '["snapshot.created"]', "secret": "s", "active": "on"},
    )
    assert response.status_code == 403
    assert not Webhook.objects.filter(url="http://127.0.0.1:9/mine").exists()


def test_the_camera_form_offers_only_the_users_own_groups(alice_client, other_site):
    text = alice_client.get(reverse("admin:devices_device_add")).content.decode()
    assert "site A" in text
    assert "site B" not in text

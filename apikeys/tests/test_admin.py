"""API keys in the admin: made with the key shown once, then listed by prefix; a staff member
sees only the keys the API would show them."""

import pytest
from django.contrib.auth.models import Permission, User

from apikeys.models import ApiKey
from apikeys.services import api_key_create


@pytest.fixture
def staff(db) -> User:
    user = User.objects.create_user("sam", password="sam-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="apikeys"))
    return user


def test_a_key_made_in_the_admin_is_shown_once_then_listed_by_prefix(client, admin_user, device):
    client.force_login(admin_user)
    response = client.post(
        "/admin/apikeys/apikey/add/",
        {"name": "grafana", "scopes": ["view"], "devices": [str(device.pk)], "allowed_ips": "[]"},
        follow=True,
    )
    api_key = ApiKey.objects.get()
    shown = [str(message) for message in response.context["messages"]]
    secret = next(word for text in shown for word in text.split() if word.startswith(api_key.prefix + "."))
    assert (api_key.user, api_key.scopes, list(api_key.devices.all())) == (admin_user, ["view"], [device])
    assert ApiKey.objects.key_generator.verify(secret, api_key.hashed_key)
    for page in ["/admin/apikeys/apikey/", f"/admin/apikeys/apikey/{api_key.pk}/change/"]:
        text = client.get(page).content.decode()
        assert api_key.prefix in text
        assert secret.partition(".")[2] not in text
        assert api_key.hashed_key.partition("$$")[2] not in text


def test_a_staff_member_sees_only_their_own_keys_in_the_admin(client, staff, admin_user, settings):
    settings.CAMERAS_VISIBLE_TO_ALL = False
    theirs, _ = api_key_create(user=admin_user, name="root-key", scopes=["manage"])
    mine, _ = api_key_create(user=staff, name="sam-key", scopes=["view"])
    client.force_login(staff)
    text = client.get("/admin/apikeys/apikey/").content.decode()
    assert mine.prefix in text and theirs.prefix not in text
    assert client.get(f"/admin/apikeys/apikey/{theirs.pk}/change/").status_code == 302  # "does not exist"


def test_the_librarys_own_unscoped_keys_have_no_admin_page(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/rest_framework_api_key/apikey/").status_code == 404

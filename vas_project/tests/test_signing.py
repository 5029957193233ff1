"""The one signer (vas_project/signing.py): Django's Signer, under the current secret key or any
fallback key, one salt per kind of token."""

import pytest

from vas_project import signing

SALT = "vas.tests.signing"
NEW_KEY = "a-new-secret-key-for-this-test-0123456789abcdefghijklmnop"


def test_a_signature_is_short_url_safe_and_accepted_as_given():
    given = signing.signature(SALT, "a message")
    assert signing.SIGNATURE.fullmatch(given)
    assert signing.signature_matches(SALT, "a message", given)
    assert not signing.signature_matches(SALT, "another message", given)


def test_a_signature_under_a_fallback_key_is_accepted_until_that_key_leaves_the_fallbacks(settings):
    given = signing.signature(SALT, "a message")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [old_key]
    assert signing.signature_matches(SALT, "a message", given)
    assert signing.signature(SALT, "a message") != given  # signed anew under the new key
    settings.SECRET_KEY_FALLBACKS = []
    assert not signing.signature_matches(SALT, "a message", given)


def test_a_signature_under_a_key_neither_current_nor_fallback_is_refused(settings):
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-key-this-server-never-had-0123456789abcdefghijklmnopqrs"
    forged = signing.signature(SALT, "a message")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [old_key]
    assert not signing.signature_matches(SALT, "a message", forged)


def test_a_signature_of_one_kind_of_token_is_not_one_of_another():
    assert not signing.signature_matches("vas.tests.other", "a message", signing.signature(SALT, "a message"))


@pytest.mark.parametrize(
    "change", [lambda sig: f"{sig}:x", lambda sig: sig[:-1], lambda sig: f"{sig}=", lambda sig: ""]
)
def test_a_signature_not_spelled_as_the_signer_spells_it_is_refused(change):
    given = signing.signature(SALT, "a message")
    assert not signing.signature_matches(SALT, "a message", change(given))


def test_a_message_holding_the_separator_is_signed_whole():
    given = signing.signature(SALT, "a:b")
    assert signing.signature_matches(SALT, "a:b", given)
    assert not signing.signature_matches(SALT, "a", given)

"""The one signer of the tokens this server hands out and takes back (keyset cursors, signed
image and export links): Django's own django.core.signing.Signer, an HMAC-SHA256 under
DJANGO_SECRET_KEY whose signature is accepted under it or any of DJANGO_SECRET_KEY_FALLBACKS,
so rotating the secret key keeps every token working until the old key leaves the fallbacks.

Each kind of token has its own salt, so that a signature of one kind is never one of another.
A signature is the 43 characters of an unpadded URL-safe base64 SHA-256 HMAC.
"""

import re

from django.core import signing

# What Signer.signature() spells: unpadded URL-safe base64 of a SHA-256 digest.
SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")


def signer(salt: str) -> signing.Signer:
    """A signer under the keys as they are now: made per use, as Signer reads SECRET_KEY and
    SECRET_KEY_FALLBACKS when it is made (a rotated key, or a test's settings, apply at once)."""
    return signing.Signer(salt=salt)


def signature(salt: str, message: str) -> str:
    """The signature of message under the current secret key, to be handed out next to it."""
    return signer(salt).sign(message).rsplit(":", 1)[1]


def signature_matches(salt: str, message: str, given: str) -> bool:
    """Whether given is message's signature under the current key or any fallback key."""
    if SIGNATURE.fullmatch(given) is None:
        return False
    try:
        signer(salt).unsign(f"{message}:{given}")
    except signing.BadSignature:
        return False
    return True

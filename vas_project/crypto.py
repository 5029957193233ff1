"""Secrets and images at rest, on one key ring: VAS_ENCRYPTION_KEYS, newest first.

Camera passwords and webhook secrets (vas_project.fields.EncryptedTextField) are Fernet tokens
under a MultiFernet of the ring, so keys can rotate.

Images encrypted at rest (VAS_IMAGE_ENCRYPTION): AES-256-GCM over each image and thumbnail,
each key of the ring through HKDF-SHA256 to a key of its own for images. A row records the id of the key that
sealed it (key_id, a fingerprint of the key, the same wherever the key stands in the list), or
"" when its bytes are stored as they are; rows of both kinds are read alike, so turning
encryption on or off, or rotating the key, never breaks an image. manage.py reencrypt_snapshots
moves the rows to the current key (or to plain bytes when encryption is off).

Stored bytes are nonce (12 bytes) + ciphertext + tag. The snapshot's id and the column are
authenticated with them, so bytes moved to another row or column do not decrypt.
"""

import base64
import hashlib
import os
import uuid
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Secrets (Fernet).


class DecryptionError(Exception):
    """The stored value cannot be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.ENCRYPTION_KEYS])


def encrypt(plain_text: str) -> str:
    return _fernet().encrypt(plain_text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from None


# Images (AES-256-GCM).

NONCE_BYTES = 12
KDF_INFO = b"vas-snapshots images at rest"


class ImageUnreadable(Exception):
    """The stored image cannot be decrypted: its key left VAS_ENCRYPTION_KEYS, or its bytes were altered."""


@lru_cache(maxsize=4)
def _ring(keys: tuple[str, ...]) -> dict[str, AESGCM]:
    """Each key's cipher by key id, newest first."""
    ring = {}
    for key in keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KDF_INFO).derive(
            base64.urlsafe_b64decode(key)
        )
        ring[hashlib.sha256(derived).hexdigest()[:16]] = AESGCM(derived)
    return ring


def _current_ring() -> dict[str, AESGCM]:
    return _ring(tuple(settings.ENCRYPTION_KEYS))


def target_key_id() -> str:
    """The key id new rows get: the newest key's when encryption is on, else "" (plain bytes)."""
    return next(iter(_current_ring())) if settings.IMAGE_ENCRYPTION else ""


def _associated_data(snapshot_id: uuid.UUID, column: str) -> bytes:
    return f"{snapshot_id}|{column}".encode()


def image_seal(*, data: bytes, snapshot_id: uuid.UUID, column: str, key_id: str) -> bytes:
    """The bytes to store for one image column under key_id (target_key_id(); "": as they are)."""
    if not key_id:
        return data
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _current_ring()[key_id].encrypt(nonce, data, _associated_data(snapshot_id, column))


def image_unseal(*, stored: bytes, snapshot_id: uuid.UUID, column: str, key_id: str) -> bytes:
    """The image as it was captured, from what a row stores."""
    if not key_id:
        return stored
    cipher = _current_ring().get(key_id)
    if cipher is None:
        raise ImageUnreadable(f"This image was encrypted with key {key_id}, which is not in VAS_ENCRYPTION_KEYS.")
    try:
        return cipher.decrypt(stored[:NONCE_BYTES], stored[NONCE_BYTES:], _associated_data(snapshot_id, column))
    except InvalidTag:
        raise ImageUnreadable("This image's stored bytes do not decrypt: they were altered.") from None

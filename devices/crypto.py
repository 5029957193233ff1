"""Encryption of camera passwords at rest with MultiFernet, so keys can rotate."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


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

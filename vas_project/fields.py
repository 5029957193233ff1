from django.db import models

from vas_project import crypto


class UnreadableSecret(str):
    """A stored secret that no configured key decrypts (keys rotated wrongly). It reads as
    empty, says so, and is written back exactly as it was stored, so nothing is lost: the
    right key brings it back."""

    ciphertext: str

    def __new__(cls, ciphertext: str) -> "UnreadableSecret":
        secret = super().__new__(cls, "")
        secret.ciphertext = ciphertext
        return secret


class EncryptedTextField(models.TextField):
    """A text column that holds Fernet ciphertext; Python sees the plain text.

    The empty string stays empty, so "no password" needs no key to read. A value no key
    decrypts is an UnreadableSecret: one camera's bad row never breaks a page listing it.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        try:
            return crypto.decrypt(value)
        except crypto.DecryptionError:
            return UnreadableSecret(value)

    def get_prep_value(self, value):
        if isinstance(value, UnreadableSecret):
            return value.ciphertext
        value = super().get_prep_value(value)
        if not value:
            return value
        return crypto.encrypt(value)

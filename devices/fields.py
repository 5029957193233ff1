from django.db import models

from devices import crypto


class EncryptedTextField(models.TextField):
    """A text column that holds Fernet ciphertext; Python sees the plain text.

    The empty string stays empty, so "no password" needs no key to read.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return crypto.encrypt(value)

import pytest
from django.core.management import call_command
from django.db import connection


def table_names() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_migrations_reverse_to_zero_and_apply_again():
    call_command("migrate", "snapshots", "zero", verbosity=0)
    assert "snapshots_snapshot" not in table_names()
    call_command("migrate", "devices", "zero", verbosity=0)
    assert "devices_device" not in table_names()
    call_command("migrate", verbosity=0)
    assert {"devices_device", "snapshots_snapshot"} <= table_names()


@pytest.mark.django_db
def test_models_have_no_unmigrated_changes():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)

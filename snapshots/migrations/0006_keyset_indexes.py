"""The list indexes gain the id, which breaks ties of one capture time: keyset pages and the
lists' order use it. One camera's index also holds file_size, so what a camera stores is summed
from the index alone. Built and dropped concurrently on PostgreSQL, so a table of millions of
snapshots keeps taking captures meanwhile."""

from django.db import migrations, models

from vas_project.migration_operations import AddIndexConcurrentlyWherePossible, RemoveIndexConcurrentlyWherePossible


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("snapshots", "0005_key_id"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="snapshot",
            options={"get_latest_by": "captured_at", "ordering": ["-captured_at", "-id"]},
        ),
        AddIndexConcurrentlyWherePossible(
            model_name="snapshot",
            index=models.Index(fields=["device", "-captured_at", "-id", "file_size"], name="snapshot_device_captured_id"),
        ),
        AddIndexConcurrentlyWherePossible(
            model_name="snapshot",
            index=models.Index(fields=["-captured_at", "-id"], name="snapshot_captured_id"),
        ),
        RemoveIndexConcurrentlyWherePossible(model_name="snapshot", name="snapshot_device_captured"),
        RemoveIndexConcurrentlyWherePossible(model_name="snapshot", name="snapshot_captured"),
    ]

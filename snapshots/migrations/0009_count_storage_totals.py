"""Count what each camera already stores into its storage totals (devices.DeviceStorage), which
every write of snapshots keeps from here on. One grouped query that reads the
(device, captured_at, id, file_size) index, not the images."""

from django.db import migrations
from django.db.models import Count, Sum


def count_storage_totals(apps, schema_editor):
    Snapshot = apps.get_model("snapshots", "Snapshot")
    DeviceStorage = apps.get_model("devices", "DeviceStorage")
    grouped = Snapshot.objects.order_by().values("device_id").annotate(size=Sum("file_size"), count=Count("*"))
    DeviceStorage.objects.bulk_create(
        [DeviceStorage(device_id=row["device_id"], bytes=row["size"], snapshots=row["count"]) for row in grouped],
        batch_size=1000,
    )


def forget_storage_totals(apps, schema_editor):
    # Migrated back: the totals are counted afresh when this migration runs again.
    apps.get_model("devices", "DeviceStorage").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("snapshots", "0008_image_storage_external"),
        ("devices", "0012_device_storage_totals"),
    ]

    operations = [migrations.RunPython(count_storage_totals, forget_storage_totals)]

# Its own migration, so that unapplying 0003 alters the table in a transaction of its own: on
# PostgreSQL a table whose rows were just updated cannot be altered in the same transaction.

from django.db import migrations, models


def cancelled_back_to_failed(apps, schema_editor):
    """Unapplied: a cancelled delivery reads as failed (it is never sent again), its reason kept
    in last_error when the receiver left none."""
    Delivery = apps.get_model("webhooks", "Delivery")
    cancelled = Delivery.objects.filter(state="cancelled")
    cancelled.filter(last_error="").update(last_error=models.F("cancel_reason"))
    cancelled.update(state="failed", next_attempt_at=None)


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks', '0003_delivery_cancelled'),
    ]

    operations = [
        # Nothing to do forwards; backwards, the rows in the state the old code does not know.
        migrations.RunPython(migrations.RunPython.noop, cancelled_back_to_failed),
    ]

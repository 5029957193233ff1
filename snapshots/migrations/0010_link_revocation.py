"""Each user's "links valid from" moment (snapshots.models.LinkRevocation): the signed links a
user made before it are refused. A new table; migrated back, it is dropped and every link that
has not expired works again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("snapshots", "0009_count_storage_totals"),
    ]

    operations = [
        migrations.CreateModel(
            name="LinkRevocation",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="link_revocation",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("links_valid_from", models.DateTimeField()),
            ],
        ),
    ]

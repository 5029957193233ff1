"""Image bytes stored without PostgreSQL's compression attempt: JPEGs (and ciphertext) do not
compress, yet pglz tried every plain JPEG on insert, about 1.3 ms of a 1080p capture's insert
(bench/encryption_cost.py found it). EXTERNAL still moves large values out of line, uncompressed.
A change of the column's metadata: no row is rewritten. Nothing to do on SQLite."""

from django.db import migrations

COLUMNS = ("image", "thumbnail")


def set_storage(mode: str):
    def apply(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        table = apps.get_model("snapshots", "Snapshot")._meta.db_table
        changes = ", ".join(f'ALTER COLUMN "{column}" SET STORAGE {mode}' for column in COLUMNS)
        schema_editor.execute(f'ALTER TABLE "{table}" {changes}')

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("snapshots", "0007_still_source"),
    ]

    operations = [migrations.RunPython(set_storage("EXTERNAL"), set_storage("EXTENDED"))]

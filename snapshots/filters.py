import django_filters

from snapshots.models import Snapshot
from vas_project.filters import IsoDateTimeFilter, OrderingFilter


class SnapshotFilterSet(django_filters.FilterSet):
    device_id = django_filters.UUIDFilter(field_name="device_id")
    captured_after = IsoDateTimeFilter(field_name="captured_at", lookup_expr="gte")
    captured_before = IsoDateTimeFilter(field_name="captured_at", lookup_expr="lte")
    trigger = django_filters.ChoiceFilter(choices=Snapshot.Trigger.choices)
    # An unknown ordering is a 400 naming "ordering", not silently ignored.
    ordering = OrderingFilter(fields=(("captured_at", "captured_at"),), tiebreak="id")

    class Meta:
        model = Snapshot
        fields = ["device_id", "captured_after", "captured_before", "trigger"]

import django_filters

from devices.models import Device
from vas_project.filters import OrderingFilter


class DeviceFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Device.Status.choices)
    enabled = django_filters.BooleanFilter()
    # An unknown ordering is a 400 naming "ordering", not silently ignored (as on the snapshot lists).
    ordering = OrderingFilter(fields=("name", "created_at", "last_seen_at"))

    class Meta:
        model = Device
        fields = ["status", "enabled"]

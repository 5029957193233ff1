import django_filters

from devices.models import Device


class DeviceFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Device.Status.choices)
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = Device
        fields = ["status", "enabled"]

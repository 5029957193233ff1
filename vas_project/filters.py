from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError


class OrderingFilter(django_filters.OrderingFilter):
    """?ordering= for every list. Empty parts ("?ordering=," from a form or a fuzzer) are dropped,
    so the list keeps its default order instead of being paged unordered. A tiebreak field
    (the id) follows the chosen order in its direction, so rows of one value keep one order
    from page to page."""

    def __init__(self, *args, tiebreak: str = "", **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.tiebreak = tiebreak

    def filter(self, qs, value):  # type: ignore[no-untyped-def]
        parts = [part for part in value or [] if part]
        qs = super().filter(qs, parts or None)
        if not parts or not self.tiebreak:
            return qs
        direction = "-" if parts[-1].startswith("-") else ""
        return qs.order_by(*qs.query.order_by, f"{direction}{self.tiebreak}")


class InRangeIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 datetime that also exists in UTC: "0001-01-01T00:00:00+14:00" parses, but
        is before year 1 in UTC, and the database query would fail with an OverflowError. The value
    is handed on in UTC."""

    def to_python(self, value):  # type: ignore[no-untyped-def]
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            # In UTC: PostgreSQL refuses offsets beyond 15:59 that ISO 8601 and Python accept.
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a date and time between years 1 and 9999 in UTC.", code="invalid") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = InRangeIsoDateTimeField

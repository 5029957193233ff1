import django_filters


class OrderingFilter(django_filters.OrderingFilter):
    """?ordering= for every list. Empty parts ("?ordering=," from a form or a fuzzer) are dropped,
    so the list keeps its default order instead of being paged unordered."""

    def filter(self, qs, value):  # type: ignore[no-untyped-def]
        return super().filter(qs, [part for part in value or [] if part] or None)

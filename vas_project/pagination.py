"""Pages of every list: page/per_page (the first VAS's contract) with a count that is exact
while it is cheap and PostgreSQL's estimate above VAS_COUNT_EXACT_BELOW rows (the answer says
so in count_is_estimate), and, on the snapshot lists, keyset pages by ?cursor= that stay
fast however deep they go and never skip or repeat a row while rows are added."""

import json
import re
import uuid
from datetime import UTC, datetime
from functools import cached_property

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from vas_project import signing
from vas_project.params import parse_whole_number


def queryset_count(queryset: QuerySet) -> tuple[int, bool]:
    """(rows, whether that is an estimate): exact below COUNT_EXACT_BELOW rows as PostgreSQL's
    planner estimates them, else the planner's estimate (EXPLAIN, no row read). SQLite: exact."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.count(), False
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (a user who sees no camera)
        return 0, False
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    estimate = int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])
    if estimate < settings.COUNT_EXACT_BELOW:
        return queryset.count(), False
    return estimate, True


class EstimatedPage(Page):
    """A page that knows whether a next page exists from its rows (one more row than the page
    was read), not from the paginator's count, which may be an estimate."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def next_page_number(self) -> int:
        return self.number + 1


class EstimatingPaginator(Paginator):
    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        count, self.count_is_estimate = queryset_count(self.object_list)  # type: ignore[arg-type]
        return count

    def page(self, number) -> Page:  # type: ignore[no-untyped-def]
        """The page's rows, found by their ids first: the ids before the page are skipped in
        an index alone (no table row is read for them), then the page's rows are read by id.
        With an estimated count, a page is whatever rows are there, and past the end is the
        same 404 as with an exact count."""
        estimated = self.count_is_estimate if self.count else False
        number = self._page_number(number) if estimated else self.validate_number(number)
        bottom = (number - 1) * self.per_page
        queryset: QuerySet = self.object_list  # type: ignore[assignment]  # every list pages a queryset
        ids = list(queryset.values_list("pk", flat=True)[bottom : bottom + self.per_page + 1])
        rows = list(queryset.filter(pk__in=ids)) if ids else []
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        more = len(rows) > self.per_page
        if estimated and not more:  # the last page: now the count is known
            self.__dict__["count"], self.count_is_estimate = bottom + len(rows), False
        return EstimatedPage(rows[: self.per_page], number, self, more=more)

    def validate_number(self, number) -> int:  # type: ignore[no-untyped-def]
        # ASCII digits only, as every number in a query (int() also takes " 2" and "1_0").
        if parse_whole_number(str(number)) is None:
            raise PageNotAnInteger("That page number is not an integer")
        return super().validate_number(number)

    def _page_number(self, number) -> int:  # type: ignore[no-untyped-def]
        """A page number, compared to the estimated page count with room to spare (twice it):
        the estimate may be short, and no page far past it is worth reading the index for."""
        whole = parse_whole_number(str(number))
        if whole is None:
            raise PageNotAnInteger("That page number is not an integer")
        if not 1 <= whole <= 2 * self.num_pages + 1:
            raise EmptyPage("That page contains no results")
        return whole


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "per_page"
    max_page_size = 100
    django_paginator_class = EstimatingPaginator

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            # REST_FRAMEWORK["PAGE_SIZE"] (VAS_PAGE_SIZE), read per request so a changed setting applies.
            return api_settings.PAGE_SIZE
        per_page = parse_whole_number(raw)
        if per_page is None or not 1 <= per_page <= self.max_page_size:
            raise exceptions.ValidationError(
                {"per_page": [f"per_page must be a whole number from 1 to {self.max_page_size}."]}
            )
        return per_page

    def get_paginated_response(self, data):
        assert self.page is not None  # set by paginate_queryset  # noqa: S101
        return Response(
            {
                "count": self.page.paginator.count,
                "count_is_estimate": getattr(self.page.paginator, "count_is_estimate", False),
                "page": self.page.number,
                "per_page": self.page.paginator.per_page,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response_schema = super().get_paginated_response_schema(schema)
        response_schema["properties"]["count_is_estimate"] = {
            "type": "boolean",
            "description": "count is PostgreSQL's estimate (above VAS_COUNT_EXACT_BELOW rows), not an exact count.",
        }
        response_schema["properties"]["page"] = {"type": "integer", "example": 1}
        response_schema["properties"]["per_page"] = {"type": "integer", "example": api_settings.PAGE_SIZE}
        response_schema["required"] = ["count", "count_is_estimate", "page", "per_page", "results"]
        return response_schema


class CursorError(exceptions.ValidationError):
    def __init__(self) -> None:
        super().__init__({"cursor": ["This cursor is not one this server gave; start again with ?cursor= ."]})


CURSOR_SALT = "vas.pagination.cursor"
CURSOR_FORMAT = re.compile(rf"(([01])\.([0-9]{{1,12}}\.[0-9]{{6}})\.([0-9a-f]{{32}}))\.({signing.SIGNATURE.pattern})")


def _encode_cursor(*, backwards: bool, captured_at: datetime, pk: uuid.UUID) -> str:
    """A position in a list, signed (vas_project/signing.py), so that only positions this server
    gave come back, under its current key or a fallback key:
    "<backwards>.<Unix time, microseconds>.<id>.<signature>"."""
    text = f"{int(backwards)}.{captured_at.timestamp():.6f}.{pk.hex}"
    return f"{text}.{signing.signature(CURSOR_SALT, text)}"


def _decode_cursor(raw: str) -> tuple[bool, datetime, uuid.UUID]:
    match = CURSOR_FORMAT.fullmatch(raw)
    if match is None:
        raise CursorError()
    text, backwards, stamp, pk, signature = match.groups()
    if not signing.signature_matches(CURSOR_SALT, text, signature):
        raise CursorError()
    return backwards == "1", datetime.fromtimestamp(float(stamp), UTC), uuid.UUID(pk)


class SnapshotPagination(PageNumberPagination):
    """Snapshot lists: page/per_page, or keyset pages with ?cursor= (empty for the first page;
    then the next and previous links' cursors). A keyset page is found by its position
    (capture time, id) through the index, so page 5,000 costs what page 1 costs."""

    cursor_query_param = "cursor"
    keyset: dict[str, object] | None = None

    def paginate_queryset(self, queryset, request, view=None):
        if self.cursor_query_param not in request.query_params:
            self.keyset = None
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        per_page = self.get_page_size(request)
        raw = request.query_params[self.cursor_query_param]
        position = _decode_cursor(raw) if raw else None
        # Newest first unless the list asked for ordering=captured_at.
        ascending = queryset.query.order_by[:1] == ("captured_at",)
        backwards = position is not None and position[0]
        forward_in_time = ascending != backwards
        rows = queryset
        if position is not None:
            _, captured_at, pk = position
            if forward_in_time:
                after = Q(captured_at__gte=captured_at) & (Q(captured_at__gt=captured_at) | Q(pk__gt=pk))
            else:
                after = Q(captured_at__lte=captured_at) & (Q(captured_at__lt=captured_at) | Q(pk__lt=pk))
            rows = rows.filter(after)
        order = ("captured_at", "pk") if forward_in_time else ("-captured_at", "-pk")
        found = list(rows.order_by(*order)[: per_page + 1])
        more = len(found) > per_page
        page = found[:per_page]
        if backwards:
            page.reverse()
        count, count_is_estimate = queryset_count(queryset)
        self.keyset = {
            "count": count,
            "count_is_estimate": count_is_estimate,
            "page": page,
            "per_page": per_page,
            # Going back, "more" is about the rows before; going on, about the rows after.
            "next": self._link(page[-1], backwards=False) if page and (more or backwards) else None,
            "previous": self._link(page[0], backwards=True) if page and position and (more or not backwards) else None,
        }
        return page

    def _link(self, row, *, backwards: bool) -> str:
        assert self.request is not None  # set by paginate_queryset  # noqa: S101
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        cursor = _encode_cursor(backwards=backwards, captured_at=row.captured_at, pk=row.id)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data):
        if self.keyset is None:
            return super().get_paginated_response(data)
        keyset = self.keyset
        return Response(
            {
                "count": keyset["count"],
                "count_is_estimate": keyset["count_is_estimate"],
                "per_page": keyset["per_page"],
                "next": keyset["next"],
                "previous": keyset["previous"],
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Keyset paging: empty for the first page, then the cursor of a next or previous "
                "link. With it, page is ignored and the answer has no page number.",
                "schema": {"type": "string"},
            },
        ]

    def get_paginated_response_schema(self, schema):
        response_schema = super().get_paginated_response_schema(schema)
        response_schema["required"] = ["count", "count_is_estimate", "per_page", "results"]
        return response_schema

from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.settings import api_settings

from vas_project.params import parse_whole_number


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "per_page"
    max_page_size = 100

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
                "page": self.page.number,
                "per_page": self.page.paginator.per_page,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response_schema = super().get_paginated_response_schema(schema)
        response_schema["properties"]["page"] = {"type": "integer", "example": 1}
        response_schema["properties"]["per_page"] = {"type": "integer", "example": api_settings.PAGE_SIZE}
        response_schema["required"] = ["count", "page", "per_page", "results"]
        return response_schema

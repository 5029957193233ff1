from rest_framework.routers import SimpleRouter
from rest_framework.viewsets import ViewSetMixin

# Every object id in a URL is a UUID; the dashes may be left out.
UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class ApiRouter(SimpleRouter):
    """Every route answers with and without a trailing slash, never with a redirect;
    object ids are UUIDs, so anything else is an unknown route."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"

    def get_lookup_regex(self, viewset: type[ViewSetMixin], lookup_prefix: str = "") -> str:
        lookup = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        return f"(?P<{lookup_prefix}{lookup}>{UUID_PATTERN})"

"""Which scope each API route needs of a key: one table, read by the key's authentication."""

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Routes a key needs `manage` for whatever the method: they change or reveal what reaches
# every camera (webhooks, signed links' revocation) or other keys.
MANAGE_ROUTES = frozenset(
    {
        "apikey-list",
        "apikey-detail",
        "webhook-list",
        "webhook-detail",
        "webhook-deliveries",
        "links-revoke",
        "links-revoke-user",
    }
)

# Routes whose POST needs less than `manage`: capturing, and POSTs that only read.
POST_SCOPES = {
    "snapshot-capture": "capture",
    "snapshot-capture-batch": "capture",
    "snapshot-share": "view",
    "export-create": "view",
}

# The raw JPEG routes: the only ones that also take the key as an HTTP Basic password, for
# clients that can only be given a URL and a username and password (Home Assistant's generic
# camera, Grafana's image panel, NVRs), and only to GET.
IMAGE_ROUTES = frozenset(
    {
        "device-live-jpg",
        "device-snapshot-latest-jpg",
        "device-snapshot-at-jpg",
        "snapshot-image-jpg",
        "snapshot-thumbnail-jpg",
    }
)


def scope_required(*, route: str | None, method: str) -> str:
    """The scope a key needs for this route (its URL name) and method: `view` to read,
    `capture` to capture, `manage` for anything else."""
    if route in MANAGE_ROUTES:
        return "manage"
    if method in SAFE_METHODS:
        return "view"
    if method == "POST" and route in POST_SCOPES:
        return POST_SCOPES[route]
    return "manage"

"""HTTP requests the product makes to addresses users gave it (webhook receivers, cameras'
still-image URLs): no proxy from the environment, and no redirect followed, so a request goes
exactly where the URL says and nowhere a server's answer points to."""

import urllib.request
from typing import Any


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # a 3xx is the server's answer, not a place to go


def opener(*handlers: Any) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirects, *handlers)

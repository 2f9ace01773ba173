"""Where to go after login: `next` is followed only when it is a path of one of this app's own pages.

The review's case: `next=/%09/evil.example` passed a "starts with / but not //" test, and the browser,
which drops tabs and newlines from a URL, went to //evil.example; CR/LF in `next` gave a 500 when the
Location header was built. So control characters, white space and backslashes are refused outright, a
scheme or host is refused, and what is left must match a GET route of the app's URL map."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from flask import current_app, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

MAX_NEXT = 2000
NEVER_NEXT = frozenset({"auth.login", "auth.logout", "static"})


def _clean(text: str) -> bool:
    return not any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or ch == "\\" for ch in text)


def safe_next(target: str | None) -> str:
    """`target` when it is a local path of one of the app's pages, else the home page."""
    home = url_for("home.index")
    if not target or len(target) > MAX_NEXT or not _clean(target):
        return home
    try:
        parts = urlsplit(target)
    except ValueError:
        return home
    path = parts.path
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return home
    decoded = unquote(path)
    if not _clean(decoded) or decoded.startswith("//"):
        return home
    try:
        endpoint, _args = current_app.url_map.bind("localhost").match(decoded, method="GET")
    except RequestRedirect:
        return home
    except HTTPException:  # NotFound, MethodNotAllowed
        return home
    if endpoint in NEVER_NEXT:
        return home
    return urlunsplit(("", "", path, parts.query, ""))

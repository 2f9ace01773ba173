"""HTTP-level hardening in one place: what every response carries, how user-uploaded files are sent, and
what a request may bring in (its id). Wired to the app by `register(app)` from `create_app`.

- Every page of a signed-in user is `Cache-Control: no-store`: village PCs are shared, and a browser or
  proxy must keep no copy of a private page or attachment (`no_store_when_private`).
- A file users uploaded is sent with a sandbox CSP; anything but a JPEG/PNG/WEBP image is a download
  (`Content-Disposition: attachment`), never a document shown from the app's origin; the file's own
  (Chinese) name travels in RFC 5987 `filename*`, with a readable ASCII fallback (`send_user_file`).
- In production every response carries HSTS, and URLs printed for the public (QR codes, the disclosure
  page) are built on SANZI_PUBLIC_BASE_URL, never on the request's Host header (`public_url`).
- A client's `X-Request-Id` (it goes into the hash-chained trail) is taken only in a strict format,
  else one is generated (`request_id`); the client address is the proxy's unless the number of trusted
  proxies in front of the app is configured (SANZI_TRUSTED_PROXIES), and is always a valid IP address
  (`client_addr`).
- No request may carry a NUL character anywhere (PostgreSQL cannot store one): a 400 (`refuse_nul`)."""

from __future__ import annotations

import io
import ipaddress
import re
import unicodedata
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, abort, current_app, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf",
              "text/csv": ".csv", "application/json": ".json"}
USER_FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
HSTS = "max-age=31536000; includeSubDomains"


def register(app: Flask) -> None:
    app.before_request(refuse_nul)
    app.after_request(no_store_when_private)
    app.after_request(strict_transport)
    app.wsgi_app = TrustedProxies(app, app.wsgi_app)  # type: ignore[method-assign]


class TrustedProxies:
    """werkzeug's ProxyFix for the number of proxies configured (TRUSTED_PROXIES, read per request): the
    client address and scheme come from the X-Forwarded-For/-Proto that many proxies appended. With 0
    (the default) forwarded headers are ignored: a client cannot name its own address."""

    def __init__(self, app: Flask, wsgi_app: Any) -> None:
        self.app, self.wsgi_app = app, wsgi_app
        self.fixed: dict[int, ProxyFix] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        hops = int(self.app.config.get("TRUSTED_PROXIES") or 0)
        if hops <= 0:
            return self.wsgi_app(environ, start_response)
        if hops not in self.fixed:
            self.fixed[hops] = ProxyFix(self.wsgi_app, x_for=hops, x_proto=hops)
        return self.fixed[hops](environ, start_response)


def refuse_nul() -> None:
    """No text the app stores or looks up may hold a NUL: PostgreSQL refuses it (a 500), and no one
    types one. A request carrying one anywhere (path, query, form, file name) is a 400."""

    def bad(text: str | None) -> bool:
        return "\x00" in (text or "")

    if bad(request.path) or any(bad(k) or bad(v) for k, v in request.args.items(multi=True)):
        abort(400, description=_("请求中含有无效的字符，请检查后重试。"))
    if request.method == "POST" and (
        any(bad(k) or bad(v) for k, v in request.form.items(multi=True))
        or any(bad(upload.filename) for upload in request.files.values())
    ):
        abort(400, description=_("请求中含有无效的字符，请检查后重试。"))


def strict_transport(response: Response) -> Response:
    if current_app.config.get("PRODUCTION"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def request_id() -> str:
    """The request's id for the trail: the client's X-Request-Id when it is 8-64 letters, digits and
    hyphens (and does not start with "api-"), else a new one."""
    given = request.headers.get("X-Request-Id", "")
    # "api-..." is how the trail marks a request made with an API token (finance.api.auth): no client names
    # its own request so.
    if given[:4].lower() == "api-":
        return uuid.uuid4().hex
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def client_addr() -> str | None:
    """The client's address (after TrustedProxies), or None when it is not an IP address."""
    addr = request.remote_addr or ""
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return None


def public_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for the public (a QR code, a notice board): on PUBLIC_BASE_URL, which production
    requires; only in development, without it, on the request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return str(base).rstrip("/") + url_for(endpoint, **values)
    if current_app.config.get("PRODUCTION"):
        raise RuntimeError("SANZI_PUBLIC_BASE_URL is required in production")
    return url_for(endpoint, _external=True, **values)


def check_public_base_url(value: str | None, production: bool) -> str | None:
    """The configured public base URL, checked: scheme and host only (https in production)."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password or parts.path not in ("", "/"):
        raise ValueError("SANZI_PUBLIC_BASE_URL must be like https://sanzi.example.gov.cn")
    if production and parts.scheme != "https":
        raise ValueError("SANZI_PUBLIC_BASE_URL must use https in production")
    return f"{parts.scheme}://{parts.netloc}"


def no_store_when_private(response: Response) -> Response:
    """A signed-in user's responses (pages, attachments, exports) are never stored by a browser or a
    proxy. Static files keep their long cache; public pages decide for themselves."""
    if request.endpoint == "static":
        return response
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        response.headers.pop("Expires", None)
    return response


def ascii_fallback(filename: str, fallback_stem: str, content_type: str) -> str:
    """An ASCII name for old clients: the name's own ASCII letters when it has some, else the fallback
    stem; always with the extension of the content type."""
    ext = EXTENSIONS.get(content_type, "")
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    simple = _ASCII_SAFE.sub("-", unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode())
    simple = simple.strip("-.")
    if not re.search(r"[A-Za-z0-9]{2}", simple):
        simple = fallback_stem
    return f"{simple[:80]}{ext}"


def content_disposition(kind: str, filename: str, fallback_stem: str, content_type: str) -> str:
    """`kind; filename="ascii"; filename*=UTF-8''…` (RFC 6266 / RFC 5987)."""
    name = "".join(ch for ch in filename if unicodedata.category(ch)[0] != "C").strip() or fallback_stem
    if "." not in name and content_type in EXTENSIONS:
        name += EXTENSIONS[content_type]
    return (f'{kind}; filename="{ascii_fallback(name, fallback_stem, content_type)}"; '
            f"filename*=UTF-8''{quote(name, safe='')}")


def send_user_file(data: bytes, *, content_type: str, filename: str, fallback_stem: str,
                   etag: str | None = None, inline_ok: bool = True) -> Response:
    """A file a user uploaded: images inline, anything else as a download; always under a sandbox CSP
    and nosniff, never cached."""
    inline = inline_ok and content_type in INLINE_TYPES
    response = send_file(io.BytesIO(data), mimetype=content_type, conditional=etag is not None, etag=etag or False,
                         max_age=0)
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", filename, fallback_stem, content_type)
    response.headers["Content-Security-Policy"] = USER_FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers.pop("Expires", None)
    return response


def send_document(data: bytes, *, content_type: str, filename: str, fallback_stem: str) -> Response:
    """A document the app made (a PDF print): shown inline, with its Chinese name kept, never cached."""
    response = send_file(io.BytesIO(data), mimetype=content_type, max_age=0)
    response.headers["Content-Disposition"] = content_disposition("inline", filename, fallback_stem, content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers.pop("Expires", None)
    return response

"""Cache-busted static URLs: `?v=<content hash>`, so a file can be cached for a year."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from flask import Flask, Response, request, url_for

_cache: dict[str, str] = {}


def versioned_url(app: Flask, filename: str) -> str:
    static = Path(app.static_folder or "")
    path = static / filename
    key = f"{path}"
    if key not in _cache or app.debug:
        try:
            _cache[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        except OSError:
            _cache[key] = "0"
    return url_for("static", filename=filename, v=_cache[key])


# Text files worth compressing; images and PDFs are compressed already.
COMPRESSIBLE = ("text/css", "text/javascript", "application/javascript", "image/svg+xml")
_gzipped: dict[tuple[str, str | None], bytes] = {}


def finish_static(response: Response) -> Response:
    """Headers of a static file: a versioned URL (?v=<content hash>) never changes, so it is cached for a
    year without revalidating; an unversioned one may change under the same URL, so it is revalidated.
    Stylesheets and scripts are sent gzip-compressed to browsers that take it (a weak mobile signal;
    gunicorn serves the app directly). Only static files: compressing pages that carry a CSRF token
    next to reflected input would open the door to BREACH."""
    response.headers["Cache-Control"] = (
        "public, max-age=31536000, immutable" if request.args.get("v") else "no-cache"
    )
    response.headers.pop("Expires", None)
    if (response.status_code != 200 or response.mimetype not in COMPRESSIBLE
            or "gzip" not in request.accept_encodings or "Content-Encoding" in response.headers):
        return response
    key = (request.path, response.headers.get("ETag"))
    file = response.response
    if hasattr(file, "close"):
        response.call_on_close(file.close)  # the file opened by send_file, not read when cached
    response.direct_passthrough = False  # so that the server closes it
    if key not in _gzipped:
        _gzipped[key] = gzip.compress(response.get_data(), 9, mtime=0)
    response.set_data(_gzipped[key])
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    etag, weak = response.get_etag()
    if etag:  # not the same bytes as the plain file: not the same tag
        response.set_etag(etag + "-gz", bool(weak))
    return response

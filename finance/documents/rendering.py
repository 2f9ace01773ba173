"""PDF rendering with WeasyPrint: a URL fetcher that serves only the app's own static files, QR codes as
data URIs, and a check that the fast (HarfBuzz) font-subsetting path is in use.

The fetcher is the whole of WeasyPrint's view of the outside world while a document renders: a payee
name such as `<img src="file:///etc/passwd">` is escaped by Jinja and never becomes markup, and even a
URL that did reach the renderer (a template bug, a stylesheet) is refused unless it names a file under
the static folder by path.
"""

from __future__ import annotations

import base64
import io
import logging
import mimetypes
import posixpath
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import qrcode
import qrcode.image.svg
from flask import Flask, current_app
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

from finance.documents.fonts import font_faces_css

log = logging.getLogger(__name__)

# Relative URLs in the PDF templates (`/static/css/pdf.css`) resolve against this origin. The `.invalid`
# top-level domain never resolves (RFC 2606), so nothing could reach a network even if the fetcher below
# let a URL through; the fetcher maps this origin's /static/ paths to files and refuses everything else.
BASE_URL = "https://sanzi.invalid/"


class FetchRefused(ValueError):
    """The PDF asked for a resource outside the app's static files."""


class StaticOnlyFetcher(URLFetcher):
    """Serves `https://sanzi.invalid/static/<path>` from the static folder and `data:` URIs; refuses
    file:// URLs, other hosts and schemes, and any path that leaves the static folder."""

    def __init__(self, static_folder: str | Path, static_url_path: str = "/static") -> None:
        super().__init__(allowed_protocols=("https", "data"), allow_redirects=False)
        self.root = Path(static_folder).resolve()
        self.prefix = static_url_path.rstrip("/") + "/"
        origin = urlsplit(BASE_URL)
        self.origin = (origin.scheme, origin.netloc)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)  # urllib's DataHandler: no I/O at all
        return URLFetcherResponse(url, self.static_bytes(url), {"Content-Type": self._type(url)})

    def static_bytes(self, url: str) -> bytes:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self.origin or parts.username or parts.port:
            raise FetchRefused(f"refused: {url[:80]}")
        path = unquote(parts.path)
        if not path.startswith(self.prefix) or "\\" in path or "\x00" in path:
            raise FetchRefused(f"refused: {url[:80]}")
        relative = posixpath.normpath(path[len(self.prefix):])
        if relative.startswith(("/", "..")) or relative == ".":
            raise FetchRefused(f"refused: {url[:80]}")
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            raise FetchRefused(f"refused: {url[:80]}")
        return target.read_bytes()

    @staticmethod
    def _type(url: str) -> str:
        return mimetypes.guess_type(urlsplit(url).path)[0] or "application/octet-stream"


def fetcher_for(app: Flask) -> StaticOnlyFetcher:
    return StaticOnlyFetcher(app.static_folder or "", app.static_url_path or "/static")


def render_document(html: str, app: Flask | None = None) -> Document:
    """Lay out HTML (from a `templates/pdf/` template) with the static-only fetcher, in CJK faces cut to
    the document's characters (finance/documents/fonts.py)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not fast_subsetting_available():
        log.warning("libharfbuzz-subset is missing: CJK font subsetting will take seconds per document")
    fetcher = fetcher_for(app)
    faces = font_faces_css(html + _stylesheet_text(fetcher))
    if faces:
        html = html.replace("</head>", f"<style>{faces}</style>\n</head>", 1)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher, media_type="print").render()


def _stylesheet_text(fetcher: StaticOnlyFetcher) -> str:
    """The printed documents' stylesheet: its generated content (page numbers, running headers) prints
    words that are not in the HTML."""
    try:
        return fetcher.static_bytes(BASE_URL + fetcher.prefix.lstrip("/") + "css/pdf.css").decode("utf-8", "replace")
    except FetchRefused:
        return ""


def render_pdf(html: str, app: Flask | None = None) -> bytes:
    return bytes(render_document(html, app).write_pdf())


def render_one_page(make_html: Callable[[bool], str], app: Flask | None = None) -> bytes:
    """A document meant for one sheet: laid out normally, and again in compact type if it ran over."""
    document = render_document(make_html(False), app)
    if len(document.pages) > 1:
        document = render_document(make_html(True), app)
    return bytes(document.write_pdf())


def fast_subsetting_available() -> bool:
    """True when WeasyPrint subsets fonts with HarfBuzz (about 0.2 s for a CJK page) rather than
    fontTools (11 to 17 s): Debian's libharfbuzz-subset0, HarfBuzz 4.1 or newer."""
    from weasyprint.text import ffi

    return bool(ffi.harfbuzz_subset) and bool(ffi.harfbuzz.hb_version_atleast(4, 1, 0))


def qr_svg_data_uri(data: str) -> str:
    """A QR code as an SVG data URI: vector, so it prints sharp at any size and decodes from a scan."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10)
    qr.add_data(data)
    qr.make(fit=True)
    image = qr.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    buf = io.BytesIO()
    image.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()

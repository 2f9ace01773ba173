"""The URL fetcher WeasyPrint gets: the app's static files by path, data: URIs, and nothing else —
whether the URL comes from a direct call or from user input (payee name, purpose) on a printed form."""

from __future__ import annotations

import io
import socket

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from finance.config import PROJECT_ROOT
from finance.documents import rendering
from finance.documents.rendering import BASE_URL, FetchRefused, StaticOnlyFetcher
from finance.extensions import db
from finance.payments.models import Payment
from finance.workflow import State
from tests import factories as f

STATIC = PROJECT_ROOT / "static"

REFUSED = [
    "file:///etc/passwd",
    f"file://{STATIC}/css/pdf.css",  # even the app's own files, when named as file paths
    "http://example.com/logo.png",
    "https://example.com/static/css/pdf.css",
    "http://127.0.0.1:5432/",
    "http://sanzi.invalid/static/css/pdf.css",  # the right host with the wrong scheme
    "https://sanzi.invalid:8443/static/css/pdf.css",
    "https://user@sanzi.invalid/static/css/pdf.css",
    "https://sanzi.invalid/static/../finance/config.py",
    "https://sanzi.invalid/static/%2e%2e/finance/config.py",
    "https://sanzi.invalid/static/css/../../README.md",
    "https://sanzi.invalid/static/..%2fpyproject.toml",
    "https://sanzi.invalid/static/%5c..%5cpyproject.toml",
    "https://sanzi.invalid/static/",
    "https://sanzi.invalid/static/css/missing.css",
    "https://sanzi.invalid/templates/pdf/_base.html",
    "https://sanzi.invalid/etc/passwd",
    "ftp://example.com/x",
    "gopher://example.com/x",
]


@pytest.fixture
def fetcher() -> StaticOnlyFetcher:
    return StaticOnlyFetcher(STATIC)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise AssertionError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.mark.parametrize("url", REFUSED)
def test_fetcher_refuses_everything_but_static_files(fetcher, no_network, url):
    with pytest.raises((FetchRefused, ValueError)):
        fetcher.fetch(url)
    assert no_network == []


def test_fetcher_serves_static_files_by_path_and_data_uris(fetcher):
    response = fetcher.fetch(f"{BASE_URL}static/css/pdf.css?v=123")
    assert response.read() == (STATIC / "css" / "pdf.css").read_bytes()
    assert response.content_type == "text/css"
    assert fetcher.fetch("data:text/plain;base64,5LiJ6LWE").read().decode() == "三资"


@pytest.mark.slow  # renders a PDF
def test_injected_markup_in_a_raw_document_is_refused_by_the_fetcher(app, no_network, monkeypatch):
    """Even if markup from user input reached WeasyPrint unescaped (a template bug), the fetcher would be
    asked for these URLs and would refuse every one of them."""
    asked, refused = [], []
    real_fetch = StaticOnlyFetcher.fetch

    def spy(self, url, headers=None):
        asked.append(url)
        try:
            return real_fetch(self, url, headers)
        except FetchRefused:
            refused.append(url)
            raise

    monkeypatch.setattr(StaticOnlyFetcher, "fetch", spy)
    html = ('<link rel="stylesheet" href="/static/css/pdf.css">'
            '<link rel="stylesheet" href="http://127.0.0.1:9/evil.css">'
            '<p>甲<img src="file:///etc/passwd"><img src="https://example.com/t.png">'
            '<img src="/static/../finance/config.py"></p>')
    with app.test_request_context():
        pdf = rendering.render_pdf(html)
    assert pdf.startswith(b"%PDF-")
    assert f"{BASE_URL}static/css/pdf.css" in asked
    assert set(refused) == {"http://127.0.0.1:9/evil.css", "file:///etc/passwd", "https://example.com/t.png",
                            f"{BASE_URL}finance/config.py"}  # ../ resolved by WeasyPrint, then refused
    assert no_network == []


HOSTILE_PAYEE = '<img src="file:///etc/passwd">兴农经营部'
HOSTILE_PURPOSE = ('<link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
                   '<img src="https://example.com/track.png">购买苗木')


@pytest.mark.slow  # renders a PDF
def test_user_input_on_a_printed_form_never_becomes_a_fetch(client, no_network, monkeypatch):
    req = f.in_state(State.PENDING, "1200.00", payee_name=HOSTILE_PAYEE, purpose=HOSTILE_PURPOSE)
    asked = []
    real_fetch = StaticOnlyFetcher.fetch
    monkeypatch.setattr(StaticOnlyFetcher, "fetch",
                        lambda self, url, headers=None: asked.append(url) or real_fetch(self, url, headers))
    client.login("dy_baozhang")
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert r.status_code == 200
    assert all(u.startswith((f"{BASE_URL}static/", "data:")) for u in asked), asked
    assert f"{BASE_URL}static/css/pdf.css" in asked  # the stylesheet did come through the fetcher
    assert not any("passwd" in u or "example.com" in u or "127.0.0.1" in u for u in asked)
    text = "".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(r.data)).pages)
    # the markup is printed as the text the accountant typed
    assert 'src="file:///etc/passwd"' in text.replace("\n", "")
    assert no_network == []


@pytest.mark.slow  # renders a PDF
def test_user_input_on_the_disclosure_sheet_never_becomes_a_fetch(client, no_network, monkeypatch):
    req = f.in_state(State.PAID, "1200.00", payee_name=HOSTILE_PAYEE, purpose=HOSTILE_PURPOSE)
    value_date = db.session.execute(
        select(Payment.value_date).where(Payment.request_id == req.id)).scalar_one()
    asked = []
    real_fetch = StaticOnlyFetcher.fetch
    monkeypatch.setattr(StaticOnlyFetcher, "fetch",
                        lambda self, url, headers=None: asked.append(url) or real_fetch(self, url, headers))
    client.login("dy_shuji")
    r = client.get(f"/documents/disclosure/{req.village_id}/{value_date.year}/{value_date.month}.pdf")
    assert r.status_code == 200
    assert asked and all(u.startswith((f"{BASE_URL}static/", "data:")) for u in asked), asked
    assert no_network == []

"""Static files for a weak signal (no browser needed): versioned URLs cached for a year, stylesheets and
scripts gzip-compressed, pages not (BREACH)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from finance import create_app
from finance.static_files import versioned_url

STATIC = Path(__file__).resolve().parents[2] / "static"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("static")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp),
                      "DATABASE_URL": f"sqlite:///{tmp / 'x.db'}"})
    return app


def get(web, url, **headers):
    client = web.test_client()
    response = client.get(url, headers=headers)
    data = response.data
    response.close()
    return response, data


@pytest.mark.parametrize("name", ["css/app.css", "js/request-form.js", "favicon.svg"])
def test_versioned_file_is_cached_a_year_and_compressed(web, name):
    with web.test_request_context():
        url = versioned_url(web, name)
    assert "?v=" in url
    for _ in range(2):  # the second answer comes from the cache of compressed files
        response, data = get(web, url, **{"Accept-Encoding": "gzip, deflate, br"})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Expires" not in response.headers
        assert response.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["Vary"]
        assert gzip.decompress(data) == (STATIC / name).read_bytes()
        assert len(data) < (STATIC / name).stat().st_size


def test_plain_file_for_a_client_without_gzip_and_no_year_without_a_version(web):
    response, data = get(web, "/static/css/app.css")
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Content-Encoding" not in response.headers
    assert data == (STATIC / "css/app.css").read_bytes()


def test_a_page_is_not_compressed(web):
    response, data = get(web, "/login", **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers  # a CSRF token beside reflected input: no BREACH
    assert b"csrf_token" in data


def test_the_version_is_the_content_hash(web):
    import hashlib

    with web.test_request_context():
        url = versioned_url(web, "css/app.css")
    assert url.endswith("v=" + hashlib.sha256((STATIC / "css/app.css").read_bytes()).hexdigest()[:10])

"""Test set-up: the app once per database (SQLite and PostgreSQL), a savepoint per test, a test client
that carries the CSRF token like a browser, and the rule that a skipped test fails in CI."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from finance import create_app
from finance.db import Database
from finance.demo import seed_base
from finance.migrate import upgrade
from tests import pg

BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "password123"
FAST_ARGON2 = (1, 1024, 1)  # tests only: real deployments use finance/auth/services.py ARGON2_PARAMS
_skipped: list[str] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """An exhaustive test runs in the fast lane on SQLite; its PostgreSQL half only in the full run."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("exhaustive") and callspec and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") and _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("CI") and _skipped:
        terminalreporter.write_line(f"CI: {len(_skipped)} skipped test(s) count as failures here:", red=True)
        for nodeid in _skipped[:50]:
            terminalreporter.write_line(f"  {nodeid}", red=True)


def require_pg() -> str:
    """The PostgreSQL admin URL, or skip (which CI turns into a failure)."""
    url = pg.server_url()
    if url is None:
        pytest.skip("no PostgreSQL server reachable and none could be started")
    return url


def make_database(backend: str, tmp_dir: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / 'sanzi.db'}"
    else:
        require_pg()
        url = pg.create_database()
    upgrade(url)
    return url


def app_config(url: str, tmp_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": str(tmp_dir),
        "UPLOAD_DIR": str(tmp_dir / "uploads"),
        "AUDIT_KEY_FILE": str(tmp_dir / "audit_signing_key.pem"),
        "ARGON2_PARAMS": FAST_ARGON2,
        # The suite makes hundreds of requests with attachments in minutes as one accountant; tests of the
        # limit itself lower it (tests/test_security.py).
        "ATTACHMENT_CHANGES_PER_HOUR": 1_000_000,
        **extra,
    }


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = make_database(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    yield url
    if backend == "postgresql":
        pg.drop_database(url)


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    application = create_app(app_config(database_url, tmp_path_factory.mktemp("instance")))
    with application.app_context():
        # The demo district and its people, committed once per database; tests run in savepoints on top.
        seed_base(PASSWORD)
        application.extensions[Database.key][1].commit()
        application.extensions[Database.key][1].remove()
    yield application
    application.extensions[Database.key][0].dispose()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test; the app's own
    commits release savepoints inside it. The test body runs in an app context."""
    engine, original = app.extensions[Database.key]
    conn = engine.connect()
    outer = conn.begin()
    scoped = scoped_session(sessionmaker(bind=conn, join_transaction_mode="create_savepoint",
                                         expire_on_commit=False))
    app.extensions[Database.key] = (engine, scoped)
    ctx = app.app_context()
    ctx.push()
    try:
        yield scoped()
    finally:
        ctx.pop()
        scoped.remove()
        if outer.is_active:
            outer.rollback()
        conn.close()
        app.extensions[Database.key] = (engine, original)


_TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client(FlaskClient):
    """A test client that sends the CSRF token a browser would (pass csrf=False to leave it out)."""

    csrf_token: str | None = None

    def fetch_token(self) -> str:
        html = super().open("/login", method="GET").get_data(as_text=True)
        match = _TOKEN_RE.search(html)
        if match is None:  # logged in: /login redirects; any page with a form carries one
            html = super().open("/account/password", method="GET").get_data(as_text=True)
            match = _TOKEN_RE.search(html)
        assert match, "no CSRF token found"
        self.csrf_token = match.group(1)
        return self.csrf_token

    def open(self, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:  # type: ignore[override]
        method = kwargs.get("method", "GET").upper()
        if csrf and method == "POST":
            data = kwargs.get("data")
            if data is None:
                data = kwargs["data"] = {}
            if isinstance(data, dict) and "csrf_token" not in data:
                data["csrf_token"] = self.csrf_token or self.fetch_token()
        response = super().open(*args, **kwargs)
        path = args[0] if args and isinstance(args[0], str) else ""
        if method == "POST" and (path == "/logout" or path.startswith("/login")):
            self.csrf_token = None  # login and logout start a new session, with a new CSRF secret
        return response

    def login(self, username: str, password: str = PASSWORD) -> Any:
        self.csrf_token = None
        response = self.post("/login", data={"username": username, "password": password})
        self.csrf_token = None  # the session changed
        return response


@pytest.fixture
def client(app: Flask, db: Session) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def make_client(app: Flask, db: Session) -> Any:
    def factory() -> Client:
        app.test_client_class = Client
        return app.test_client()  # type: ignore[return-value]

    return factory

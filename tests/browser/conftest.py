"""Real Chromium (Debian's, never a downloaded one) driving the app served on a free port, at a phone's size:
`live` is the app on its own SQLite file with the demo district, `phone()` opens a fresh browser context
sized like a cheap Android phone (one per person). The checks live in tests/browser/support.py."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

import pytest  # noqa: E402
from flask import Blueprint, abort, flash, jsonify, redirect, render_template_string, request, url_for  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from finance import create_app  # noqa: E402
from finance.db import Database  # noqa: E402
from finance.demo import seed_base  # noqa: E402
from finance.migrate import upgrade  # noqa: E402
from tests.browser.support import PHONE, LiveServer, Phone  # noqa: E402
from tests.conftest import PASSWORD, app_config  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e_story: the whole story in Chromium; needs every feature's pages")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)  # a real Chromium: out of the fast lane


# --- the app on a live server ---------------------------------------------------------------------------

def _test_pages(server: LiveServer) -> Blueprint:
    """Test-only pages for the progressive-enhancement script: a request-like form (fixtures/*.html,
    rendered with the page's CSP nonce) and an endpoint that records what it was sent, deduplicating by
    client_key the way the real services do."""
    bp = Blueprint("browser_fixtures", __name__, url_prefix="/_test")

    def render(name: str, **context: Any) -> str:
        path = FIXTURES / f"{name}.html"
        if not path.is_file() or not re.fullmatch(r"[a-z_]+", name):
            abort(404)
        return render_template_string(path.read_text(encoding="utf-8"), **context)

    @bp.route("/page/<name>")
    def page(name: str) -> str:
        return render(name, user=request.args.get("user", "7"), errors={}, values={},
                      client_key=request.args.get("key", "k-" + os.urandom(6).hex()))

    @bp.route("/submit", methods=["POST"])
    def submit() -> Any:
        from io import BytesIO

        from PIL import Image

        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        if not values.get("amount"):
            return render("request_form", user=request.args.get("user", "7"),
                          errors={"amount": "请填写金额。"}, values=values,
                          client_key=values.get("client_key", ""))
        key = values.get("client_key")
        for i, row in enumerate(server.received):
            if key and row["form"].get("client_key") == key:
                return redirect(url_for(".done", number=i + 1))
        files = []
        for f in request.files.getlist("file"):
            data = f.read()
            info: dict[str, Any] = {"filename": f.filename, "type": f.mimetype, "size": len(data)}
            if data[:3] == b"\xff\xd8\xff":
                with Image.open(BytesIO(data)) as im:
                    info["dims"] = list(im.size)
            files.append(info)
        server.received.append({"form": values, "files": files})
        flash("已保存。", "success")  # shown once, by the page the redirect leads to
        return redirect(url_for(".done", number=len(server.received)))

    @bp.route("/done/<int:number>")
    def done(number: int) -> str:
        return render("done", number=number)

    @bp.route("/received")
    def received() -> Any:
        return jsonify(server.received)

    return bp


def _closing_first(app: Any) -> Any:
    """Read each response whole and close it before the server writes it.

    Werkzeug's development server closes a response only after draining the socket; when Chromium drops a
    connection (a cached favicon, a page left mid-load) that drain raises first and the open static file is
    left to the garbage collector, whose ResourceWarning the suite treats as an error. Nothing the app
    serves streams, so buffering here changes no answer.
    """

    def wsgi(environ: Any, start_response: Any) -> Any:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{tmp / 'sanzi.db'}"
    upgrade(url)
    app = create_app(app_config(url, tmp, WTF_CSRF_SSL_STRICT=False))
    with app.app_context():
        seed_base(PASSWORD)
        app.extensions[Database.key][1].commit()
        app.extensions[Database.key][1].remove()
    server_obj = LiveServer(url="", app=app)
    app.register_blueprint(_test_pages(server_obj))
    httpd = make_server("127.0.0.1", 0, _closing_first(app), threaded=True)
    server_obj.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield server_obj
    finally:
        httpd.shutdown()
        thread.join(5)
        app.extensions[Database.key][0].dispose()


# --- the browser -----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        # A Chinese phone: the browser's own words (the file picker's button) in Chinese, given the
        # chromium-l10n package; the page's language comes from the context's locale.
        env = {**os.environ, "LANGUAGE": "zh_CN", "LANG": "zh_CN.UTF-8"}
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, env=env)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium: Any, live: LiveServer, request: pytest.FixtureRequest) -> Iterator[Callable[..., Phone]]:
    contexts: list[Any] = []
    test_name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name.removeprefix("test_"))

    def open_phone(size: dict[str, int] | None = None, javascript: bool = True, who: str = "") -> Phone:
        context = chromium.new_context(
            viewport=size or PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
            locale="zh-CN", timezone_id="Asia/Shanghai", java_script_enabled=javascript,
            user_agent=("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/124.0 Mobile Safari/537.36"),
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return Phone(context, live, test_name + (f"-{who}" if who else ""))

    yield open_phone
    for context in contexts:
        context.close()



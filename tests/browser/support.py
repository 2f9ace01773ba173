"""What the browser tests share: a phone (browser context + page + logs) and the checks every page passes:
axe-core (no serious or critical violations), no sideways scrolling at 360 and 390 px, touch targets of
44 px, nothing loaded from another host, at most 30 KB of HTML+CSS+JS (gzip) on a first visit, and
versioned static files cacheable for a year."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 640}
PAGE_BUDGET_GZIP = 30 * 1024
YEAR = "max-age=31536000"


@dataclass
class LiveServer:
    url: str
    app: Flask
    received: list[dict[str, Any]] = field(default_factory=list)  # what the test-only form endpoint got

    def has(self, endpoint: str) -> bool:
        return endpoint in self.app.view_functions


class Phone:
    """One person's phone: a browser context of its own (cookies, storage), one page, a log of every
    request the page made and of the responses of the latest navigation."""

    def __init__(self, context: Any, live: LiveServer, name: str) -> None:
        self.context = context
        self.live = live
        self.name = name
        self.page = context.new_page()
        self.requests: list[str] = []
        self.responses: list[Any] = []
        self.console_errors: list[str] = []
        self.shots = 0
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("response", lambda r: self.responses.append(r))
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def goto(self, path: str) -> Any:
        self.responses.clear()
        return self.page.goto(self.live.url + path, wait_until="load")

    def click(self, name: str, role: str = "button") -> None:
        self.responses.clear()
        with self.page.expect_navigation(wait_until="load"):
            self.page.get_by_role(role, name=name, exact=True).first.click()

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/login")
        self.page.fill("[name=username]", username)
        self.page.fill("[name=password]", password)
        self.click("登录")
        assert urlsplit(self.page.url).path != "/login", f"login of {username} failed"

    def logout(self) -> None:
        self.click("退出登录")

    def shot(self, step: str) -> Path:
        """A full-page screenshot under test-artifacts/screenshots/<test>-<nn>-<step>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


# --- the checks every page passes ------------------------------------------------------------------------

_TOUCH_TARGETS_JS = """
() => {
  const out = [];
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;   // not shown
    if (el.closest('.skip') && document.activeElement !== el) continue;              // skip link, off-screen
    // WCAG 2.5.8 inline exception: a link inside a sentence is sized by the line of text around it.
    if (el.tagName === 'A' && style.display === 'inline') {
      const block = el.parentElement.closest('p, li, dd, td, label, .hint, .muted');
      if (block && block.textContent.trim() !== el.textContent.trim()) continue;
    }
    // A checkbox or radio is tapped through its label, which must be the large target.
    if (el.type === 'checkbox' || el.type === 'radio') {
      const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
      const lr = label ? label.getBoundingClientRect() : r;
      if (lr.height >= 44) continue;
    }
    if (r.height < 43.5 || r.width < 43.5) {
      const what = (el.textContent || el.value || '').trim().slice(0, 20);
      out.push(`${el.tagName.toLowerCase()}${el.name ? '[name=' + el.name + ']' : ''} "${what}" ` +
               `${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return out;
}
"""

_OVERFLOW_JS = """
() => {
  const doc = document.scrollingElement;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > innerWidth + 0.5)
    .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
  return {scrollWidth: doc.scrollWidth, innerWidth: innerWidth, wide: wide};
}
"""


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core inside the page. Page.evaluate goes through the DevTools protocol, so the page's CSP
    (script-src 'self' + nonce) does not block it the way an injected <script> would be."""
    if not AXE_JS.is_file():
        pytest.fail("node_modules/axe-core is missing: run `npm ci` in the project root")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate(
        """async () => {
             const r = await axe.run(document, {resultTypes: ['violations']});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
           }"""
    )
    return list(result)


def _page_weight(phone: Phone) -> tuple[int, list[str]]:
    total = 0
    parts = []
    for response in phone.responses:
        kind = response.request.resource_type
        if kind not in ("document", "stylesheet", "script") or not (200 <= response.status < 300):
            continue
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - a body the browser did not keep (e.g. a download) weighs nothing
            continue
        size = len(gzip.compress(body, 9))
        total += size
        parts.append(f"{urlsplit(response.url).path} {size} B")
    return total, parts


def check_page(phone: Phone, step: str, *, axe: bool = True, budget: bool = True) -> dict[str, Any]:
    """Every check a page must pass; takes the step's screenshot first so a failure can be looked at."""
    page = phone.page
    phone.shot(step)
    problems: list[str] = []
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(phone.live.url))

    foreign = sorted({u for u in phone.requests if not u.startswith((origin, "data:", "blob:", "about:"))})
    if foreign:
        problems.append(f"requests to other hosts: {foreign}")

    for response in phone.responses:
        parts = urlsplit(response.url)
        if parts.path.startswith("/static/") and response.status == 200:
            cache = response.headers.get("cache-control", "")
            if "v" not in parse_qs(parts.query):
                problems.append(f"static file without a version: {response.url}")
            elif YEAR not in cache or "immutable" not in cache:
                problems.append(f"static file not cacheable for a year: {response.url} ({cache})")

    weight, parts_list = _page_weight(phone)
    if budget and weight > PAGE_BUDGET_GZIP:
        problems.append(f"page weighs {weight} B gzip > {PAGE_BUDGET_GZIP}: {parts_list}")

    original = page.viewport_size
    for size in (SMALL_PHONE, PHONE):
        page.set_viewport_size(size)
        overflow = page.evaluate(_OVERFLOW_JS)
        if overflow["scrollWidth"] > overflow["innerWidth"]:
            problems.append(f"sideways scrolling at {size['width']} px: {overflow}")
        small = page.evaluate(_TOUCH_TARGETS_JS)
        if small:
            problems.append(f"touch targets under 44 px at {size['width']} px: {small}")
    page.set_viewport_size(original)

    violations = []
    if axe:
        violations = [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]
        if violations:
            problems.append("axe: " + json.dumps(violations, ensure_ascii=False))

    failed = [f"{r.status} {r.url}" for r in phone.responses
              if r.request.resource_type != "document" and r.status >= 400]
    if failed:
        problems.append(f"resources that failed to load: {failed}")
    # A failed load is reported above (the page itself may be a deliberate 404); other errors are bugs.
    errors = [e for e in phone.console_errors if not e.startswith("Failed to load resource")]
    if errors:
        problems.append(f"console errors: {errors}")
    assert not problems, f"{step} ({page.url}):\n  " + "\n  ".join(problems)
    return {"weight": weight, "parts": parts_list}


def photo_jpeg(width: int = 3000, height: int = 4000, orientation: int | None = None) -> bytes:
    """A phone-camera-sized JPEG with some detail (so it does not compress to nothing)."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 37):
        draw.line([(0, y), (width, (y * 7) % height)], fill=(180, 40, (y * 3) % 255), width=3)
    for x in range(0, width, 53):
        draw.rectangle([x, (x * 5) % height, x + 20, (x * 5) % height + 30], fill=(20, (x % 200), 90))
    out = BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()

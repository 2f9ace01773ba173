"""What the browser tests of the request form share (issue 16): the accountant on /requests/new, a form
filled in, a PDF the server accepts, and the request's attachments as the database has them."""

from __future__ import annotations

from sqlalchemy import select

PAYEE = "濮阳市华龙区兴农建材经营部"
MB = 1024 * 1024


def pdf_contract(size: int = 40_000) -> bytes:
    """A PDF of about `size` bytes (a scanned contract), accepted by the server's checks."""
    body = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n"
    filler = b"% " + b"x" * 70 + b"\n"
    return body + filler * max(0, (size - len(body)) // len(filler)) + b"trailer<</Root 1 0 R>>\n%%EOF\n"


def attachments_of(live, payee: str) -> list[tuple[str, str, str]]:
    from finance.extensions import db
    from finance.payment_requests.models import PaymentRequest

    with live.app.app_context():
        try:
            rows = db.session.execute(select(PaymentRequest).where(PaymentRequest.payee_name == payee)).scalars()
            return sorted((a.kind.value, a.content_type, a.filename) for r in rows for a in r.attachments)
        finally:
            db.scoped.remove()


def request_id_of(live, payee: str) -> int:
    from finance.extensions import db
    from finance.payment_requests.models import PaymentRequest

    with live.app.app_context():
        try:
            return db.session.execute(select(PaymentRequest.id).where(PaymentRequest.payee_name == payee)).scalar_one()
        finally:
            db.scoped.remove()


def open_request_form(phone, javascript: bool = True, who: str = ""):
    """A fresh phone of 东岳村's accountant (李秀英) on /requests/new."""
    me = phone(javascript=javascript, who=who)
    me.login("dy_baozhang")
    me.goto("/requests/new")
    return me


def fill(page, payee: str) -> None:
    page.fill("main [name=payee_name]", payee)
    page.fill("main [name=payee_bank]", "中国农业银行濮阳华龙支行")
    page.fill("main [name=payee_account]", "6228 4800 1111 2222 333")
    page.fill("main [name=amount]", "12800.00")
    page.fill("main [name=purpose]", "村委会院墙维修材料款")


def shot_of(me, selector: str, step: str):
    """A screenshot of one part of the page (test-artifacts/screenshots/<test>-<step>.png), to look at."""
    from tests.browser.support import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{me.name}-{step}.png"
    me.page.locator(selector).first.screenshot(path=str(path))
    return path

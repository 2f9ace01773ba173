"""The statuses of the books' operations (finance/api/endpoints_books.py) for tests/api/test_statuses.py:
bank accounts, months and month close, statement lines, the check, receipts, the two PDFs, the liaison's
CSV export and discarding a draft. The PDFs are not rendered here (the status is the subject)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from finance.workflow import State
from tests import factories as f

CHAIN = "village:HL-YC-01"


def _cheap_pdf(call: Callable[[], Any]) -> Any:
    """Run `call` with WeasyPrint replaced by a placeholder (tests/test_documents.py renders for real)."""
    from finance.documents import views

    real = views.render_pdf
    views.render_pdf = lambda _html: b"%PDF-1.4 placeholder"
    try:
        return call()
    finally:
        views.render_pdf = real


def _account_body(village: str = "HL-YC-02") -> dict[str, Any]:
    return {"village_id": f.unit(village).id, "number": f"62305900{uuid.uuid4().int % 10**10:010d}",
            "name": "西岳村股份经济合作社", "kind": "general", "opening_date": date.today().replace(day=1).isoformat(),
            "opening_balance": "1000.00"}


def _change() -> dict[str, Any]:
    return {"name": "西岳村股份经济合作社", "opening_date": date.today().replace(day=1).isoformat(),
            "opening_balance": "1200.00", "reason": "期初余额按银行回单更正"}


def _account_id(village: str = "HL-YC-02", who: str = "yc_shenhe") -> int:
    """A new account of the village, opened on the first of this month (by the service, as the page)."""
    from finance.bank import services as bank
    from finance.extensions import db

    body = _account_body(village)
    account = bank.set_account(f.user(who), f.unit(village), bank.AccountInput(
        number=body["number"], name=body["name"], opening_date=date.today().replace(day=1),
        opening_balance=Decimal("1000.00")))
    db.session.commit()
    return int(account.id)


def _twice(as_: Callable[[str], Any]) -> Any:
    body = _account_body()
    as_("yc_shenhe").post("/bank/accounts", body)
    return as_("yc_shenhe").post("/bank/accounts", body)


def _closable() -> str:
    """A village whose current month can be closed: an account opened this month, no lines (another
    township's village, which no other scenario touches)."""
    _account_id("HL-MK-02", "mk_shenhe")
    return "HL-MK-02"


def _next_month() -> str:
    first = date.today().replace(day=1)
    return f"{(first + timedelta(days=32)):%Y-%m}"


def _this_month() -> str:
    return f"{date.today():%Y-%m}"


def _report(as_: Callable[[str], Any], who: str, chain: str = CHAIN) -> Any:
    day = date.today().isoformat()
    return _cheap_pdf(lambda: as_(who).get(f"/chains/{chain}/report.pdf?start={day}&end={day}"))


def _req(state: State) -> int:
    n = uuid.uuid4().int % 10**9
    return int(f.in_state(state, payee_name=f"濮阳市华龙区第{n}书店", payee_account=f"62284811{n:011d}").id)


SCENARIOS: dict[tuple[str, int], Callable[[Callable[[str], Any]], Any]] = {
    ("list_bank_accounts", 200): lambda as_: as_("yc_shenhe").get("/bank/accounts"),
    ("create_bank_account", 201): lambda as_: as_("yc_shenhe").post("/bank/accounts", _account_body()),
    ("create_bank_account", 403): lambda as_: as_("yc_lianqing").post("/bank/accounts", _account_body()),
    ("create_bank_account", 409): _twice,
    ("change_bank_account", 200): lambda as_: as_("yc_shenhe").put(f"/bank/accounts/{_account_id()}", _change()),
    ("change_bank_account", 403): lambda as_: as_("yc_lianqing").put(f"/bank/accounts/{_account_id()}", _change()),
    ("change_bank_account", 404): lambda as_: as_("mk_shenhe").put(f"/bank/accounts/{_account_id()}", _change()),
    ("list_bank_months", 200): lambda as_: as_("yc_shenhe").get("/bank/villages/HL-YC-01/months"),
    ("close_bank_month", 200): lambda as_: as_("mk_shenhe").post(
        f"/bank/villages/{_closable()}/months/{_this_month()}/close"),
    ("close_bank_month", 403): lambda as_: as_("yc_lianqing").post(
        f"/bank/villages/HL-YC-01/months/{_this_month()}/close"),
    ("close_bank_month", 409): lambda as_: as_("yc_shenhe").post(
        f"/bank/villages/HL-YC-01/months/{_next_month()}/close"),
    ("list_bank_lines", 200): lambda as_: as_("yc_shenhe").get("/bank/villages/HL-YC-01/lines"),
    ("check_bank_village", 200): lambda as_: as_("yc_shenhe").post("/bank/villages/HL-YC-01/check"),
    ("check_bank_village", 403): lambda as_: as_("yc_lianqing").post("/bank/villages/HL-YC-01/check"),
    ("list_receipts", 200): lambda as_: as_("dy_baozhang").get("/bank/receipts"),
    ("disclosure_pdf", 200): lambda as_: _cheap_pdf(
        lambda: as_("dy_baozhang").get(f"/villages/HL-YC-01/disclosure/{_this_month()}.pdf")),
    ("trail_report_pdf", 200): lambda as_: _report(as_, "yc_lianqing"),
    ("trail_report_pdf", 404): lambda as_: _report(as_, "mk_lianqing"),
    ("export_requests_csv", 200): lambda as_: as_("yc_lianqing").get("/requests/export.csv?state=pending"),
    ("export_requests_csv", 404): lambda as_: as_("dy_baozhang").get("/requests/export.csv"),
    ("discard_request", 200): lambda as_: as_("dy_baozhang").post(f"/requests/{_req(State.DRAFT)}/discard"),
    ("discard_request", 403): lambda as_: as_("yc_lianqing").post(f"/requests/{_req(State.DRAFT)}/discard"),
    ("discard_request", 409): lambda as_: as_("dy_baozhang").post(f"/requests/{_req(State.PENDING)}/discard"),
}

REAL_IDS: dict[str, Callable[[], int]] = {"account_id": _account_id}
SHARED_AS: dict[str, str] = {"account_id": "yc_shenhe"}

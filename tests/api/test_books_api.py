"""The books through /api/v1 (finance/api/endpoints_books.py), each against what its page does: bank accounts
with opening and current balances, months and month close (409 with the page's reason), the statement lines
with their match state, the check, the receipts list, the disclosure sheet and the trail report as PDF, the
liaison's CSV export and discarding a draft. Refusals: another township's user 404, a role without the
permission 403, bad input 422 with nothing changed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.bank import queries
from finance.bank import services as bank
from finance.bank.models import BankAccount, BankException, ExceptionKind
from finance.payments.queries import payment_of
from finance.workflow import State
from tests import factories as f
from tests.bank_helpers import Line, account, line_for, statement_of

TODAY = date.today()
FIRST = TODAY.replace(day=1)
LAST = (FIRST - timedelta(days=1)).replace(day=1)


def events(action: str | None = None) -> int:
    stmt = select(func.count(Event.id))
    if action:
        stmt = stmt.where(Event.action == action)
    return int(f.db.session.execute(stmt).scalar_one())


@pytest.fixture
def cheap_pdf(monkeypatch: Any) -> None:
    from finance.documents import views

    monkeypatch.setattr(views, "render_pdf", lambda _html: b"%PDF-1.4 placeholder")


# --- accounts ---------------------------------------------------------------------------------------------------

def test_accounts_are_set_up_listed_with_balances_and_changed_with_a_reason(as_user: Any, db: Any) -> None:
    reviewer = as_user("yc_shenhe")
    village = f.unit("HL-YC-02")
    body = {"village_id": village.id, "number": "6230 5900 1122 3344 02", "name": "西岳村股份经济合作社",
            "bank_name": "濮阳农村商业银行岳村支行", "opening_date": FIRST.isoformat(), "opening_balance": "-12.50"}
    # bad input: 422 naming the field, nothing set up
    before = events("bank_account_set")
    r = reviewer.post("/bank/accounts", {**body, "opening_balance": 12.5})
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "opening_balance"
    r = reviewer.post("/bank/accounts", {**body, "number": "12ab"})
    assert r.status_code == 422 and [e["field"] for e in r.get_json()["errors"]] == ["number"]
    assert events("bank_account_set") == before and not queries.accounts_of(village)
    # the liaison reads the bank but does not set accounts up; another township's reviewer does not see the village
    assert as_user("yc_lianqing").post("/bank/accounts", body).status_code == 403
    r = as_user("mk_shenhe").post("/bank/accounts", body)
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "village_id"
    r = reviewer.post("/bank/accounts", body)
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert (made["number"], made["opening_balance"], made["balance"], made["kind"]) == (
        "623059001122334402", "-12.50", "-12.50", "basic")
    assert events("bank_account_set") == before + 1
    # the same number again is a change, not a new account: 409
    assert reviewer.post("/bank/accounts", body).status_code == 409
    # listed for who reads the page, with the current balance; not for another township
    listed = as_user("yc_lianqing").get(f"/bank/accounts?village_id={village.id}").get_json()["items"]
    assert [a["id"] for a in listed] == [made["id"]]
    assert as_user("mk_shenhe").get("/bank/accounts").get_json()["items"] == []
    page = as_user("yc_shenhe").client
    page.login("yc_shenhe")
    assert "-12.50" in page.get("/bank/HL-YC-02/accounts").get_data(as_text=True)
    # a change needs a reason (422), is refused to the liaison (403) and to another township (404)
    change = {"name": "西岳村股份经济合作社", "opening_date": FIRST.isoformat(), "opening_balance": "300.00"}
    assert reviewer.put(f"/bank/accounts/{made['id']}", change).status_code == 422
    change["reason"] = "按银行回单更正"
    assert as_user("yc_lianqing").put(f"/bank/accounts/{made['id']}", change).status_code == 403
    assert as_user("mk_shenhe").put(f"/bank/accounts/{made['id']}", change).status_code == 404
    r = reviewer.put(f"/bank/accounts/{made['id']}", change)
    assert r.status_code == 200 and r.get_json()["opening_balance"] == "300.00"
    assert f.db.session.get(BankAccount, made["id"]).opening_balance == Decimal("300.00")
    assert events("bank_account_set") == before + 2


# --- months and month close -------------------------------------------------------------------------------------

def test_months_show_what_keeps_a_month_open_and_close_it_as_the_page_does(as_user: Any, db: Any) -> None:
    acct = account(opening_date=LAST, opening="1000.00")
    stray = Line(LAST + timedelta(days=2), "OUTAPI9", debit=Decimal("300.00"), name="某人",
                 account="6200000000000077")
    bank.import_statement(f.user("yc_shenhe"), statement_of(acct, [stray]).csv(), "s.csv")
    f.db.session.commit()
    reviewer = as_user("yc_shenhe")
    months = reviewer.get("/bank/villages/HL-YC-01/months").get_json()["items"]
    last = next(m for m in months if m["period"] == f"{LAST:%Y-%m}")
    assert (last["state"], last["open_exceptions"], last["unmatched_lines"]) == ("open", 1, 1)
    assert last["accounts"][0]["opening"] == "1000.00" and last["accounts"][0]["closing"] == "700.00"
    assert as_user("mk_shenhe").get("/bank/villages/HL-YC-01/months").status_code == 404
    assert as_user("dy_baozhang").get("/bank/villages/HL-YC-01/months").status_code == 404
    # cannot close: 409 with the page's reason; the liaison may not close (403); another township 404
    path = f"/bank/villages/HL-YC-01/months/{LAST:%Y-%m}/close"
    before = events("month_close")
    r = reviewer.post(path)
    assert r.status_code == 409 and "未说明的对账异常" in r.get_json()["detail"]
    assert as_user("yc_lianqing").post(path).status_code == 403
    assert as_user("mk_shenhe").post(path).status_code == 404
    assert reviewer.post("/bank/villages/HL-YC-01/months/2026-13/close").status_code == 422
    assert events("month_close") == before
    exception = queries.exceptions([acct.village_id])[0]
    bank.close_exception(f.user("yc_shenhe"), exception.id, "村民借款，已登记应收款")
    f.db.session.commit()
    r = reviewer.post(path)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "closed" and r.get_json()["accounts"][0]["closing"] == "700.00"
    assert f"{LAST:%Y-%m}" in queries.closed_periods(acct.village_id) and events("month_close") == before + 1
    again = reviewer.post(path)
    assert again.status_code == 409 and "已扎账" in again.get_json()["detail"]


# --- lines and the check ----------------------------------------------------------------------------------------

def test_lines_show_their_match_state_and_proposal_page_by_page(as_user: Any, db: Any) -> None:
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    acct = account()
    fee = Line(TODAY, "FEEAPI1", debit=Decimal("2.00"), summary="手续费")
    bank.import_statement(f.user("yc_chuna"), statement_of(acct, [line_for(pay), fee]).csv(), "s.csv")
    f.db.session.commit()
    reviewer = as_user("yc_shenhe")
    items = reviewer.get(f"/bank/villages/HL-YC-01/lines?period={TODAY:%Y-%m}").get_json()["items"]
    states = {i["serial"]: i["state"] for i in items}
    assert states == {pay.bank_reference: "proposed", "FEEAPI1": "no_match_needed"}
    proposed = next(i for i in items if i["state"] == "proposed")
    assert proposed["match"]["payment_id"] == pay.id and proposed["debit"] == f"{pay.amount:.2f}"
    only_open = reviewer.get("/bank/villages/HL-YC-01/lines?open=true").get_json()["items"]
    assert [i["serial"] for i in only_open] == [pay.bank_reference]
    first = reviewer.get("/bank/villages/HL-YC-01/lines?limit=1").get_json()
    assert len(first["items"]) == 1 and first["next"]
    second = reviewer.get(f"/bank/villages/HL-YC-01/lines?limit=1&after={first['next']}").get_json()
    assert second["next"] is None and second["items"][0]["id"] != first["items"][0]["id"]
    assert reviewer.get("/bank/villages/HL-YC-01/lines?period=2026-13").status_code == 422
    assert as_user("mk_shenhe").get("/bank/villages/HL-YC-01/lines").status_code == 404
    # the page lists the same proposal
    page = as_user("yc_shenhe").client
    page.login("yc_shenhe")
    assert pay.bank_reference in page.get("/bank/HL-YC-01/reconcile").get_data(as_text=True)


def test_the_check_raises_paid_without_statement_once(as_user: Any, db: Any) -> None:
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    pay.value_date = TODAY - timedelta(days=30)
    f.db.session.commit()
    assert as_user("yc_lianqing").post("/bank/villages/HL-YC-01/check").status_code == 403
    assert as_user("mk_shenhe").post("/bank/villages/HL-YC-01/check").status_code == 404
    r = as_user("yc_shenhe").post("/bank/villages/HL-YC-01/check")
    assert r.status_code == 200 and len(r.get_json()["raised"]) >= 1
    row = f.db.session.get(BankException, r.get_json()["raised"][0])
    assert row.kind is ExceptionKind.PAID_WITHOUT_STATEMENT
    assert as_user("yc_shenhe").post("/bank/villages/HL-YC-01/check").get_json()["raised"] == []


# --- receipts ---------------------------------------------------------------------------------------------------

def test_receipts_are_listed_for_who_reads_them(as_user: Any, db: Any) -> None:
    acct = account()
    r = as_user("dy_baozhang").post("/bank/receipts", {
        "village_id": acct.village_id, "account_id": acct.id, "payer_name": "张三", "amount": "1200.00",
        "type": "rent", "received_on": TODAY.isoformat()})
    assert r.status_code == 201
    items = as_user("yc_lianqing").get("/bank/receipts").get_json()["items"]
    assert [(i["number"], i["amount"], i["match_status"]) for i in items] == [(r.get_json()["number"], "1200.00",
                                                                               None)]
    assert as_user("dy_baozhang").get(f"/bank/receipts?village_id={acct.village_id}").get_json()["items"] == items
    assert as_user("mk_lianqing").get("/bank/receipts").get_json()["items"] == []
    assert as_user("dy_baozhang").get("/bank/receipts?village_id=0").status_code == 422


# --- documents --------------------------------------------------------------------------------------------------

def test_disclosure_pdf_is_printed_as_on_the_page(as_user: Any, db: Any, cheap_pdf: None) -> None:
    f.in_state(State.PAID)
    before = events("print_disclosure")
    r = as_user("dy_shuji").get(f"/villages/HL-YC-01/disclosure/{TODAY:%Y-%m}.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert "attachment" in r.headers["Content-Disposition"] or "inline" in r.headers["Content-Disposition"]
    assert events("print_disclosure") == before + 1
    assert as_user("mk_shenhe").get(f"/villages/HL-YC-01/disclosure/{TODAY:%Y-%m}.pdf").status_code == 404
    future = FIRST + timedelta(days=40)
    assert as_user("dy_shuji").get(f"/villages/HL-YC-01/disclosure/{future:%Y-%m}.pdf").status_code == 404
    assert as_user("dy_shuji").get("/villages/HL-YC-01/disclosure/2026-1.pdf").status_code == 404
    # the page answers the same document
    page = as_user("dy_shuji").client
    page.login("dy_shuji")
    village = f.unit("HL-YC-01")
    assert page.get(f"/documents/disclosure/{village.id}/{TODAY.year}/{TODAY.month}.pdf").data == r.data


def test_trail_report_pdf_for_the_liaison_in_parts(as_user: Any, db: Any, cheap_pdf: None,
                                                   monkeypatch: Any) -> None:
    from finance.documents import services as documents

    f.in_state(State.PENDING)
    liaison = as_user("yc_lianqing")
    day = TODAY.isoformat()
    before = events("export_trail_report")
    r = liaison.get(f"/chains/village:HL-YC-01/report.pdf?start={FIRST.isoformat()}&end={day}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert events("export_trail_report") == before + 1
    bad = liaison.get(f"/chains/village:HL-YC-01/report.pdf?start={day}&end={FIRST - timedelta(days=1)}")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "end"
    assert liaison.get("/chains/village:HL-YC-01/report.pdf?start=x&end=y").status_code == 422
    assert as_user("mk_lianqing").get(f"/chains/village:HL-YC-01/report.pdf?start={day}&end={day}"
                                      ).status_code == 404
    assert as_user("yc_shenhe").get(f"/chains/village:HL-YC-01/report.pdf?start={day}&end={day}"
                                    ).status_code == 404
    monkeypatch.setattr(documents, "REPORT_PART_EVENTS", 1)
    split = liaison.get(f"/chains/village:HL-YC-01/report.pdf?start={FIRST.isoformat()}&end={day}")
    assert split.status_code == 422 and split.get_json()["errors"][0]["field"] == "part"
    r = liaison.get(f"/chains/village:HL-YC-01/report.pdf?start={FIRST.isoformat()}&end={day}&part=2")
    assert r.status_code == 200 and "of" in r.headers["Content-Disposition"]


# --- the liaison's export ---------------------------------------------------------------------------------------

def test_csv_export_is_the_pages_and_an_event(as_user: Any, db: Any) -> None:
    req = f.in_state(State.PENDING, payee_name="=HYPERLINK(1)")
    liaison = as_user("yc_lianqing")
    before = events("liaison_export")
    r = liaison.get("/requests/export.csv?state=pending")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff编号") and "'=HYPERLINK(1)" in text and (req.number or "") in text
    assert events("liaison_export") == before + 1
    page = as_user("yc_lianqing").client
    page.login("yc_lianqing")
    assert page.post("/oversight/requests/export", data={"state": "pending"}).get_data(as_text=True) == text
    bad = liaison.get("/requests/export.csv?village=999999")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "village"
    assert liaison.get("/requests/export.csv?state=nonsense").status_code == 422
    assert as_user("dy_baozhang").get("/requests/export.csv").status_code == 404
    assert "HYPERLINK" not in as_user("mk_lianqing").get("/requests/export.csv").get_data(as_text=True)


# --- discarding a draft -----------------------------------------------------------------------------------------

def test_a_draft_is_discarded_once_by_its_accountant(as_user: Any, db: Any) -> None:
    req = f.draft()
    before = events("discard")
    assert as_user("yc_lianqing").post(f"/requests/{req.id}/discard").status_code == 403
    assert as_user("mk_baozhang").post(f"/requests/{req.id}/discard").status_code == 404
    assert as_user("dy_baozhang").post(f"/requests/{req.id}/discard", {"version": 999}).status_code == 409
    assert events("discard") == before
    r = as_user("dy_baozhang").post(f"/requests/{req.id}/discard")
    assert r.status_code == 200 and r.get_json()["state"] == "discarded" and r.get_json()["number"] == req.number
    assert events("discard") == before + 1
    again = as_user("dy_baozhang").post(f"/requests/{req.id}/discard")
    assert again.status_code == 409
    pending = f.in_state(State.PENDING)
    assert as_user("dy_baozhang").post(f"/requests/{pending.id}/discard").status_code == 409

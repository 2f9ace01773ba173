"""The bank's pages on a phone (390x844, real Chromium): the agency reviewer imports a statement (a bad file
first), reconciles (choosing among two candidates), and explains an exception; the accounts, receipts and
month-close pages. Every page passes the checks of tests/browser/support.py and leaves a screenshot in
test-artifacts/screenshots/. 西岳村 (HL-YC-02): no other browser test uses its people or requests."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payments import services as payments
from finance.payments.queries import payment_of
from tests import factories as f
from tests.bank_helpers import Line, account, line_for, statement_of
from tests.browser.support import check_page


@pytest.fixture(scope="module")
def scene(live, tmp_path_factory):
    """Three paid requests of 西岳村 (two of 800 yuan to one payee), its account, and a statement with their
    lines (one by reference, one by amount only), an outflow nobody asked for and a rent not registered."""
    with live.app.app_context():
        paid = []
        for amount in ("1200.00", "800.00", "800.00"):
            req = f.draft(amount, accountant="xy_baozhang", village="HL-YC-02")
            requests.submit(f.user("xy_baozhang"), req, client_key=uuid.uuid4().hex)
            for name in f.approvers_for(req):
                requests.approve(f.user(name), req, "同意", client_key=uuid.uuid4().hex)
            payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req), client_key=uuid.uuid4().hex)
            paid.append(req)
        acct = account("HL-YC-02", opening="215800.00")
        db.session.commit()
        exact, first, _second = (payment_of(r) for r in paid)
        lines = [line_for(exact), line_for(first, serial="XYBANK" + uuid.uuid4().hex[:6].upper()),
                 Line(date.today(), "XYSTRAY" + uuid.uuid4().hex[:4].upper(), debit=Decimal("1500.00"),
                      name="刘建设", account="6217000088880001", summary="转账支出"),
                 Line(date.today(), "XYRENT" + uuid.uuid4().hex[:4].upper(), credit=Decimal("8500.00"),
                      name="濮阳市绿源养殖合作社", account="6230590012340001", summary="租金")]
        folder = tmp_path_factory.mktemp("bank-files")
        good = folder / "西岳村对账单.csv"
        good.write_bytes(statement_of(acct, lines).csv("gb18030"))
        broken = [*lines]
        broken[1] = Line(broken[1].day, broken[1].serial, debit=broken[1].debit, balance=Decimal("1.00"))
        bad = folder / "错误的对账单.csv"
        bad.write_bytes(statement_of(acct, broken).csv())
        db.session.commit()  # end the read (SQLite: the write lock taken at BEGIN)
        return {"good": good, "bad": bad, "numbers": [r.number for r in paid]}


def _payload(path: Path) -> dict[str, object]:
    return {"name": path.name, "mimeType": "text/csv", "buffer": path.read_bytes()}


def test_the_reviewer_imports_reconciles_and_explains(phone, scene):
    me = phone(who="reviewer")
    me.login("yc_shenhe")
    me.goto("/bank/import")
    check_page(me, "import")
    me.page.set_input_files("#f-file", files=[_payload(scene["bad"])])
    me.click("导入并自动对账")
    text = me.page.inner_text("main")
    assert "错误的对账单.csv 第 5 行“余额”列" in text and "没有导入" in text
    check_page(me, "import-refused")
    me.page.set_input_files("#f-file", files=[_payload(scene["good"])])
    me.click("导入并自动对账")
    assert me.page.url.endswith("/bank/HL-YC-02/reconcile")
    text = me.page.inner_text("main")
    assert "自动对账 1 笔" in text and "有 2 笔可能对应" in text
    check_page(me, "reconcile")
    me.page.locator("input[name=choice]").first.check()
    me.click("按所选匹配并确认")
    assert "已按所选匹配并确认对账" in me.page.inner_text("main")
    me.goto("/bank/exceptions?village=HL-YC-02")
    text = me.page.inner_text("main")
    assert "无申请支出" in text and "未登记收入" in text and "刘建设" in text
    check_page(me, "exceptions")
    me.page.locator("summary", has_text="说明并关闭").first.click()
    me.page.locator("textarea[name=reason]").first.fill("村委会临时雇工工资，已补办申请")
    me.click("关闭异常")
    assert "已说明并关闭该异常" in me.page.inner_text("main")
    check_page(me, "exception-closed")


def test_the_accounts_receipts_and_month_pages_pass_the_phone_checks(phone, scene):
    me = phone(who="pages")
    me.login("yc_shenhe")
    for path, step in (("/bank/", "bank-home"), ("/bank/HL-YC-02/accounts", "accounts"),
                       ("/bank/HL-YC-02/receipts", "receipts"), ("/bank/HL-YC-02/months", "months")):
        me.goto(path)
        check_page(me, step)
    accountant = phone(who="accountant")
    accountant.login("xy_baozhang")
    accountant.goto("/bank/HL-YC-02/receipts")
    accountant.page.fill("#f-payer_name", "濮阳市绿源养殖合作社")
    accountant.page.fill("#f-amount", "8500")
    accountant.page.fill("#f-payer_account", "6230590012340001")
    accountant.click("登记")
    assert "已登记收款" in accountant.page.inner_text("main")
    check_page(accountant, "receipt-registered")

"""The cashier's pay form in Chromium at 390x844 (issue 16 items 2 and 11): the amount, payee and accounts
typed off the bank receipt with the approval shown beside them, and the receipt photo kept after a
mistake, with JS and without."""

from __future__ import annotations

import re
import uuid

import pytest

from finance.workflow import State
from tests.browser.phone_support import press, request_in, state_of
from tests.browser.request_support import shot_of
from tests.browser.support import check_page, photo_jpeg

pytestmark = pytest.mark.e2e_story

PAYEE = "濮阳市华龙区润田农机服务部"


def open_pay_form(phone, live, payee: str, javascript: bool = True, who: str = ""):
    rid = request_in(live, State.APPROVED, "58500.00", payee)
    cashier = phone(javascript=javascript, who=who)
    cashier.login("yc_chuna")
    cashier.goto(f"/payments/{rid}/pay")
    return cashier, rid


def type_receipt(page, amount: str, payee: str, with_photo: bool = True) -> None:
    page.fill("[name=bank_reference]", "NYH" + uuid.uuid4().hex[:12].upper())
    page.fill("[name=amount]", amount)
    page.fill("[name=payee_name]", payee)
    page.fill("[name=payee_account]", page.inner_text("#approved-account").strip())  # as the receipt says
    village_account = re.search(r"\d{10,}", page.inner_text("#payer_account-hint"))
    page.fill("[name=payer_account]", village_account.group(0) if village_account else "41050167080800000123")
    if with_photo:
        page.set_input_files("[name=receipt]", files=[
            {"name": "回单.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg(900, 1200)}])


def test_the_cashier_types_the_receipt_beside_the_approval(phone, live):
    cashier, rid = open_pay_form(phone, live, PAYEE)
    page = cashier.page
    for name in ("amount", "payee_name", "payee_account", "payer_account", "bank_reference"):
        assert page.input_value(f"[name={name}]") == "", name  # nothing copied from the approval
    assert "批准：¥58,500.00" in page.inner_text("#pay-form")
    assert f"批准：{PAYEE}" in page.inner_text("#pay-form")
    check_page(cashier, "empty-form")
    # a mistyped amount is refused as before, nothing paid
    type_receipt(page, "58000.00", PAYEE)
    press(cashier, "确认支付", "#amount-error")
    assert "实付金额与批准金额 58,500.00 元不一致" in page.inner_text("main")
    assert state_of(live, rid) == "approved"
    shot_of(cashier, "#pay-form", "mismatch")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_receipt_photo_is_kept_after_a_mistake(phone, live, javascript):
    payee = PAYEE + ("（脚本）" if javascript else "（无脚本）")
    cashier, rid = open_pay_form(phone, live, payee, javascript, who="js" if javascript else "nojs")
    page = cashier.page
    type_receipt(page, "5850.00", payee)  # a zero lost
    press(cashier, "确认支付", "#kept-receipt", javascript)
    assert "实付金额与批准金额" in page.inner_text("main")
    kept = page.locator("#kept-receipt")
    assert "已保留刚才上传的回单“回单.jpg”" in kept.inner_text()
    if javascript:
        check_page(cashier, "kept")
    else:
        cashier.shot("kept")
    page.fill("[name=amount]", "58500.00")  # only the mistake corrected: no file chosen again
    press(cashier, "确认支付", ".flash-success", javascript)
    assert re.search(rf"/requests/{rid}$", page.url)
    assert state_of(live, rid) == "paid"
    assert "支付已登记" in page.inner_text("main")

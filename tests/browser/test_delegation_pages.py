"""Delegation on a phone (390×844): a village lead names a colleague on /delegations; the delegate's to-do
shows the request with "代 王建国 审批", and their notice settings page; the lead ends it early; the admin
sees it. Each page passes the checks of tests/browser/support.py (axe, touch targets, no sideways
scrolling, page weight) and leaves a screenshot under test-artifacts/screenshots/."""

from __future__ import annotations

import uuid

from finance.extensions import db
from finance.payment_requests import services as requests
from tests import factories as f
from tests.browser.support import check_page


def _pending(live) -> str:
    with live.app.app_context():
        req = f.draft("3600.00", accountant="dy_baozhang", village="HL-YC-01")
        requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
        db.session.commit()
        number = req.number
        db.scoped.remove()
    return number


def test_a_delegate_s_to_do_and_notice_settings_on_a_phone(phone, live):
    number = _pending(live)
    lead = phone(who="dy_shuji")
    lead.login("dy_shuji")
    lead.click("代理审批", role="link")  # in every page's footer
    assert lead.page.get_by_role("heading", level=1).inner_text() == "代理审批"
    check_page(lead, "delegations")
    lead.page.locator("#f-delegate").select_option(label="陈志强 · 村负责人")
    lead.page.get_by_label("东岳村").check()
    lead.click("确认委托")
    assert lead.page.get_by_role("status").inner_text() == "已委托陈志强代您审批。"
    assert "陈志强 代 王建国" in lead.page.locator("#given").inner_text()
    check_page(lead, "delegations-given")

    delegate = phone(who="xy_shuji")
    delegate.login("xy_shuji")
    item = delegate.page.locator("ul.todo li", has_text=number)
    assert "代 王建国 审批" in item.inner_text()
    check_page(delegate, "delegate-todo")
    delegate.click("通知设置", role="link")
    assert delegate.page.get_by_role("heading", level=1).inner_text() == "通知设置"
    check_page(delegate, "delegate-notice-settings")

    admin = phone(who="hl_admin")
    admin.login("hl_admin")
    admin.goto("/delegations/admin")
    assert "陈志强 代 王建国" in admin.page.inner_text("main") and "生效中" in admin.page.inner_text("main")
    check_page(admin, "delegations-admin")

    lead.goto("/delegations")
    lead.click("提前结束")
    assert lead.page.get_by_role("status").inner_text() == "委托已结束。"
    delegate.goto("/")
    assert number not in delegate.page.inner_text("main")

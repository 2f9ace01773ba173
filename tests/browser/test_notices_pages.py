"""The notice pages on a phone (390×844): the settings page, the to-do list with its overdue count, a
township head's slowest steps, the admin's failures and reminder rules. Each passes the checks of
tests/browser/support.py (axe, touch targets, no sideways scrolling, page weight) and leaves a
screenshot under test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from finance.extensions import db
from finance.payment_requests import services as requests
from tests import factories as f
from tests.browser.support import check_page


def _waiting_requests(live, village: str, accountant: str, ages_in_days: list[int]) -> list[str]:
    """Requests of `village` waiting at step 1, as if they had arrived that many days ago."""
    numbers = []
    with live.app.app_context():
        for i, age in enumerate(ages_in_days):
            req = f.draft(f"{1200 + 350 * i}.00", accountant=accountant, village=village)
            requests.submit(f.user(accountant), req, client_key=uuid.uuid4().hex)
            req.waiting_since = datetime.now(UTC) - timedelta(days=age, hours=2)
            db.session.commit()
            numbers.append(req.number)
        db.scoped.remove()
    return numbers


def test_notice_settings_page_on_a_phone(phone):
    me = phone(who="ws_jianwei")
    me.login("ws_jianwei")
    me.click("通知设置", role="link")
    assert me.page.get_by_role("heading", level=1).inner_text() == "通知设置"
    check_page(me, "notice-settings")
    me.page.get_by_label("短信").check()
    me.page.fill("#f-mobile", "13900000003")
    me.page.get_by_label("开启免打扰").check()
    me.page.fill("#f-quiet_start", "21:30")
    me.page.fill("#f-quiet_end", "07:30")
    me.click("保存")
    assert me.page.get_by_role("status").inner_text() == "通知设置已保存。"
    assert me.page.get_by_label("短信").is_checked() and me.page.input_value("#f-quiet_start") == "21:30"
    check_page(me, "notice-settings-saved")
    me.page.get_by_label("电子邮件").check()
    me.page.fill("#f-email", "not-an-address")
    me.click("保存")
    assert "电子邮件地址格式不正确。" in me.page.inner_text("main")
    check_page(me, "notice-settings-error")


def test_to_do_shows_how_many_are_overdue(phone, live):
    _waiting_requests(live, "HL-MK-02", "ws_baozhang", [12, 9, 0])
    me = phone(who="ws_shuji")
    me.login("ws_shuji")
    assert me.page.locator("#overdue").inner_text() == "其中 2 件已超时，请优先办理。"
    assert me.page.locator(".badge-late").count() == 2
    check_page(me, "todo-overdue")


def test_township_head_home_shows_the_slowest_steps(phone, live):
    numbers = _waiting_requests(live, "HL-MK-01", "mk_baozhang", [6])
    me = phone(who="mk_xiangzhang")
    me.login("mk_xiangzhang")
    slow = me.page.locator("#slowest")
    assert "本月最慢的审批环节" in slow.inner_text() and numbers[0] in slow.inner_text()
    check_page(me, "slowest-steps")


def test_admin_notices_page_on_a_phone(phone):
    me = phone(who="hl_admin")
    me.login("hl_admin")
    with me.page.expect_navigation(wait_until="load"):
        me.page.locator("a[href='/notices/admin']").click()  # on the admin's desk
    assert me.page.get_by_role("heading", level=1).inner_text() == "通知与催办"
    check_page(me, "notices-admin")

"""The 409 page in Chromium at 390x844 (issue 16 item 10): a second tap from another tab is called the
approver's own; a request withdrawn underneath names who withdrew it and what changed."""

from __future__ import annotations

import pytest

from finance.workflow import State
from tests.browser.phone_support import on_live, press, request_in
from tests.browser.support import check_page

pytestmark = pytest.mark.e2e_story


def test_a_second_tap_from_another_tab_is_the_approvers_own(phone, live):
    rid = request_in(live, State.PENDING, "3200.00", "濮阳市华龙区两开页面商行")
    lead = phone(who="twice")
    lead.login("dy_shuji")
    lead.goto(f"/requests/{rid}/approve")
    other_tab = lead.context.new_page()
    other_tab.goto(lead.page.url, wait_until="load")
    other_tab.get_by_role("button", name="确认同意").click()
    other_tab.locator(".flash-success").wait_for()
    press(lead, "确认同意", "#conflict-story")
    main = lead.page.inner_text("main")
    assert "您已经办理过了" in main and "没有重复办理" in main and "该事项已被他人处理" not in main
    check_page(lead, "twice")


def test_a_request_withdrawn_underneath_says_who_and_what(phone, live):
    from finance.payment_requests import services
    from tests import factories as f

    rid = request_in(live, State.PENDING, "4100.00", "濮阳市华龙区撤回之后商行")
    lead = phone(who="underneath")
    lead.login("dy_shuji")
    lead.goto(f"/requests/{rid}/approve")

    def withdraw() -> None:
        from finance.extensions import db
        from finance.payment_requests.models import PaymentRequest

        services.withdraw(f.user("dy_baozhang"), db.session.get(PaymentRequest, rid))
        db.session.commit()

    on_live(live, withdraw)
    press(lead, "确认同意", "#conflict-story")
    story = lead.page.inner_text("#conflict-story")
    assert "在您打开页面之后，这个申请有了变化" in story
    assert "撤回 · 李秀英（村报账员）" in story and "审批中 → 已撤回" in story
    check_page(lead, "underneath")

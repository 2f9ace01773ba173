"""同意 in Chromium at 390x844 (issue 16 item 3): one extra tap on a page that shows what is approved
(amount in figures and 大写, payee, step), with JS and without."""

from __future__ import annotations

import re

import pytest

from finance.workflow import State
from tests.browser.phone_support import press, request_in, state_of
from tests.browser.support import check_page

pytestmark = pytest.mark.e2e_story


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_agree_shows_what_is_approved_then_approves(phone, live, javascript):
    payee = "濮阳市华龙区德丰建材商行" + ("（脚本）" if javascript else "（无脚本）")
    rid = request_in(live, State.PENDING, "58500.00", payee)
    lead = phone(javascript=javascript, who="js" if javascript else "nojs")
    lead.login("dy_shuji")
    lead.goto(f"/requests/{rid}")
    lead.click("同意")  # a link-like GET: a page load, with JS too
    page = lead.page
    assert re.search(rf"/requests/{rid}/approve\?version=\d+&seen=[^&]+$", page.url)
    summary = page.inner_text("#approve-summary")
    assert "¥58,500.00" in summary and "人民币伍万捌仟伍佰元整" in summary and payee in summary
    assert "第 1/5 步 · 村负责人" in summary
    assert state_of(live, rid) == "pending"  # nothing approved yet
    if javascript:
        check_page(lead, "confirm")
    else:
        lead.shot("confirm")
    page.fill("#approve-comment", "同意，金额与合同一致。")
    press(lead, "确认同意", ".flash-success", javascript)
    assert "已同意" in page.inner_text(".flash-success")
    assert state_of(live, rid) == "pending" and "第 2/5 步" in page.inner_text("#waiting")

"""A resubmitted request in Chromium at 390x844 (issue 16 item 1): the approver sees, above the buttons,
58,000 → 58,500 and the attachments added and removed since the round before."""

from __future__ import annotations

import pytest

from tests.browser.phone_support import on_live
from tests.browser.support import check_page

pytestmark = pytest.mark.e2e_story


def test_the_lead_sees_what_changed_since_the_return(phone, live):
    from tests.test_round_changes import returned_and_changed

    rid = on_live(live, lambda: returned_and_changed().id)
    lead = phone(who="lead")
    lead.login("dy_shuji")
    lead.goto(f"/requests/{rid}")
    page = lead.page
    box = page.locator("#changes")
    text = box.inner_text()
    assert "第 2 轮提交：与上一轮相比" in text
    assert "金额 ¥58,000.00 → ¥58,500.00" in text and "决议金额 ¥58,000.00 → ¥58,500.00" in text
    assert "新增附件 验收单 · 验收单.jpg" in text and "删除附件 四议两公开会议记录 · minutes.jpg" in text
    changes_y = box.bounding_box()["y"]
    assert changes_y < page.locator("#actions").bounding_box()["y"]  # above the buttons
    check_page(lead, "changes")
    box.screenshot(path=str(lead.shot("page").with_name(f"{lead.name}-changes-box.png")))

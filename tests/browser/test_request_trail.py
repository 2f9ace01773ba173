"""The liaison's trail page of one request in Chromium at 390x844 (issue 16 item 12): the verification
result at the top, names instead of internal values, raw records folded, and far shorter than the
4,600 px the issue measured for one paid request."""

from __future__ import annotations

import re

import pytest

from finance.workflow import State
from tests.browser.phone_support import request_in
from tests.browser.support import check_page

pytestmark = pytest.mark.e2e_story


def test_the_liaison_reads_a_short_named_trail_with_its_verification_on_top(phone, live):
    rid = request_in(live, State.PAID, "58500.00", "濮阳市华龙区留痕查看商行")
    liaison = phone(who="liaison")
    liaison.login("yc_lianqing")
    liaison.goto(f"/oversight/requests/{rid}")
    page = liaison.page
    verify = page.locator("#request-verify")
    assert verify.inner_text().startswith("✔ 本申请的")
    assert verify.bounding_box()["y"] < 400  # on the first screen
    trail = page.locator(".trail").inner_text()
    for internal in ("HL-YC-01", "轮次：", "requester_id"):
        assert internal not in trail, internal
    assert page.locator(".trail details.raw[open]").count() == 0  # folded
    height = page.evaluate("() => document.scrollingElement.scrollHeight")
    print(f"trail page height: {height} px")
    # 3,661 px before (the same request alone on the server, measured the same way; 2,627 px after);
    # the shared server adds other helpers' flags to the page
    assert height < 3661, height
    check_page(liaison, "trail")
    page.locator(".trail details.raw summary").first.click()
    raw = page.locator(".trail details.raw[open]").inner_text()
    assert "李秀英" in raw and "东岳村" in raw and "5401 管理费用" in raw
    approval = page.locator(".trail li", has_text="王建国").first  # the lead's approval: its step by name
    approval.locator("summary").click()
    assert re.search(r"第 1 步 · 村负责人\s*→\s*第 2 步 · 村务监督委员会主任", approval.inner_text())
    liaison.shot("raw-open")

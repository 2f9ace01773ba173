"""Discarding a mistaken draft in Chromium at 390x844 (issue 16 item 7): folded behind 作废草稿…, one
tap to confirm, gone from 待办, its number kept in the record."""

from __future__ import annotations

import pytest

from finance.workflow import State
from tests.browser.phone_support import request_in, state_of
from tests.browser.support import check_page

pytestmark = pytest.mark.e2e_story


def test_a_mistaken_draft_is_discarded_and_leaves_the_todo_list(phone, live):
    payee = "濮阳市华龙区误建草稿商行"
    rid = request_in(live, State.DRAFT, "880.00", payee)
    me = phone()
    me.login("dy_baozhang")
    assert payee in me.page.inner_text("main")  # in 待办
    me.goto(f"/requests/{rid}")
    page = me.page
    confirm = page.get_by_role("button", name="确认作废")
    assert not confirm.is_visible()  # folded: not tapped by mistake
    page.locator("#discard summary").click()
    assert confirm.is_visible()
    check_page(me, "discard-open")
    me.click("确认作废")
    assert "草稿已作废" in page.inner_text(".flash-success")
    assert state_of(live, rid) == "discarded"
    assert "已作废" in page.inner_text(".req-head")
    me.goto("/")
    assert payee not in page.inner_text("main")

"""A liaison opening an edit address in Chromium at 390x844 (issue 16 item 13): refused with the reason
about the role, not the state."""

from __future__ import annotations

import pytest

from finance.workflow import State
from tests.browser.phone_support import request_in
from tests.browser.support import check_page

pytestmark = pytest.mark.e2e_story


def test_a_liaison_on_an_edit_address_hears_about_the_role(phone, live):
    rid = request_in(live, State.PENDING, "2600.00", "濮阳市华龙区身份提示商行")
    liaison = phone(who="liaison")
    liaison.login("yc_lianqing")
    response = liaison.goto(f"/requests/{rid}/edit")
    assert response.status == 403
    text = liaison.page.inner_text("main")
    assert "“修改”只能由村报账员办理；您的身份是廉情联络员，只能查看。" in text
    assert "状态" not in text
    check_page(liaison, "role")

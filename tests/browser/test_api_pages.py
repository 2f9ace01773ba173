"""The API's two pages on a phone (390×844): the API reference (/api/v1/docs, rendered on the server from
the OpenAPI document, nothing from other hosts) and the tokens page (make a token, see it once, revoke it).
Each passes the checks of tests/browser/support.py and leaves a screenshot."""

from __future__ import annotations

import re

from tests.browser.support import check_page


def test_api_reference_page_on_a_phone(phone):
    me = phone(who="api-docs")
    me.goto("/api/v1/docs")
    assert me.page.get_by_role("heading", level=1).inner_text() == "三资网报 API"
    assert me.page.locator("#op-approve_request").is_visible()
    check_page(me, "api-docs", budget=True)


def test_tokens_page_makes_shows_once_and_revokes_a_token(phone):
    me = phone(who="dy_jianwei")
    me.login("dy_jianwei")
    me.click("API 令牌", role="link")
    assert me.page.get_by_role("heading", level=1).inner_text() == "API 令牌"
    check_page(me, "api-tokens")
    me.page.fill("#name-own", "手机应用")
    me.click("创建令牌")
    secret = me.page.locator(".secret-value").inner_text()
    assert re.fullmatch(r"sz_[A-Za-z0-9_-]{43}", secret)
    check_page(me, "api-tokens-made")
    me.goto("/account/tokens")
    assert secret not in me.page.content()
    me.click("撤销")
    assert me.page.get_by_role("status").inner_text() == "令牌已撤销。"
    check_page(me, "api-tokens-revoked")

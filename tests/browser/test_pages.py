"""Every page that exists, on a phone: checks of tests/browser/support.py; login without JavaScript."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.browser.support import SMALL_PHONE, check_page


def test_login_page_passes_the_phone_checks(phone):
    me = phone()
    me.goto("/login")
    result = check_page(me, "login")
    assert result["weight"] < 10 * 1024  # a bare page: far under the 30 KB budget
    # Native inputs a phone understands: no autocapitalised user name, a real password field.
    assert me.page.get_attribute("[name=username]", "autocapitalize") == "none"
    assert me.page.get_attribute("[name=password]", "type") == "password"


def test_wrong_password_shows_a_chinese_message_on_a_small_phone(phone):
    me = phone(SMALL_PHONE)
    me.goto("/login")
    me.page.fill("[name=username]", "dy_baozhang")
    me.page.fill("[name=password]", "not-the-password")
    me.click("登录")
    assert me.page.get_by_role("alert").inner_text() == "用户名或密码不正确。"
    check_page(me, "login-failed")


@pytest.mark.parametrize(
    ("username", "heading"),
    [("dy_baozhang", "我的待办"), ("yc_shenhe", "我的待办"), ("yc_lianqing", "工作台"), ("hl_admin", "工作台")],
)
def test_home_to_do_list_passes_the_phone_checks(phone, username, heading):
    me = phone(who=username)
    me.login(username)
    assert urlsplit(me.page.url).path == "/"
    # the to-do heading carries a count once other browser tests have left requests on the live server
    assert re.fullmatch(rf"{heading}(（\d+）)?", me.page.get_by_role("heading", level=1).inner_text())
    check_page(me, "home")


def test_change_password_page_passes_the_phone_checks(phone):
    me = phone()
    me.login("dy_shuji")
    me.click("修改密码", role="link")
    assert urlsplit(me.page.url).path == "/account/password"
    check_page(me, "password")
    me.click("保存")  # empty form: messages in Chinese, nothing changed
    check_page(me, "password-errors")


def test_admin_page_passes_the_phone_checks(phone):
    me = phone()
    me.login("hl_admin")
    me.click("管理", role="link")
    assert urlsplit(me.page.url).path.startswith("/admin")
    assert me.page.get_by_role("heading", level=1).is_visible()
    check_page(me, "admin")


def test_import_page_passes_the_phone_checks(phone):
    me = phone()
    me.login("hl_admin")
    me.click("导入", role="link")
    assert urlsplit(me.page.url).path == "/imports"
    check_page(me, "imports")
    bad = "编码,名称,级别,上级编码\nQF,清丰县,省,\nQF-01,韩村镇,镇,QF-09\n".encode()
    me.page.select_option("[name=kind]", "org-units")
    me.page.set_input_files("#file", files=[{"name": "单位.csv", "mimeType": "text/csv", "buffer": bad}])
    me.click("导入")
    assert "没有导入任何内容" in me.page.get_by_role("alert").inner_text()
    check_page(me, "imports-problems")


def test_activation_page_passes_the_phone_checks(phone):
    me = phone()
    me.goto("/activate")
    assert me.page.get_attribute("[name=code]", "autocomplete") == "one-time-code"
    check_page(me, "activate")
    me.page.fill("[name=code]", "AAAA-BBBB-CCCC")
    me.page.fill("[name=new]", "Ruo-Bing-1987!")
    me.page.fill("[name=confirm]", "Ruo-Bing-1987!")
    me.click("激活并设置密码")
    assert "激活码无效" in me.page.get_by_role("alert").inner_text()
    check_page(me, "activate-refused")


def test_missing_page_is_a_readable_404(phone):
    me = phone()
    me.login("dy_baozhang")
    response = me.goto("/no-such-page")
    assert response.status == 404
    assert me.page.get_by_role("heading", level=1).inner_text() == "页面不存在"
    check_page(me, "404")


def test_logout_is_a_post_and_ends_the_session(phone):
    me = phone()
    me.login("dy_jianwei")
    me.logout()
    assert urlsplit(me.page.url).path == "/login"
    me.goto("/")
    assert urlsplit(me.page.url).path == "/login"


def test_login_and_to_do_work_without_javascript(phone):
    me = phone(javascript=False)
    me.login("dy_baozhang")
    assert urlsplit(me.page.url).path == "/"
    assert re.fullmatch(r"我的待办(（\d+）)?", me.page.get_by_role("heading", level=1).inner_text())
    me.shot("home-no-js")
    me.logout()
    assert urlsplit(me.page.url).path == "/login"


def test_static_files_are_versioned_and_cached_for_a_year(phone, live):
    me = phone()
    me.goto("/login")
    statics = [r for r in me.responses if urlsplit(r.url).path.startswith("/static/")]
    assert statics, "the page loads its stylesheet from /static/"
    for response in statics:
        assert "v=" in urlsplit(response.url).query
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    # The same file without a version may change under its URL: the browser must revalidate.
    plain = me.page.request.get(live.url + "/static/css/app.css")
    assert plain.headers["cache-control"] == "no-cache"


def test_keyboard_focus_follows_the_page_order_and_is_visible(phone):
    """A phone with a keyboard (or a switch device): the skip link first, then the page in reading order,
    each focused element outlined."""
    me = phone()
    me.goto("/login")
    seen = []
    for _ in range(6):
        me.page.keyboard.press("Tab")
        seen.append(me.page.evaluate(
            """() => { const e = document.activeElement, s = getComputedStyle(e);
                 return [e.name || e.textContent.trim(),
                         s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
                         e.getBoundingClientRect().left >= 0]; }"""))
    order = [name for name, _, _ in seen]
    assert order == ["跳到正文", "三资网报", "username", "password", "登录", "English"]
    assert all(outlined for _, outlined, _ in seen), seen
    assert all(on_screen for _, _, on_screen in seen), seen  # the skip link comes into view when focused

"""Chinese by default, English on ?lang=en (kept in a cookie), from the committed English catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from finance.config import PROJECT_ROOT

PO = PROJECT_ROOT / "finance" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.fixture(scope="module", autouse=True)
def compiled_catalog() -> Path:
    """The set-up compiles the catalog; compile it here too when it is missing or older than the .po, so
    the test also runs outside `make test`."""
    mo = PO.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < PO.stat().st_mtime:
        with PO.open("rb") as src:
            catalog = read_po(src, locale="en")
        with mo.open("wb") as out:
            write_mo(out, catalog)
    return mo


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录三资网报" in page and "用户名" in page
    assert "Sign in" not in page


def test_login_page_in_english_with_lang_en_and_it_sticks(client):
    r = client.get("/login?lang=en")
    page = r.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in to Sanzi" in page and "Username" in page and "Password" in page
    assert "登录三资网报" not in page
    assert any(h.startswith("lang=en") for h in r.headers.getlist("Set-Cookie"))
    # The choice is kept in a cookie for the next pages, and ?lang=zh goes back.
    assert "Sign in to Sanzi" in client.get("/login").get_data(as_text=True)
    assert "登录三资网报" in client.get("/login?lang=zh").get_data(as_text=True)
    assert "登录三资网报" in client.get("/login").get_data(as_text=True)


def test_home_page_in_english_names_role_and_unit(client):
    client.login("dy_baozhang")
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "My to-do list" in page and "Village accountant" in page and "Sign out" in page
    assert "李秀英" in page  # names stay as they are
    page = client.get("/").get_data(as_text=True)
    assert "My to-do list" in page
    page = client.get("/?lang=zh").get_data(as_text=True)
    assert "我的待办" in page and "村报账员" in page


def test_error_and_form_messages_follow_the_language(client):
    client.get("/login?lang=en")
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "Page not found" in r.get_data(as_text=True)
    r = client.login("dy_baozhang", "wrong-password")
    assert "Wrong username or password." in r.get_data(as_text=True)


def test_admin_pages_in_english(client):
    client.login("hl_admin")
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "District administration" in page and "Users and roles" in page


def test_catalog_translations_keep_their_placeholders():
    with PO.open("rb") as src:
        catalog = read_po(src, locale="en")
    translated = [m for m in catalog if m.id and m.string]
    assert len(translated) > 150
    for message in translated:
        assert sorted(PLACEHOLDER.findall(str(message.id))) == sorted(PLACEHOLDER.findall(str(message.string))), (
            message.id
        )

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


def test_every_message_in_the_catalog_is_translated():
    """`make i18n` adds new source strings untranslated: an English reader would meet them in Chinese."""
    with PO.open("rb") as src:
        catalog = read_po(src, locale="en")
    untranslated = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    assert not untranslated, f"{len(untranslated)} untranslated: {untranslated[:20]}"
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries are not used by gettext"


def test_the_catalog_is_up_to_date_with_the_source(tmp_path):
    """Every string marked for translation in the code and templates is in the catalog (run `make i18n`)."""
    from babel.messages.frontend import CommandLineInterface

    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(PROJECT_ROOT / "babel.cfg"), "-k", "_l",
                                "-k", "lazy_gettext", "--no-location", "--ignore-dirs", ".* node_modules .venv",
                                "-o", str(pot), str(PROJECT_ROOT)])
    with pot.open("rb") as src:
        source_ids = {m.id for m in read_po(src) if m.id}
    with PO.open("rb") as src:
        catalog_ids = {m.id for m in read_po(src, locale="en") if m.id}
    assert not source_ids - catalog_ids, sorted(source_ids - catalog_ids)[:20]
    assert "已等待不到 1 天" in source_ids  # templates/_macros is scanned too (babel skips "_" folders by default)


# --- no Chinese left on the English pages -------------------------------------------------------------

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\u2018-\u201d]")
ASCII_REQUEST = {"payee_name": "Green Seedlings Ltd", "payee_bank": "ABC Puyang branch",
                 "purpose": "Trees for the village road", "fund_source": "Collective income",
                 "budget_line": "2026 welfare budget"}


def _user_data() -> list[str]:
    """What people typed or the administrator set up (names of people, units, account subjects, approval
    comments): it stays as written, in any language."""
    from sqlalchemy import select

    from finance.auth.models import User
    from finance.extensions import db
    from finance.orgs.models import AccountSubject, OrgUnit
    from finance.payment_requests.models import RequestAction

    session = db.session
    values = [*session.scalars(select(User.display_name)), *session.scalars(select(AccountSubject.name)),
              *session.scalars(select(RequestAction.comment))]
    for unit in session.scalars(select(OrgUnit)):
        values += [unit.name, unit.bank_name or "", unit.bank_account_name or ""]
    return sorted({v for v in values if v}, key=len, reverse=True)


def _chinese_left(html: str, data: list[str]) -> list[str]:
    text = html.replace('lang="zh-CN">中文<', "")  # the switch back names its language in that language
    for value in data:
        text = text.replace(value, "")
    return sorted({text[max(0, m.start() - 12):m.end() + 12].replace("\n", " ") for m in CJK.finditer(text)})


def _pages(app) -> list[tuple[str, str]]:
    """(user, url) of the main pages, with requests whose own data is ASCII."""
    from finance.documents import services as documents
    from finance.workflow import State
    from tests import factories as f

    pending = f.in_state(State.PENDING, **ASCII_REQUEST)
    # Another payee: with one payee the 60,000 would count with the others (issue 11's cumulative bands).
    approved = f.in_state(State.APPROVED, "60000", **{**ASCII_REQUEST, "payee_name": "Blue Bridge Works Ltd",
                                                       "payee_account": "6228480099998888777"})
    returned = f.in_state(State.RETURNED, **ASCII_REQUEST)
    paid = f.in_state(State.PAID, **ASCII_REQUEST)
    draft = f.draft(**ASCII_REQUEST)
    with app.test_request_context():
        token = documents.make_token(paid, documents.newest_change(paid))
    from datetime import timedelta

    from finance.extensions import db
    from finance.oversight import services as oversight
    from finance.timefmt import today_local

    asked = oversight.ask_question(f.user("yc_lianqing"), pending, "Where is the acceptance sheet?",
                                   today_local() + timedelta(days=3))
    answered = oversight.ask_question(f.user("yc_lianqing"), paid, "Why this payee?", today_local())
    db.session.flush()
    oversight.answer_question(f.user("yc_shenhe"), answered, "Lowest quote of three.")
    db.session.commit()
    village = f.unit("HL-YC-01")
    township = f.unit("HL-YC")
    return [
        ("", "/login"),
        ("", f"/v/{token}"),
        ("", f"/gongkai/{village.code}/{paid.payment[0].value_date:%Y-%m}"),
        ("dy_baozhang", "/"),
        ("dy_baozhang", "/requests/new"),
        ("dy_baozhang", f"/requests/{draft.id}"),
        ("dy_baozhang", f"/requests/{draft.id}/edit"),
        ("dy_baozhang", f"/requests/{returned.id}"),
        ("dy_baozhang", "/requests"),
        ("dy_baozhang", "/account/password"),
        ("dy_shuji", "/"),
        ("dy_shuji", f"/requests/{pending.id}"),
        ("yc_shenhe", "/"),
        ("yc_zhenzhang", f"/requests/{approved.id}"),
        ("yc_chuna", "/"),
        ("yc_chuna", f"/payments/{approved.id}/pay"),
        ("yc_chuna", f"/requests/{paid.id}"),
        ("yc_lianqing", "/"),
        ("yc_lianqing", "/oversight/"),
        ("yc_lianqing", "/oversight/requests"),
        ("yc_lianqing", "/oversight/requests?state=paid&min_amount=100"),
        ("yc_lianqing", f"/oversight/requests/{pending.id}"),
        ("yc_lianqing", f"/oversight/questions/{asked.id}"),
        ("yc_shenhe", f"/oversight/questions/{answered.id}"),
        ("yc_shenhe", "/requests?state=pending"),
        ("yc_lianqing", f"/oversight/requests/{paid.id}"),
        ("yc_lianqing", f"/oversight/chains/village:{village.code}"),
        ("yc_lianqing", "/oversight/public-key"),
        ("yc_lianqing", "/oversight/system"),
        ("yc_lianqing", "/documents/trail-report"),
        ("yc_lianqing", "/documents/disclosure"),
        ("hl_admin", "/"),
        ("hl_admin", "/admin/"),
        ("hl_admin", "/admin/users"),
        ("hl_admin", f"/admin/users/{f.user('dy_baozhang').id}"),
        ("hl_admin", "/admin/users/new"),
        ("hl_admin", f"/admin/units/{township.id}/new"),
        ("hl_admin", f"/admin/townships/{township.id}/policy"),
        ("hl_admin", "/no-such-page"),
    ]


def test_main_pages_in_english_have_no_chinese_but_user_data(app, make_client):
    pages = _pages(app)
    data = _user_data()
    clients: dict[str, object] = {}
    found = {}
    for username, url in pages:
        if username not in clients:
            clients[username] = make_client()
            if username:
                clients[username].login(username)
        response = clients[username].get(url + ("&" if "?" in url else "?") + "lang=en")
        assert response.status_code == (404 if url == "/no-such-page" else 200), (username, url)
        left = _chinese_left(response.get_data(as_text=True), data)
        if left:
            found[f"{username or 'anonymous'} {url}"] = left
    assert not found, "\n".join(f"{page}:\n  " + "\n  ".join(left) for page, left in found.items())


@pytest.mark.slow  # renders a PDF
def test_printed_documents_stay_chinese_for_an_english_reader(client):
    """The approval form is an official Chinese document: filed and posted the same whoever prints it."""
    import io

    from pypdf import PdfReader

    from finance.workflow import State
    from tests import factories as f

    req = f.in_state(State.PAID, **ASCII_REQUEST)
    client.login("dy_baozhang")
    assert "Print the approval form" in client.get(f"/requests/{req.id}?lang=en").get_data(as_text=True)
    r = client.get(f"/documents/requests/{req.id}/approval-form.pdf")
    assert r.status_code == 200
    text = re.sub(r"\s+", "", PdfReader(io.BytesIO(r.data)).pages[0].extract_text() or "")
    assert "村级资金支付审批单" in text and "人民币壹仟贰佰元整" in text
    assert "Paymentapprovalform" not in text and "Approved" not in text


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0.05", "Five fen"),
        ("1200", "One thousand two hundred yuan only"),
        ("10001.30", "Ten thousand one yuan and thirty fen"),
        ("60000", "Sixty thousand yuan only"),
        ("1234567.89",
         "One million two hundred thirty-four thousand five hundred sixty-seven yuan and eighty-nine fen"),
        ("100000000", "One hundred million yuan only"),
    ],
)
def test_amount_in_words_in_english(amount, words):
    from decimal import Decimal

    from finance.money import to_words_en

    assert to_words_en(Decimal(amount)) == words
    assert to_words_en(Decimal(amount), prefix=True) == "RMB " + words


def test_amount_in_words_follows_the_page_language(client):
    from finance.workflow import State
    from tests import factories as f

    req = f.in_state(State.PENDING, **ASCII_REQUEST)
    client.login("dy_baozhang")
    assert "RMB One thousand two hundred yuan only" in client.get(f"/requests/{req.id}?lang=en").get_data(
        as_text=True)
    assert "人民币壹仟贰佰元整" in client.get(f"/requests/{req.id}?lang=zh").get_data(as_text=True)

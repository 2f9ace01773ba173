"""The whole story on phones, in real Chromium at 390x844, each person on their own phone (browser context):
the accountant raises a 12,000 yuan request with an invoice photo and a contract and submits it; the village
lead returns it with a reason; the accountant revises and resubmits; the village lead, the supervisor, the
township reviewer and the township leader approve (12,000 is above the township leader's band); the cashier
pays with the bank's receipt; the liaison opens the trail, sees it verified and downloads the approval form.

Every page along the way passes the checks of tests/browser/support.py (axe-core, no sideways scrolling at
360 and 390 px, touch targets, nothing from other hosts, page weight, cacheable static files) and leaves a
screenshot in test-artifacts/screenshots/story-*.png.

Written against the URL contract of the request, payment, oversight and documents pages; it needs all of
them, so it runs once those branches are merged (pytest -m e2e_story)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from tests.browser.support import Phone, check_page, photo_jpeg
from tests.factories import pdf_bytes

pytestmark = pytest.mark.e2e_story

AMOUNT = "12000.00"
PAYEE = "濮阳市华龙区宏达建材商店"
PAYEE_ACCOUNT = "6228 4800 2468 1357 902"  # its own: the factories pay 6228…8901, whose sum crosses a band
VILLAGE_ACCOUNT = "622848 0012 3456 7801"  # 东岳村's account in finance/demo.py
NEEDED = ["/requests/new", "/requests/1", "/requests/1/edit", "/requests/1/attachments", "/requests/1/submit",
          "/requests/1/approve", "/requests/1/return", "/payments/1/pay", "/oversight"]


def missing_pages(app) -> list[str]:
    adapter = app.url_map.bind("localhost")
    missing = []
    for path in NEEDED:
        try:
            adapter.match(path, method="POST" if path.rsplit("/", 1)[-1] in (
                "attachments", "submit", "approve", "return") else "GET")
        except RequestRedirect:  # e.g. /oversight -> /oversight/: there
            pass
        except (NotFound, MethodNotAllowed):
            missing.append(path)
    if not any(rule.rule.startswith("/documents") for rule in app.url_map.iter_rules()):
        missing.append("/documents/...")
    return missing


@pytest.fixture
def story(live):
    missing = missing_pages(live.app)
    if missing:
        pytest.skip(f"the story needs pages not in this branch yet: {missing}")
    return live


def state_of(live, request_id: int) -> str:
    return str(row_of(live, request_id)["state"])


def row_of(live, request_id: int) -> dict:
    """The request as the database has it now (the browser's word is not taken for it)."""
    from finance.extensions import db
    from finance.payment_requests.models import PaymentRequest

    with live.app.app_context():
        try:
            req = db.session.get(PaymentRequest, request_id)
            return {"state": req.state.value, "purpose": req.purpose, "amount": req.amount,
                    "attachments": sorted(a.kind.value for a in req.attachments)}
        finally:
            db.scoped.remove()


def refusals(live, request_id: int) -> list[str]:
    """What the submit controls would refuse about the request now."""
    from finance.controls.checks import Stage, check_request
    from finance.extensions import db
    from finance.payment_requests.models import PaymentRequest

    with live.app.app_context():
        try:
            report = check_request(db.session.get(PaymentRequest, request_id), Stage.SUBMIT)
            return [f"{finding.code}: {finding.message}" for finding in report.refusals]
        finally:
            db.scoped.remove()


def person(phone, username: str, step: str) -> Phone:
    """A fresh phone for `username`, logged in, on the to-do page (checked)."""
    me = phone(who=username)
    me.name = f"story-{step}-{username}"
    me.page.on("dialog", lambda d: d.accept())  # a confirm() before an irreversible action: yes
    me.login(username)
    check_page(me, "todo")
    return me


def open_from_todo(me: Phone, request_id: int) -> None:
    link = me.page.locator(f"main a[href$='/requests/{request_id}']").first
    assert link.count(), f"request {request_id} is not on {me.name}'s to-do list"
    me.responses.clear()
    with me.page.expect_navigation():
        link.click()
    check_page(me, "detail")


def post_form(me: Phone, action: str, button: str, fill: dict[str, str] | None = None,
              files: dict[str, list[dict]] | None = None, select: dict[str, str] | None = None) -> None:
    """Fill and send the form that posts to `action` (a path ending), the way a thumb would."""
    form = me.page.locator(f"main form[action$='{action}']").first
    assert form.count(), f"no form posting to {action} on {me.page.url}"
    button_el = form.get_by_role("button", name=button, exact=True)
    if not button_el.is_visible():  # tucked into a <details> until asked for
        summary = form.locator("xpath=ancestor::details[1]/summary")
        if summary.count():
            summary.click()
    for name, value in (select or {}).items():
        form.locator(f"[name={name}]").select_option(value)
    for name, value in (fill or {}).items():
        form.locator(f"[name={name}]").fill(value)
    for name, payload in (files or {}).items():
        form.locator(f"input[type=file][name={name}]" if name != "*" else "input[type=file]").first \
            .set_input_files(files=payload)
    me.responses.clear()
    with me.page.expect_navigation(timeout=60_000):
        button_el.click()
    # Refused: a red flash or a field marked wrong. (A list of what is still missing is not a refusal.)
    errors = me.page.locator("main .flash-error, main .has-error .error").all_inner_texts()
    assert not errors, f"{action}: {errors}"


def choose(select, text: str) -> None:
    """Pick the option whose label contains `text` (e.g. "5401 管理费用"), else the last one."""
    labels = [o.strip() for o in select.locator("option").all_inner_texts()]
    select.select_option(label=next((o for o in labels if text in o), labels[-1]))


def fill_request(me: Phone, purpose: str) -> None:
    page = me.page
    values = {"payee_name": PAYEE, "payee_bank": "中国农业银行濮阳华龙支行", "payee_account": PAYEE_ACCOUNT,
              "amount": AMOUNT, "purpose": purpose, "fund_source": "村集体经营收入",
              "budget_line": "2024年度维修预算"}
    for name, value in values.items():
        field = page.locator(f"main [name={name}]").first
        if field.evaluate("e => e.tagName") == "SELECT":
            choose(field, value)
        else:
            field.fill(value)
    choose(page.locator("main [name=subject_id]").first, "管理费用")
    assert page.get_attribute("main [name=amount]", "inputmode") in ("decimal", "numeric") \
        or page.get_attribute("main [name=amount]", "type") == "number", "amounts need the number keypad"


def test_story_from_the_village_phone_to_the_liaison(story, phone):
    live = story
    today = date.today().isoformat()

    # 1. The accountant raises the request on her phone.
    acc = person(phone, "dy_baozhang", "01")
    acc.click("＋ 新建支出申请", role="link")
    assert urlsplit(acc.page.url).path == "/requests/new"
    check_page(acc, "new-form")
    fill_request(acc, "村委会院墙维修材料款（水泥、砖）")
    check_page(acc, "new-form-filled")
    acc.click("保存草稿")
    match = re.search(r"/requests/(\d+)", acc.page.url)
    assert match, f"after saving, the page is {acc.page.url}"
    rid = int(match.group(1))
    assert state_of(live, rid) == "draft"
    check_page(acc, "draft-saved")

    # 2. She photographs the invoice (a 12 MP phone photo) and adds the contract.
    for kind, payload in [
        ("invoice", [{"name": "IMG_20240601_093012.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg()}]),
        ("contract", [{"name": "维修合同.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]),
    ]:
        if not acc.page.locator(f"main form[action$='/requests/{rid}/attachments']").count():
            acc.goto(f"/requests/{rid}")
        form = acc.page.locator(f"main form[action$='/requests/{rid}/attachments']").first
        if kind == "invoice":  # the phone offers its camera
            assert form.locator("input[type=file]").first.get_attribute("capture") == "environment"
        button = form.locator("button[type=submit], button:not([type])").first.inner_text()
        post_form(acc, f"/requests/{rid}/attachments", button.strip(), select={"kind": kind},
                  files={"file": payload})
        assert kind in row_of(live, rid)["attachments"]
        check_page(acc, f"{kind}-added")

    # 2b. She types the invoice's facts beside its photo (issue 11: a 发票 is not submitted without them).
    acc.goto(f"/requests/{rid}")
    href = acc.page.locator("main a[href*='/controls/attachments/'][href$='/invoice']").first.get_attribute("href")
    assert href
    acc.goto(href)
    acc.page.fill("#f-number", f"2541{uuid.uuid4().int % 10**16:016d}")  # unused anywhere in the district
    acc.page.fill("#f-invoice_date", date.today().isoformat())
    acc.page.fill("#f-seller", PAYEE)
    acc.page.fill("#f-amount", AMOUNT)
    acc.click("保存发票信息")

    # 3. She submits it (the controls say first whether they would let it through: the live server is
    # shared with the other browser tests, so a refusal here names what another test left behind).
    assert not refusals(live, rid), refusals(live, rid)
    acc.goto(f"/requests/{rid}")
    post_form(acc, f"/requests/{rid}/submit", "提交审批")
    assert state_of(live, rid) == "pending"
    check_page(acc, "submitted")

    # 4. The village lead returns it with a reason.
    lead = person(phone, "dy_shuji", "02")
    open_from_todo(lead, rid)
    post_form(lead, f"/requests/{rid}/return", "退回修改",
              fill={"reason": "请补充材料清单，写明水泥和砖的数量。"})
    assert state_of(live, rid) == "returned"
    check_page(lead, "returned")

    # 5. The accountant sees the reason, revises and resubmits.
    acc = person(phone, "dy_baozhang", "03")
    open_from_todo(acc, rid)
    assert "请补充材料清单" in acc.page.inner_text("main")
    acc.goto(f"/requests/{rid}/edit")
    check_page(acc, "edit")
    acc.page.fill("main [name=purpose]", "村委会院墙维修材料款：水泥 200 袋、红砖 8000 块")
    acc.click("保存并提交")
    if state_of(live, rid) != "pending":  # saved only: submit from the detail page
        acc.goto(f"/requests/{rid}")
        post_form(acc, f"/requests/{rid}/submit", "提交审批")
    assert state_of(live, rid) == "pending"
    check_page(acc, "resubmitted")

    # 6. Each approver, on their own phone, approves in turn.
    for n, username in enumerate(["dy_shuji", "dy_jianwei", "yc_shenhe", "yc_baocun"], start=4):
        approver = person(phone, username, f"{n:02d}")
        open_from_todo(approver, rid)
        post_form(approver, f"/requests/{rid}/approve", "同意")  # the confirmation (issue 16 item 3)
        post_form(approver, f"/requests/{rid}/approve", "确认同意", fill={"comment": "同意。"})
        check_page(approver, "approved")
    assert state_of(live, rid) == "approved"

    # 7. The cashier pays by bank transfer and uploads the bank's receipt.
    cashier = person(phone, "yc_chuna", "08")
    cashier.goto(f"/payments/{rid}/pay")
    check_page(cashier, "pay-form")
    receipt = [{"name": "回单.jpg", "mimeType": "image/jpeg", "buffer": photo_jpeg(1200, 1600)}]
    post_form(cashier, f"/payments/{rid}/pay", "确认支付", files={"*": receipt}, fill={
        "bank_reference": "ABC2024060100123", "value_date": today, "amount": AMOUNT, "payee_name": PAYEE,
        "payee_account": PAYEE_ACCOUNT, "payer_account": VILLAGE_ACCOUNT})
    assert state_of(live, rid) == "paid"
    check_page(cashier, "paid")

    # 8. The liaison opens the trail, finds the request, sees it verified, downloads the approval form.
    liaison = person(phone, "yc_lianqing", "09")
    liaison.click("监督", role="link")
    assert urlsplit(liaison.page.url).path.startswith("/oversight")
    check_page(liaison, "oversight")
    verified = re.compile(r"验证通过|校验通过|已验证|完整无误")
    seen_verified = bool(verified.search(liaison.page.inner_text("main")))  # the village's chain, checked
    assert "校验失败" not in liaison.page.inner_text("main")
    find = f"main a[href$='/requests/{rid}']"
    if not liaison.page.locator(find).count():  # the index leads to a search page of requests
        to_list = liaison.page.locator("main a[href$='/requests']").first
        assert to_list.count(), "no way from the oversight page to the requests"
        liaison.click(to_list.inner_text().strip(), role="link")
        check_page(liaison, "oversight-requests")
    found = liaison.page.locator(find).first
    assert found.count(), "the paid request is not in the liaison's view"
    liaison.responses.clear()
    with liaison.page.expect_navigation():
        found.click()
    check_page(liaison, "trail")
    trail_text = liaison.page.inner_text("main")
    assert seen_verified or verified.search(trail_text), "the liaison is not shown that the trail is verified"
    assert "校验失败" not in trail_text and "已支付" in trail_text
    pdf_link = liaison.page.locator("main a[href*='/documents/']").first
    if pdf_link.count():
        pdf_url = live.url + pdf_link.get_attribute("href")
    else:  # no link on the page yet: the documents endpoint by name
        adapter = live.app.url_map.bind("127.0.0.1")
        pdf_url = live.url + adapter.build("documents.approval_form", {"request_id": rid})
        print(f"NOTE: no link to the approval form on {liaison.page.url}; fetched {pdf_url}")
    response = liaison.context.request.get(pdf_url)
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.body().startswith(b"%PDF-")
    assert len(response.body()) <= 100 * 1024, "a one-page approval form weighs at most 100 KB (issue 16)"

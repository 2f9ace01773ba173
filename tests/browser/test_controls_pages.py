"""The controls' pages on a phone (390x844, real Chromium): the admin's register and 负面清单, the
accountant's resolutions, contracts and invoice facts, and an approver seeing each warning on the request
page before the buttons. Every page passes the checks of tests/browser/support.py and leaves a screenshot
in test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from finance.controls import services as controls
from finance.controls.policy import DEFAULT_CONTROL_RULES
from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payment_requests.models import AttachmentKind
from finance.timefmt import today_local
from tests import factories as f
from tests.browser.support import check_page
from tests.controls.helpers import invoice_image, jpeg, slip_image


@pytest.fixture(scope="module")
def scene(live):
    """One request of 王什村 (HL-MK-02, whose people no other browser test uses: the live server is shared)
    that trips every control an approver weighs: a re-photographed invoice, a payee in the village lead's
    register, the third payment to one shop in a day, a 负面清单 word."""
    with live.app.app_context():
        admin, li, wang = f.user("hl_admin"), f.user("ws_baozhang"), f.user("ws_shuji")
        village, town = f.unit("HL-MK-02"), f.unit("HL-MK")
        tag = uuid.uuid4().hex[:6]
        controls.add_related_person(admin, wang, controls.PersonInput(
            name="王小军", relation="sibling", accounts="6228 4800 7777 0000 111", note="弟弟，开建材店"))
        controls.add_negative_item(admin, town, controls.NegativeItemInput(item="礼品", keywords="礼品 购物卡",
                                                                           action="warn"))
        res = controls.create_resolution(li, village, controls.ResolutionInput(
            matter="主街道路硬化工程", matter_kind="works", meeting_date=today_local() - timedelta(days=10),
            expected=45, present=38, amount="80000", minutes=controls.Upload("m.jpg", jpeg(slip_image("会议记录"))),
            publicity=controls.Upload("p.jpg", jpeg(slip_image("决议公开")))), DEFAULT_CONTROL_RULES)
        controls.create_contract(li, village, controls.ContractInput(
            title="主街道路硬化施工合同", counterparty="濮阳市宏基建筑工程有限公司", amount="80000",
            signed_on=today_local() - timedelta(days=5), resolution_id=res.id,
            file=controls.Upload("c.jpg", jpeg(slip_image("合同")))))
        photo = invoice_image("25412000000012345678", amount="4800.00", seller="王小军建材店")
        numbers = []
        for n in range(3):
            req = requests.create_draft(li, village, f.request_input(
                "4800.00", payee_name="王小军建材店", payee_account="6228 4800 7777 0000 111",
                purpose=f"村委会院墙维修材料款（第 {n + 1} 批）{'及慰问礼品' if n == 2 else ''} {tag}"),
                client_key=uuid.uuid4().hex)
            image = jpeg(photo if n == 0 else photo.rotate(90, expand=True), quality=70 if n else 88)
            att = requests.add_attachment(li, req, AttachmentKind.INVOICE, "fapiao.jpg", image)
            controls.record_invoice(li, att, controls.InvoiceInput(
                number=f"2541200000001234567{n}" if n < 2 else "25412000000099990000", invoice_date=today_local(),
                seller="王小军建材店", amount="4800"))
            if n == 2:
                requests.add_attachment(li, req, AttachmentKind.CONTRACT, "hetong.jpg", jpeg(slip_image("合同")))
            requests.submit(li, req, client_key=uuid.uuid4().hex)
            numbers.append(req.id)
        db.session.commit()
        draft_req = requests.create_draft(li, village, f.request_input("300.00"), client_key=uuid.uuid4().hex)
        att = requests.add_attachment(li, draft_req, AttachmentKind.INVOICE, "fapiao.jpg",
                                      jpeg(invoice_image("25412000000055556666", amount="300.00")))
        db.session.commit()
        return {"request": numbers[-1], "draft": draft_req.id, "invoice": att.id, "township": town.id,
                "official": wang.id, "resolution": res.id, "amount": Decimal("4800.00")}


def test_an_approver_sees_each_warning_before_the_buttons(phone, scene):
    me = phone(who="shuji")
    me.login("ws_jianwei")  # the supervisor, who decides the next step: warned
    me.goto(f"/requests/{scene['request']}")
    panel = me.page.locator("#controls")
    text = panel.inner_text()
    for words in ("高度相似", "王小军", "累计 14,400.00 元", "礼品"):
        assert words in text, words
    me.page.locator("#controls").scroll_into_view_if_needed()
    check_page(me, "approver-warnings")


def test_the_village_lead_is_told_to_recuse(phone, scene):
    me = phone(who="wang")
    me.login("ws_shuji")
    me.goto(f"/requests/{scene['request']}")
    assert "须回避" in me.page.locator("#controls").inner_text()
    # The findings come before the buttons (which the submit/approve services will withhold next round).
    tops = me.page.evaluate("""() => ['#controls', '#actions'].map(
        s => document.querySelector(s).getBoundingClientRect().top)""")
    assert tops[0] < tops[1]
    check_page(me, "recusal")


def test_the_admin_pages_pass_the_phone_checks(phone, scene):
    me = phone(who="admin")
    me.login("hl_admin")
    me.goto(f"/controls/townships/{scene['township']}/register")
    check_page(me, "register")
    me.goto(f"/controls/officials/{scene['official']}/register")
    me.page.fill("#f-name", "王小红")
    me.page.select_option("#f-relation", "child")
    me.page.fill("#f-id_number", "410902199001011230")
    me.click("登记")
    assert "校验位不正确" in me.page.inner_text("main")
    check_page(me, "register-bad-id")
    me.goto(f"/controls/townships/{scene['township']}/negative-list")
    check_page(me, "negative-list")


def test_the_accountant_pages_pass_the_phone_checks(phone, scene):
    me = phone(who="accountant")
    me.login("ws_baozhang")
    me.goto("/controls/")
    check_page(me, "records")
    me.goto("/controls/resolutions/new")
    me.page.fill("#f-matter", "村东排水沟修建")
    me.page.fill("#f-expected", "40")
    me.page.fill("#f-present", "41")
    me.page.fill("#f-amount", "5000")
    me.click("登记决议")
    assert "不能多于应到人数" in me.page.inner_text("main")
    check_page(me, "resolution-bad")
    me.goto(f"/controls/resolutions/{scene['resolution']}")
    check_page(me, "resolution")
    me.goto("/controls/contracts/new")
    check_page(me, "contract-form")
    me.goto(f"/requests/{scene['draft']}")
    check_page(me, "draft-controls")
    me.goto(f"/controls/attachments/{scene['invoice']}/invoice")
    me.page.fill("#f-number", "2541200000005555666A")
    me.click("保存发票信息")
    assert "只能是数字" in me.page.inner_text("main")
    check_page(me, "invoice-bad")
    me.goto(f"/controls/requests/{scene['draft']}/link")
    check_page(me, "link")

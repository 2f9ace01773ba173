"""The controls' pages on a phone (390x844, real Chromium): the admin's register and 负面清单, the
accountant's resolutions, contracts and invoice facts, and an approver seeing each warning on the request
page before the buttons. Every page passes the checks of tests/browser/support.py and leaves a screenshot
in test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from finance.auth import services as accounts
from finance.controls import services as controls
from finance.controls.policy import DEFAULT_CONTROL_RULES
from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payment_requests.models import AttachmentKind
from finance.roles import Role
from finance.timefmt import today_local
from tests import factories as f
from tests.browser.support import check_page
from tests.conftest import PASSWORD
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
        accounts.create_user(username="ws_fushuji", display_name="赵德胜", password=PASSWORD, role=Role.VILLAGE_LEAD,
                             org_unit=village)  # a second village lead: ws_shuji's recusal leaves the step to him
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
        # 高淑珍 (ws_jianwei, the village's only supervisor) paid for her own work: her step goes up.
        zhang = f.user("ws_jianwei")
        controls.set_own_identity(admin, zhang, controls.PersonInput(accounts="6217 0000 3333 4444 555"))
        own = requests.create_draft(li, village, f.request_input(
            "1500.00", payee_name=zhang.display_name, payee_account="6217 0000 3333 4444 555",
            purpose=f"村务公开栏维护劳务费 {tag}"), client_key=uuid.uuid4().hex)
        requests.add_attachment(li, own, AttachmentKind.LABOUR_SLIP, "qianshou.jpg",
                                jpeg(slip_image(f"个人劳务签收单 {zhang.display_name} 1500 {tag}")))
        requests.submit(li, own, client_key=uuid.uuid4().hex)
        db.session.commit()
        draft_req = requests.create_draft(li, village, f.request_input("300.00"), client_key=uuid.uuid4().hex)
        att = requests.add_attachment(li, draft_req, AttachmentKind.INVOICE, "fapiao.jpg",
                                      jpeg(invoice_image("25412000000055556666", amount="300.00")))
        db.session.commit()
        return {"request": numbers[-1], "moved": own.id, "draft": draft_req.id, "invoice": att.id, "township": town.id,
                "official": wang.id, "resolution": res.id, "amount": Decimal("4800.00")}


def test_an_approver_sees_each_warning_before_the_buttons(phone, scene):
    me = phone(who="fushuji")
    me.login("ws_fushuji")  # the village lead who holds the current step (ws_shuji must recuse)
    me.goto(f"/requests/{scene['request']}")
    panel = me.page.locator("#controls")
    text = panel.inner_text()
    for words in ("高度相似", "王小军", "累计 14,400.00 元", "礼品", "已加包村领导审批"):
        assert words in text, words
    tops = me.page.evaluate("""() => ['#controls', '#actions'].map(
        s => document.querySelector(s).getBoundingClientRect().top)""")
    assert tops[0] < tops[1]
    # The duplicate photo: both images shown, side by side.
    pair = me.page.locator(".finding-warn .pair").first
    pair.scroll_into_view_if_needed()
    # lazy images start loading once scrolled to: wait for both (a busy worker may not have them yet)
    me.page.wait_for_function("""() => [...document.querySelectorAll('.finding-warn .pair')[0]
        .querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)""")
    boxes = pair.evaluate("""p => [...p.querySelectorAll('img')].map(i => {
        const r = i.getBoundingClientRect(); return [i.complete && i.naturalWidth > 0, r.top, r.left]; })""")
    assert len(boxes) == 2 and all(b[0] for b in boxes), boxes
    assert abs(boxes[0][1] - boxes[1][1]) < 2 and boxes[1][2] > boxes[0][2], boxes
    check_page(me, "approver-warnings")


def test_the_village_lead_is_told_to_recuse_and_has_no_buttons(phone, scene):
    me = phone(who="wang")
    me.login("ws_shuji")
    me.goto(f"/requests/{scene['request']}")
    text = me.page.locator("#controls").inner_text()
    assert "您须回避此申请，不能办理" in text and "须回避：收款人的银行账号属于您登记的兄弟姐妹“王小军”" in text
    assert me.page.locator("form[action$='/approve']").count() == 0
    check_page(me, "recusal")


def test_a_step_whose_only_holder_must_recuse_goes_up_and_the_page_says_so(phone, scene):
    me = phone(who="moved")
    me.login("ws_fushuji")
    me.goto(f"/requests/{scene['moved']}")
    text = me.page.locator("#controls").inner_text()
    assert "第 2 步村务监督委员会主任须回避，改由包村领导办理。" in text
    assert "高淑珍本人" in text
    route = me.page.locator("#route").inner_text()
    assert "村务监督委员会主任" not in route and "包村领导" in route
    check_page(me, "recusal-moved")


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
    me.goto(f"/controls/townships/{scene['township']}/policy")
    me.page.fill("#f-window_days", "0")
    me.click("发布新版本")
    assert "累计期间（天）不正确" in me.page.inner_text("main")
    check_page(me, "control-policy-bad")


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

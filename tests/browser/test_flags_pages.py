"""The flags' pages on a phone (390x844, real Chromium): the liaison's workbench, a duplicate invoice's
evidence with the two photos side by side, a request on hold on the cashier's pay page, and the district
page. Every page passes the checks of tests/browser/support.py and leaves a screenshot in
test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from finance.auth import services as accounts
from finance.auth.models import User
from finance.controls import services as controls
from finance.extensions import db
from finance.flags import services as flag_services
from finance.flags.models import FlagType, RiskFlag
from finance.payment_requests import services as requests
from finance.payment_requests.models import AttachmentKind
from finance.roles import Role
from finance.timefmt import today_local
from tests import factories as f
from tests.browser.support import check_page
from tests.conftest import PASSWORD
from tests.controls.helpers import invoice_image, jpeg

MK_CHAIN = {"village_lead": "mk_shuji", "village_supervisor": "mk_jianwei", "agency_reviewer": "mk_shenhe",
            "township_leader": "mk_baocun", "township_head": "mk_xiangzhang"}


@pytest.fixture(scope="module")
def scene(live):
    """Requests of 孟轲村 (HL-MK-01): one invoice photographed twice for two requests (a duplicate), and an
    approved request a liaison asked about and put on hold; a district liaison."""
    with live.app.app_context():
        from finance.payment_requests.route import steps_of

        who = f.user("mk_baozhang")
        village = f.unit("HL-MK-01")
        tag = uuid.uuid4().hex[:4]
        tag_n = f"{uuid.uuid4().int % 1000:03d}"
        photo = invoice_image("25412000000088880001", amount="2680.00", seller="濮阳市华龙区兴农农资经营部")
        made = []
        for n, image in enumerate((jpeg(photo), jpeg(photo.resize((1100, 733)), 60))):
            req = requests.create_draft(who, village, f.request_input(
                "2680.00", purpose=f"购买化肥（{'三' if n else '一'}月）{tag}", payee_account="6228480012345678901"),
                client_key=uuid.uuid4().hex)
            att = requests.add_attachment(who, req, AttachmentKind.INVOICE, "fapiao.jpg", image)
            # the second typed with another number: the photo is what gives it away
            controls.record_invoice(who, att, controls.InvoiceInput(
                number=f"2541200000008888{tag_n}{n}", invoice_date=today_local(),
                seller="濮阳市华龙区兴农农资经营部", amount="2680.00"))
            requests.submit(who, req, client_key=uuid.uuid4().hex)
            made.append(req)
        held = requests.create_draft(who, village, f.request_input(
            "9900.00", payee_name="孟庄村民刘德胜", payee_account="6217000044445555666",
            purpose=f"村内道路清扫劳务费 {tag}"),
            client_key=uuid.uuid4().hex)
        requests.add_attachment(who, held, AttachmentKind.LABOUR_SLIP, "qianshou.jpg", jpeg(photo.rotate(180)))
        requests.submit(who, held, client_key=uuid.uuid4().hex)
        for step in steps_of(held):
            requests.approve(f.user(MK_CHAIN[step.role.value]), held, "同意", client_key=uuid.uuid4().hex)
        flag = db.session.execute(select(RiskFlag).where(RiskFlag.key == f"just_under_band:{held.id}")).scalar_one()
        flag_services.ask(f.user("mk_lianqing"), flag, held, "劳务费 9,900 元略低于审批线，请提供考勤和签收记录。",
                          today_local() + timedelta(days=7), hold=True, hold_reason="待问询答复")
        if db.session.execute(select(User.id).where(User.username == "hl_jiwei")).first() is None:
            accounts.create_user(username="hl_jiwei", display_name="区纪委联络员", password=PASSWORD,
                                 role=Role.LIAISON, org_unit=f.unit("HL"))
        db.session.commit()
        duplicate = db.session.execute(select(RiskFlag).where(RiskFlag.kind == FlagType.DUPLICATE_INVOICE,
                                              RiskFlag.village_id == village.id)
                                       .order_by(RiskFlag.id.desc())).scalars().first()
        assert duplicate is not None
        return {"duplicate": duplicate.id, "held": held.id}


def test_the_liaisons_workbench_and_a_duplicates_evidence(phone, scene):
    me = phone(who="liaison")
    me.login("mk_lianqing")
    me.goto("/oversight/flags/")
    assert "发票重复报销" in me.page.inner_text("main")
    check_page(me, "workbench")
    me.goto(f"/oversight/flags/{scene['duplicate']}")
    images = me.page.locator(".side-by-side img")
    assert images.count() == 2
    boxes = [images.nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]  # side by side
    me.page.wait_for_function("() => [...document.querySelectorAll('.side-by-side img')].every(i => i.naturalWidth)")
    check_page(me, "flag-evidence")


def test_the_cashier_sees_the_hold_on_the_pay_page(phone, scene):
    me = phone(who="cashier")
    me.login("mk_chuna")
    me.goto(f"/payments/{scene['held']}/pay")
    text = me.page.locator("#risk").inner_text()
    assert "暂缓支付" in text and "请提供考勤和签收记录" in text
    check_page(me, "pay-on-hold")


def test_the_district_page(phone, scene):
    me = phone(who="district")
    me.login("hl_jiwei")
    me.goto("/oversight/flags/district")
    text = me.page.inner_text("main")
    assert "岳村镇" in text and "孟轲乡" in text and "待办积压" in text
    check_page(me, "district")

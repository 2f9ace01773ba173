"""The township's 负面清单: items and keywords with refuse or warn, kept as data with its history."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from audit.models import Event
from finance.controls import services as controls
from finance.controls.checks import Code, Severity, Stage, check_request
from finance.errors import Forbidden
from finance.payment_requests.models import AttachmentKind
from tests import factories as f
from tests.controls.helpers import attach, attach_invoice, draft, jpeg, slip_image


@pytest.fixture
def negative_list(db):
    admin, township = f.user("hl_admin"), f.unit("HL-YC")
    return {
        "tobacco": controls.add_negative_item(admin, township, controls.NegativeItemInput(
            item="烟酒", keywords="烟酒 香烟 白酒 茅台", action="refuse")),
        "gifts": controls.add_negative_item(admin, township, controls.NegativeItemInput(
            item="礼品", keywords="礼品，购物卡、礼券", action="warn")),
    }


def test_a_handwritten_slip_for_tobacco_and_liquor_hospitality_is_refused(negative_list):
    """Issue 11: a handwritten slip filed as the invoice for 烟酒 招待."""
    req = draft("1280.00", payee="岳村镇兴旺烟酒商店", account="6228480033334444555", purpose="接待上级检查烟酒招待费")
    attach(req, jpeg(slip_image("收条 烟酒 1280 元")), kind=AttachmentKind.OTHER_VOUCHER)
    report = check_request(req, Stage.SUBMIT)
    codes = {x.code for x in report.refusals}
    assert Code.NEGATIVE_LIST in codes and Code.BUSINESS_NEEDS_INVOICE in codes
    listed = next(x for x in report.refusals if x.code == Code.NEGATIVE_LIST)
    assert listed.message == "属于本镇负面清单“烟酒”（关键词“烟酒”），不得列支。"


def test_a_warned_item_is_shown_not_refused_and_keywords_match_across_widths_and_spaces(negative_list):
    req = draft("2000.00", payee="张三", account="6217000011112222333", purpose="春节慰问 购 物 卡 20 张")
    attach(req, jpeg(slip_image("签收单")), kind=AttachmentKind.LABOUR_SLIP)
    report = check_request(req, Stage.SUBMIT)
    warned = [x for x in report.findings if x.code == Code.NEGATIVE_LIST]
    assert [x.severity for x in warned] == [Severity.WARN]
    assert "购物卡" in warned[0].message


def test_an_invoice_seller_on_the_list_is_found_too(negative_list):
    req = draft("300.00", payee="濮阳市华龙区文华办公用品商行", purpose="办公用品")
    attach_invoice(req, "25412000000077778888", seller="濮阳茅台专卖店")
    assert Code.NEGATIVE_LIST in check_request(req, Stage.SUBMIT).codes()


def test_another_townships_list_does_not_apply(negative_list):
    req = draft("300.00", payee="张三", account="6217000011112222333", purpose="白酒", village="HL-MK-01",
                accountant="mk_baozhang")
    attach(req, jpeg(slip_image("签收单")), kind=AttachmentKind.LABOUR_SLIP)
    assert Code.NEGATIVE_LIST not in check_request(req, Stage.SUBMIT).codes()


def test_changes_are_events_and_removed_items_stop_applying(negative_list, db):
    admin, gifts = f.user("hl_admin"), negative_list["gifts"]
    controls.update_negative_item(admin, gifts, controls.NegativeItemInput(item="礼品", keywords="礼品 购物卡",
                                                                           action="refuse"))
    event = db.execute(select(Event).where(Event.action == "negative_list_update")).scalars().one()
    assert json.loads(event.after) == {"action": "refuse", "keywords": "礼品 购物卡"}
    controls.remove_negative_item(admin, gifts)
    req = draft("2000.00", payee="张三", account="6217000011112222333", purpose="购物卡")
    attach(req, jpeg(slip_image("签收单")), kind=AttachmentKind.LABOUR_SLIP)
    assert Code.NEGATIVE_LIST not in check_request(req, Stage.SUBMIT).codes()


def test_bad_items_are_refused_and_only_the_admin_keeps_the_list(db):
    with pytest.raises(controls.ControlError, match="请填写事项"):
        controls.add_negative_item(f.user("hl_admin"), f.unit("HL-YC"), controls.NegativeItemInput(item=""))
    with pytest.raises(controls.ControlError, match="按乡镇设置"):
        controls.add_negative_item(f.user("hl_admin"), f.unit("HL-YC-01"), controls.NegativeItemInput(item="烟酒"))
    with pytest.raises(Forbidden):
        controls.add_negative_item(f.user("yc_shenhe"), f.unit("HL-YC"), controls.NegativeItemInput(item="烟酒"))

"""Invoice facts, duplicate numbers across the district, re-photographed invoices, the invoices' sum, and
a business paid on a receipt."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from audit.models import Event
from finance.controls import services as controls
from finance.controls.checks import Code, Severity, Stage, check_request
from finance.controls.models import ImageFingerprint, InvoiceFact
from finance.payment_requests import services as requests
from finance.payment_requests.models import AttachmentKind
from finance.timefmt import today_local
from tests import factories as f
from tests.controls.helpers import attach, attach_invoice, draft, invoice_image, jpeg, slip_image, submit

NUMBER = "25412000000012345678"


def count(model):
    from finance.extensions import db

    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def findings(report, code):
    return [x for x in report.findings if x.code == code]


# --- recording the facts -------------------------------------------------------------------------------

def test_recording_an_invoice_stores_its_facts_hash_and_one_event(db):
    req = draft("300.00")
    att = attach(req, jpeg(invoice_image(NUMBER)))
    events = count(Event)
    fact = controls.record_invoice(req.requester, att, controls.InvoiceInput(
        number="2541 2000 0000 1234 5678", invoice_date=today_local() - timedelta(days=1),
        seller="中石化濮阳岳村加油站", amount="300"))
    assert (fact.number, fact.dup_key, str(fact.amount)) == (NUMBER, NUMBER, "300.00")
    assert count(Event) == events + 1
    event = db.execute(select(Event).order_by(Event.id.desc()).limit(1)).scalar_one()
    assert event.action == "invoice_record" and event.subject_id == str(req.id)
    fp = db.execute(select(ImageFingerprint).where(ImageFingerprint.attachment_id == att.id)).scalar_one()
    assert len(fp.phash) == 16


@pytest.mark.parametrize(("field", "value", "message"), [
    ("number", "1234567", "应为 8 位（增值税发票）或 20 位（数电票），现在是 7 位"),
    ("number", "2541200000001234567A", "只能是数字"),
    ("invoice_date", today_local() + timedelta(days=1), "开票日期不能晚于今天"),
    ("amount", "0", "金额必须大于零"),
    ("seller", "", "请填写销售方名称"),
    ("code", "123", "10 位或 12 位"),
])
def test_bad_invoice_facts_are_refused_in_chinese_and_nothing_is_saved(db, field, value, message):
    req = draft("300.00")
    att = attach(req, jpeg(invoice_image(NUMBER)))
    data = controls.InvoiceInput(number="12345678" if field == "code" else NUMBER, code="",
                                 invoice_date=today_local(), seller="加油站", amount="300")
    setattr(data, field, value)
    facts, events = count(InvoiceFact), count(Event)
    with pytest.raises(controls.ControlError) as exc:
        controls.record_invoice(req.requester, att, data)
    assert message in exc.value.errors[field]
    assert (count(InvoiceFact), count(Event)) == (facts, events)


def test_only_an_invoice_has_facts(db):
    req = draft("300.00")
    att = attach(req, jpeg(slip_image()), kind=AttachmentKind.FISCAL_RECEIPT)
    with pytest.raises(controls.ControlError, match="只有“发票”类附件"):
        controls.record_invoice(req.requester, att, controls.InvoiceInput(number=NUMBER, invoice_date=today_local(),
                                                                           seller="甲", amount="1"))


def test_an_invoice_without_facts_is_refused_at_submit(db):
    req = draft("300.00")
    attach(req, jpeg(invoice_image(NUMBER)))
    report = check_request(req, Stage.SUBMIT)
    assert [x.code for x in report.refusals] == [Code.INVOICE_FACTS_MISSING]


# --- one invoice, several requests ----------------------------------------------------------------------

def test_an_invoice_number_used_anywhere_in_the_district_is_refused_naming_the_earlier_request(db):
    first = draft("300.00")
    attach_invoice(first, NUMBER)
    submit(first)
    # Another township's village of the same district, the same invoice (another photo of it).
    second = draft("300.00", village="HL-MK-01", accountant="mk_baozhang")
    attach_invoice(second, NUMBER, image=jpeg(invoice_image(NUMBER).rotate(90, expand=True)))
    report = check_request(second, Stage.SUBMIT)
    used = findings(report, Code.INVOICE_NUMBER_USED)
    assert used and used[0].severity == Severity.REFUSE
    assert first.number in used[0].message and "东岳村" in used[0].message
    assert used[0].evidence["other_request_id"] == first.id


def test_a_withdrawn_or_rejected_request_frees_its_invoice(db):
    first = draft("300.00")
    attach_invoice(first, NUMBER)
    submit(first)
    requests.withdraw(first.requester, first)
    second = draft("300.00")
    attach_invoice(second, NUMBER)
    assert Code.INVOICE_NUMBER_USED not in check_request(second, Stage.SUBMIT).codes()


def test_an_eight_digit_number_is_one_invoice_only_with_its_code(db):
    first = draft("300.00")
    attach_invoice(first, "00001234", code="4100231230")
    submit(first)
    other_code = draft("300.00")
    attach_invoice(other_code, "00001234", code="4100231231", image=jpeg(slip_image("另一张 00001234")))
    assert Code.INVOICE_NUMBER_USED not in check_request(other_code, Stage.SUBMIT).codes()
    same = draft("300.00")
    attach_invoice(same, "00001234", code="4100231230", image=jpeg(slip_image("同一张 00001234")))
    assert Code.INVOICE_NUMBER_USED in check_request(same, Stage.SUBMIT).codes()


def test_one_invoice_photo_on_five_requests_warns_every_approver(db):
    """Issue 11: one invoice photo on five requests. The first goes through; each later one is refused for
    its number, and a copy with a made-up number is still caught by the photo."""
    photo = invoice_image(NUMBER, amount="980.00")
    first = draft("980.00")
    attach_invoice(first, NUMBER, image=jpeg(photo))
    submit(first)
    w, h = photo.size
    copies = {
        "rotated": photo.rotate(90, expand=True),
        "cropped": photo.crop((int(w * .03), int(h * .03), int(w * .97), int(h * .97))),  # within the frame
        "recompressed": Image.open(io.BytesIO(jpeg(photo, quality=25))),
        "tilted and smaller": photo.rotate(2, expand=True, fillcolor=(250, 250, 246)).resize((w // 2, h // 2)),
    }
    for n, (how, copy) in enumerate(copies.items()):
        req = draft("980.00")
        att = attach(req, jpeg(copy, quality=70))  # facts not typed: the photo alone tells
        report = check_request(req, Stage.SUBMIT)
        reused = findings(report, Code.INVOICE_PHOTO_REUSED)
        assert reused, how
        assert reused[0].severity == Severity.WARN, how
        assert reused[0].evidence["other_request_id"] == first.id
        assert reused[0].evidence["attachment_id"] == att.id
        # The same at each approval step, for every approver.
        assert Code.INVOICE_PHOTO_REUSED in check_request(req, Stage.APPROVE, approver=f.user("dy_shuji")).codes()
        if n == 0:  # typed with a made-up number: the number check passes, the photo does not
            controls.record_invoice(req.requester, att, controls.InvoiceInput(
                number="25412000000099999999", invoice_date=today_local(), seller="中石化濮阳岳村加油站", amount="980"))
            again = findings(check_request(req, Stage.SUBMIT), Code.INVOICE_PHOTO_REUSED)
            assert [x.severity for x in again] == [Severity.WARN]


def test_two_genuine_equal_invoices_from_one_petrol_station_in_a_week_are_not_stopped(db):
    """Hard negative: same station, same amount, same template, different numbers and days."""
    first = draft("300.00")
    attach_invoice(first, "25412000000012345678", amount="300.00",
                   day=(today_local() - timedelta(days=6)).isoformat())
    submit(first)
    second = draft("300.00")
    attach_invoice(second, "25412000000012349876", amount="300.00",
                   day=(today_local() - timedelta(days=1)).isoformat())
    report = check_request(second, Stage.SUBMIT)
    assert report.refusals == [] and report.warnings == []
    # The photos share a template: at most a note that says the numbers differ.
    assert all(x.severity == Severity.NOTE for x in findings(report, Code.INVOICE_PHOTO_REUSED))


def test_a_different_invoice_is_not_a_copy(db):
    first = draft("300.00")
    attach_invoice(first, NUMBER)
    submit(first)
    second = draft("500.00", payee="濮阳市华龙区宏达建材商店")
    attach(second, jpeg(slip_image("收条 今收到东岳村付来材料款伍佰元")), kind=AttachmentKind.OTHER_VOUCHER)
    assert Code.INVOICE_PHOTO_REUSED not in check_request(second, Stage.SUBMIT).codes()


# --- sums and kinds -------------------------------------------------------------------------------------

def test_the_sum_of_invoices_against_the_amount_is_shown_to_the_reviewer(db):
    req = draft("1000.00", payee="濮阳市华龙区宏达建材商店")
    attach_invoice(req, "25412000000000000001", amount="600.00", image=jpeg(invoice_image("1", seller="宏达")))
    attach_invoice(req, "25412000000000000002", amount="350.00",
                   image=jpeg(invoice_image("2", seller="宏达", item="水泥 10 袋")))
    differs = findings(check_request(req, Stage.SUBMIT), Code.INVOICE_SUM_DIFFERS)
    assert differs and differs[0].severity == Severity.WARN
    assert differs[0].message == "2 张发票合计 950.00 元，申请金额 1,000.00 元，相差 50.00 元。"


def test_a_business_paid_on_a_receipt_is_refused(db):
    """Issue 11: a handwritten slip filed as the invoice of a shop."""
    req = draft("500.00", payee="濮阳市华龙区宏达建材商店")
    attach(req, jpeg(slip_image()), kind=AttachmentKind.OTHER_VOUCHER)
    refused = findings(check_request(req, Stage.SUBMIT), Code.BUSINESS_NEEDS_INVOICE)
    assert refused and refused[0].severity == Severity.REFUSE
    assert "须附发票" in refused[0].message


def test_a_person_may_be_paid_on_a_labour_slip(db):
    req = draft("800.00", payee="张德顺", account="6217000011112222333")
    attach(req, jpeg(slip_image("个人劳务签收单 张德顺 清扫 800 元")), kind=AttachmentKind.LABOUR_SLIP)
    assert check_request(req, Stage.SUBMIT).refusals == []

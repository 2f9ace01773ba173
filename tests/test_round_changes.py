"""A resubmitted request shows what changed since the round before (issue 16 item 1): each field old → new
and the attachments added or removed, read off the request's own events; on the detail page above the
buttons, on the confirmation of 同意, and on the approval form PDF."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from finance.attachment_kinds import AttachmentKind
from finance.extensions import db
from finance.payment_requests import services as requests
from finance.payment_requests.changes import changes_since_last_round
from finance.payment_requests.models import PaymentRequest
from finance.workflow import State
from tests import factories as f
from tests.test_documents import pdf_pages


def returned_and_changed() -> PaymentRequest:
    """The issue's story: 58,000 filed, returned by the lead, changed to 58,500 with a new acceptance
    sheet in place of the old minutes photo, and resubmitted."""
    req = f.in_state(State.RETURNED, "58000.00")
    acc = f.user("dy_baozhang")
    data = f.request_input("58500.00", meeting_amount=Decimal("58500.00"))
    requests.update_draft(acc, req, data)
    minutes = next(a for a in req.attachments if a.kind == AttachmentKind.MINUTES)
    requests.remove_attachment(acc, minutes)
    requests.add_attachment(acc, req, AttachmentKind.MINUTES, "会议记录（重拍）.jpg", f.jpeg_bytes(color="pink"))
    requests.add_attachment(acc, req, AttachmentKind.ACCEPTANCE, "验收单.jpg", f.jpeg_bytes(color="green"))
    requests.submit(acc, req, client_key=uuid.uuid4().hex)
    db.session.commit()
    return req


def test_the_changes_since_the_round_before_are_read_off_the_trail(db):
    req = returned_and_changed()
    changes = changes_since_last_round(req)
    assert changes is not None and changes.round == 2
    assert [(c.name, c.old, c.new) for c in changes.fields] == [
        ("amount", "¥58,000.00", "¥58,500.00"), ("meeting_amount", "¥58,000.00", "¥58,500.00")]
    assert [(a.kind, a.filename) for a in changes.added] == [
        ("四议两公开会议记录", "会议记录（重拍）.jpg"), ("验收单", "验收单.jpg")]
    assert [(a.kind, a.filename) for a in changes.removed] == [("四议两公开会议记录", "minutes.jpg")]
    assert changes.as_dict()["fields"][0] == {"field": "amount", "old": "¥58,000.00", "new": "¥58,500.00"}


def test_a_first_submission_and_an_unchanged_resubmission(db):
    req = f.in_state(State.PENDING)
    assert changes_since_last_round(req) is None
    requests.return_for_revision(f.user("dy_shuji"), req, "请补充验收单")
    requests.submit(f.user("dy_baozhang"), req, client_key=uuid.uuid4().hex)
    changes = changes_since_last_round(req)
    assert changes is not None and changes.empty


def test_a_field_emptied_and_changed_twice_in_between_shows_first_and_last(db):
    req = f.in_state(State.RETURNED)
    acc = f.user("dy_baozhang")
    requests.update_draft(acc, req, f.request_input(budget_line="", payee_bank="中国建设银行濮阳分行"))
    requests.update_draft(acc, req, f.request_input(budget_line="", payee_bank="中国工商银行濮阳分行"))
    requests.submit(acc, req, client_key=uuid.uuid4().hex)
    changes = changes_since_last_round(req)
    assert changes is not None
    assert [(c.name, c.old, c.new) for c in changes.fields] == [
        ("payee_bank", "中国农业银行濮阳华龙支行", "中国工商银行濮阳分行"),
        ("budget_line", "2026年度公益支出预算", "（空）")]


def test_the_approver_sees_the_changes_above_the_buttons(client):
    req = returned_and_changed()
    client.login("dy_shuji")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "第 2 轮提交：与上一轮相比" in page
    shown = page.split('id="changes"')[1]
    assert "<del>¥58,000.00</del> → <ins>¥58,500.00</ins>" in shown and "验收单.jpg" in shown
    assert page.index('id="changes"') < page.index('id="actions"')
    confirm = client.get(f"/requests/{req.id}/approve").get_data(as_text=True)
    assert "<del>¥58,000.00</del> → <ins>¥58,500.00</ins>" in confirm


@pytest.mark.slow  # renders a PDF
def test_the_approval_form_prints_the_changes(client):
    req = returned_and_changed()
    client.login("dy_baozhang")
    pages = pdf_pages(client.get(f"/documents/requests/{req.id}/approval-form.pdf").data)
    assert len(pages) == 1
    assert "第2次提交的改动（与上一次相比）" in pages[0]
    assert "¥58,000.00¥58,500.00" in pages[0] and "验收单.jpg" in pages[0] and "minutes.jpg" in pages[0]

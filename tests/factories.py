"""Test data made through the same services users go through.

The demo district (finance.demo.seed_base) is in every test database: users such as `dy_baozhang`
(accountant of 东岳村 HL-YC-01) and org units such as HL-YC. These helpers look them up and build
requests in any state.
"""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from PIL import Image
from sqlalchemy import select

from finance.attachment_kinds import AttachmentKind
from finance.auth.models import User
from finance.controls.services import InvoiceInput, record_invoice
from finance.extensions import db
from finance.orgs.models import AccountSubject, OrgUnit
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payments import services as payments
from finance.workflow import State

# The approvers of the default chain for 东岳村 (HL-YC-01), in order.
DY_CHAIN = ["dy_shuji", "dy_jianwei", "yc_shenhe", "yc_baocun", "yc_zhenzhang"]


def user(username: str) -> User:
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def unit(code: str) -> OrgUnit:
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one()


def subject(code: str = "5401") -> AccountSubject:
    return db.session.execute(select(AccountSubject).where(AccountSubject.code == code)).scalar_one()


def jpeg_bytes(size: tuple[int, int] = (64, 48), color: str = "white") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def invoice_photo(size: tuple[int, int] = (96, 72)) -> bytes:
    """A photo no other call returns, nor one that looks like it: random blocks, so neither the exact nor the
    perceptual duplicate-invoice checks (finance.controls, finance.flags) see two requests sharing a slip."""
    import random

    rnd = random.Random(uuid.uuid4().int)
    img = Image.new("RGB", size, "white")
    block = 8
    for x in range(0, size[0], block):
        for y in range(0, size[1], block):
            shade = rnd.randrange(0, 256)
            img.paste((shade, shade, shade), (x, y, x + block, y + block))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def storage_digest(data: bytes) -> str:
    from finance.storage import digest

    return digest(data)


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>"
            b"endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def request_input(amount: str = "1200.00", **overrides: Any) -> requests.RequestInput:
    data: dict[str, Any] = {
        "payee_name": "濮阳市华龙区兴农农资经营部",
        "payee_bank": "中国农业银行濮阳华龙支行",
        "payee_account": "6228480012345678901",
        "amount": Decimal(amount),
        "purpose": "购买村内道路绿化苗木",
        "subject_id": subject().id,
        "fund_source": "村集体经营收入",
        "budget_line": "2026年度公益支出预算",
    }
    if Decimal(amount) >= Decimal("50000"):
        data.update(meeting_date=date.today() - timedelta(days=3), meeting_attendance=35,
                    meeting_amount=Decimal(amount))
    data.update(overrides)
    return requests.RequestInput(**data)


def draft(amount: str = "1200.00", accountant: str = "dy_baozhang", village: str = "HL-YC-01",
          with_attachments: bool = True, **overrides: Any) -> PaymentRequest:
    """A complete draft with the attachments its amount needs."""
    req = requests.create_draft(user(accountant), unit(village), request_input(amount, **overrides),
                                client_key=uuid.uuid4().hex)
    if with_attachments:
        who = user(accountant)
        invoice = requests.add_attachment(who, req, AttachmentKind.INVOICE, "invoice.jpg", invoice_photo())
        if invoice is not None:  # its facts, typed beside the photo (a 发票 cannot be submitted without)
            record_invoice(who, invoice, InvoiceInput(
                number=f"{uuid.uuid4().int % 10**20:020d}", code="", invoice_date=date.today() - timedelta(days=3),
                seller=req.payee_name or "销售方", amount=f"{req.amount:f}" if req.amount else "1"))
        if Decimal(amount) >= Decimal("10000"):
            requests.add_attachment(who, req, AttachmentKind.CONTRACT, "contract.pdf", pdf_bytes())
        if Decimal(amount) >= Decimal("50000"):
            requests.add_attachment(who, req, AttachmentKind.MINUTES, "minutes.jpg", jpeg_bytes(color="gray"))
    db.session.commit()
    return req


def approvers_for(req: PaymentRequest) -> list[str]:
    from finance.payment_requests.route import steps_of

    by_role = {"village_lead": "dy_shuji", "village_supervisor": "dy_jianwei", "agency_reviewer": "yc_shenhe",
               "township_leader": "yc_baocun", "township_head": "yc_zhenzhang"}
    if req.village.code == "HL-YC-02":
        by_role.update(village_lead="xy_shuji", village_supervisor="xy_jianwei")
    return [by_role[s.role.value] for s in steps_of(req)]


def in_state(state: State, amount: str = "1200.00", **kwargs: Any) -> PaymentRequest:
    """A request of 东岳村 (or the given village) brought to `state` through the services."""
    req = draft(amount, **kwargs)
    accountant = user(kwargs.get("accountant", "dy_baozhang"))
    if state == State.DRAFT:
        return req
    if state == State.DISCARDED:
        requests.discard(accountant, req)
        db.session.commit()
        return req
    requests.submit(accountant, req, client_key=uuid.uuid4().hex)
    db.session.commit()
    if state == State.PENDING:
        return req
    chain = approvers_for(req)
    if state == State.WITHDRAWN:
        requests.withdraw(accountant, req)
    elif state == State.RETURNED:
        requests.return_for_revision(user(chain[0]), req, "请补充验收单")
    elif state == State.REJECTED:
        requests.reject(user(chain[0]), req, "不符合村级支出范围")
    else:
        for name in chain:
            requests.approve(user(name), req, "同意", client_key=uuid.uuid4().hex)
        if state in (State.PAID, State.RECONCILED):
            payments.record_payment(user("yc_chuna"), req, payment_input(req), client_key=uuid.uuid4().hex)
        if state == State.RECONCILED:
            from tests.bank_helpers import reconcile

            reconcile(req)
    db.session.commit()
    assert req.state == state
    return req


def payment_input(req: PaymentRequest, **overrides: Any) -> payments.PaymentInput:
    data: dict[str, Any] = {
        "bank_reference": f"ABC{uuid.uuid4().hex[:12].upper()}",
        "value_date": date.today(),
        "amount": req.amount,
        "payee_name": req.payee_name,
        "payee_account": req.payee_account,
        "payer_account": req.village.bank_account or "6228480000000000",
        "receipt_filename": "huidan.jpg",
        "receipt_data": jpeg_bytes(color="lightblue"),
    }
    data.update(overrides)
    return payments.PaymentInput(**data)

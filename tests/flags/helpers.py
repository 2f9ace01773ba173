"""Building the cases the detector tests plant: requests through the services, then moved in time (the
detectors read when a request was submitted and when it was approved)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from finance import trail
from finance.attachment_kinds import AttachmentKind
from finance.extensions import db
from finance.flags import scan as flag_scan
from finance.flags.models import FlagType, RiskFlag
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payment_requests.route import policy_for, steps_of, waiting_role
from finance.payments.models import Payment
from finance.roles import Role
from finance.workflow import Action, State
from tests import factories as f
from tests.controls import helpers as ch

NOW = datetime.now(UTC)


@pytest.fixture
def no_preventive() -> Iterator[None]:
    """Requests planted at other times than now: the submit-time scan would see them all at 'now'."""
    trail._LISTENERS.remove(flag_scan.on_event)
    try:
        yield
    finally:
        trail.on_record(flag_scan.on_event)


def plant(amount: str, *, payee: str = "濮阳市华龙区兴农农资经营部", account: str = "6228480012345678901",
          purpose: str = "购买村内道路绿化苗木", days_ago: float = 0, village: str = "HL-YC-01",
          accountant: str = "dy_baozhang", kind: AttachmentKind | None = AttachmentKind.INVOICE,
          invoice: dict[str, Any] | None = None, image: bytes | None = None, **overrides: Any) -> PaymentRequest:
    """A submitted request of `village`, submitted `days_ago` days before now, as history records it: what
    today's controls would refuse at submit (a business paid on a receipt, a 负面清单 word, an invoice used
    before) is exactly what the flags must find afterwards (EXCHANGE.md §4), so the draft is made through
    the services and then put in the pending state the way an imported record is written, without the
    submit-time controls."""
    req = ch.draft(amount, payee=payee, account=account, village=village, accountant=accountant, purpose=purpose,
                   **overrides)
    if invoice is not None:
        ch.attach_invoice(req, **invoice)
    elif kind is not None:
        ch.attach(req, image or ch.jpeg(ch.slip_image(f"{payee}{amount}{uuid.uuid4().hex}")), kind)
    if Decimal(amount) >= Decimal("10000"):
        ch.attach(req, f.pdf_bytes(), AttachmentKind.CONTRACT, "contract.pdf")
    if Decimal(amount) >= Decimal("50000"):
        ch.attach(req, ch.jpeg(ch.slip_image("minutes" + uuid.uuid4().hex)), AttachmentKind.MINUTES, "m.jpg")
    at = NOW - timedelta(days=days_ago)
    req.policy = policy_for(req)
    req.state, req.round, req.step, req.submitted_at, req.updated_at = State.PENDING, 1, 1, at, at
    req.waiting_role, req.waiting_since = waiting_role(req), at
    db.session.add(RequestAction(request=req, round=1, step=None, action=Action.SUBMIT, from_state=State.DRAFT,
                                 to_state=State.PENDING, actor_id=req.requester_id, actor_role=Role.ACCOUNTANT,
                                 created_at=at))
    db.session.flush()
    return req


def move(req: PaymentRequest, at: datetime) -> None:
    req.submitted_at = at
    for action in req.actions:
        if action.action == Action.SUBMIT and action.round == req.round:
            action.created_at = at
    db.session.flush()


def approve_all(req: PaymentRequest, at: datetime, step_seconds: float = 3600) -> None:
    """Every step approved, the first `step_seconds` after `at` and each next one as long after, as history
    records it (a recusal the controls would now ask for is history's to show, not to prevent)."""
    steps = f.approvers_for(req)
    for n, name in enumerate(steps, start=1):
        role = steps_of(req)[n - 1].role
        last = n == len(steps)
        db.session.add(RequestAction(request=req, round=req.round, step=n, action=Action.APPROVE,
                                     from_state=State.PENDING, to_state=State.APPROVED if last else State.PENDING,
                                     actor_id=f.user(name).id, actor_role=role, comment="同意",
                                     created_at=at + timedelta(seconds=step_seconds * n)))
    req.state, req.step = State.APPROVED, 0
    req.waiting_role = waiting_role(req)
    db.session.flush()


def flags_of(kind: FlagType) -> list[RiskFlag]:
    return list(db.session.execute(select(RiskFlag).where(RiskFlag.kind == kind).order_by(RiskFlag.id)).scalars())


def numbers(flag: RiskFlag) -> set[str]:
    return set(json.loads(flag.request_numbers))


def paid(req: PaymentRequest, payer_account: str, *, reference: str | None = None, days_after: float = 1) -> Payment:
    """The request paid from `payer_account`, as history records a payment (the pay service would refuse a
    payer account that is not the village's)."""
    at = (req.submitted_at or NOW) + timedelta(days=days_after)
    key = reference or f"REF{uuid.uuid4().hex[:12].upper()}"
    payment = Payment(request=req, bank_reference=key, reference_key=key, value_date=at.date(), amount=req.amount,
                      payee_name=req.payee_name, payee_account=req.payee_account, payer_account=payer_account,
                      cashier_id=f.user("yc_chuna").id, created_at=at)
    db.session.add(payment)
    req.state = State.PAID
    req.updated_at = at
    db.session.flush()
    return payment

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
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.workflow import Action
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
    """A submitted request of `village`, submitted `days_ago` days before now."""
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
    requests.submit(req.requester, req, client_key=uuid.uuid4().hex)
    move(req, NOW - timedelta(days=days_ago))
    return req


def move(req: PaymentRequest, at: datetime) -> None:
    req.submitted_at = at
    for action in req.actions:
        if action.action == Action.SUBMIT and action.round == req.round:
            action.created_at = at
    db.session.flush()


def approve_all(req: PaymentRequest, at: datetime, step_seconds: float = 3600) -> None:
    """Approve every step, the first `step_seconds` after `at` and each next one as long after."""
    for n, name in enumerate(f.approvers_for(req), start=1):
        requests.approve(f.user(name), req, "同意", client_key=uuid.uuid4().hex)
        row = db.session.execute(select(RequestAction).where(RequestAction.request_id == req.id)
                                 .order_by(RequestAction.id.desc()).limit(1)).scalar_one()
        row.created_at = at + timedelta(seconds=step_seconds * n)
    db.session.flush()


def flags_of(kind: FlagType) -> list[RiskFlag]:
    return list(db.session.execute(select(RiskFlag).where(RiskFlag.kind == kind).order_by(RiskFlag.id)).scalars())


def numbers(flag: RiskFlag) -> set[str]:
    return set(json.loads(flag.request_numbers))

"""Reads of payments (the request they settle is already in the reader's scope)."""

from __future__ import annotations

from sqlalchemy import select

from finance.extensions import db
from finance.payment_requests.models import PaymentRequest
from finance.payments.models import Payment


def payment_of(req: PaymentRequest) -> Payment | None:
    """The transfer that settled the request, if it is paid."""
    return db.session.execute(select(Payment).where(Payment.request_id == req.id)).scalar_one_or_none()

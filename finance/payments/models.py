from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.auth.models import User
from finance.db import Base, Money, UTCDateTime, utcnow
from finance.payment_requests.models import Attachment, PaymentRequest


class Payment(Base):
    """The bank transfer that settled a request. One per request; a bank reference is used once."""

    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("reference_key", name="uq_payment_reference_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), unique=True)
    # As recorded in the trail; normalised (finance.payments.references) for every payment since 0004.
    bank_reference: Mapped[str] = mapped_column(String(64))
    # The normalised reference: one transfer settles one request, whatever the spelling typed.
    reference_key: Mapped[str] = mapped_column(String(80))
    value_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    payee_name: Mapped[str] = mapped_column(String(100))
    payee_account: Mapped[str] = mapped_column(String(40))
    payer_account: Mapped[str] = mapped_column(String(40))
    cashier_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    request: Mapped[PaymentRequest] = relationship(backref="payment")
    cashier: Mapped[User] = relationship(lazy="joined")
    receipt: Mapped[Attachment | None] = relationship()

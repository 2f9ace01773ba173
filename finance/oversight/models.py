from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.auth.models import User
from finance.db import Base, UTCDateTime, utcnow
from finance.payment_requests.models import PaymentRequest
from finance.timefmt import today_local


class Question(Base):
    """A liaison's question (问询) about a request, with a deadline for the township's answer."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    text: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    request: Mapped[PaymentRequest] = relationship()
    asked_by: Mapped[User] = relationship(foreign_keys=[asked_by_id])

    @property
    def overdue(self) -> bool:
        """Unanswered past its deadline (China time)."""
        return self.answered_at is None and self.deadline < today_local()


class PaymentHold(Base):
    """暂缓支付: a liaison holds the payment of a request until its question is answered or the hold is
    lifted. While a hold is on (lifted_at is None) the cashier's service refuses to pay."""

    __tablename__ = "payment_hold"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    reason: Mapped[str] = mapped_column(Text)
    held_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    request: Mapped[PaymentRequest] = relationship()
    question: Mapped[Question | None] = relationship()
    held_by: Mapped[User] = relationship(foreign_keys=[held_by_id])

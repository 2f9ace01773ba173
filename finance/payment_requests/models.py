from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.auth.models import User
from finance.db import Base, Money, UTCDateTime, str_enum, utcnow
from finance.orgs.models import AccountSubject, OrgUnit
from finance.roles import Role
from finance.workflow import Action, State


class AttachmentKind(StrEnum):
    # 票据 (vouchers), split by issue 11; any of the four meets a policy's "invoice" requirement
    # (finance.controls.attachments.VOUCHER_KINDS). Rows of the old "invoice" (发票或收款收据) became
    # OTHER_VOUCHER in migration 0008: what they were is not known.
    INVOICE = "invoice"          # 发票 (增值税发票, 数电票), with its facts typed beside it
    FISCAL_RECEIPT = "fiscal_receipt"  # 财政或内部收据
    LABOUR_SLIP = "labour_slip"  # 个人劳务签收单
    OTHER_VOUCHER = "other_voucher"  # 其他凭证
    CONTRACT = "contract"        # 合同
    ACCEPTANCE = "acceptance"    # 验收单
    MINUTES = "minutes"          # 四议两公开会议记录
    RECEIPT = "receipt"          # 银行回单
    OTHER = "other"


class PaymentRequest(Base):
    """A village's request to pay money out. Its state moves only through `finance.workflow`."""

    __tablename__ = "payment_request"
    __table_args__ = (
        Index("ix_payment_request_village_state", "village_id", "state"),
        Index("ix_payment_request_state_updated", "state", "updated_at", "id"),
        Index("ix_payment_request_waiting", "village_id", "waiting_role", "waiting_since", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    state: Mapped[State] = mapped_column(str_enum(State, 16), default=State.DRAFT)
    payee_name: Mapped[str] = mapped_column(String(100), default="")
    payee_bank: Mapped[str] = mapped_column(String(100), default="")
    payee_account: Mapped[str] = mapped_column(String(40), default="")
    amount: Mapped[Decimal | None] = mapped_column(Money())
    purpose: Mapped[str] = mapped_column(Text, default="")
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("account_subject.id"))
    fund_source: Mapped[str] = mapped_column(String(100), default="")
    budget_line: Mapped[str] = mapped_column(String(100), default="")
    # 四议两公开 evidence for large items
    meeting_date: Mapped[date | None] = mapped_column(Date)
    meeting_attendance: Mapped[int | None] = mapped_column(Integer)
    meeting_amount: Mapped[Decimal | None] = mapped_column(Money())
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("routing_policy.id"))
    step: Mapped[int] = mapped_column(Integer, default=0)  # 1-based index into the policy's steps
    round: Mapped[int] = mapped_column(Integer, default=0)  # 1 on first submit, +1 per resubmission
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the current step began
    # Whose move it is: the current step's role while pending, the cashier once approved, the accountant
    # for drafts and returned requests, nothing when closed. Kept by the services beside state and step
    # so the to-do list is one indexed query (see finance.workflow.waiting_role).
    waiting_role: Mapped[Role | None] = mapped_column(str_enum(Role, 32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    village: Mapped[OrgUnit] = relationship(lazy="joined")
    requester: Mapped[User] = relationship(lazy="joined")
    subject: Mapped[AccountSubject | None] = relationship(lazy="joined")
    policy: Mapped[RoutingPolicy | None] = relationship()
    actions: Mapped[list[RequestAction]] = relationship(
        back_populates="request", order_by="RequestAction.id", lazy="selectin"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="request", order_by="Attachment.id", lazy="selectin"
    )

    # Optimistic concurrency: every UPDATE is "... WHERE id = ? AND version = ?"; a lost race raises
    # StaleDataError, which the services turn into "already handled".
    __mapper_args__ = {"version_id_col": version}


class RequestAction(Base):
    """One step of a request's history: who did what, in which role, at which round and step."""

    __tablename__ = "request_action"
    __table_args__ = (
        # A step is decided once per round (NULL steps, for submit/withdraw/pay, never collide).
        UniqueConstraint("request_id", "round", "step", name="uq_request_action_step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    step: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[Action] = mapped_column(str_enum(Action, 16))
    from_state: Mapped[State] = mapped_column(str_enum(State, 16))
    to_state: Mapped[State] = mapped_column(str_enum(State, 16))
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_role: Mapped[Role] = mapped_column(str_enum(Role, 32))
    comment: Mapped[str | None] = mapped_column(Text)
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[PaymentRequest] = relationship(back_populates="actions")
    actor: Mapped[User] = relationship()  # a history shown in full loads it (selectinload), a check does not


class Attachment(Base):
    """A file attached to a request, stored by its SHA-256 outside the web root."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(str_enum(AttachmentKind, 16))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[PaymentRequest] = relationship(back_populates="attachments")


class RoutingPolicy(Base):
    """One immutable version of a township's approval rules (JSON, see `finance.routing`)."""

    __tablename__ = "routing_policy"
    __table_args__ = (UniqueConstraint("township_id", "version", name="uq_routing_policy_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    township: Mapped[OrgUnit] = relationship()

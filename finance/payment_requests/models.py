from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.approval_policy.models import RoutingPolicy
from finance.attachment_kinds import AttachmentKind
from finance.auth.models import User
from finance.db import Base, Money, UTCDateTime, str_enum, utcnow
from finance.orgs.models import AccountSubject, OrgUnit
from finance.roles import Role
from finance.workflow import INITIAL, Action, State

# Longest text each field takes (the column widths, and the form's maxlength); longer input is refused
# with a message, never cut.
MAX_LENGTH = {"payee_name": 100, "payee_bank": 100, "payee_account": 40, "purpose": 500, "fund_source": 100,
              "budget_line": 100}
MAX_ATTENDANCE = 100_000


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
    state: Mapped[State] = mapped_column(str_enum(State, 16), default=INITIAL)
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
    # The route fixed at submission (issue 11): the step roles, comma-separated, after the controls added
    # theirs (a cumulative band, a related payee) and recusals moved a step up; and the amount it was
    # chosen by when a cumulative band made it more than the request's own. NULL before submission.
    route_roles: Mapped[str | None] = mapped_column(String(200))
    route_amount: Mapped[Decimal | None] = mapped_column(Money())
    step: Mapped[int] = mapped_column(Integer, default=0)  # 1-based index into the policy's steps
    round: Mapped[int] = mapped_column(Integer, default=0)  # 1 on first submit, +1 per resubmission
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when the current step began
    # Whose move it is: the current step's role while pending, the cashier once approved, the accountant
    # for drafts and returned requests, nothing when closed. Kept by the services beside state and step
    # so the to-do list is one indexed query (see finance.payment_requests.route.waiting_role).
    waiting_role: Mapped[Role | None] = mapped_column(str_enum(Role, 32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # Payment history from an earlier system (EXCHANGE.md §4): shown as 历史导入 everywhere, counted by every
    # look-back check, never acted on (`finance.permissions.acting_role`). Its own number and times are kept.
    imported: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

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
    # Taken by a delegate (actor) for this person (finance.delegations): the separation of duties
    # counts the action as both people's.
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    request: Mapped[PaymentRequest] = relationship(back_populates="actions")
    # a history shown in full loads it (selectinload), a check does not
    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])


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


class HistoryRecord(Base):
    """What an imported history payment said beyond a request's columns (EXCHANGE.md §4): the names as the
    earlier system wrote them (its requester and approvers need not be users here), the approvals with
    their original times, and the SHA-256 of the line it came from (a second import of the same line adds
    nothing; the same number with other content is refused). Written by payment_requests.history."""

    __tablename__ = "history_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), unique=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    line_sha256: Mapped[str] = mapped_column(String(64))
    requester_name: Mapped[str] = mapped_column(String(64))
    approvals: Mapped[str] = mapped_column(Text, default="[]")  # JSON: [{role, name, at}]
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    payer_account: Mapped[str | None] = mapped_column(String(40))
    payee_id_number: Mapped[str | None] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HistoryReceipt(Base):
    """Money received, from an earlier system's history (EXCHANGE.md §4, kind "receipt"), with its own
    number and time. Marked 历史导入 like history payments; read by the income checks."""

    __tablename__ = "history_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payer_name: Mapped[str] = mapped_column(String(100))
    payer_account: Mapped[str] = mapped_column(String(40), default="")
    amount: Mapped[Decimal] = mapped_column(Money())
    type: Mapped[str] = mapped_column(String(50), default="")
    receipt_number: Mapped[str] = mapped_column(String(40), default="")
    account: Mapped[str] = mapped_column(String(40), default="")  # the collective's account it came into
    line_sha256: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

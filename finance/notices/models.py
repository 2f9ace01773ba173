"""Tables of the notices package: the outbox (notice + one delivery per recipient and channel), each
person's channel settings and quiet hours, and each township's reminder policy."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.auth.models import User
from finance.db import Base, Money, UTCDateTime, str_enum, utcnow
from finance.orgs.models import OrgUnit

REMIND_AFTER_DEFAULT = 2  # working days waiting before the person waited for is reminded
ESCALATE_AFTER_DEFAULT = 4  # ... and before the next level up is told


class NoticeKind(StrEnum):
    TURN = "turn"  # a step is waiting for you (the next approver)
    PAY_DUE = "pay_due"  # approved: waiting for the cashier
    RETURNED = "returned"  # to the accountant
    REJECTED = "rejected"
    PAID = "paid"
    QUESTION = "question"  # a liaison asked; to the township's staff
    ANSWER = "answer"  # the township answered; to the liaison who asked
    REMINDER = "reminder"  # waited N working days; to those it waits for
    ESCALATION = "escalation"  # waited M working days; to the next level up
    ALERT = "alert"  # an exception or red flag; to the agency

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    NoticeKind.TURN: _l("待您审批"),
    NoticeKind.PAY_DUE: _l("待您支付"),
    NoticeKind.RETURNED: _l("申请被退回"),
    NoticeKind.REJECTED: _l("申请被驳回"),
    NoticeKind.PAID: _l("申请已支付"),
    NoticeKind.QUESTION: _l("收到问询"),
    NoticeKind.ANSWER: _l("问询已答复"),
    NoticeKind.REMINDER: _l("催办提醒"),
    NoticeKind.ESCALATION: _l("超时督办"),
    NoticeKind.ALERT: _l("异常提醒"),
}


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WECOM = "wecom"
    DINGTALK = "dingtalk"

    @property
    def label(self) -> str:
        return str(CHANNEL_LABELS[self])


CHANNEL_LABELS = {
    Channel.EMAIL: _l("电子邮件"),
    Channel.SMS: _l("短信"),
    Channel.WECOM: _l("企业微信群机器人"),
    Channel.DINGTALK: _l("钉钉群机器人"),
}


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a worker until lease_until; an expired lease is claimed again
    SENT = "sent"
    FAILED = "failed"  # after the last retry, or a permanent refusal: listed for the admin

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self])


STATE_LABELS = {
    DeliveryState.PENDING: _l("待发送"),
    DeliveryState.SENDING: _l("发送中"),
    DeliveryState.SENT: _l("已发送"),
    DeliveryState.FAILED: _l("发送失败"),
}


class Notice(Base):
    """One thing to tell people, written in the same transaction as the audit event that causes it. It
    carries the request's number, village, amount and a link, and nothing else (no payee, no account,
    no attachment)."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(str_enum(NoticeKind, 16))
    # What caused it, unique: "ev:<audit event id>:<kind>", "remind:<request>:<since>" ... A second
    # attempt to write the same notice (a cron run twice) finds it taken.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(36))
    # No foreign key: a notice is a record of what was said (it copies number, village and amount) and
    # never stands in the way of the verifier's view of the request rows.
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(32))
    village_name: Mapped[str] = mapped_column(String(100), default="")
    amount: Mapped[Decimal | None] = mapped_column(Money())
    link: Mapped[str] = mapped_column(String(255))  # a path in the app, made absolute when sent
    # For reminders and escalations: the role waited for, how long, and (escalation) the role told.
    role: Mapped[str | None] = mapped_column(String(32))
    to_role: Mapped[str | None] = mapped_column(String(32))
    working_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    village: Mapped[OrgUnit | None] = relationship()
    deliveries: Mapped[list[NoticeDelivery]] = relationship(back_populates="notice", order_by="NoticeDelivery.id")


class NoticeDelivery(Base):
    """One notice to one person through one channel. `dedupe_key` is unique per (notice, recipient,
    channel) and goes to the provider with every attempt, so a retry is never a second message."""

    __tablename__ = "notice_delivery"
    __table_args__ = (Index("ix_notice_delivery_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState, 16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notice: Mapped[Notice] = relationship(back_populates="deliveries")
    user: Mapped[User] = relationship()


class NoticeSetting(Base):
    """A person's choice of channels, their addresses and quiet hours. Without a row: SMS to the phone
    on their account, if there is one."""

    __tablename__ = "notice_setting"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    email_on: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_on: Mapped[bool] = mapped_column(Boolean, default=False)
    wecom_on: Mapped[bool] = mapped_column(Boolean, default=False)
    dingtalk_on: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(20))
    wecom_key: Mapped[str | None] = mapped_column(String(100))  # the group robot's webhook key
    dingtalk_token: Mapped[str | None] = mapped_column(String(100))  # the group robot's access token
    dingtalk_secret: Mapped[str | None] = mapped_column(String(100))  # its signing secret (加签), optional
    # Quiet hours in minutes after midnight, China time; start > end spans midnight (22:00-07:00).
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NoticePolicy(Base):
    """A township's reminder policy: after how many working days a waiting step is reminded, and after
    how many the next level up is told. Without a row: the defaults (2 and 4)."""

    __tablename__ = "notice_policy"

    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    remind_after_days: Mapped[int] = mapped_column(Integer, default=REMIND_AFTER_DEFAULT)
    escalate_after_days: Mapped[int] = mapped_column(Integer, default=ESCALATE_AFTER_DEFAULT)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

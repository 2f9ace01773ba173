"""The tables of the controls (issue 11). Written only by finance/controls/services.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.auth.models import User
from finance.db import Base, Money, UTCDateTime, str_enum, utcnow
from finance.orgs.models import OrgUnit


class Relation(StrEnum):
    """How a person in the register is related to the official (EXCHANGE.md §3)."""

    SELF = "self"
    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    OTHER_CLOSE = "other_close"
    SPECIFIC = "specific"  # 特定关系人

    @property
    def label(self) -> str:
        return str(RELATION_LABELS[self])


RELATION_LABELS = {
    Relation.SELF: _l("本人"), Relation.SPOUSE: _l("配偶"), Relation.PARENT: _l("父母"), Relation.CHILD: _l("子女"),
    Relation.SIBLING: _l("兄弟姐妹"), Relation.OTHER_CLOSE: _l("其他近亲属"), Relation.SPECIFIC: _l("特定关系人"),
}


class MatterKind(StrEnum):
    """What a 四议两公开 resolution is about; some need it whatever the amount (ControlRules.major_matters)."""

    WORKS = "works"  # 工程
    ASSET_DISPOSAL = "asset_disposal"  # 资产处置
    CONTRACTING = "contracting"  # 发包
    PURCHASE = "purchase"  # 采购
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(MATTER_LABELS[self])


MATTER_LABELS = {MatterKind.WORKS: _l("工程"), MatterKind.ASSET_DISPOSAL: _l("资产处置"),
                 MatterKind.CONTRACTING: _l("发包"), MatterKind.PURCHASE: _l("采购"), MatterKind.OTHER: _l("其他")}


class Instalment(StrEnum):
    ADVANCE = "advance"  # 预付款
    PROGRESS = "progress"  # 进度款
    FINAL = "final"  # 尾款
    RETENTION = "retention"  # 质保金

    @property
    def label(self) -> str:
        return str(INSTALMENT_LABELS[self])

    @property
    def closing(self) -> bool:
        """尾款 and 质保金 close the matter: the 结果公开 photo must be there first."""
        return self in (Instalment.FINAL, Instalment.RETENTION)


INSTALMENT_LABELS = {Instalment.ADVANCE: _l("预付款"), Instalment.PROGRESS: _l("进度款"),
                     Instalment.FINAL: _l("尾款"), Instalment.RETENTION: _l("质保金")}


class ListAction(StrEnum):
    """What the 负面清单 does to a request that matches an item."""

    REFUSE = "refuse"
    WARN = "warn"

    @property
    def label(self) -> str:
        return str(LIST_ACTION_LABELS[self])


LIST_ACTION_LABELS = {ListAction.REFUSE: _l("禁止"), ListAction.WARN: _l("提醒")}


class InvoiceFact(Base):
    """What the accountant typed beside an invoice photo: number, date, seller, amount (价税合计).
    `dup_key` (normalise.invoice_key) is what makes two invoices the same invoice."""

    __tablename__ = "invoice_fact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None for an invoice of imported history whose photo did not come over (EXCHANGE.md §4)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id", ondelete="CASCADE"), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    code: Mapped[str | None] = mapped_column(String(12))
    dup_key: Mapped[str] = mapped_column(String(140), index=True)
    invoice_date: Mapped[date] = mapped_column(Date)
    seller: Mapped[str] = mapped_column(String(100))
    seller_key: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImageFingerprint(Base):
    """The perceptual hash of an image attachment (finance/controls/images.py): derived from the stored
    bytes (named by their SHA-256), so it is a cache that can be recomputed, not a fact of its own."""

    __tablename__ = "image_fingerprint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id", ondelete="CASCADE"), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    phash: Mapped[str] = mapped_column(String(16))  # 64-bit pHash of the trimmed page, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RelatedPerson(Base):
    """A line of the related-persons register (村干部及近亲属): a person related to an official, or the
    official himself (本人: his own ID and accounts, part of his user record). Never deleted: a removed
    line is inactive, and every change is an audit event on the system chain."""

    __tablename__ = "related_person"
    __table_args__ = (Index("ix_related_person_official", "official_id", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(64))
    relation: Mapped[Relation] = mapped_column(str_enum(Relation, 16))
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    official: Mapped[User] = relationship(foreign_keys=[official_id], lazy="joined")
    accounts: Mapped[list[RelatedAccount]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="RelatedAccount.id", lazy="selectin")


class RelatedAccount(Base):
    """A bank account (digits only) of a person in the register."""

    __tablename__ = "related_account"
    __table_args__ = (UniqueConstraint("person_id", "account", name="uq_related_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("related_person.id", ondelete="CASCADE"), index=True)
    account: Mapped[str] = mapped_column(String(32), index=True)

    person: Mapped[RelatedPerson] = relationship(back_populates="accounts")


class Resolution(Base):
    """A 四议两公开 resolution of a village, created once and referenced by requests."""

    __tablename__ = "resolution"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    matter: Mapped[str] = mapped_column(String(200))
    matter_kind: Mapped[MatterKind] = mapped_column(str_enum(MatterKind, 16))
    meeting_date: Mapped[date] = mapped_column(Date)
    expected: Mapped[int] = mapped_column(Integer)  # 应到
    present: Mapped[int] = mapped_column(Integer)  # 实到
    amount: Mapped[Decimal] = mapped_column(Money())
    minutes_sha256: Mapped[str] = mapped_column(String(64))
    minutes_type: Mapped[str] = mapped_column(String(64))
    publicity_sha256: Mapped[str] = mapped_column(String(64))  # 决议公开
    publicity_type: Mapped[str] = mapped_column(String(64))
    result_sha256: Mapped[str | None] = mapped_column(String(64))  # 结果公开, added before the final instalment
    result_type: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    village: Mapped[OrgUnit] = relationship()


class Contract(Base):
    """A contract of a village (counterparty, amount, dates, file), created once, optionally under a
    resolution, and referenced by requests as instalments."""

    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    resolution_id: Mapped[int | None] = mapped_column(ForeignKey("resolution.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    counterparty: Mapped[str] = mapped_column(String(100))
    counterparty_key: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    signed_on: Mapped[date] = mapped_column(Date)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_type: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    village: Mapped[OrgUnit] = relationship()
    resolution: Mapped[Resolution | None] = relationship()


class RequestControl(Base):
    """What the controls know about a request beyond its own columns: the resolution or contract it pays
    against and as which instalment, and the payee's 身份证号 (for recusal). One row per request."""

    __tablename__ = "request_control"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), unique=True)
    resolution_id: Mapped[int | None] = mapped_column(ForeignKey("resolution.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), index=True)
    instalment: Mapped[Instalment | None] = mapped_column(str_enum(Instalment, 16))
    payee_id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    resolution: Mapped[Resolution | None] = relationship(lazy="joined")
    contract: Mapped[Contract | None] = relationship(lazy="joined")


class NegativeItem(Base):
    """A line of a township's 负面清单: an item (烟酒) and the keywords that find it, refused or warned."""

    __tablename__ = "negative_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    item: Mapped[str] = mapped_column(String(50))
    keywords: Mapped[str] = mapped_column(String(500))  # separated by spaces
    action: Mapped[ListAction] = mapped_column(str_enum(ListAction, 16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def keyword_list(self) -> list[str]:
        return [k for k in self.keywords.split() if k]


class ControlPolicy(Base):
    """One immutable version of a township's control settings (JSON, see `finance.controls.policy`)."""

    __tablename__ = "control_policy"
    __table_args__ = (UniqueConstraint("township_id", "version", name="uq_control_policy_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CommitteeVote(Base):
    """One member's agreement at a committee step (村监会: k of n members must agree, ControlRules.committee).
    The k-th vote is the step's approval (a RequestAction); the votes before it are these rows."""

    __tablename__ = "committee_vote"
    __table_args__ = (UniqueConstraint("request_id", "round", "step", "user_id", name="uq_committee_vote"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class OriginalsReceipt(Base):
    """The agency's "原件已收": the paper vouchers of an approved request reached the agency (required
    before the cashier pays where the township's ControlRules.originals_before_payment is on)."""

    __tablename__ = "originals_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), unique=True)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    received_by: Mapped[User] = relationship(lazy="joined")

"""The tables of the risk flags (issue 12). Written only by finance/flags/scan.py and services.py; the
detectors read business rows and never write them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from finance.db import Base, Money, UTCDateTime, str_enum, utcnow


class FlagType(StrEnum):
    """The flag types of EXCHANGE.md §6 (the values are the export's `type`: never change one)."""

    SPLIT_PAYMENT = "split_payment"
    DUPLICATE_INVOICE = "duplicate_invoice"
    SHARED_ACCOUNT = "shared_account"
    RELATED_PAYEE = "related_payee"
    SELF_PAYEE = "self_payee"
    UNMATCHED_OUTFLOW = "unmatched_outflow"
    UNREGISTERED_INCOME = "unregistered_income"
    PAID_WITHOUT_STATEMENT = "paid_without_statement"
    PAYER_ACCOUNT_MISMATCH = "payer_account_mismatch"
    RECEIPT_AS_INVOICE = "receipt_as_invoice"
    SELLER_PAYEE_MISMATCH = "seller_payee_mismatch"
    NEGATIVE_LIST = "negative_list"
    FAST_APPROVAL = "fast_approval"
    NIGHT_APPROVAL = "night_approval"
    JUST_UNDER_BAND = "just_under_band"
    PAYEE_CONCENTRATION = "payee_concentration"
    NON_MEMBER_PAYEE = "non_member_payee"

    @property
    def label(self) -> str:
        return str(TYPE_LABELS[self])


TYPE_LABELS = {
    FlagType.SPLIT_PAYMENT: _l("拆分支付"),
    FlagType.DUPLICATE_INVOICE: _l("发票重复报销"),
    FlagType.SHARED_ACCOUNT: _l("一个账户多个收款人"),
    FlagType.RELATED_PAYEE: _l("收款人为干部关联人"),
    FlagType.SELF_PAYEE: _l("收款人为经办或审批人本人"),
    FlagType.UNMATCHED_OUTFLOW: _l("银行支出无对应申请"),
    FlagType.UNREGISTERED_INCOME: _l("银行收入未登记"),
    FlagType.PAID_WITHOUT_STATEMENT: _l("已支付但流水中无记录"),
    FlagType.PAYER_ACCOUNT_MISMATCH: _l("付款账户不是本村账户"),
    FlagType.RECEIPT_AS_INVOICE: _l("应附发票却附收据"),
    FlagType.SELLER_PAYEE_MISMATCH: _l("发票销售方与收款人不符"),
    FlagType.NEGATIVE_LIST: _l("负面清单"),
    FlagType.FAST_APPROVAL: _l("审批过快"),
    FlagType.NIGHT_APPROVAL: _l("夜间审批"),
    FlagType.JUST_UNDER_BAND: _l("金额略低于审批线"),
    FlagType.PAYEE_CONCENTRATION: _l("工程款集中于同一收款人"),
    FlagType.NON_MEMBER_PAYEE: _l("补贴分红对象不在成员名册"),
}


class Colour(StrEnum):
    RED = "red"
    YELLOW = "yellow"

    @property
    def label(self) -> str:
        return str(_l("红色") if self is Colour.RED else _l("黄色"))


class FlagStatus(StrEnum):
    OPEN = "open"
    CLEARED = "cleared"  # 已核实无异常
    ASKED = "asked"  # 需问询: a question is open on it

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {FlagStatus.OPEN: _l("待核实"), FlagStatus.CLEARED: _l("已核实无异常"), FlagStatus.ASKED: _l("需问询")}


class RiskFlag(Base):
    """One finding of a detector, raised once: `key` names the finding (type, what it is about), so a second
    scan that finds it again changes nothing. `evidence` is JSON (the rows, amounts, dates and attachments
    the evidence page shows); `summary` the Chinese sentence a liaison reads."""

    __tablename__ = "risk_flag"
    __table_args__ = (
        Index("ix_risk_flag_village_status", "village_id", "status", "severity"),
        UniqueConstraint("key", name="uq_risk_flag_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[FlagType] = mapped_column(str_enum(FlagType, 32), index=True)
    severity: Mapped[Colour] = mapped_column(str_enum(Colour, 8))
    status: Mapped[FlagStatus] = mapped_column(str_enum(FlagStatus, 8), default=FlagStatus.OPEN)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text, default="{}")
    request_numbers: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, as exported
    statement_lines: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of bank references
    amount: Mapped[Decimal | None] = mapped_column(Money())  # what is at stake, for ranking
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the latest business time involved
    source: Mapped[str] = mapped_column(String(16), default="scan")  # scan / submit
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    reason: Mapped[str | None] = mapped_column(Text)  # of the latest disposition
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RiskFlagRequest(Base):
    """Which requests a flag is about (a request's page shows its open flags)."""

    __tablename__ = "risk_flag_request"

    flag_id: Mapped[int] = mapped_column(ForeignKey("risk_flag.id", ondelete="CASCADE"), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id"), primary_key=True, index=True)


class FlagPayeeKey(Base):
    """A derived index the scan keeps (a cache, recomputable): each counted request's normalised payee
    account and name (finance/controls/normalise.py), so the incremental scan finds a new request's
    fellows across the district by an indexed lookup instead of normalising every row again."""

    __tablename__ = "flag_payee_key"

    request_id: Mapped[int] = mapped_column(ForeignKey("payment_request.id", ondelete="CASCADE"), primary_key=True)
    village_id: Mapped[int] = mapped_column(Integer)
    account_key: Mapped[str] = mapped_column(String(40), index=True)
    name_key: Mapped[str] = mapped_column(String(100), index=True)


class FlagScanState(Base):
    """Where the last scan stopped (one row per scanned source), so the next scan reads only what changed."""

    __tablename__ = "flag_scan_state"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    high_id: Mapped[int] = mapped_column(Integer, default=0)
    high_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ran_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FlagPolicy(Base):
    """One immutable version of a township's flag thresholds (JSON, see `finance.flags.policy`)."""

    __tablename__ = "flag_policy"
    __table_args__ = (UniqueConstraint("township_id", "version", name="uq_flag_policy_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

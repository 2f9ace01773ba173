"""The bank side of a village's money: its accounts, the statement lines the bank sent, the receipts the
accountant registered, the matches between lines and payments or receipts, the exceptions nobody has
explained yet, and the months the agency closed (扎账)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.auth.models import User
from finance.db import Base, Money, UTCDateTime, str_enum, utcnow
from finance.orgs.models import OrgUnit


class AccountKind(StrEnum):
    BASIC = "basic"  # 基本存款账户
    GENERAL = "general"  # 一般存款账户
    SPECIAL = "special"  # 专用存款账户 (a 专项 fund)

    @property
    def label(self) -> str:
        return str(_ACCOUNT_KIND_LABELS[self])


_ACCOUNT_KIND_LABELS = {AccountKind.BASIC: _l("基本户"), AccountKind.GENERAL: _l("一般户"),
                        AccountKind.SPECIAL: _l("专用户")}


class BankAccount(Base):
    """One of a village's own bank accounts, with the balance it had at the start of a date."""

    __tablename__ = "bank_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # digits only (controls.normalise)
    name: Mapped[str] = mapped_column(String(100))  # 账户名称
    bank_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, 16), default=AccountKind.BASIC)
    opening_date: Mapped[date] = mapped_column(Date)
    opening_balance: Mapped[Decimal] = mapped_column(Money())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    village: Mapped[OrgUnit] = relationship(lazy="joined")


class StatementImport(Base):
    """One statement file imported into one account: what the `statement_import` event names."""

    __tablename__ = "statement_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    line_count: Mapped[int] = mapped_column(Integer)  # lines in the file
    added_count: Mapped[int] = mapped_column(Integer)  # lines new to Sanzi (an overlap adds fewer)
    imported_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[BankAccount] = relationship(lazy="joined")
    imported_by: Mapped[User] = relationship()


class LineKind(StrEnum):
    """What a statement line is, once read: money for a request or a receipt, or a bank charge or
    interest recognised by its 摘要 and amount (booked without a request, listed, never dropped)."""

    PAYMENT = "payment"  # an outflow that should be a paid request
    INCOME = "income"  # an inflow that should be a registered receipt
    FEE = "fee"  # 手续费
    INTEREST = "interest"  # 利息

    @property
    def label(self) -> str:
        return str(_LINE_KIND_LABELS[self])


_LINE_KIND_LABELS = {LineKind.PAYMENT: _l("支出"), LineKind.INCOME: _l("收入"), LineKind.FEE: _l("手续费"),
                     LineKind.INTEREST: _l("利息")}


class StatementLine(Base):
    """One transaction of an account as the bank reported it; (account, 流水号) is its key, so a statement
    imported twice, or two overlapping ones, give each line once."""

    __tablename__ = "statement_line"
    __table_args__ = (
        UniqueConstraint("account_id", "serial_key", name="uq_statement_line_serial"),
        Index("ix_statement_line_account_date", "account_id", "value_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("statement_import.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)  # the row in the file that brought it
    serial: Mapped[str] = mapped_column(String(64))  # 流水号 as the bank wrote it
    serial_key: Mapped[str] = mapped_column(String(80), index=True)  # payments.references.normalise_reference
    value_date: Mapped[date] = mapped_column(Date)
    value_time: Mapped[time | None] = mapped_column(Time)
    debit: Mapped[Decimal] = mapped_column(Money())  # 借方: out
    credit: Mapped[Decimal] = mapped_column(Money())  # 贷方: in
    balance: Mapped[Decimal] = mapped_column(Money())  # 余额 after the line
    counterparty_name: Mapped[str] = mapped_column(String(100), default="")
    counterparty_account: Mapped[str] = mapped_column(String(40), default="")  # digits only
    counterparty_bank: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(String(200), default="")  # 摘要
    kind: Mapped[LineKind] = mapped_column(str_enum(LineKind, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[BankAccount] = relationship(lazy="joined")

    @property
    def amount(self) -> Decimal:
        return self.debit if self.debit else self.credit

    @property
    def outflow(self) -> bool:
        return bool(self.debit)


class ReceiptType(StrEnum):
    RENT = "rent"  # 租金
    CONTRACTING = "contracting"  # 发包
    SUBSIDY = "subsidy"  # 补助
    INTEREST = "interest"  # 利息
    OTHER = "other"  # 其他

    @property
    def label(self) -> str:
        return str(_RECEIPT_TYPE_LABELS[self])

    @classmethod
    def from_text(cls, text: str) -> ReceiptType | None:
        """A type from its value or its Chinese name (EXCHANGE.md §4 writes 租金)."""
        value = (text or "").strip()
        for member in cls:
            if value in (member.value, str(_RECEIPT_TYPE_NAMES[member]), member.label):
                return member
        return None


_RECEIPT_TYPE_NAMES = {ReceiptType.RENT: "租金", ReceiptType.CONTRACTING: "发包", ReceiptType.SUBSIDY: "补助",
                       ReceiptType.INTEREST: "利息", ReceiptType.OTHER: "其他"}
_RECEIPT_TYPE_LABELS = {ReceiptType.RENT: _l("租金"), ReceiptType.CONTRACTING: _l("发包"),
                        ReceiptType.SUBSIDY: _l("补助"), ReceiptType.INTEREST: _l("利息"),
                        ReceiptType.OTHER: _l("其他")}


class Receipt(Base):
    """Money coming in (收款登记), registered by the accountant and matched to an inflow line."""

    __tablename__ = "bank_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)  # SK2026000012
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("bank_account.id"), index=True)
    payer_name: Mapped[str] = mapped_column(String(100))
    payer_account: Mapped[str] = mapped_column(String(40), default="")  # digits only
    amount: Mapped[Decimal] = mapped_column(Money())
    type: Mapped[ReceiptType] = mapped_column(str_enum(ReceiptType, 16))
    receipt_number: Mapped[str] = mapped_column(String(40), default="")  # 收据号
    received_on: Mapped[date] = mapped_column(Date)
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(64))
    client_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    village: Mapped[OrgUnit] = relationship(lazy="joined")
    account: Mapped[BankAccount] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship()


class MatchRule(StrEnum):
    REFERENCE = "reference"  # the line's 流水号 is the payment's bank reference
    AMOUNT_ACCOUNT_DATE = "amount_account_date"  # amount, counterparty account, date within ±3 days
    MANUAL = "manual"  # a person chose it among the candidates

    @property
    def label(self) -> str:
        return str(_RULE_LABELS[self])


_RULE_LABELS = {MatchRule.REFERENCE: _l("流水号一致"), MatchRule.AMOUNT_ACCOUNT_DATE: _l("金额、账号、日期一致"),
                MatchRule.MANUAL: _l("人工选择")}


class MatchStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"

    @property
    def label(self) -> str:
        return str(_l("待确认") if self is MatchStatus.PROPOSED else _l("已确认"))


class BankMatch(Base):
    """A statement line matched to a payment (outflow) or a receipt (inflow). A line, a payment and a
    receipt are each in at most one match; an unmatch deletes the row (the trail keeps it)."""

    __tablename__ = "bank_match"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("statement_line.id"), unique=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), unique=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("bank_receipt.id"), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    rule: Mapped[MatchRule] = mapped_column(str_enum(MatchRule, 24))
    status: Mapped[MatchStatus] = mapped_column(str_enum(MatchStatus, 16))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)  # confirmed by the statement itself
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    line: Mapped[StatementLine] = relationship(lazy="joined")
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])


class ExceptionKind(StrEnum):
    """What did not match. The values are those of EXCHANGE.md §6's flag types where one exists."""

    UNMATCHED_OUTFLOW = "unmatched_outflow"  # 无申请支出
    UNREGISTERED_INCOME = "unregistered_income"  # 未登记收入
    PAID_WITHOUT_STATEMENT = "paid_without_statement"  # 已支付未见流水
    AMOUNT_MISMATCH = "amount_mismatch"  # 金额不符
    COUNTERPARTY_MISMATCH = "counterparty_mismatch"  # 对方账号不符

    @property
    def label(self) -> str:
        return str(_EXCEPTION_LABELS[self])


_EXCEPTION_LABELS = {
    ExceptionKind.UNMATCHED_OUTFLOW: _l("无申请支出"),
    ExceptionKind.UNREGISTERED_INCOME: _l("未登记收入"),
    ExceptionKind.PAID_WITHOUT_STATEMENT: _l("已支付未见流水"),
    ExceptionKind.AMOUNT_MISMATCH: _l("金额与申请不符"),
    ExceptionKind.COUNTERPARTY_MISMATCH: _l("对方账号与申请不符"),
}


class BankException(Base):
    """Something the statement and the books disagree on, open until a person explains it (a reason) or a
    confirmed match settles it. Raised once: a second check finds the same row."""

    __tablename__ = "bank_exception"
    __table_args__ = (
        UniqueConstraint("kind", "line_id", name="uq_bank_exception_line"),
        UniqueConstraint("kind", "payment_id", name="uq_bank_exception_payment"),
        Index("ix_bank_exception_village_open", "village_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    kind: Mapped[ExceptionKind] = mapped_column(str_enum(ExceptionKind, 32))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("statement_line.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    value_date: Mapped[date] = mapped_column(Date)  # the line's date, or the payment's
    amount: Mapped[Decimal] = mapped_column(Money())
    detail: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    close_reason: Mapped[str | None] = mapped_column(Text)

    village: Mapped[OrgUnit] = relationship(lazy="joined")
    line: Mapped[StatementLine | None] = relationship()
    closed_by: Mapped[User | None] = relationship()


class BankSettings(Base):
    """A township's limits for recognising bank charges and interest by the 摘要, and how many days after
    a payment its line must have appeared. Editable data: townships differ."""

    __tablename__ = "bank_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), unique=True)
    fee_words: Mapped[str] = mapped_column(String(200))
    fee_limit: Mapped[Decimal] = mapped_column(Money())
    interest_words: Mapped[str] = mapped_column(String(200))
    interest_limit: Mapped[Decimal] = mapped_column(Money())
    paid_grace_days: Mapped[int] = mapped_column(Integer)
    mask_public_names: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MonthClose(Base):
    """A village's month closed by the agency (扎账): its lines, matches and balances no longer change."""

    __tablename__ = "month_close"
    __table_args__ = (UniqueConstraint("village_id", "period", name="uq_month_close_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # per account: opening, inflows, outflows, closing (as the close event records them)
    balances: Mapped[str] = mapped_column(Text)

    closed_by: Mapped[User] = relationship()

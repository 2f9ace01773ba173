"""Reads of the bank side: a village's accounts, its statement lines and what they matched, the candidates
for a line, the exceptions (for people and for the risk flags), the balances of a month."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select

from finance.bank.models import (
    BankAccount,
    BankException,
    BankMatch,
    BankSettings,
    ExceptionKind,
    LineKind,
    MatchStatus,
    MonthClose,
    Receipt,
    StatementImport,
    StatementLine,
)
from finance.controls.normalise import normalise_account
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.payments.models import Payment
from finance.workflow import State

ZERO = Decimal("0.00")
DATE_WINDOW = timedelta(days=3)  # the second matching rule: the line's date within ±3 days of the payment's


def village_by_code(code: str) -> OrgUnit | None:
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()


def exception_by_id(exception_id: int) -> BankException | None:
    return db.session.get(BankException, exception_id)


# --- accounts and settings --------------------------------------------------------------------------------------


def accounts_of(village: OrgUnit) -> list[BankAccount]:
    return list(db.session.execute(
        select(BankAccount).where(BankAccount.village_id == village.id).order_by(BankAccount.kind, BankAccount.id)
    ).scalars())


def village_account_numbers(village: OrgUnit) -> set[str]:
    """The village's own accounts, digits only: those set up here, and the one its org unit names (the
    basic account, from the org-unit import). A payment must come from one of them."""
    numbers = {a.number for a in accounts_of(village)}
    if village.bank_account:
        numbers.add(normalise_account(village.bank_account))
    return {n for n in numbers if n}


def account_by_number(number: str) -> BankAccount | None:
    key = normalise_account(number)
    if not key:
        return None
    return db.session.execute(select(BankAccount).where(BankAccount.number == key)).scalar_one_or_none()


@dataclass(frozen=True)
class Limits:
    """A township's limits (BankSettings, or the defaults where the township set none)."""

    fee_words: tuple[str, ...]
    fee_limit: Decimal
    interest_words: tuple[str, ...]
    interest_limit: Decimal
    paid_grace_days: int
    mask_public_names: bool


DEFAULT_FEE_WORDS = "手续费;汇划费;工本费;年费;账户管理费;短信费"
DEFAULT_INTEREST_WORDS = "利息;结息"
DEFAULT_FEE_LIMIT = Decimal("200.00")
DEFAULT_INTEREST_LIMIT = Decimal("5000.00")
DEFAULT_GRACE_DAYS = 5


def split_words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.replace("；", ";").replace("，", ";").replace(",", ";").split(";")
                 if w.strip())


def settings_row(township: OrgUnit | None) -> BankSettings | None:
    if township is None:
        return None
    return db.session.execute(
        select(BankSettings).where(BankSettings.township_id == township.id)
    ).scalar_one_or_none()


def limits_for(village: OrgUnit) -> Limits:
    row = settings_row(village.township)
    if row is None:
        return Limits(split_words(DEFAULT_FEE_WORDS), DEFAULT_FEE_LIMIT, split_words(DEFAULT_INTEREST_WORDS),
                      DEFAULT_INTEREST_LIMIT, DEFAULT_GRACE_DAYS, True)
    return Limits(split_words(row.fee_words), row.fee_limit, split_words(row.interest_words), row.interest_limit,
                  row.paid_grace_days, row.mask_public_names)


def line_kind(limits: Limits, summary: str, debit: Decimal, credit: Decimal) -> LineKind:
    """A line's kind: a bank charge or interest when its 摘要 names one and its amount is within the
    township's limit; otherwise money for a request (out) or a receipt (in)."""
    if debit:
        if debit <= limits.fee_limit and any(w in summary for w in limits.fee_words):
            return LineKind.FEE
        return LineKind.PAYMENT
    if credit <= limits.interest_limit and any(w in summary for w in limits.interest_words):
        return LineKind.INTEREST
    return LineKind.INCOME


# --- months ---------------------------------------------------------------------------------------------------


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(period: str) -> tuple[date, date]:
    year, month = int(period[:4]), int(period[5:7])
    first = date(year, month, 1)
    return first, date(year + (month == 12), month % 12 + 1, 1)


def closed_periods(village_id: int) -> set[str]:
    return set(db.session.execute(select(MonthClose.period).where(MonthClose.village_id == village_id)).scalars())


def month_close(village: OrgUnit, period: str) -> MonthClose | None:
    return db.session.execute(
        select(MonthClose).where(MonthClose.village_id == village.id, MonthClose.period == period)
    ).scalar_one_or_none()


@dataclass
class AccountMonth:
    """One account in one month: opening + inflows − outflows = closing, and the statement's last 余额."""

    account: BankAccount
    opening: Decimal
    inflows: Decimal
    outflows: Decimal
    statement_closing: Decimal | None  # the last line's 余额 (None: no line this month)
    lines: int

    @property
    def closing(self) -> Decimal:
        return self.opening + self.inflows - self.outflows

    @property
    def agrees(self) -> bool:
        return self.statement_closing is None or self.statement_closing == self.closing

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account.number, "opening": self.opening, "inflows": self.inflows,
                "outflows": self.outflows, "closing": self.closing, "statement_closing": self.statement_closing}


def line_order() -> tuple[Any, ...]:
    return (StatementLine.value_date, StatementLine.value_time, StatementLine.import_id, StatementLine.row_number,
            StatementLine.id)


def month_balances(village: OrgUnit, period: str) -> list[AccountMonth]:
    first, following = month_bounds(period)
    out = []
    for account in accounts_of(village):
        if account.opening_date >= following:
            continue
        start = max(first, account.opening_date)
        base = select(func.coalesce(func.sum(StatementLine.credit), 0), func.coalesce(func.sum(StatementLine.debit), 0),
                      func.count(StatementLine.id)).where(StatementLine.account_id == account.id)
        before_in, before_out, _n = db.session.execute(
            base.where(StatementLine.value_date >= account.opening_date, StatementLine.value_date < start)).one()
        month_in, month_out, count = db.session.execute(
            base.where(StatementLine.value_date >= start, StatementLine.value_date < following)).one()
        last = db.session.execute(
            select(StatementLine.balance).where(StatementLine.account_id == account.id,
                                                StatementLine.value_date >= start,
                                                StatementLine.value_date < following)
            .order_by(*[c.desc() for c in line_order()]).limit(1)
        ).scalar_one_or_none()
        opening = account.opening_balance + _money(before_in) - _money(before_out)
        out.append(AccountMonth(account, opening, _money(month_in), _money(month_out), last, int(count)))
    return out


def _money(value: Any) -> Decimal:
    """A SUM of a Money column (the column's type reads it back as Decimal, on SQLite from cents too)."""
    if value is None:
        return ZERO
    return Decimal(value).quantize(Decimal("0.01"))


@dataclass
class MonthState:
    """One month of a village as the months page shows it: its balances per account, closed or not, and
    what keeps it open (open exceptions, lines waiting for a match)."""

    period: str
    balances: list[AccountMonth]
    closed: bool
    open_exceptions: int
    unsettled: int


def months_of(village: OrgUnit, today: date, last: int = 12) -> list[MonthState]:
    """The village's months from its first account's opening to `today`'s, the newest `last`, newest
    first (the months page and the API)."""
    periods = []
    accounts = accounts_of(village)
    if accounts:
        day = min(a.opening_date for a in accounts).replace(day=1)
        while day <= today:
            periods.append(period_of(day))
            day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    closed = closed_periods(village.id)
    return [month_state(village, p, p in closed) for p in reversed(periods[-last:])]


def month_state(village: OrgUnit, period: str, closed: bool | None = None) -> MonthState:
    """One month of the village (`closed` when the caller knows it)."""
    if closed is None:
        closed = month_close(village, period) is not None
    return MonthState(period, month_balances(village, period), closed, open_exceptions_in(village, period),
                      unsettled_lines_in(village, period))


def closed_balances(close: MonthClose) -> list[dict[str, Any]]:
    return list(json.loads(close.balances))


def unmatched_payment() -> ColumnElement[bool]:
    """No match holds this payment (NOT EXISTS on the unique index: an anti-join whatever the statistics)."""
    return ~exists().where(BankMatch.payment_id == Payment.id)


def unmatched_line() -> ColumnElement[bool]:
    return ~exists().where(BankMatch.line_id == StatementLine.id)


def unmatched_receipt() -> ColumnElement[bool]:
    return ~exists().where(BankMatch.receipt_id == Receipt.id)


# --- lines, matches, candidates --------------------------------------------------------------------------------


def lines_of(village: OrgUnit, period: str | None = None, only_open: bool = False,
             limit: int = 500, offset: int = 0) -> list[tuple[StatementLine, BankMatch | None]]:
    """A village's statement lines (newest first) with their match; `only_open`: those a person still has
    to look at (no match, or a match not yet confirmed); `offset` skips that many (the API's pages)."""
    stmt = (select(StatementLine, BankMatch).outerjoin(BankMatch, BankMatch.line_id == StatementLine.id)
            .where(StatementLine.village_id == village.id))
    if period:
        first, following = month_bounds(period)
        stmt = stmt.where(StatementLine.value_date >= first, StatementLine.value_date < following)
    if only_open:
        stmt = stmt.where(StatementLine.kind.in_((LineKind.PAYMENT, LineKind.INCOME)),
                          or_(BankMatch.id.is_(None), BankMatch.status == MatchStatus.PROPOSED))
    rows = db.session.execute(stmt.order_by(*[c.desc() for c in line_order()]).offset(offset).limit(limit)).all()
    return [(line, match) for line, match in rows]


def match_for_line(line: StatementLine) -> BankMatch | None:
    return db.session.execute(select(BankMatch).where(BankMatch.line_id == line.id)).scalar_one_or_none()


def payment_candidates(line: StatementLine) -> list[tuple[Payment, PaymentRequest]]:
    """Paid requests of the line's village not yet matched whose amount and payee account are the line's
    and whose payment date lies within ±3 days of it: what a person chooses among."""
    rows = db.session.execute(
        select(Payment, PaymentRequest).join(PaymentRequest, Payment.request_id == PaymentRequest.id)
        .where(PaymentRequest.village_id == line.village_id, PaymentRequest.state == State.PAID,
               Payment.amount == line.debit,
               Payment.value_date >= line.value_date - DATE_WINDOW,
               Payment.value_date <= line.value_date + DATE_WINDOW,
               unmatched_payment())
        .order_by(Payment.value_date, Payment.id)
    ).all()
    return [(p, r) for p, r in rows if normalise_account(p.payee_account) == line.counterparty_account]


def receipt_candidates(line: StatementLine) -> list[Receipt]:
    rows = db.session.execute(
        select(Receipt).where(Receipt.account_id == line.account_id, Receipt.amount == line.credit,
                              Receipt.received_on >= line.value_date - DATE_WINDOW,
                              Receipt.received_on <= line.value_date + DATE_WINDOW,
                              unmatched_receipt())
        .order_by(Receipt.received_on, Receipt.id)
    ).scalars()
    return [r for r in rows if not r.payer_account or r.payer_account == line.counterparty_account]


def receipts_of(village: OrgUnit, limit: int = 200) -> list[tuple[Receipt, BankMatch | None]]:
    rows = db.session.execute(
        select(Receipt, BankMatch).outerjoin(BankMatch, BankMatch.receipt_id == Receipt.id)
        .where(Receipt.village_id == village.id).order_by(Receipt.received_on.desc(), Receipt.id.desc()).limit(limit)
    ).all()
    return [(r, m) for r, m in rows]


def imports_of(village: OrgUnit, limit: int = 20) -> list[StatementImport]:
    return list(db.session.execute(
        select(StatementImport).join(BankAccount, StatementImport.account_id == BankAccount.id)
        .where(BankAccount.village_id == village.id).order_by(StatementImport.id.desc()).limit(limit)
    ).scalars())


# --- exceptions ------------------------------------------------------------------------------------------------


def exceptions_query(village_ids: Iterable[int] | Select[Any], *, kinds: Sequence[ExceptionKind] | None = None,
                     open_only: bool = True, since: date | None = None, until: date | None = None
                     ) -> Select[Any]:
    """The exceptions of the given villages as a query (newest first), for pages and for the risk flags
    (issue 12): `village_ids` is a list of ids or a select of ids (`permissions.jurisdiction(user)`),
    `kinds` limits the kinds, `open_only` leaves out those closed with a reason or settled by a match,
    `since`/`until` bound the line's (or payment's) date, both inclusive."""
    ids = village_ids if isinstance(village_ids, Select) else list(village_ids)
    stmt = select(BankException).where(BankException.village_id.in_(ids))
    if kinds:
        stmt = stmt.where(BankException.kind.in_(list(kinds)))
    if open_only:
        stmt = stmt.where(BankException.closed_at.is_(None))
    if since is not None:
        stmt = stmt.where(BankException.value_date >= since)
    if until is not None:
        stmt = stmt.where(BankException.value_date <= until)
    return stmt.order_by(BankException.value_date.desc(), BankException.id.desc())


def exceptions(village_ids: Iterable[int] | Select[Any], *, kinds: Sequence[ExceptionKind] | None = None,
               open_only: bool = True, since: date | None = None, until: date | None = None,
               limit: int | None = 500) -> list[BankException]:
    """`exceptions_query` run: the BankException rows (with `village` and `line` loaded as needed)."""
    stmt = exceptions_query(village_ids, kinds=kinds, open_only=open_only, since=since, until=until)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def open_exceptions_in(village: OrgUnit, period: str) -> int:
    first, following = month_bounds(period)
    return int(db.session.execute(
        select(func.count(BankException.id)).where(
            BankException.village_id == village.id, BankException.closed_at.is_(None),
            BankException.value_date >= first, BankException.value_date < following)
    ).scalar_one())


def unsettled_lines_in(village: OrgUnit, period: str) -> int:
    """Lines of the month for a request or a receipt without a confirmed match (and without an open
    exception, which is counted on its own): waiting for a person to choose or confirm."""
    first, following = month_bounds(period)
    confirmed = ~exists().where(BankMatch.line_id == StatementLine.id, BankMatch.status == MatchStatus.CONFIRMED)
    explained = ~exists().where(BankException.line_id == StatementLine.id, BankException.closed_at.is_not(None))
    return int(db.session.execute(
        select(func.count(StatementLine.id)).where(
            StatementLine.village_id == village.id, StatementLine.value_date >= first,
            StatementLine.value_date < following,
            StatementLine.kind.in_((LineKind.PAYMENT, LineKind.INCOME)),
            confirmed, explained)
    ).scalar_one())


def paid_unmatched(village: OrgUnit, before: date) -> list[Payment]:
    """Payments of the village still waiting for their line, paid on or before `before`."""
    return list(db.session.execute(
        select(Payment).join(PaymentRequest, Payment.request_id == PaymentRequest.id)
        .where(PaymentRequest.village_id == village.id, PaymentRequest.state == State.PAID,
               Payment.value_date <= before, unmatched_payment())
    ).scalars())


def exception_counts(village_ids: Iterable[int] | Select[Any]) -> dict[ExceptionKind, int]:
    ids = village_ids if isinstance(village_ids, Select) else list(village_ids)
    rows = db.session.execute(
        select(BankException.kind, func.count(BankException.id))
        .where(BankException.village_id.in_(ids), BankException.closed_at.is_(None)).group_by(BankException.kind)
    ).all()
    return {kind: int(n) for kind, n in rows}


def open_exception_counts_by_village(village_ids: Iterable[int]) -> dict[int, int]:
    """Open exceptions per village (the district page's column)."""
    rows = db.session.execute(
        select(BankException.village_id, func.count(BankException.id))
        .where(BankException.village_id.in_(list(village_ids)), BankException.closed_at.is_(None))
        .group_by(BankException.village_id)
    ).all()
    return {int(vid): int(n) for vid, n in rows}


def payment_match(payment: Payment) -> BankMatch | None:
    return db.session.execute(select(BankMatch).where(BankMatch.payment_id == payment.id)).scalar_one_or_none()



# --- disclosure (财务公开) ---------------------------------------------------------------------------------------


@dataclass
class SheetLine:
    """One line of the month's disclosure, read off the statement: who, what for, how much."""

    value_date: date
    number: str  # the request's or the receipt's number ("" for a charge or interest)
    name: str  # payee or payer (masked on the public page)
    purpose: str
    subject: str  # the account subject (spending) or the type of income
    amount: Decimal


@dataclass
class MonthSheet:
    """A closed month as the statement shows it: opening + income − spending = closing, for all the
    village's accounts together."""

    period: str
    opening: Decimal
    income: list[SheetLine]
    spending: list[SheetLine]
    closing: Decimal
    statement_closing: Decimal

    @property
    def income_total(self) -> Decimal:
        return sum((line.amount for line in self.income), ZERO)

    @property
    def spending_total(self) -> Decimal:
        return sum((line.amount for line in self.spending), ZERO)

    @property
    def balances(self) -> bool:
        return self.opening + self.income_total - self.spending_total == self.closing == self.statement_closing


def month_sheet(village: OrgUnit, period: str) -> MonthSheet | None:
    """The month's income and spending lines and balances, from the statement, once the month is closed
    (None before: a month still open says so instead of printing numbers)."""
    from finance.bank.models import ReceiptType
    from finance.orgs.models import AccountSubject

    if month_close(village, period) is None:
        return None
    first, following = month_bounds(period)
    accounts = month_balances(village, period)
    rows = db.session.execute(
        select(StatementLine, BankMatch, Receipt, Payment, PaymentRequest, AccountSubject)
        .outerjoin(BankMatch, BankMatch.line_id == StatementLine.id)
        .outerjoin(Receipt, Receipt.id == BankMatch.receipt_id)
        .outerjoin(Payment, Payment.id == BankMatch.payment_id)
        .outerjoin(PaymentRequest, PaymentRequest.id == Payment.request_id)
        .outerjoin(AccountSubject, AccountSubject.id == PaymentRequest.subject_id)
        .where(StatementLine.village_id == village.id, StatementLine.value_date >= first,
               StatementLine.value_date < following)
        .order_by(*line_order())
    ).all()
    explained = {e.line_id: e.close_reason or "" for e in db.session.execute(
        select(BankException).where(BankException.village_id == village.id, BankException.line_id.is_not(None),
                                    BankException.value_date >= first, BankException.value_date < following)
    ).scalars()}
    income, spending = [], []
    for line, _match, receipt, payment, req, subject in rows:
        if line.credit:
            if receipt is not None:
                income.append(SheetLine(line.value_date, receipt.number or "", receipt.payer_name,
                                        receipt.receipt_number, receipt.type.label, line.credit))
            else:
                kind = ReceiptType.INTEREST.label if line.kind is LineKind.INTEREST else line.kind.label
                income.append(SheetLine(line.value_date, "", line.counterparty_name or line.summary,
                                        explained.get(line.id, line.summary), kind, line.credit))
        elif req is not None and payment is not None:
            spending.append(SheetLine(line.value_date, req.number or "", payment.payee_name, req.purpose,
                                      f"{subject.code} {subject.name}" if subject else "", line.debit))
        else:
            spending.append(SheetLine(line.value_date, "", line.counterparty_name or line.summary,
                                      explained.get(line.id, line.summary), line.kind.label, line.debit))
    opening = sum((a.opening for a in accounts), ZERO)
    closing = sum((a.closing for a in accounts), ZERO)
    statement = sum((a.statement_closing if a.statement_closing is not None else a.closing for a in accounts), ZERO)
    return MonthSheet(period, opening, income, spending, closing, statement)

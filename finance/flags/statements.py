"""What the statement-based detectors share: the statement lines to look at, the payments and receipts they
could stand for. The matching itself is the bank package's (finance/bank: reference, then amount + account
+ date within ±3 days; its matches and candidates); these readings only make sure a flag is not raised
where a payment or receipt that fits exists but was not matched yet (history imported after the statement)
or exists only as imported history (history receipts, which the bank's matching does not read)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select

from finance.bank.models import BankMatch, LineKind, Receipt, StatementLine
from finance.bank.queries import DATE_WINDOW
from finance.controls.normalise import normalise_account
from finance.extensions import db
from finance.flags.data import Data, chunks
from finance.payment_requests.models import HistoryReceipt, PaymentRequest
from finance.payments.models import Payment
from finance.timefmt import CST, to_local
from finance.workflow import State

PAID = (State.PAID, State.RECONCILED)


@dataclass(slots=True)
class Line:
    id: int
    village_id: int
    account_id: int
    serial: str
    serial_key: str
    value_date: date
    debit: Decimal
    credit: Decimal
    counterparty_name: str
    counterparty_account: str
    summary: str

    def at(self) -> datetime:
        return datetime.combine(self.value_date, time(12), CST)

    def evidence(self) -> dict[str, Any]:
        return {"serial": self.serial, "date": self.value_date.isoformat(), "debit": str(self.debit),
                "credit": str(self.credit), "counterparty": self.counterparty_name,
                "counterparty_account": self.counterparty_account, "summary": self.summary}


_COLUMNS = (StatementLine.id, StatementLine.village_id, StatementLine.account_id, StatementLine.serial,
            StatementLine.serial_key, StatementLine.value_date, StatementLine.debit, StatementLine.credit,
            StatementLine.counterparty_name, StatementLine.counterparty_account, StatementLine.summary)


def unmatched_lines(data: Data, kind: LineKind) -> list[Line]:
    """Lines of `kind` (the scan's new lines, or all on a full scan) that the bank left without a match."""
    matched = exists().where(BankMatch.line_id == StatementLine.id)
    stmt = select(*_COLUMNS).where(StatementLine.kind == kind, ~matched)
    if data.full:
        return [Line(*row) for row in db.session.execute(stmt)]
    out: list[Line] = []
    for chunk in chunks(sorted(data.lines)):
        out.extend(Line(*row) for row in db.session.execute(stmt.where(StatementLine.id.in_(chunk))))
    return out


@dataclass(slots=True)
class Paid:
    request_id: int
    payment_id: int
    village_id: int
    reference: str  # the normalised reference as the bank reads it (history's "#number" suffix taken off)
    amount: Decimal
    payee_account: str
    value_date: date


def payments_of(village_ids: set[int], since: date | None = None, until: date | None = None,
                request_ids: set[int] | None = None) -> dict[int, list[Paid]]:
    """The paid requests' payments of these villages (paid between `since` and `until`, or of these
    requests, when given)."""
    out: dict[int, list[Paid]] = defaultdict(list)
    stmt = (select(Payment.request_id, Payment.id, PaymentRequest.village_id, Payment.reference_key, Payment.amount,
                   Payment.payee_account, Payment.value_date)
            .join(PaymentRequest, PaymentRequest.id == Payment.request_id).where(PaymentRequest.state.in_(PAID)))
    if since is not None:
        stmt = stmt.where(Payment.value_date >= since)
    if until is not None:
        stmt = stmt.where(Payment.value_date <= until)
    if request_ids is not None:
        stmt = stmt.where(Payment.request_id.in_(sorted(request_ids)))
    for chunk in chunks(sorted(village_ids)):
        rows = db.session.execute(stmt.where(PaymentRequest.village_id.in_(chunk)))
        for rid, pid, vid, key, amount, payee, day in rows:
            out[vid].append(Paid(rid, pid, vid, (key or "").split("#", 1)[0], amount, normalise_account(payee), day))
    return out


def fits(line: Line, paid: Paid) -> bool:
    """The bank's two rules: the reference, or amount + payee account + date within ±3 days."""
    if paid.reference and paid.reference == line.serial_key:
        return True
    return (paid.amount == line.debit and paid.payee_account == line.counterparty_account
            and abs((paid.value_date - line.value_date).days) <= DATE_WINDOW.days)


def receipts_fit(lines: list[Line]) -> set[int]:
    """The inflow lines that a registered receipt (the bank's rule) or an imported history receipt fits."""
    if not lines:
        return set()
    villages = {line.village_id for line in lines}
    low = min(line.value_date for line in lines) - DATE_WINDOW
    high = max(line.value_date for line in lines) + DATE_WINDOW
    receipts: dict[int, list[tuple[Decimal, date, str]]] = defaultdict(list)
    for account_id, amount, day, payer in db.session.execute(
            select(Receipt.account_id, Receipt.amount, Receipt.received_on, Receipt.payer_account)
            .where(Receipt.village_id.in_(villages), Receipt.received_on >= low, Receipt.received_on <= high)):
        receipts[account_id].append((amount, day, normalise_account(payer)))
    history: dict[int, list[tuple[Decimal, date, str]]] = defaultdict(list)
    since = datetime.combine(low, time(0), CST)
    until = datetime.combine(high + timedelta(days=1), time(0), CST)
    for vid, amount, at, payer in db.session.execute(
            select(HistoryReceipt.village_id, HistoryReceipt.amount, HistoryReceipt.received_at,
                   HistoryReceipt.payer_account)
            .where(HistoryReceipt.village_id.in_(villages), HistoryReceipt.received_at >= since,
                   HistoryReceipt.received_at < until)):
        history[vid].append((amount, to_local(at).date(), normalise_account(payer)))
    out = set()
    for line in lines:
        for amount, day, payer in receipts.get(line.account_id, []) + history.get(line.village_id, []):
            if amount == line.credit and abs((day - line.value_date).days) <= DATE_WINDOW.days and (
                    not payer or payer == line.counterparty_account):
                out.add(line.id)
                break
    return out


def covered_villages(village_ids: set[int] | None) -> dict[int, tuple[date, date]]:
    """For each village with statement lines: the first and last day its statements cover."""
    stmt = select(StatementLine.village_id, func.min(StatementLine.value_date), func.max(StatementLine.value_date)
                  ).group_by(StatementLine.village_id)
    if village_ids is not None:
        stmt = stmt.where(StatementLine.village_id.in_(sorted(village_ids)))
    return {vid: (low, high) for vid, low, high in db.session.execute(stmt)}


def seen_payments(village_ids: set[int], payment_ids: set[int], since: date | None = None,
                  until: date | None = None) -> tuple[set[int], dict[int, list[Line]]]:
    """(these payments the bank matched, the outflow lines of these villages dated between `since` and
    `until`, by village)."""
    matched: set[int] = set()
    for chunk in chunks(sorted(payment_ids)):
        matched |= {pid for pid in db.session.execute(select(BankMatch.payment_id).where(
            BankMatch.payment_id.in_(chunk))).scalars() if pid is not None}
    lines: dict[int, list[Line]] = defaultdict(list)
    stmt = select(*_COLUMNS).where(StatementLine.debit > 0)
    if since is not None:
        stmt = stmt.where(StatementLine.value_date >= since - DATE_WINDOW)
    if until is not None:
        stmt = stmt.where(StatementLine.value_date <= until + DATE_WINDOW)
    for chunk in chunks(sorted(village_ids)):
        for row in db.session.execute(stmt.where(StatementLine.village_id.in_(chunk))):
            line = Line(*row)
            lines[line.village_id].append(line)
    return matched, lines

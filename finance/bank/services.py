"""State changes of the bank side: accounts, statement imports, matches, receipts, exceptions and month
close. Each is one function that checks the permission (one `can()`) and the closed months, changes the
rows and records its audit event in the same transaction; nothing here commits (the page, the CLI or the
API commits the unit of work, or rolls it back).

The statement is the independent witness: a request reaches 已对账 only through a confirmed match of one
of its account's lines, confirmed by the statement itself (the same reference, amount and accounts) or by
the agency reviewer (审核会计), never by whoever paid it (the workflow table's bar, checked in
`payment_requests.services.transition`)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from finance import storage, trail
from finance.auth.models import User
from finance.bank import queries
from finance.bank.models import (
    AccountKind,
    BankAccount,
    BankException,
    BankMatch,
    BankSettings,
    ExceptionKind,
    LineKind,
    MatchRule,
    MatchStatus,
    MonthClose,
    Receipt,
    ReceiptType,
    StatementImport,
    StatementLine,
)
from finance.controls.normalise import account_error, normalise_account
from finance.db import utcnow
from finance.errors import AlreadyHandled, Forbidden, InputError, NotFound
from finance.extensions import db
from finance.imports.reader import ImportFileError, Problem, Table, read_table
from finance.money import format_amount
from finance.notices.dispatch import alert_agency
from finance.orgs.models import OrgUnit
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payments.models import Payment
from finance.payments.references import normalise_reference
from finance.permissions import Permission, can
from finance.roles import OrgKind, Role
from finance.timefmt import today_local
from finance.trail import AuditAction, AuditSubject
from finance.workflow import Action, State

MAX_REASON = 1000
T = TypeVar("T")
SYSTEM_REASON_MATCHED = "已由确认的对账匹配解决"


class BankError(InputError):
    """Input the user must correct (field -> message in `errors`)."""


class MonthNotClosable(AlreadyHandled):
    """The month's state does not allow closing it yet (a 409 giving the reasons): open exceptions, lines
    waiting for a match, balances that disagree, an earlier month still open, a month not yet begun."""


def _role_over(user: User, village: OrgUnit, permission: Permission) -> Role:
    """The role in which `user` may do `permission` over `village`: Forbidden if none, NotFound when the
    village is not theirs to see at all."""
    if not can(user, permission, village):
        if not (user.roles_at(village)):
            raise NotFound(village.id)
        raise Forbidden(permission)
    from finance.permissions import PERMISSION_ROLES

    roles = user.roles_at(village) & PERMISSION_ROLES[permission]
    return sorted(roles)[0]


def _check_open(village: OrgUnit, day: date, what: str = "") -> None:
    period = queries.period_of(day)
    if period in queries.closed_periods(village.id):
        raise BankError(_("%(period)s 已扎账，不能再更改%(what)s；更正请在下一个未扎账的月份另行登记。", period=period,
                          what=what or _("该月的内容")))


# --- accounts --------------------------------------------------------------------------------------------------


@dataclass
class AccountInput:
    number: str
    name: str
    bank_name: str = ""
    kind: AccountKind = AccountKind.BASIC
    opening_date: date | None = None
    opening_balance: Decimal | None = None
    reason: str = ""


def set_account(user: User, village: OrgUnit, data: AccountInput, *, new: bool = False) -> BankAccount:
    """Set up one of the village's accounts with its opening balance at a date, or change it (a change
    needs a reason). The agency or the admin; one `bank_account_set` event. `new`: only set one up (the
    API's create; an account already set up is a 409, changed by naming it)."""
    role = _role_over(user, village, Permission.BANK_ACCOUNT_MANAGE)
    errors: dict[str, str] = {}
    if village.kind != OrgKind.VILLAGE:
        raise NotFound(village.id)
    if message := account_error(data.number):
        errors["number"] = message
    if not data.name.strip():
        errors["name"] = _("请填写账户名称。")
    elif len(data.name.strip()) > 100:
        errors["name"] = _("最多 %(n)d 个字。", n=100)
    if len(data.bank_name.strip()) > 100:
        errors["bank_name"] = _("最多 %(n)d 个字。", n=100)
    if data.opening_date is None:
        errors["opening_date"] = _("请填写期初余额的日期。")
    if data.opening_balance is None:
        errors["opening_balance"] = _("请填写期初余额。")
    if errors:
        raise BankError(next(iter(errors.values())) if len(errors) == 1 else _("请检查标红的项目。"), errors)
    assert data.opening_date is not None and data.opening_balance is not None
    number = normalise_account(data.number)
    account = queries.account_by_number(number)
    if account is not None and account.village_id != village.id:
        raise BankError(_("该账号已登记为其他村的账户。"), {"number": _("该账号已登记为其他村的账户。")})
    reason = data.reason.strip()
    before: dict[str, Any] | None = None
    if account is not None and new:
        raise AlreadyHandled(_("该账号已设置为本村账户；修改须写明理由。"))
    if account is not None:
        if not reason:
            raise BankError(_("修改已设置的账户须填写理由。"), {"reason": _("修改已设置的账户须填写理由。")})
        if len(reason) > MAX_REASON:
            raise BankError(_("理由最多 1000 字。"), {"reason": _("理由最多 1000 字。")})
        if data.opening_date != account.opening_date or data.opening_balance != account.opening_balance:
            _check_open(village, min(data.opening_date, account.opening_date), _("期初余额"))
        before = _account_snapshot(account)
    else:
        account = BankAccount(village_id=village.id, number=number, created_at=utcnow())
        db.session.add(account)
    account.name = data.name.strip()
    account.bank_name = data.bank_name.strip()
    account.kind = data.kind
    account.opening_date = data.opening_date
    account.opening_balance = data.opening_balance
    account.updated_at = utcnow()
    db.session.flush()
    after = _account_snapshot(account)
    if before is not None:
        keys = [k for k in after if before.get(k) != after[k]]
        if not keys:
            return account
        before, after = {k: before[k] for k in keys}, {k: after[k] for k in keys}
    trail.record(village=village, user=user, role=role, action=AuditAction.BANK_ACCOUNT_SET,
                 subject_type=AuditSubject.BANK_ACCOUNT, subject_id=account.id, before=before, after=after,
                 reason=reason or None)
    return account


def _account_snapshot(account: BankAccount) -> dict[str, Any]:
    return {"number": account.number, "name": account.name, "bank_name": account.bank_name,
            "kind": account.kind.value, "opening_date": account.opening_date,
            "opening_balance": account.opening_balance}


def set_settings(user: User, township: OrgUnit, *, fee_words: str, fee_limit: Decimal, interest_words: str,
                 interest_limit: Decimal, paid_grace_days: int, mask_public_names: bool) -> BankSettings:
    """A township's limits for charges and interest, the days a payment's line may take, and whether the
    public page masks private names. The agency reviewer of the township or the admin; one event."""
    roles = user.roles_at(township) & {Role.AGENCY_REVIEWER, Role.ADMIN}
    if township.kind != OrgKind.TOWNSHIP or not roles:
        raise Forbidden(Permission.BANK_ACCOUNT_MANAGE)
    if fee_limit < 0 or interest_limit < 0 or not 0 <= paid_grace_days <= 60:
        raise BankError(_("设置的数值不正确。"))
    row = queries.settings_row(township)
    before = _settings_snapshot(row) if row else None
    if row is None:
        row = BankSettings(township_id=township.id)
        db.session.add(row)
    row.fee_words, row.fee_limit = ";".join(queries.split_words(fee_words)), fee_limit
    row.interest_words, row.interest_limit = ";".join(queries.split_words(interest_words)), interest_limit
    row.paid_grace_days, row.mask_public_names, row.updated_at = paid_grace_days, mask_public_names, utcnow()
    db.session.flush()
    trail.record(village=None, user=user, role=sorted(roles)[0], action=AuditAction.BANK_SETTINGS,
                 subject_type=AuditSubject.BANK_SETTINGS, subject_id=township.code, before=before,
                 after=_settings_snapshot(row))
    return row


def _settings_snapshot(row: BankSettings) -> dict[str, Any]:
    return {"fee_words": row.fee_words, "fee_limit": row.fee_limit, "interest_words": row.interest_words,
            "interest_limit": row.interest_limit, "paid_grace_days": row.paid_grace_days,
            "mask_public_names": row.mask_public_names}


# --- statement import (EXCHANGE.md §5) ---------------------------------------------------------------------------

COLUMNS_REQUIRED = ("交易日期", "流水号", "借方金额", "贷方金额", "余额")
COLUMNS_OPTIONAL = ("本方账号", "交易时间", "对方户名", "对方账号", "对方开户行", "摘要")
ALIASES = {
    "本方账号": ("账号", "本方帐号", "账户"), "交易日期": ("日期", "记账日期"), "交易时间": ("时间",),
    "流水号": ("交易流水号", "银行流水号", "凭证号", "交易参考号"), "借方金额": ("借方发生额", "支出金额", "支出"),
    "贷方金额": ("贷方发生额", "收入金额", "收入"), "余额": ("账户余额", "余额（元）"),
    "对方户名": ("对方账户名称", "对方名称", "收(付)方名称"), "对方账号": ("对方账户", "对方帐号", "收(付)方账号"),
    "对方开户行": ("对方行名", "对方银行"), "摘要": ("用途", "附言", "备注"),
}


@dataclass
class ParsedLine:
    row: int
    serial: str
    serial_key: str
    value_date: date
    value_time: time | None
    debit: Decimal
    credit: Decimal
    balance: Decimal
    counterparty_name: str
    counterparty_account: str
    counterparty_bank: str
    summary: str


@dataclass
class ImportOutcome:
    """What an import did: the file's lines, the new ones, and what matching made of them."""

    account: BankAccount
    sha256: str
    lines: int
    added: int
    period: tuple[date, date]
    confirmed: int = 0
    proposed: int = 0
    exceptions: int = 0
    ambiguous: int = 0
    record: StatementImport | None = None

    def message(self) -> str:
        if not self.added:
            return _("该对账单的 %(n)d 笔流水都已导入过，本次没有新增任何内容。", n=self.lines)
        return _("已导入 %(added)d 笔新流水（文件共 %(n)d 笔）：自动对账 %(confirmed)d 笔，待确认 %(proposed)d 笔，"
                 "待人工选择 %(ambiguous)d 笔，异常 %(exceptions)d 笔。", added=self.added, n=self.lines,
                 confirmed=self.confirmed, proposed=self.proposed, ambiguous=self.ambiguous,
                 exceptions=self.exceptions)


def read_statement(data: bytes, filename: str) -> Table:
    return read_table(data, filename, required=COLUMNS_REQUIRED, optional=COLUMNS_OPTIONAL, aliases=ALIASES)


def _parse_lines(table: Table) -> list[ParsedLine]:
    def parse(row: Any) -> ParsedLine:
        day = table.date(row, "交易日期")
        assert day is not None
        serial = table.text(row, "流水号", required=True, max_length=64)
        key = normalise_reference(serial)
        if not key:
            raise table.error(row, "流水号", _("流水号只能包含字母和数字。"))
        debit = table.amount(row, "借方金额", required=False, allow_zero=True) or queries.ZERO
        credit = table.amount(row, "贷方金额", required=False, allow_zero=True) or queries.ZERO
        if debit and credit:
            raise table.error(row, "贷方金额", _("借方和贷方不能同时有金额（一笔流水只能是支出或收入）。"))
        if not debit and not credit:
            raise table.error(row, "借方金额", _("借方和贷方都没有金额。"))
        balance = table.amount(row, "余额", allow_zero=True, allow_negative=True)
        assert balance is not None
        account = table.text(row, "对方账号", max_length=60) if table.has("对方账号") else ""
        return ParsedLine(
            row=row.number, serial=serial, serial_key=key, value_date=day,
            value_time=table.time(row, "交易时间") if table.has("交易时间") else None,
            debit=debit, credit=credit, balance=balance,
            counterparty_name=table.text(row, "对方户名", max_length=100) if table.has("对方户名") else "",
            counterparty_account=normalise_account(account)[:40],
            counterparty_bank=table.text(row, "对方开户行", max_length=100) if table.has("对方开户行") else "",
            summary=table.text(row, "摘要", max_length=200) if table.has("摘要") else "",
        )

    lines = table.each(parse)
    if not lines:
        raise ImportFileError.one(table.file, None, None, _("文件中没有流水。"))
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for previous, line in zip([None, *lines], lines, strict=False):
        if line.serial_key in seen:
            problems.append(table.problem(line.row, "流水号",
                                          _("流水号与第 %(row)d 行重复。", row=seen[line.serial_key])))
        seen.setdefault(line.serial_key, line.row)
        if previous is not None:
            expected = previous.balance + line.credit - line.debit
            if line.balance != expected:
                problems.append(table.problem(line.row, "余额", _(
                    "余额 %(got)s 与上一行不衔接：上一行余额 %(prev)s + 贷方 %(credit)s − 借方 %(debit)s "
                    "应为 %(want)s。",
                    got=format_amount(line.balance), prev=format_amount(previous.balance),
                    credit=format_amount(line.credit), debit=format_amount(line.debit),
                    want=format_amount(expected))))
        if len(problems) >= 20:
            break
    if problems:
        raise ImportFileError(problems)
    return lines


def _statement_account(user: User, table: Table, account_number: str | None) -> tuple[BankAccount, Role]:
    numbers: dict[str, int] = {}
    if table.has("本方账号"):
        for row in table.rows:
            key = normalise_account(row.get("本方账号"))
            if key:
                numbers.setdefault(key, row.number)
    given = normalise_account(account_number) if account_number else ""
    row_number: int | None = None
    if given:
        other = next(((n, r) for n, r in numbers.items() if n != given), None)
        if other is not None:
            raise table.error(other[1], "本方账号",
                              _("本方账号 %(a)s 与指定的账号 %(b)s 不一致。", a=other[0], b=given))
        number, row_number = given, None
    elif len(numbers) == 1:
        number, first_row = next(iter(numbers.items()))
        row_number = first_row
    elif not numbers:
        raise ImportFileError.one(table.file, None, "本方账号",
                                  _("文件没有“本方账号”列，请选择（或用 --account 指定）账号。"))
    else:
        second = list(numbers.items())[1]
        raise table.error(second[1], "本方账号", _("一个文件只能是一个账户的流水，这一行的账号与前面的不同。"))
    account = queries.account_by_number(number)
    if account is None:
        raise ImportFileError.one(table.file, row_number, "本方账号", _(
            "账号 %(n)s 不是任何村已设置的银行账户；请先在“银行账户”页设置该账户及期初余额。", n=number))
    if not can(user, Permission.STATEMENT_IMPORT, account.village):
        raise ImportFileError.one(table.file, row_number, "本方账号",
                                  _("账号 %(n)s 不在您的管辖范围内，不能导入。", n=number))
    from finance.permissions import PERMISSION_ROLES

    role = sorted(user.roles_at(account.village) & PERMISSION_ROLES[Permission.STATEMENT_IMPORT])[0]
    return account, role


def import_statement(user: User, data: bytes, filename: str, account_number: str | None = None) -> ImportOutcome:
    """Import a statement file into one of the user's villages' accounts (EXCHANGE.md §5): all or nothing,
    the same file twice adds nothing, overlapping files merge by (account, 流水号), every line's 余额
    follows from the previous one's, no line in a closed month. One `statement_import` event; then the new
    lines are matched (`match_account`). Raises ImportFileError naming file, row and column."""
    table = read_statement(data, filename)
    account, role = _statement_account(user, table, account_number)
    lines = _parse_lines(table)
    # Imports of one account run one at a time (the row lock; SQLite's write lock does the same), so two
    # overlapping statements imported at once give one set of lines: the second sees the first's.
    db.session.execute(select(BankAccount.id).where(BankAccount.id == account.id).with_for_update())
    village = account.village
    # What of the file is there already, looked up by key (the unique index), in large chunks.
    existing: dict[str, Any] = {}
    for chunk in _chunks(sorted({line.serial_key for line in lines}), 5000):
        for row in db.session.execute(
                select(StatementLine.serial_key, StatementLine.value_date, StatementLine.debit,
                       StatementLine.credit, StatementLine.balance)
                .where(StatementLine.account_id == account.id, StatementLine.serial_key.in_(chunk))).all():
            existing[row.serial_key] = row
    closed = queries.closed_periods(village.id)
    problems: list[Problem] = []
    new: list[ParsedLine] = []
    for line in lines:
        old = existing.get(line.serial_key)
        if old is not None:
            if (old.value_date, old.debit, old.credit, old.balance) != (line.value_date, line.debit, line.credit,
                                                                         line.balance):
                problems.append(table.problem(line.row, "流水号", _(
                    "流水号 %(s)s 已导入过，但日期、金额或余额与已导入的不同；请核对对账单。", s=line.serial)))
            continue
        if line.value_date < account.opening_date:
            problems.append(table.problem(line.row, "交易日期", _(
                "交易日期早于该账户期初余额的日期 %(d)s。", d=account.opening_date.isoformat())))
        elif queries.period_of(line.value_date) in closed:
            problems.append(table.problem(line.row, "交易日期", _(
                "%(period)s 已扎账，不能再导入该月的流水；更正请在下一个未扎账的月份登记。",
                period=queries.period_of(line.value_date))))
        new.append(line)
        if len(problems) >= 20:
            break
    if problems:
        raise ImportFileError(problems)
    period = (min(line.value_date for line in lines), max(line.value_date for line in lines))
    outcome = ImportOutcome(account=account, sha256=table.sha256, lines=len(lines), added=len(new), period=period)
    if not new:
        return outcome  # the same statement again: nothing changes, no event
    record = StatementImport(account_id=account.id, sha256=table.sha256, filename=table.file[:200],
                             period_start=period[0], period_end=period[1], line_count=len(lines),
                             added_count=len(new), imported_by_id=user.id, created_at=utcnow())
    db.session.add(record)
    db.session.flush()
    limits = queries.limits_for(village)
    now = utcnow()
    rows = [{
        "account_id": account.id, "village_id": village.id, "import_id": record.id, "row_number": line.row,
        "serial": line.serial, "serial_key": line.serial_key, "value_date": line.value_date,
        "value_time": line.value_time, "debit": line.debit, "credit": line.credit, "balance": line.balance,
        "counterparty_name": line.counterparty_name, "counterparty_account": line.counterparty_account,
        "counterparty_bank": line.counterparty_bank, "summary": line.summary,
        "kind": queries.line_kind(limits, line.summary, line.debit, line.credit), "created_at": now,
    } for line in new]
    try:
        with db.session.begin_nested():
            db.session.execute(insert(StatementLine), rows)
    except IntegrityError:
        raise AlreadyHandled(_("同一账户的另一份对账单正在导入，请稍后重试。")) from None
    outcome.record = record
    trail.record(village=village, user=user, role=role, action=AuditAction.STATEMENT_IMPORT,
                 subject_type=AuditSubject.STATEMENT_IMPORT, subject_id=record.id,
                 after={"file": record.filename, "sha256": table.sha256, "account": account.number,
                        "period_start": period[0], "period_end": period[1], "lines": len(lines),
                        "added": len(new)})
    result = match_account(user, account, role=role, import_id=record.id)
    outcome.confirmed, outcome.proposed = result.confirmed, result.proposed
    outcome.ambiguous, outcome.exceptions = result.ambiguous, result.exceptions
    for listener in _AFTER_IMPORT:  # the risk flags' statement scan (finance/flags), in this transaction
        listener(outcome)
    return outcome


_AFTER_IMPORT: list[Callable[[ImportOutcome], None]] = []


def on_statement_import(listener: Callable[[ImportOutcome], None]) -> None:
    """Call `listener(outcome)` after every statement import that added lines, once its lines are matched,
    in the import's transaction. finance.flags registers its statement scan at app start; the bank knows
    nothing of flags. Registering the same listener again changes nothing."""
    if listener not in _AFTER_IMPORT:
        _AFTER_IMPORT.append(listener)


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- matching ----------------------------------------------------------------------------------------------------


@dataclass
class MatchResult:
    confirmed: int = 0
    proposed: int = 0
    ambiguous: int = 0
    exceptions: int = 0
    raised: list[int] = field(default_factory=list)


def match_account(user: User, account: BankAccount, *, role: Role | None = None,
                  import_id: int | None = None) -> MatchResult:
    """Match the account's unmatched lines (of one import, or all): outflows to paid requests, inflows to
    receipts. Set-based: one query per rule, rows written in bulk.

    1. by bank reference: the line's 流水号 is a payment's reference. Same amount, payee account and payer
       account: confirmed by the statement (the request becomes 已对账), unless the importer paid it (then
       proposed); otherwise proposed, with an exception for what differs.
    2. by amount + counterparty account + date within ±3 days, when exactly one payment fits and it fits
       no other line: proposed. Several: left for a person to choose (the reconciliation page).
    3. nothing fits: an exception (无申请支出 / 未登记收入). Charges and interest are booked as such."""
    village = account.village
    result = MatchResult()
    conditions = [StatementLine.account_id == account.id, queries.unmatched_line()]
    if import_id is not None:
        conditions.append(StatementLine.import_id == import_id)
    open_lines = list(db.session.execute(select(StatementLine).where(*conditions).order_by(StatementLine.id)).scalars())
    if not open_lines:
        return result
    already = set(db.session.execute(
        select(BankException.line_id).where(BankException.line_id.in_(select(StatementLine.id).where(
            StatementLine.account_id == account.id)))).scalars())
    outflows = [line for line in open_lines if line.kind is LineKind.PAYMENT]
    inflows = [line for line in open_lines if line.kind is LineKind.INCOME]
    matches: list[dict[str, Any]] = []
    new_exceptions: list[dict[str, Any]] = []
    to_confirm: list[tuple[StatementLine, Payment, PaymentRequest]] = []
    now = utcnow()
    taken: set[int] = set()

    def exception(kind: ExceptionKind, line: StatementLine, detail: str, payment_id: int | None = None) -> None:
        if line.id in already and payment_id is None:
            return
        new_exceptions.append({"village_id": village.id, "kind": kind, "line_id": line.id,
                               "payment_id": payment_id, "value_date": line.value_date, "amount": line.amount,
                               "detail": detail, "raised_at": now})

    # rule 1: the reference
    if outflows:
        by_reference = db.session.execute(
            select(StatementLine.id, Payment, PaymentRequest)
            .join(Payment, Payment.reference_key == StatementLine.serial_key)
            .join(PaymentRequest, Payment.request_id == PaymentRequest.id)
            .where(*conditions, StatementLine.kind == LineKind.PAYMENT, PaymentRequest.village_id == village.id,
                   PaymentRequest.state == State.PAID, queries.unmatched_payment())
        ).all()
        lines_by_id = {line.id: line for line in outflows}
        for line_id, payment, req in by_reference:
            line = lines_by_id.get(line_id)
            if line is None or payment.id in taken:
                continue
            taken.add(payment.id)
            same_amount = payment.amount == line.debit
            same_payee = normalise_account(payment.payee_account) == line.counterparty_account
            same_payer = normalise_account(payment.payer_account) == account.number
            if same_amount and same_payee and same_payer:
                to_confirm.append((line, payment, req))
                continue
            matches.append(_match_row(line, payment.id, None, village, MatchRule.REFERENCE, user, now))
            if not same_amount:
                exception(ExceptionKind.AMOUNT_MISMATCH, line, _(
                    "流水金额 %(a)s 元，申请 %(n)s 支付 %(b)s 元。", a=format_amount(line.debit), n=req.number or "",
                    b=format_amount(payment.amount)), payment.id)
            if not same_payee or not same_payer:
                exception(ExceptionKind.COUNTERPARTY_MISMATCH, line, _(
                    "流水对方账号 %(a)s，申请 %(n)s 的收款账号 %(b)s，付款账号 %(c)s。", a=line.counterparty_account,
                    n=req.number or "", b=normalise_account(payment.payee_account),
                    c=normalise_account(payment.payer_account)), payment.id)
        done = {line.id for line, _p, _r in to_confirm} | {m["line_id"] for m in matches}
        rest = [line for line in outflows if line.id not in done]
        # rule 2: amount + counterparty account + date within ±3 days, one candidate each way
        if rest:
            # candidates by amount (an IN list, which PostgreSQL hashes), their dates and accounts checked
            # here (the payee account is stored as typed, with spaces)
            amounts = sorted({line.debit for line in rest})
            index: dict[Decimal, list[tuple[int, str, date]]] = defaultdict(list)
            for chunk in _chunks(amounts, 5000):
                for pid, amount, payee, day in db.session.execute(
                        select(Payment.id, Payment.amount, Payment.payee_account, Payment.value_date)
                        .join(PaymentRequest, Payment.request_id == PaymentRequest.id)
                        .where(Payment.amount.in_(chunk), PaymentRequest.village_id == village.id,
                               PaymentRequest.state == State.PAID, queries.unmatched_payment())):
                    if pid not in taken:
                        index[amount].append((pid, normalise_account(payee), day))
            fits: dict[int, list[int]] = {}
            lines_for_payment: dict[int, int] = defaultdict(int)
            for line in rest:
                found = [pid for pid, payee, day in index.get(line.debit, [])
                         if payee == line.counterparty_account
                         and abs((day - line.value_date).days) <= queries.DATE_WINDOW.days]
                fits[line.id] = found
                for pid in found:
                    lines_for_payment[pid] += 1
            for line in rest:
                found = fits[line.id]
                if len(found) == 1 and lines_for_payment[found[0]] == 1:
                    taken.add(found[0])
                    matches.append(_match_row(line, found[0], None, village, MatchRule.AMOUNT_ACCOUNT_DATE, user,
                                              now))
                elif found:
                    result.ambiguous += 1
                else:
                    exception(ExceptionKind.UNMATCHED_OUTFLOW, line, _(
                        "%(d)s 付给 %(who)s %(a)s 元（%(s)s），没有对应的支出申请。", d=line.value_date.isoformat(),
                        who=line.counterparty_name or line.counterparty_account or "—",
                        a=format_amount(line.debit), s=line.summary or line.serial))
    # inflows: registered receipts by amount + payer account + date within ±3 days
    if inflows:
        low = min(line.value_date for line in inflows) - queries.DATE_WINDOW
        high = max(line.value_date for line in inflows) + queries.DATE_WINDOW
        receipts = list(db.session.execute(
            select(Receipt).where(Receipt.account_id == account.id, Receipt.received_on >= low,
                                  Receipt.received_on <= high,
                                  queries.unmatched_receipt())
        ).scalars())
        fits_in: dict[int, list[int]] = {}
        count: dict[int, int] = defaultdict(int)
        for line in inflows:
            found = [r.id for r in receipts if r.amount == line.credit
                     and abs((r.received_on - line.value_date).days) <= queries.DATE_WINDOW.days
                     and (not r.payer_account or r.payer_account == line.counterparty_account)]
            fits_in[line.id] = found
            for rid in found:
                count[rid] += 1
        for line in inflows:
            found = fits_in[line.id]
            if len(found) == 1 and count[found[0]] == 1:
                matches.append(_match_row(line, None, found[0], village, MatchRule.AMOUNT_ACCOUNT_DATE, user, now))
            elif found:
                result.ambiguous += 1
            else:
                exception(ExceptionKind.UNREGISTERED_INCOME, line, _(
                    "%(d)s 收到 %(who)s %(a)s 元（%(s)s），没有对应的收款登记。", d=line.value_date.isoformat(),
                    who=line.counterparty_name or line.counterparty_account or "—", a=format_amount(line.credit),
                    s=line.summary or line.serial))
    matches += [_match_row(line, payment.id, None, village, MatchRule.REFERENCE, user, now)
                for line, payment, _req in to_confirm]
    if matches:
        db.session.execute(insert(BankMatch), matches)
    if new_exceptions:
        db.session.execute(insert(BankException), new_exceptions)
        first = min(e["line_id"] for e in new_exceptions)
        _alert(village, f"line:{first}")
    result.exceptions = len(new_exceptions)
    result.confirmed = _confirm_by_statement(user, role, to_confirm, now)
    result.proposed = len(matches) - result.confirmed
    return result


def _match_row(line: StatementLine, payment_id: int | None, receipt_id: int | None, village: OrgUnit,
               rule: MatchRule, user: User, now: datetime) -> dict[str, Any]:
    return {"line_id": line.id, "payment_id": payment_id, "receipt_id": receipt_id, "village_id": village.id,
            "rule": rule, "status": MatchStatus.PROPOSED, "automatic": False, "proposed_by_id": user.id,
            "created_at": now, "confirmed_at": None, "confirmed_by_id": None}


def _line_summary(line: StatementLine) -> dict[str, Any]:
    return {"line_id": line.id, "account": line.account.number if line.account else None, "serial": line.serial,
            "value_date": line.value_date, "debit": line.debit, "credit": line.credit,
            "counterparty_account": line.counterparty_account}


def _confirm_by_statement(user: User, role: Role | None, exact: list[tuple[StatementLine, Payment, PaymentRequest]],
                          now: datetime) -> int:
    """The statement confirms its exact matches (their rows are in, proposed): the requests become 已对账
    together (`payment_requests.services.transition_many`: the table, the bars in one query, one event
    each naming its line). A request the importer paid stays proposed (who pays never reconciles, even by
    a file). Returns how many were confirmed."""
    if not exact:
        return 0
    extra = {req.id: {"match": {"rule": MatchRule.REFERENCE.value, "automatic": True, **_line_summary(line)}}
             for line, _payment, req in exact}
    pairs = [(req.id, payment.id) for _l, payment, req in exact]  # ids read before the rows are expired
    moved_ids = set(requests.transition_many(user, [req for _l, _p, req in exact], Action.RECONCILE,
                                             statement_role=role or Role.AGENCY_REVIEWER, extra_after=extra))
    payment_ids = [payment_id for req_id, payment_id in pairs if req_id in moved_ids]
    if payment_ids:
        db.session.execute(update(Payment).where(Payment.id.in_(payment_ids)).values(reconciled_at=now)
                           .execution_options(synchronize_session=False))
        db.session.execute(update(BankMatch).where(BankMatch.payment_id.in_(payment_ids))
                           .values(status=MatchStatus.CONFIRMED, automatic=True, confirmed_by_id=user.id,
                                   confirmed_at=now).execution_options(synchronize_session=False))
        db.session.execute(update(BankException).where(
            BankException.payment_id.in_(payment_ids), BankException.closed_at.is_(None),
            BankException.kind == ExceptionKind.PAID_WITHOUT_STATEMENT)
            .values(closed_at=now, closed_by_id=user.id, close_reason=SYSTEM_REASON_MATCHED)
            .execution_options(synchronize_session=False))
        for _line, payment, _req in exact:
            db.session.expire(payment)
    return len(payment_ids)


def _reconcile(user: User, req: PaymentRequest, payment: Payment, match: BankMatch,
               statement_role: Role | None = None) -> None:
    def mutate() -> None:
        payment.reconciled_at = utcnow()

    extra = {"match": {"rule": match.rule.value, "automatic": statement_role is not None,
                       **_line_summary(match.line)}}
    requests.transition(user, req, Action.RECONCILE, mutate=mutate, extra_after=extra,
                        statement_role=statement_role)
    match.status = MatchStatus.CONFIRMED
    match.confirmed_by_id = user.id
    match.confirmed_at = utcnow()
    _settle_exceptions(match)
    db.session.flush()


def _settle_exceptions(match: BankMatch) -> None:
    """A confirmed match settles the exceptions of its line that it answers (no request, no receipt)."""
    kinds = (ExceptionKind.UNMATCHED_OUTFLOW, ExceptionKind.UNREGISTERED_INCOME)
    for row in db.session.execute(
            select(BankException).where(BankException.closed_at.is_(None), BankException.kind.in_(kinds),
                                        BankException.line_id == match.line_id)).scalars():
        row.closed_at, row.closed_by_id, row.close_reason = utcnow(), match.confirmed_by_id, SYSTEM_REASON_MATCHED
    if match.payment_id is not None:
        for row in db.session.execute(
                select(BankException).where(BankException.closed_at.is_(None),
                                            BankException.kind == ExceptionKind.PAID_WITHOUT_STATEMENT,
                                            BankException.payment_id == match.payment_id)).scalars():
            row.closed_at, row.closed_by_id, row.close_reason = utcnow(), match.confirmed_by_id, SYSTEM_REASON_MATCHED


def _load_match(user: User, match_id: int) -> tuple[BankMatch, OrgUnit, Role]:
    match = db.session.get(BankMatch, match_id)
    if match is None:
        raise NotFound(match_id)
    village = db.session.get(OrgUnit, match.village_id)
    assert village is not None
    role = _role_over(user, village, Permission.BANK_RECONCILE)
    return match, village, role


def confirm_match(user: User, match_id: int) -> BankMatch:
    """The agency reviewer confirms a proposed match. For a payment this is the request's `reconcile`
    (the table bars whoever paid it); for a receipt, one `match_confirm` event."""
    match, village, role = _load_match(user, match_id)
    if match.status is MatchStatus.CONFIRMED:
        raise AlreadyHandled(_("该匹配已确认。"))
    _check_open(village, match.line.value_date, _("该月的对账"))
    if match.payment_id is not None:
        payment = db.session.get(Payment, match.payment_id)
        assert payment is not None
        _reconcile(user, payment.request, payment, match)
        return match
    receipt = db.session.get(Receipt, match.receipt_id)
    assert receipt is not None
    if receipt.created_by_id == user.id:
        raise Forbidden(_("不能确认自己登记的收款。"))
    match.status, match.confirmed_by_id, match.confirmed_at = MatchStatus.CONFIRMED, user.id, utcnow()
    _settle_exceptions(match)
    db.session.flush()
    trail.record(village=village, user=user, role=role, action=AuditAction.MATCH_CONFIRM,
                 subject_type=AuditSubject.RECEIPT, subject_id=receipt.id,
                 after={"receipt": receipt.number, "rule": match.rule.value, **_line_summary(match.line)})
    return match


def unmatch(user: User, match_id: int, reason: str) -> None:
    """Undo a proposed match (or a confirmed receipt match) with a reason: the line and the payment or
    receipt are open again. A confirmed payment match stands (the request is 已对账); a correction is a
    new entry in an open month."""
    match, village, role = _load_match(user, match_id)
    reason = (reason or "").strip()
    if not reason:
        raise BankError(_("请填写理由。"), {"reason": _("请填写理由。")})
    if len(reason) > MAX_REASON:
        raise BankError(_("理由最多 1000 字。"), {"reason": _("理由最多 1000 字。")})
    if match.status is MatchStatus.CONFIRMED and match.payment_id is not None:
        raise AlreadyHandled(_("该支付已对账确认，不能取消匹配；如有错误，请在未扎账的月份另行登记更正。"))
    _check_open(village, match.line.value_date, _("该月的对账"))
    payment = db.session.get(Payment, match.payment_id) if match.payment_id is not None else None
    subject_type, subject_id = ((AuditSubject.PAYMENT_REQUEST, payment.request_id) if payment is not None
                                else (AuditSubject.RECEIPT, match.receipt_id))
    summary = {"rule": match.rule.value, "status": match.status.value, **_line_summary(match.line)}
    db.session.delete(match)
    db.session.flush()
    trail.record(village=village, user=user, role=role, action=AuditAction.MATCH_UNMATCH,
                 subject_type=subject_type, subject_id=subject_id or 0, before={"match": summary}, reason=reason)


def manual_match(user: User, line_id: int, *, payment_id: int | None = None, receipt_id: int | None = None
                 ) -> BankMatch:
    """The agency reviewer chooses what an unmatched line is, among its candidates (or any unmatched paid
    request or receipt of the village with the line's amount): confirmed at once, as the reviewer's own
    confirmation (for a payment: the request's `reconcile`, barred to whoever paid it)."""
    line = db.session.get(StatementLine, line_id)
    if line is None:
        raise NotFound(line_id)
    village = db.session.get(OrgUnit, line.village_id)
    assert village is not None
    role = _role_over(user, village, Permission.BANK_RECONCILE)
    if queries.match_for_line(line) is not None:
        raise AlreadyHandled(_("该流水已有匹配。"))
    _check_open(village, line.value_date, _("该月的对账"))
    now = utcnow()
    if line.outflow:
        payment = db.session.get(Payment, payment_id) if payment_id else None
        if payment is None or payment.request.village_id != village.id or payment.request.state is not State.PAID:
            raise BankError(_("请选择一笔本村待对账的支付。"), {"payment_id": _("请选择一笔本村待对账的支付。")})
        if payment.amount != line.debit:
            raise BankError(_("所选支付的金额与流水不一致。"), {"payment_id": _("所选支付的金额与流水不一致。")})
        if queries.payment_match(payment) is not None:
            raise AlreadyHandled(_("所选支付已与其他流水匹配。"))
        match = BankMatch(line_id=line.id, payment_id=payment.id, village_id=village.id, rule=MatchRule.MANUAL,
                          status=MatchStatus.PROPOSED, proposed_by_id=user.id, created_at=now)
        db.session.add(match)
        db.session.flush()
        _reconcile(user, payment.request, payment, match)
        return match
    receipt = db.session.get(Receipt, receipt_id) if receipt_id else None
    if receipt is None or receipt.account_id != line.account_id or receipt.amount != line.credit:
        message = _("请选择一笔本账户金额一致的收款登记。")
        raise BankError(message, {"receipt_id": message})
    if receipt.created_by_id == user.id:
        raise Forbidden(_("不能确认自己登记的收款。"))
    match = BankMatch(line_id=line.id, receipt_id=receipt.id, village_id=village.id, rule=MatchRule.MANUAL,
                      status=MatchStatus.CONFIRMED, proposed_by_id=user.id, confirmed_by_id=user.id,
                      confirmed_at=now, created_at=now)
    db.session.add(match)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise AlreadyHandled(_("所选收款已与其他流水匹配。")) from None
    _settle_exceptions(match)
    trail.record(village=village, user=user, role=role, action=AuditAction.MATCH_CONFIRM,
                 subject_type=AuditSubject.RECEIPT, subject_id=receipt.id,
                 after={"receipt": receipt.number, "rule": MatchRule.MANUAL.value, **_line_summary(line)})
    return match


# --- receipts --------------------------------------------------------------------------------------------------


@dataclass
class ReceiptInput:
    account_id: int | None
    payer_name: str
    amount: Decimal | None
    type: ReceiptType | None
    received_on: date | None
    receipt_number: str = ""
    payer_account: str = ""
    attachment_name: str = ""
    attachment_data: bytes = b""


def record_receipt(user: User, village: OrgUnit, data: ReceiptInput, client_key: str | None = None) -> Receipt:
    """Register money coming in (收款登记); one `receipt_record` event; then the account's open inflow
    lines are matched against it. A form sent twice (same `client_key`) registers once."""
    if client_key:
        done = db.session.execute(select(Receipt).where(Receipt.client_key == client_key)).scalar_one_or_none()
        if done is not None:
            if done.created_by_id != user.id:
                raise AlreadyHandled
            return done
    role = _role_over(user, village, Permission.RECEIPT_RECORD)
    errors: dict[str, str] = {}
    account = db.session.get(BankAccount, data.account_id) if data.account_id else None
    if account is None or account.village_id != village.id:
        errors["account_id"] = _("请选择本村的收款账户。")
    name = data.payer_name.strip()
    if not name:
        errors["payer_name"] = _("请填写付款人。")
    elif len(name) > 100:
        errors["payer_name"] = _("最多 %(n)d 个字。", n=100)
    if data.amount is None or data.amount <= 0:
        errors["amount"] = _("金额必须大于零。")
    if data.type is None:
        errors["type"] = _("请选择收款类型。")
    if data.received_on is None:
        errors["received_on"] = _("请填写收款日期。")
    elif data.received_on > today_local():
        errors["received_on"] = _("收款日期不能晚于今天。")
    if data.payer_account.strip() and account_error(data.payer_account):
        errors["payer_account"] = str(account_error(data.payer_account))
    if len(data.receipt_number.strip()) > 40:
        errors["receipt_number"] = _("最多 %(n)d 个字。", n=40)
    stored = None
    if data.attachment_data and not errors:
        try:
            stored = storage.save(data.attachment_data)
        except storage.StorageError as exc:
            errors["attachment"] = str(exc)
    if errors:
        raise BankError(next(iter(errors.values())) if len(errors) == 1 else _("请检查标红的项目。"), errors)
    assert account is not None and data.amount is not None and data.type is not None
    assert data.received_on is not None
    _check_open(village, data.received_on, _("该月的收款"))
    receipt = Receipt(village_id=village.id, account_id=account.id, payer_name=name,
                      payer_account=normalise_account(data.payer_account), amount=data.amount, type=data.type,
                      receipt_number=data.receipt_number.strip(), received_on=data.received_on,
                      attachment_sha256=stored.sha256 if stored else None,
                      attachment_name=(data.attachment_name or "file")[-200:] if stored else None,
                      attachment_type=stored.content_type if stored else None, client_key=client_key,
                      created_by_id=user.id, created_at=utcnow())
    db.session.add(receipt)
    db.session.flush()
    receipt.number = f"SK{receipt.created_at:%Y}{receipt.id:06d}"
    trail.record(village=village, user=user, role=role, action=AuditAction.RECEIPT_RECORD,
                 subject_type=AuditSubject.RECEIPT, subject_id=receipt.id,
                 after={"number": receipt.number, "account": account.number, "payer_name": name,
                        "payer_account": receipt.payer_account, "amount": receipt.amount,
                        "type": receipt.type.value, "receipt_number": receipt.receipt_number,
                        "received_on": receipt.received_on},
                 attachments=(stored.sha256,) if stored else ())
    _match_inflows(user, account)
    return receipt


def _match_inflows(user: User, account: BankAccount) -> None:
    """After a receipt: propose matches for the account's open inflow lines (their 未登记收入 exception
    stays open until the match is confirmed)."""
    lines = list(db.session.execute(
        select(StatementLine).where(StatementLine.account_id == account.id, StatementLine.kind == LineKind.INCOME,
                                    queries.unmatched_line())).scalars())
    now = utcnow()
    for line in lines:
        candidates = queries.receipt_candidates(line)
        if len(candidates) == 1 and len([x for x in lines if x.credit == line.credit]) == 1:
            db.session.add(BankMatch(line_id=line.id, receipt_id=candidates[0].id, village_id=line.village_id,
                                     rule=MatchRule.AMOUNT_ACCOUNT_DATE, status=MatchStatus.PROPOSED,
                                     proposed_by_id=user.id, created_at=now))
    db.session.flush()


# --- exceptions ------------------------------------------------------------------------------------------------


def check_paid_without_statement(village: OrgUnit, user: User | None = None, today: date | None = None) -> list[int]:
    """Raise 已支付未见流水 for each payment of the village still without its line N days after it was
    paid (N: the township's setting, default 5). Idempotent: a payment is raised once. One
    `bank_exception_raise` event naming what was raised, when anything was."""
    limits = queries.limits_for(village)
    day = today or today_local()
    before = day - timedelta(days=limits.paid_grace_days)
    raised = set(db.session.execute(select(BankException.payment_id).where(
        BankException.kind == ExceptionKind.PAID_WITHOUT_STATEMENT, BankException.village_id == village.id)).scalars())
    new: list[BankException] = []
    for payment in queries.paid_unmatched(village, before):
        if payment.id in raised:
            continue
        row = BankException(village_id=village.id, kind=ExceptionKind.PAID_WITHOUT_STATEMENT,
                            payment_id=payment.id, value_date=payment.value_date, amount=payment.amount,
                            detail=_("%(d)s 支付 %(a)s 元给 %(who)s（流水号 %(r)s），%(n)d 天后对账单中"
                                     "仍未见该笔流水。",
                                     d=payment.value_date.isoformat(), a=format_amount(payment.amount),
                                     who=payment.payee_name, r=payment.bank_reference, n=limits.paid_grace_days),
                            raised_at=utcnow())
        db.session.add(row)
        new.append(row)
    if new:
        db.session.flush()
        _alert(village, f"paid:{new[0].id}")
        trail.record(village=village, user=user, role=None, action=AuditAction.BANK_EXCEPTION_RAISE,
                     subject_type=AuditSubject.BANK_EXCEPTION, subject_id=new[0].id,
                     after={"kind": ExceptionKind.PAID_WITHOUT_STATEMENT.value, "exceptions": [r.id for r in new],
                            "payments": [r.payment_id for r in new]})
    return [r.id for r in new]


def _alert(village: OrgUnit, key: str) -> None:
    """Tell the agency that exceptions appeared (one notice per import or check that raised any)."""
    alert_agency(village, key=f"bank-exception:{village.code}:{key}", link=f"/bank/exceptions?village={village.code}")


def close_exception(user: User, exception_id: int, reason: str) -> BankException:
    """Close an exception with its explanation (the agency reviewer); one `bank_exception_close` event."""
    row = db.session.get(BankException, exception_id)
    if row is None:
        raise NotFound(exception_id)
    role = _role_over(user, row.village, Permission.BANK_RECONCILE)
    if row.closed_at is not None:
        raise AlreadyHandled(_("该异常已关闭。"))
    reason = (reason or "").strip()
    if not reason:
        raise BankError(_("请填写说明（异常只能在说明原因后关闭）。"), {"reason": _("请填写说明。")})
    if len(reason) > MAX_REASON:
        raise BankError(_("理由最多 1000 字。"), {"reason": _("理由最多 1000 字。")})
    row.closed_at, row.closed_by_id, row.close_reason = utcnow(), user.id, reason
    db.session.flush()
    trail.record(village=row.village, user=user, role=role, action=AuditAction.BANK_EXCEPTION_CLOSE,
                 subject_type=AuditSubject.BANK_EXCEPTION, subject_id=row.id,
                 before={"kind": row.kind.value, "amount": row.amount, "value_date": row.value_date,
                         "line_id": row.line_id, "payment_id": row.payment_id},
                 after={"closed": True}, reason=reason)
    return row


# --- month close -------------------------------------------------------------------------------------------------


def close_month(user: User, village: OrgUnit, period: str) -> MonthClose:
    """Close (扎账) a village's month: per account, opening + inflows − outflows = closing and the closing
    equals the statement's last 余额; no open exception and no line waiting for a match in the month; the
    months before it closed first. The agency; one `month_close` event with the balances."""
    role = _role_over(user, village, Permission.BANK_RECONCILE)
    try:
        first, _following = queries.month_bounds(period)
    except (ValueError, IndexError):
        raise BankError(_("月份格式应为 YYYY-MM。")) from None
    if first > today_local().replace(day=1):
        raise MonthNotClosable(_("不能对尚未开始的月份扎账。"))
    closed = queries.closed_periods(village.id)
    if period in closed:
        raise AlreadyHandled(_("%(period)s 已扎账。", period=period))
    problems = []
    if n := queries.open_exceptions_in(village, period):
        problems.append(_("还有 %(n)d 个未说明的对账异常", n=n))
    if n := queries.unsettled_lines_in(village, period):
        problems.append(_("还有 %(n)d 笔流水未确认匹配", n=n))
    balances = queries.month_balances(village, period)
    if not balances:
        problems.append(_("本村尚未设置银行账户"))
    for item in balances:
        if not item.agrees:
            problems.append(_("账户 %(a)s 的月末余额 %(c)s 与对账单最后余额 %(s)s 不符", a=item.account.number,
                              c=format_amount(item.closing), s=format_amount(item.statement_closing or queries.ZERO)))
    earlier = _earliest_open_before(village, period, closed)
    if earlier:
        problems.append(_("%(p)s 尚未扎账，请按月份顺序扎账", p=earlier))
    if problems:
        raise MonthNotClosable(_("不能扎账：%(why)s。", why="；".join(problems)))
    snapshot = [item.as_dict() for item in balances]
    row = MonthClose(village_id=village.id, period=period, closed_by_id=user.id, closed_at=utcnow(),
                     balances=json.dumps([{k: (str(v) if isinstance(v, Decimal) else v) for k, v in s.items()}
                                          for s in snapshot], ensure_ascii=False))
    db.session.add(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise AlreadyHandled(_("%(period)s 已扎账。", period=period)) from None
    trail.record(village=village, user=user, role=role, action=AuditAction.MONTH_CLOSE,
                 subject_type=AuditSubject.MONTH_CLOSE, subject_id=f"{village.code}:{period}",
                 after={"period": period, "accounts": snapshot})
    return row


def _earliest_open_before(village: OrgUnit, period: str, closed: set[str]) -> str | None:
    """The first month before `period` that has lines (or an account's opening) and is not closed."""
    first, _f = queries.month_bounds(period)
    starts = [a.opening_date for a in queries.accounts_of(village) if a.opening_date < first]
    if not starts:
        return None
    day = min(starts).replace(day=1)
    while day < first:
        p = queries.period_of(day)
        if p not in closed:
            return p
        day = (day + timedelta(days=32)).replace(day=1)
    return None

"""Helpers for the bank tests: a village's account set up through the service, statement files written
as a bank exports them (CSV in UTF-8 or GB18030, .xlsx), and statement lines made from payments."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import openpyxl

from finance.bank import services as bank
from finance.bank.models import BankAccount
from finance.controls.normalise import normalise_account
from finance.payments.models import Payment
from tests import factories as f

HEADER = ["本方账号", "交易日期", "交易时间", "流水号", "借方金额", "贷方金额", "余额", "对方户名", "对方账号",
          "对方开户行", "摘要"]


@dataclass
class Line:
    day: date
    serial: str
    debit: Decimal = Decimal("0")
    credit: Decimal = Decimal("0")
    name: str = ""
    account: str = ""
    summary: str = ""
    time: str = ""
    balance: Decimal | None = None  # computed unless given (to break it)


@dataclass
class Statement:
    account: str
    opening: Decimal
    lines: list[Line] = field(default_factory=list)

    def rows(self) -> list[list[str]]:
        balance = self.opening
        out = []
        for line in self.lines:
            balance = balance + line.credit - line.debit
            shown = line.balance if line.balance is not None else balance
            out.append([self.account, line.day.isoformat(), line.time, line.serial,
                        f"{line.debit:.2f}" if line.debit else "", f"{line.credit:.2f}" if line.credit else "",
                        f"{shown:.2f}", line.name, line.account, "", line.summary])
        return out

    def csv(self, encoding: str = "utf-8", title: bool = True) -> bytes:
        text = ""
        if title:
            text += "中国农业银行 账户交易明细\n查询时间：2026-11-30,,,\n"
        text += ",".join(HEADER) + "\n"
        for row in self.rows():
            text += ",".join(f'"{c}"' if "," in c else c for c in row) + "\n"
        return text.encode(encoding)

    def xlsx(self) -> bytes:
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["账户交易明细"])
        sheet.append(HEADER)
        for row in self.rows():
            sheet.append(row)
        buf = io.BytesIO()
        book.save(buf)
        return buf.getvalue()


def account(village: str = "HL-YC-01", opening: str = "100000.00", opening_date: date | None = None,
            who: str = "yc_shenhe") -> BankAccount:
    unit = f.unit(village)
    data = bank.AccountInput(number=unit.bank_account or "", name=unit.bank_account_name or unit.name,
                             bank_name=unit.bank_name or "", opening_date=opening_date or date.today().replace(day=1),
                             opening_balance=Decimal(opening))
    return bank.set_account(f.user(who), unit, data)


def line_for(payment: Payment, serial: str | None = None, day: date | None = None, amount: Decimal | None = None,
             account_number: str | None = None) -> Line:
    return Line(day or payment.value_date, serial or payment.bank_reference, debit=amount or payment.amount,
                name=payment.payee_name, account=account_number or normalise_account(payment.payee_account),
                summary="转账支出")


def statement_of(acct: BankAccount, lines: Sequence[Line], opening: Decimal | None = None) -> Statement:
    return Statement(acct.number, acct.opening_balance if opening is None else opening, list(lines))


def reviewer_of(village_code: str) -> str:
    return "mk_shenhe" if village_code.startswith("HL-MK") else "yc_shenhe"


def reconcile(req: object, importer: str | None = None) -> None:
    """Bring a paid request to 已对账 the one way there is: its line on the bank statement, imported
    (the statement confirms an exact match). The account is set up first when the village has none."""
    from finance.bank import queries
    from finance.payments.queries import payment_of

    payment = payment_of(req)  # type: ignore[arg-type]
    assert payment is not None
    village = payment.request.village
    who = importer or reviewer_of(village.code)
    acct = queries.account_by_number(payment.payer_account)
    if acct is None:
        acct = account(village.code, opening_date=min(payment.value_date.replace(day=1),
                                                      date.today().replace(day=1)), who=who)
    bank.import_statement(f.user(who), statement_of(acct, [line_for(payment)]).csv(), "huidan.csv")

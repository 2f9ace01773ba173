"""The demo's bank side (issue 10 item 8): every demo village gets its basic account with an opening
balance at the start of last month, a statement covering last month and this one (the reconciled
requests' transfers, a rent received and registered, interest, a bank charge, and one outflow nobody
asked for, so the exception pages are not empty), imported through the same service as a real one; last
month is reconciled and closed (扎账), this month stays open."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from finance.auth.models import User
from finance.bank import queries
from finance.bank import services as bank
from finance.bank.models import MatchStatus, ReceiptType
from finance.controls.normalise import normalise_account
from finance.extensions import db
from finance.orgs.models import OrgUnit
from finance.payment_requests.models import PaymentRequest
from finance.payments.queries import payment_of
from finance.timefmt import today_local

# village code -> (opening balance, rent payer, payer's account, rent, the outflow nobody asked for)
VILLAGE_BANK = {
    "HL-YC-01": ("386500.00", "张桂芝", "6217000011112222333", "12000.00",
                 ("濮阳市华龙区顺达劳务队", "6228480099887766", "3600.00")),
    "HL-YC-02": ("215800.00", "濮阳市绿源养殖合作社", "6230590012340001", "8500.00",
                 ("刘建设", "6217000088880001", "1500.00")),
    "HL-MK-01": ("128300.00", "孟庆山", "6217999900001111", "6000.00",
                 ("濮阳市孟轲五金商店", "6217999900002222", "860.00")),
    "HL-MK-02": ("97450.00", "王德顺", "6230590077770001", "4800.00",
                 ("高国强", "6230590077770002", "2000.00")),
}
HEADER = "本方账号,交易日期,交易时间,流水号,借方金额,贷方金额,余额,对方户名,对方账号,对方开户行,摘要\n"


def _prefixes(village: OrgUnit) -> tuple[str, str]:
    from finance.demo.spending import VILLAGES

    return VILLAGES[village.code]


def seed_bank(users: dict[str, User], reconcile: list[PaymentRequest]) -> None:
    """Accounts, statements, receipts and last month's close for every demo village. Does not commit."""
    today = today_local()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    villages = {v.code: v for v in db.session.query(OrgUnit).filter(OrgUnit.code.in_(list(VILLAGE_BANK)))}
    for code, (opening, payer, payer_account, rent, stray) in VILLAGE_BANK.items():
        village = villages[code]
        village_prefix, town_prefix = _prefixes(village)
        reviewer, accountant = users[f"{town_prefix}_shenhe"], users[f"{village_prefix}_baozhang"]
        account = bank.set_account(reviewer, village, bank.AccountInput(
            number=village.bank_account or "", name=village.bank_account_name or village.name,
            bank_name=village.bank_name or "", opening_date=last_month, opening_balance=Decimal(opening)))
        # last month: rent in (registered by the accountant), interest, a charge
        received = last_month + timedelta(days=9)
        bank.record_receipt(accountant, village, bank.ReceiptInput(
            account_id=account.id, payer_name=payer, payer_account=payer_account, amount=Decimal(rent),
            type=ReceiptType.RENT, received_on=received, receipt_number=f"0{received:%m%d}01"))
        rows: list[tuple[date, str, Decimal, Decimal, str, str, str]] = [
            (received, f"DM{code[-2:]}{received:%Y%m%d}01", Decimal(0), Decimal(rent), payer, payer_account, "租金"),
            (last_month + timedelta(days=19), f"DM{code[-2:]}{last_month:%Y%m}20F", Decimal("12.00"), Decimal(0),
             "", "", "账户管理费 手续费"),
            (last_month + timedelta(days=20), f"DM{code[-2:]}{last_month:%Y%m}21I", Decimal(0), Decimal("96.35"),
             "", "", "季度结息"),
        ]
        # this month: the reconciled requests' transfers, and one outflow nobody asked for
        for req in reconcile:
            payment = payment_of(req)
            if req.village_id != village.id or payment is None:
                continue
            rows.append((payment.value_date, payment.bank_reference, payment.amount, Decimal(0), payment.payee_name,
                         normalise_account(payment.payee_account), "转账支出"))
        stray_name, stray_account, stray_amount = stray
        stray_day = this_month + timedelta(days=min(2, (today - this_month).days))
        rows.append((stray_day, f"DM{code[-2:]}{today:%Y%m}X1", Decimal(stray_amount), Decimal(0), stray_name,
                     stray_account, "转账支出"))
        balance = Decimal(opening)
        text = HEADER
        for n, (day, serial, debit, credit, name, counterparty, summary) in enumerate(rows):
            balance = balance + credit - debit
            text += (f"{account.number},{day.isoformat()},{9 + n % 8:02d}:{(7 * n) % 60:02d}:00,{serial},"
                     f"{debit if debit else ''},{credit if credit else ''},{balance},{name},{counterparty},,"
                     f"{summary}\n")
        bank.import_statement(reviewer, text.encode("gb18030"), f"{village.name}对账单.csv")
        # the rent's match was proposed; the reviewer confirms it, then closes last month
        for _line, match in queries.lines_of(village, queries.period_of(last_month)):
            if match is not None and match.status is MatchStatus.PROPOSED:
                bank.confirm_match(reviewer, match.id)
        bank.close_month(reviewer, village, queries.period_of(last_month))

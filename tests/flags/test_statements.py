"""The statement-based detectors (issue 12): an outflow with no paid request, an inflow with no receipt, a
paid request the statements do not show; run after every statement import (the bank's hook), and by the
scan; a payment imported after its statement is no unmatched outflow."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from finance.bank import services as bank
from finance.extensions import db
from finance.flags.models import FlagType
from finance.flags.scan import scan
from tests import factories as f
from tests.bank_helpers import Line, account, line_for, statement_of
from tests.flags.helpers import flags_of, numbers, paid, plant

pytestmark = pytest.mark.usefixtures("db", "no_preventive")

START = date.today() - timedelta(days=40)


def _import(acct: object, lines: list[Line]) -> None:
    bank.import_statement(f.user("yc_shenhe"), statement_of(acct, lines).csv(), "statement.csv")
    db.session.flush()


def test_statement_flags_raised_by_the_import_itself() -> None:
    acct = account(opening_date=START - timedelta(days=5))
    req = plant("3000.00", days_ago=38, account="6222020000000020001")
    payment = paid(req, acct.number, days_after=1)
    shown = plant("1500.00", days_ago=38, account="6222020000000020002")
    seen = paid(shown, acct.number, days_after=1)
    lines = [
        line_for(seen),
        Line(START + timedelta(days=3), "SL0001", debit=Decimal("4800.00"), name="某某工程队",
             account="6222020000000029999", summary="转账支出"),
        Line(START + timedelta(days=4), "SL0002", credit=Decimal("12000.00"), name="张三",
             account="6217000011112222333", summary="租金"),
        Line(START + timedelta(days=20), "SL0003", credit=Decimal("0.35"), summary="利息"),
    ]
    _import(acct, lines)  # the hook runs the statement detectors in the import's transaction
    out = flags_of(FlagType.UNMATCHED_OUTFLOW)
    assert [x.statement_lines for x in out] == ['["SL0001"]'] and "4,800.00" in out[0].summary
    income = flags_of(FlagType.UNREGISTERED_INCOME)
    assert [x.statement_lines for x in income] == ['["SL0002"]']  # interest is not income to register
    missing = flags_of(FlagType.PAID_WITHOUT_STATEMENT)
    assert [numbers(x) for x in missing] == [{req.number}]
    assert payment.request_id == req.id
    again = scan()  # the scan does not raise them twice
    assert not [x for x in again.raised if x.kind in (FlagType.UNMATCHED_OUTFLOW, FlagType.UNREGISTERED_INCOME,
                                                      FlagType.PAID_WITHOUT_STATEMENT)]


def test_an_outflow_flagged_at_import_is_raised_once_even_when_its_payment_arrives_later() -> None:
    acct = account(opening_date=START - timedelta(days=5))
    scan()  # a first (full) scan before anything
    req = plant("2750.00", days_ago=38, account="6222020000000020003")
    payment = paid(req, acct.number, reference="HIST000123", days_after=1)
    db.session.delete(payment)  # the statement comes first; the payment is imported afterwards
    db.session.flush()
    _import(acct, [Line(START + timedelta(days=3), "HIST000123", debit=Decimal("2750.00"), name=req.payee_name,
                        account="6222020000000020003", summary="转账支出")])
    assert len(flags_of(FlagType.UNMATCHED_OUTFLOW)) == 1  # at import: nothing paid fits yet
    paid(req, acct.number, reference="HIST000123", days_after=1)
    scan()
    assert len(flags_of(FlagType.UNMATCHED_OUTFLOW)) == 1  # raised once, not again


def test_no_statements_no_paid_without_statement() -> None:
    req = plant("3000.00", days_ago=38, account="6222020000000020004", village="HL-YC-02", accountant="xy_baozhang")
    paid(req, f.unit("HL-YC-02").bank_account or "", days_after=1)
    scan()
    assert flags_of(FlagType.PAID_WITHOUT_STATEMENT) == []

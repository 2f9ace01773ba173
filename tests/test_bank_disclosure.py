"""Disclosure from the closed month (issue 10 item 7): the sheet and the public page show 月初余额, income
lines, spending lines and 月末余额, which balance; a month not yet closed says so instead of numbers;
private names are masked on the public page unless the township chooses otherwise."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from finance.bank import services as bank
from finance.bank.models import ReceiptType
from finance.documents import services as documents
from finance.extensions import db as fdb
from finance.payments.queries import payment_of
from finance.workflow import State
from tests import factories as f
from tests.bank_helpers import Line, account, line_for, statement_of

FIRST = date.today().replace(day=1)


def _closed_month() -> tuple[object, int]:
    """This month, with a payment, a rent from a private person, interest, a charge and an explained
    outflow, reconciled and closed."""
    acct = account(opening="50000.00", opening_date=FIRST)
    village = acct.village
    req = f.in_state(State.PAID, "1200.00")
    pay = payment_of(req)
    bank.record_receipt(f.user("dy_baozhang"), village, bank.ReceiptInput(
        account_id=acct.id, payer_name="张桂芝", amount=Decimal("3000.00"), type=ReceiptType.RENT,
        received_on=date.today(), payer_account="6217000011112222333"))
    lines = [line_for(pay), Line(date.today(), "RENT1", credit=Decimal("3000.00"), name="张桂芝",
                                 account="6217000011112222333", summary="租金"),
             Line(date.today(), "INT1", credit=Decimal("20.00"), summary="结息"),
             Line(date.today(), "FEE1", debit=Decimal("5.00"), summary="手续费"),
             Line(date.today(), "OUT1", debit=Decimal("800.00"), name="李四", account="6200000000000001")]
    bank.import_statement(f.user("yc_shenhe"), statement_of(acct, lines).csv(), "s.csv")
    from finance.bank import queries

    for _line, match in queries.lines_of(village, only_open=True):
        if match is not None:
            bank.confirm_match(f.user("yc_shenhe"), match.id)
    (row,) = queries.exceptions([village.id])
    bank.close_exception(f.user("yc_shenhe"), row.id, "村民垫付款退还")
    bank.close_month(f.user("yc_shenhe"), village, f"{FIRST:%Y-%m}")
    fdb.session.commit()
    return village, req.id


def test_the_sheet_of_a_closed_month_balances(app, db):
    village, _req = _closed_month()
    with app.test_request_context():
        ctx = documents.disclosure(village, FIRST.year, FIRST.month)
    assert ctx["closed"]
    assert ctx["opening"] == Decimal("50000.00")
    assert ctx["income_total"] == Decimal("3020.00") and ctx["total"] == Decimal("2005.00")
    assert ctx["opening"] + ctx["income_total"] - ctx["total"] == ctx["closing"] == Decimal("51015.00")
    assert {line.payee for line in ctx["income"]} >= {"张桂芝"}
    assert any(line.purpose == "村民垫付款退还" for line in ctx["lines"])  # the explained outflow, with why


def test_public_page_shows_balances_and_masks_private_names(client, db):
    village, _req = _closed_month()
    page = client.get(f"/gongkai/{village.code}/{FIRST:%Y-%m}").get_data(as_text=True)
    assert "月初余额" in page and "50,000.00" in page and "51,015.00" in page and "3,020.00" in page
    assert "张*芝" in page and "张桂芝" not in page and "李*" in page
    # the township chooses otherwise: names shown whole
    bank.set_settings(f.user("yc_shenhe"), f.unit("HL-YC"), fee_words="手续费", fee_limit=Decimal("200"),
                      interest_words="结息", interest_limit=Decimal("5000"), paid_grace_days=5,
                      mask_public_names=False)
    fdb.session.commit()
    page = client.get(f"/gongkai/{village.code}/{FIRST:%Y-%m}").get_data(as_text=True)
    assert "张桂芝" in page


def test_a_month_not_closed_says_so_instead_of_numbers(client, db):
    account(opening="50000.00", opening_date=FIRST)
    f.in_state(State.PAID, "1200.00")
    village = f.unit("HL-YC-01")
    with client.application.test_request_context():
        ctx = documents.disclosure(village, FIRST.year, FIRST.month)
    assert not ctx["closed"] and ctx["opening"] is None and ctx["closing"] is None
    page = client.get(f"/gongkai/{village.code}/{FIRST:%Y-%m}").get_data(as_text=True)
    assert "尚未扎账" in page and "50,000.00" not in page
    assert not re.search(r"月末余额</", page)


def test_last_month_closed_and_this_month_open_are_told_apart(app, db):
    last = (FIRST - timedelta(days=1)).replace(day=1)
    acct = account(opening="100.00", opening_date=last)
    bank.import_statement(f.user("yc_shenhe"), statement_of(acct, [
        Line(last + timedelta(days=4), "F1", debit=Decimal("1.00"), summary="手续费")]).csv(), "s.csv")
    bank.close_month(f.user("yc_shenhe"), acct.village, f"{last:%Y-%m}")
    with app.test_request_context():
        closed = documents.disclosure(acct.village, last.year, last.month)
        assert closed["closed"] and closed["closing"] == Decimal("99.00")
        assert not documents.disclosure(acct.village, FIRST.year, FIRST.month)["closed"]

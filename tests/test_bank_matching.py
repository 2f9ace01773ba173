"""Matching (issue 10 items 1, 3-6): each rule and its ambiguity, the statement confirming an exact match,
the cashier who paid never confirming (in the service), every exception kind, receipts matched to
inflows, and a closed month refusing what would change it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.bank import queries
from finance.bank import services as bank
from finance.bank.models import BankException, ExceptionKind, MatchRule, MatchStatus, ReceiptType
from finance.errors import AlreadyHandled, Forbidden, NotFound
from finance.imports.reader import ImportFileError
from finance.payment_requests.services import RequestError
from finance.payments import services as payments
from finance.payments.queries import payment_of
from finance.workflow import State
from tests import factories as f
from tests.bank_helpers import Line, account, line_for, statement_of

TODAY = date.today()


def _import(acct, lines, who="yc_shenhe", opening=None):
    return bank.import_statement(f.user(who), statement_of(acct, lines, opening).csv(), "s.csv")


def _open(kind: ExceptionKind, village_id: int) -> list[BankException]:
    return queries.exceptions([village_id], kinds=[kind])


def test_payer_account_must_be_the_villages_own(db):
    req = f.in_state(State.APPROVED)
    with pytest.raises(RequestError) as info:
        payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req, payer_account="6222 0000 1111 2222"))
    assert "本村" in info.value.errors["payer_account"]
    assert req.state == State.APPROVED
    # an account set up on the accounts page counts as the village's own too
    bank.set_account(f.user("yc_shenhe"), req.village, bank.AccountInput(
        number="6222 0000 1111 2222", name="东岳村一般户", opening_date=TODAY.replace(day=1),
        opening_balance=Decimal("0")))
    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req, payer_account="6222000011112222"))
    assert req.state == State.PAID


def test_exact_reference_match_is_confirmed_by_the_statement(db):
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    acct = account()
    outcome = _import(acct, [line_for(pay)])
    assert outcome.confirmed == 1 and req.state == State.RECONCILED and pay.reconciled_at is not None
    match = queries.payment_match(pay)
    assert match.rule is MatchRule.REFERENCE and match.status is MatchStatus.CONFIRMED and match.automatic
    event = db.execute(select(Event).where(Event.action == "reconcile", Event.subject_id == str(req.id))
                       ).scalar_one()
    assert '"automatic":true' in event.after.replace(" ", "") and pay.bank_reference in event.after


def test_reference_match_with_another_spelling_uses_the_one_normaliser(db):
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    spelled = "-".join(pay.bank_reference[i:i + 4] for i in range(0, len(pay.bank_reference), 4)).lower()
    _import(account(), [line_for(pay, serial=spelled)])
    assert req.state == State.RECONCILED


@pytest.mark.parametrize("differs", ["amount", "counterparty"])
def test_reference_match_with_a_difference_is_proposed_with_an_exception(db, differs):
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    acct = account()
    line = (line_for(pay, amount=pay.amount + Decimal("1.00")) if differs == "amount"
            else line_for(pay, account_number="6200000000000009"))
    _import(acct, [line])
    match = queries.payment_match(pay)
    assert match.status is MatchStatus.PROPOSED and req.state == State.PAID
    kind = ExceptionKind.AMOUNT_MISMATCH if differs == "amount" else ExceptionKind.COUNTERPARTY_MISMATCH
    assert [e.payment_id for e in _open(kind, acct.village_id)] == [pay.id]


def test_amount_account_and_date_match_one_candidate_is_proposed(db):
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    acct = account()
    _import(acct, [line_for(pay, serial="BANKOWN0001", day=pay.value_date + timedelta(days=3))])
    match = queries.payment_match(pay)
    assert match.rule is MatchRule.AMOUNT_ACCOUNT_DATE and match.status is MatchStatus.PROPOSED
    assert req.state == State.PAID  # proposed: the reviewer confirms
    bank.confirm_match(f.user("yc_shenhe"), match.id)
    assert req.state == State.RECONCILED


def test_amount_account_date_outside_three_days_is_no_match(db):
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    acct = account(opening_date=TODAY.replace(day=1) - timedelta(days=40))
    _import(acct, [line_for(pay, serial="BANKOWN0002", day=pay.value_date - timedelta(days=4))])
    assert queries.payment_match(pay) is None
    assert len(_open(ExceptionKind.UNMATCHED_OUTFLOW, acct.village_id)) == 1


def test_several_candidates_go_to_a_person(db):
    a, b = f.in_state(State.PAID, "700.00"), f.in_state(State.PAID, "700.00")
    pa, pb = payment_of(a), payment_of(b)
    acct = account()
    outcome = _import(acct, [line_for(pa, serial="AMBIG0001")])
    assert outcome.ambiguous == 1 and queries.payment_match(pa) is None and queries.payment_match(pb) is None
    line, _m = queries.lines_of(acct.village, only_open=True)[0]
    assert {p.id for p, _r in queries.payment_candidates(line)} == {pa.id, pb.id}
    with pytest.raises(Forbidden):  # the cashier who paid cannot choose it either
        bank.manual_match(f.user("yc_chuna"), line.id, payment_id=pb.id)
    bank.manual_match(f.user("yc_shenhe"), line.id, payment_id=pb.id)
    assert b.state == State.RECONCILED and a.state == State.PAID


def test_two_lines_for_one_payment_are_ambiguous_too(db):
    req = f.in_state(State.PAID, "900.00")
    pay = payment_of(req)
    acct = account()
    outcome = _import(acct, [line_for(pay, serial="TWIN0001"), line_for(pay, serial="TWIN0002")])
    assert outcome.ambiguous == 2 and queries.payment_match(pay) is None


def test_the_cashier_who_paid_cannot_confirm_her_own_payment_in_the_service(db):
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    acct = account()
    outcome = _import(acct, [line_for(pay)], who="yc_chuna")  # her own file: not confirmed by it
    assert outcome.confirmed == 0 and outcome.proposed == 1 and req.state == State.PAID
    match = queries.payment_match(pay)
    with pytest.raises(Forbidden):
        bank.confirm_match(f.user("yc_chuna"), match.id)
    with pytest.raises(NotFound):  # another township's reviewer: not theirs to see
        bank.confirm_match(f.user("mk_shenhe"), match.id)
    with pytest.raises(Forbidden):  # a liaison reads, never confirms
        bank.confirm_match(f.user("yc_lianqing"), match.id)
    assert req.state == State.PAID and match.status is MatchStatus.PROPOSED
    bank.confirm_match(f.user("yc_shenhe"), match.id)
    assert req.state == State.RECONCILED
    with pytest.raises(AlreadyHandled):
        bank.confirm_match(f.user("yc_shenhe"), match.id)


def test_unmatch_needs_a_reason_and_a_confirmed_payment_match_stands(db):
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    acct = account()
    _import(acct, [line_for(pay, serial="OWN0001")])
    match = queries.payment_match(pay)
    with pytest.raises(bank.BankError):
        bank.unmatch(f.user("yc_shenhe"), match.id, " ")
    bank.unmatch(f.user("yc_shenhe"), match.id, "不是这笔")
    assert queries.payment_match(pay) is None
    other = f.in_state(State.PAID)
    opay = payment_of(other)
    _import(acct, [line_for(opay)], opening=queries.lines_of(acct.village)[0][0].balance)
    with pytest.raises(AlreadyHandled):
        bank.unmatch(f.user("yc_shenhe"), queries.payment_match(opay).id, "想撤销")


def test_every_exception_kind(db):
    acct = account()
    village = acct.village
    # 无申请支出 and 未登记收入
    _import(acct, [Line(TODAY, "OUT1", debit=Decimal("3600.00"), name="某劳务队", account="6228480099887766"),
                   Line(TODAY, "IN1", credit=Decimal("5000.00"), name="某承包户", account="6217000011110000")])
    assert len(_open(ExceptionKind.UNMATCHED_OUTFLOW, village.id)) == 1
    assert len(_open(ExceptionKind.UNREGISTERED_INCOME, village.id)) == 1
    from finance.notices.models import Notice

    alerts = db.execute(select(Notice).where(Notice.key.like("alert:bank-exception:HL-YC-01:%"))).scalars().all()
    assert len(alerts) == 1 and alerts[0].link == "/bank/exceptions?village=HL-YC-01"  # one per import
    # 已支付未见流水: N days after payment (the township's setting, default 5)
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    assert bank.check_paid_without_statement(village, today=pay.value_date + timedelta(days=4)) == []
    raised = bank.check_paid_without_statement(village, today=pay.value_date + timedelta(days=6))
    assert len(raised) == 1 and _open(ExceptionKind.PAID_WITHOUT_STATEMENT, village.id)[0].payment_id == pay.id
    assert bank.check_paid_without_statement(village, today=pay.value_date + timedelta(days=9)) == []  # once
    # amount and counterparty differences (by reference)
    for kind, line in ((ExceptionKind.AMOUNT_MISMATCH, lambda p: line_for(p, amount=p.amount + 5)),
                       (ExceptionKind.COUNTERPARTY_MISMATCH, lambda p: line_for(p, account_number="6200000000001"))):
        other = payment_of(f.in_state(State.PAID))
        last = queries.lines_of(village)[0][0]
        _import(acct, [line(other)], opening=last.balance)
        assert [e.payment_id for e in _open(kind, village.id)][-1] == other.id
    # each visible to the agency, the township head and the liaisons of that village; closed with a reason
    assert len(queries.exceptions([village.id])) == 5
    for who in ("yc_shenhe", "yc_chuna", "yc_zhenzhang", "yc_lianqing"):
        assert bank_readable(who, village), who
    assert not bank_readable("dy_baozhang", village) and not bank_readable("mk_lianqing", village)
    row = _open(ExceptionKind.UNMATCHED_OUTFLOW, village.id)[0]
    with pytest.raises(bank.BankError):
        bank.close_exception(f.user("yc_shenhe"), row.id, "")
    with pytest.raises(Forbidden):
        bank.close_exception(f.user("yc_lianqing"), row.id, "看过了")
    bank.close_exception(f.user("yc_shenhe"), row.id, "临时雇工工资，已补办申请")
    assert row.closed_at is not None and not _open(ExceptionKind.UNMATCHED_OUTFLOW, village.id)


def bank_readable(username: str, village) -> bool:
    from finance.permissions import Permission, can

    return can(f.user(username), Permission.BANK_READ, village)


def test_receipts_match_inflow_lines_and_settle_the_exception(db):
    acct = account()
    village = acct.village
    _import(acct, [Line(TODAY, "RENT01", credit=Decimal("12000.00"), name="张三", account="6217000011112222333",
                        summary="租金")])
    assert len(_open(ExceptionKind.UNREGISTERED_INCOME, village.id)) == 1
    receipt = bank.record_receipt(f.user("dy_baozhang"), village, bank.ReceiptInput(
        account_id=acct.id, payer_name="张三", amount=Decimal("12000.00"), type=ReceiptType.RENT,
        received_on=TODAY, payer_account="6217 0000 1111 2222 333", receipt_number="0001"))
    match = db.execute(select(queries.BankMatch).where(queries.BankMatch.receipt_id == receipt.id)).scalar_one()
    assert match.status is MatchStatus.PROPOSED
    with pytest.raises(Forbidden):  # who registered it does not confirm it
        bank.manual_match(f.user("dy_baozhang"), match.line_id, receipt_id=receipt.id)
    bank.confirm_match(f.user("yc_shenhe"), match.id)
    assert not _open(ExceptionKind.UNREGISTERED_INCOME, village.id)
    closed = queries.exceptions([village.id], open_only=False)
    assert closed[0].close_reason == bank.SYSTEM_REASON_MATCHED


def test_month_close_balances_and_refuses_changes(db):
    first = TODAY.replace(day=1)
    last = (first - timedelta(days=1)).replace(day=1)
    acct = account(opening_date=last, opening="1000.00")
    village = acct.village
    stray = Line(last + timedelta(days=2), "OUT9", debit=Decimal("300.00"), name="某人", account="6200000000000077")
    _import(acct, [Line(last + timedelta(days=1), "INT9", credit=Decimal("1.50"), summary="结息"), stray])
    with pytest.raises(bank.MonthNotClosable, match="未说明"):
        bank.close_month(f.user("yc_shenhe"), village, f"{last:%Y-%m}")
    bank.close_exception(f.user("yc_shenhe"), _open(ExceptionKind.UNMATCHED_OUTFLOW, village.id)[0].id,
                         "村民借款，已登记应收款")
    with pytest.raises(Forbidden):
        bank.close_month(f.user("yc_chuna"), village, f"{last:%Y-%m}")
    close = bank.close_month(f.user("yc_shenhe"), village, f"{last:%Y-%m}")
    (balance,) = queries.month_balances(village, close.period)
    assert (balance.opening, balance.inflows, balance.outflows, balance.closing) == (
        Decimal("1000.00"), Decimal("1.50"), Decimal("300.00"), Decimal("701.50"))
    assert balance.statement_closing == balance.closing
    with pytest.raises(AlreadyHandled):
        bank.close_month(f.user("yc_shenhe"), village, f"{last:%Y-%m}")
    # a closed month refuses an import, a receipt, a match and a change of the opening balance
    late = Line(last + timedelta(days=20), "LATE9", debit=Decimal("5.00"))
    with pytest.raises(ImportFileError, match="已扎账"):
        _import(acct, [late], opening=Decimal("701.50"))
    with pytest.raises(bank.BankError, match="已扎账"):
        bank.record_receipt(f.user("dy_baozhang"), village, bank.ReceiptInput(
            account_id=acct.id, payer_name="张三", amount=Decimal("1.00"), type=ReceiptType.OTHER,
            received_on=last + timedelta(days=5)))
    with pytest.raises(bank.BankError, match="已扎账"):
        bank.set_account(f.user("yc_shenhe"), village, bank.AccountInput(
            number=acct.number, name=acct.name, opening_date=last, opening_balance=Decimal("999.00"),
            reason="改一下"))
    events = db.execute(select(func.count(Event.id)).where(Event.action == "month_close")).scalar_one()
    assert events >= 1


def test_a_month_that_does_not_balance_cannot_be_closed(db):
    first = TODAY.replace(day=1)
    last = (first - timedelta(days=1)).replace(day=1)
    acct = account(opening_date=last, opening="1000.00")
    # the statement starts from another balance than the opening one set
    _import(acct, [Line(last + timedelta(days=1), "FEE7", debit=Decimal("1.00"), summary="手续费")],
            opening=Decimal("2000.00"))
    with pytest.raises(bank.MonthNotClosable, match="不符"):
        bank.close_month(f.user("yc_shenhe"), acct.village, f"{last:%Y-%m}")

"""The bank's pages through the test client: import, reconciliation (confirm, unmatch, choose among
candidates), exceptions (who sees them, close with a reason), accounts, receipts and month close; a
refused form changes nothing, a village outside one's scope is a 404."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from audit.models import Event
from finance.bank import queries
from finance.bank.models import BankAccount, BankException, BankMatch, MatchStatus, Receipt, StatementLine
from finance.payments.queries import payment_of
from finance.workflow import State
from tests import factories as f
from tests.bank_helpers import Line, account, line_for, statement_of


def as_user(make_client, who: str):
    from flask import g

    g.pop("csrf_token", None)  # the test's app context is shared by its clients' requests
    client = make_client()
    client.login(who)
    g.pop("csrf_token", None)
    return client


def events() -> int:
    return f.db.session.execute(select(func.count(Event.id))).scalar_one()


def upload(client, data: bytes, name: str = "流水.csv", account_id: str = ""):
    import io

    return client.post("/bank/import", data={"account": account_id, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_import_page_imports_and_reconciles(make_client, db):
    req = f.in_state(State.PAID)
    acct = account()
    pay = payment_of(req)
    client = as_user(make_client, "yc_chuna")
    assert client.get("/bank/import").status_code == 200
    response = upload(client, statement_of(acct, [line_for(pay)]).csv("gb18030"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/bank/HL-YC-01/reconcile")
    page = client.get("/bank/HL-YC-01/reconcile").get_data(as_text=True)
    # imported by the cashier who paid it: proposed, not confirmed by her file
    assert "建议匹配" in page and "由审核会计确认" in page
    f.db.session.refresh(req)
    assert req.state == State.PAID
    match = queries.payment_match(pay)
    assert match is not None and match.status is MatchStatus.PROPOSED
    # the cashier posting the confirm is refused, nothing changes
    before = events()
    assert client.post(f"/bank/matches/{match.id}/confirm", data={"village": "HL-YC-01"}).status_code in (403, 404)
    assert events() == before
    client = as_user(make_client, "yc_shenhe")
    page = client.get("/bank/HL-YC-01/reconcile").get_data(as_text=True)
    assert "确认对账" in page
    assert client.post(f"/bank/matches/{match.id}/confirm", data={"village": "HL-YC-01"}).status_code == 303
    f.db.session.refresh(req)
    assert req.state == State.RECONCILED and events() == before + 1


def test_import_page_shows_every_problem_and_imports_nothing(make_client, db):
    acct = account()
    lines = [Line(date.today(), "B1", debit=Decimal("10.00")), Line(date.today(), "B2", debit=Decimal("5.00"),
                                                                    balance=Decimal("3.00"))]
    client = as_user(make_client, "yc_shenhe")
    response = upload(client, statement_of(acct, lines).csv(), "坏的.csv")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "坏的.csv 第 5 行“余额”列" in page and "没有导入" in page
    assert db.execute(select(func.count(StatementLine.id)).where(StatementLine.account_id == acct.id)
                      ).scalar_one() == 0


def test_choose_among_candidates_and_unmatch(make_client, db):
    a = f.in_state(State.PAID, "800.00")
    b = f.in_state(State.PAID, "800.00")
    acct = account()
    pa, pb = payment_of(a), payment_of(b)
    # a line with another reference: two candidates by amount, account and date
    line = line_for(pa, serial="OTHERREF001")
    client = as_user(make_client, "yc_shenhe")
    upload(client, statement_of(acct, [line]).csv())
    row = db.execute(select(StatementLine).where(StatementLine.serial == "OTHERREF001")).scalar_one()
    page = client.get("/bank/HL-YC-01/reconcile").get_data(as_text=True)
    assert "有 2 笔可能对应" in page and a.number in page and b.number in page
    response = client.post(f"/bank/lines/{row.id}/match", data={"village": "HL-YC-01", "choice": f"p:{pb.id}"})
    assert response.status_code == 303
    f.db.session.refresh(b)
    assert b.state == State.RECONCILED
    # a proposal can be undone with a reason; without one it is refused
    c = f.in_state(State.PAID, "650.00")
    pc = payment_of(c)
    upload(client, statement_of(acct, [line_for(pc, serial="ZZ" + pc.bank_reference)],
                                opening=row.balance).csv())
    match = queries.payment_match(pc)
    assert match is not None and match.status is MatchStatus.PROPOSED
    assert client.post(f"/bank/matches/{match.id}/unmatch", data={"village": "HL-YC-01"}).status_code == 303
    assert queries.payment_match(pc) is not None
    assert client.post(f"/bank/matches/{match.id}/unmatch",
                       data={"village": "HL-YC-01", "reason": "对方账号相同但不是这笔"}).status_code == 303
    assert queries.payment_match(pc) is None


def test_exceptions_are_seen_by_agency_head_and_liaison_and_closed_only_with_a_reason(make_client, db):
    acct = account()
    client = as_user(make_client, "yc_shenhe")
    upload(client, statement_of(acct, [Line(date.today(), "STRAY1", debit=Decimal("3600.00"), name="某劳务队",
                                            account="6228480099887766")]).csv())
    row = db.execute(select(BankException).where(BankException.village_id == acct.village_id)).scalar_one()
    for who in ("yc_shenhe", "yc_chuna", "yc_zhenzhang", "yc_lianqing"):
        client = as_user(make_client, who)
        page = client.get("/bank/exceptions?village=HL-YC-01").get_data(as_text=True)
        assert "无申请支出" in page and "某劳务队" in page, who
    for who in ("dy_baozhang", "mk_shenhe", "mk_lianqing"):
        client = as_user(make_client, who)
        assert "STRAY1" not in client.get("/bank/exceptions").get_data(as_text=True)
        assert client.get("/bank/HL-YC-01/reconcile").status_code == 404, who
    client = as_user(make_client, "yc_lianqing")  # reads, never changes
    before = events()
    assert client.post(f"/bank/exceptions/{row.id}/close", data={"reason": "看过"}).status_code == 403
    client = as_user(make_client, "yc_shenhe")
    assert client.post(f"/bank/exceptions/{row.id}/close", data={"reason": ""}).status_code == 303
    f.db.session.refresh(row)
    assert row.closed_at is None and events() == before
    assert client.post(f"/bank/exceptions/{row.id}/close",
                       data={"reason": "村委会临时雇工工资，补办申请"}).status_code == 303
    f.db.session.refresh(row)
    assert row.closed_at is not None and row.close_reason == "村委会临时雇工工资，补办申请"
    assert events() == before + 1


def test_accounts_page_sets_and_changes_with_a_reason(make_client, db):
    client = as_user(make_client, "yc_shenhe")
    page = client.get("/bank/HL-YC-02/accounts").get_data(as_text=True)
    assert "设置账户" in page and "623059001122334402" in page  # the org unit's account offered
    form = {"number": "623059 0011 2233 4402", "name": "西岳村股份经济合作社", "bank_name": "农商行",
            "kind": "basic", "opening_date": date.today().replace(day=1).isoformat(), "opening_balance": "12,000.50"}
    assert client.post("/bank/HL-YC-02/accounts", data=form).status_code == 303
    acct = db.execute(select(BankAccount).where(BankAccount.number == "623059001122334402")).scalar_one()
    assert acct.opening_balance == Decimal("12000.50")
    form["opening_balance"] = "13000.00"
    response = client.post("/bank/HL-YC-02/accounts", data=form)
    assert response.status_code == 422 and "理由" in response.get_data(as_text=True)
    form["reason"] = "期初余额按银行对账单更正"
    assert client.post("/bank/HL-YC-02/accounts", data=form).status_code == 303
    f.db.session.refresh(acct)
    assert acct.opening_balance == Decimal("13000.00")
    client = as_user(make_client, "yc_chuna")  # the cashier does not set accounts
    form.pop("csrf_token", None)  # the other user's, put there by their posts
    r = client.post("/bank/HL-YC-02/accounts", data=form)
    assert r.status_code == 403, r.get_data(as_text=True)[-3000:]


def test_receipts_page_registers_once_and_matches_the_inflow(make_client, db):
    acct = account()
    client = as_user(make_client, "dy_baozhang")
    key = uuid.uuid4().hex
    form = {"payer_name": "张三", "amount": "12,000.00", "type": "rent", "received_on": date.today().isoformat(),
            "account_id": str(acct.id), "receipt_number": "0001234", "payer_account": "6217000011112222333",
            "client_key": key}
    for _ in range(2):
        assert client.post("/bank/HL-YC-01/receipts", data=form).status_code == 303
    assert db.execute(select(func.count(Receipt.id)).where(Receipt.village_id == acct.village_id)).scalar_one() == 1
    client = as_user(make_client, "yc_shenhe")
    upload(client, statement_of(acct, [Line(date.today(), "RENT1", credit=Decimal("12000.00"), name="张三",
                                            account="6217000011112222333", summary="租金")]).csv())
    match = db.execute(select(BankMatch).where(BankMatch.receipt_id.is_not(None))).scalar_one()
    assert match.status is MatchStatus.PROPOSED
    assert client.post(f"/bank/matches/{match.id}/confirm", data={"village": "HL-YC-01"}).status_code == 303
    assert "已对账" in client.get("/bank/HL-YC-01/receipts").get_data(as_text=True)


def test_months_page_closes_a_balanced_month(make_client, db):
    first = date.today().replace(day=1)
    last = (first - timedelta(days=1)).replace(day=1)
    acct = account(opening_date=last, opening="1000.00")
    client = as_user(make_client, "yc_shenhe")
    upload(client, statement_of(acct, [Line(last + timedelta(days=3), "F1", debit=Decimal("2.00"),
                                            summary="手续费")]).csv())
    page = client.get("/bank/HL-YC-01/months").get_data(as_text=True)
    assert f"{last:%Y-%m}" in page and "998.00" in page
    assert client.post(f"/bank/HL-YC-01/months/{last:%Y-%m}/close").status_code == 303
    assert f"{last:%Y-%m}" in queries.closed_periods(acct.village_id)

"""The bank through /api/v1 (issue 10): a statement imported (and refused with its row and column), a proposal
confirmed by the agency reviewer and refused to the cashier who paid, a receipt, and the exceptions listed
for whom may see them and closed with a reason. The services are the pages' (tests/test_bank_*.py)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from finance.bank import queries
from finance.payments.queries import payment_of
from finance.workflow import State
from tests import factories as f
from tests.bank_helpers import Line, account, line_for, statement_of


def _file(data: bytes, name: str = "流水.csv") -> dict[str, Any]:
    return {"file": (io.BytesIO(data), name)}


def test_import_confirm_receipt_and_exceptions_through_the_api(as_user: Any, db: Any) -> None:
    req = f.in_state(State.PAID)
    pay = payment_of(req)
    acct = account()
    cashier, reviewer = as_user("yc_chuna"), as_user("yc_shenhe")
    stray = Line(date.today(), "APISTRAY1", debit=Decimal("360.00"), name="某人", account="6217000000001111")
    # a broken file: 422 naming file, row and column; nothing imported
    bad = [line_for(pay), Line(date.today(), "APIB2", debit=Decimal("1.00"), balance=Decimal("5.00"))]
    r = cashier.post("/bank/statements", data=_file(statement_of(acct, bad).csv(), "坏.csv"),
                     content_type="multipart/form-data")
    assert r.status_code == 422 and "坏.csv 第 5 行“余额”列" in r.get_json()["errors"][0]["detail"]
    # the cashier who paid imports it: proposed, not confirmed by her file
    data = statement_of(acct, [line_for(pay), stray]).csv("gb18030")
    r = cashier.post("/bank/statements", data=_file(data), content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["added"], body["confirmed"], body["proposed"], body["exceptions"]) == (2, 0, 1, 1)
    again = cashier.post("/bank/statements", data=_file(data), content_type="multipart/form-data").get_json()
    assert again["added"] == 0 and "没有新增" in again["message"]
    match = queries.payment_match(pay)
    assert cashier.post(f"/bank/matches/{match.id}/confirm").status_code == 403
    assert as_user("mk_shenhe").post(f"/bank/matches/{match.id}/confirm").status_code == 404
    r = reviewer.post(f"/bank/matches/{match.id}/confirm")
    assert r.status_code == 200 and r.get_json()["status"] == "confirmed"
    f.db.session.refresh(req)
    assert req.state == State.RECONCILED
    # exceptions: the township's liaison reads them, another township's does not; closed with a reason
    items = as_user("yc_lianqing").get("/bank/exceptions").get_json()["items"]
    assert [e["kind"] for e in items] == ["unmatched_outflow"] and items[0]["amount"] == "360.00"
    assert as_user("mk_lianqing").get("/bank/exceptions").get_json()["items"] == []
    assert as_user("yc_lianqing").post(f"/bank/exceptions/{items[0]['id']}/close",
                                       json={"reason": "看过"}).status_code == 403
    assert reviewer.post(f"/bank/exceptions/{items[0]['id']}/close", json={"reason": ""}).status_code == 422
    r = reviewer.post(f"/bank/exceptions/{items[0]['id']}/close", json={"reason": "村民借款退还"})
    assert r.status_code == 200 and r.get_json()["close_reason"] == "村民借款退还"
    # a receipt registered by the village accountant
    r = as_user("dy_baozhang").post("/bank/receipts", json={
        "village_id": acct.village_id, "account_id": acct.id, "payer_name": "张三", "amount": "1200.00",
        "type": "rent", "received_on": date.today().isoformat()})
    assert r.status_code == 201 and r.get_json()["number"].startswith("SK")

"""Jurisdiction and separation of duties through the API: every endpoint that reads or changes a request
of 东岳村, as a user of another township (mk_*), as the township's liaison and as the requester. Each
answer is compared with what the page of the same action answers to the same person on a twin request
(the pages are the reference: 404 outside the scope, 403 where the person sees the request but may not do
this); where the page lets the person through, the API does too (2xx)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from finance.oversight import services as oversight
from finance.payment_requests.models import PaymentRequest
from finance.workflow import State
from tests import factories as f
from tests.api.conftest import ApiClient, make_token

WHO = ["mk_shenhe", "mk_lianqing", "yc_lianqing", "dy_baozhang"]
CHAIN = "village:HL-YC-01"


@dataclass
class Case:
    name: str
    state: State
    api: Callable[[ApiClient, PaymentRequest], Any]
    page: Callable[[Any, PaymentRequest], Any]


def _file() -> dict[str, Any]:
    return {"kind": "other", "file": (io.BytesIO(f.jpeg_bytes(color="red")), "x.jpg")}


def _pay_fields(req: PaymentRequest) -> dict[str, Any]:
    return {"bank_reference": f"M{uuid.uuid4().hex[:12].upper()}", "value_date": date.today().isoformat(),
            "amount": f"{req.amount:.2f}", "payee_name": req.payee_name, "payee_account": req.payee_account,
            "payer_account": req.village.bank_account, "receipt": (io.BytesIO(f.jpeg_bytes(color="blue")), "r.jpg")}


def _question(req: PaymentRequest) -> int:
    from finance.extensions import db

    q = oversight.ask_question(f.user("yc_lianqing"), req, "为何?", date.today() + timedelta(days=3))
    db.session.commit()
    return q.id


def _hold(req: PaymentRequest) -> int:
    from finance.extensions import db

    hold = oversight.hold_payment(f.user("yc_lianqing"), req, "待核实")
    db.session.commit()
    return hold.id


def _form(**data: Any) -> dict[str, Any]:
    return {"client_key": uuid.uuid4().hex, **data}


MP = "multipart/form-data"
CASES = [
    Case("read", State.PENDING, lambda a, r: a.get(f"/requests/{r.id}"),
         lambda c, r: c.get(f"/requests/{r.id}")),
    Case("edit", State.DRAFT, lambda a, r: a.put(f"/requests/{r.id}", {"payee_name": "改"}),
         lambda c, r: c.post(f"/requests/{r.id}/edit", data=_form(payee_name="改"))),
    Case("attach", State.DRAFT, lambda a, r: a.post(f"/requests/{r.id}/attachments", data=_file(), content_type=MP),
         lambda c, r: c.post(f"/requests/{r.id}/attachments", data=_file(), content_type=MP)),
    Case("detach", State.DRAFT, lambda a, r: a.delete(f"/requests/{r.id}/attachments/{r.attachments[0].id}"),
         lambda c, r: c.post(f"/requests/{r.id}/attachments/{r.attachments[0].id}/delete", data=_form())),
    Case("submit", State.DRAFT, lambda a, r: a.post(f"/requests/{r.id}/submit"),
         lambda c, r: c.post(f"/requests/{r.id}/submit", data=_form())),
    Case("approve", State.PENDING, lambda a, r: a.post(f"/requests/{r.id}/approve"),
         lambda c, r: c.post(f"/requests/{r.id}/approve", data=_form())),
    Case("return", State.PENDING, lambda a, r: a.post(f"/requests/{r.id}/return", {"reason": "补"}),
         lambda c, r: c.post(f"/requests/{r.id}/return", data=_form(reason="补"))),
    Case("reject", State.PENDING, lambda a, r: a.post(f"/requests/{r.id}/reject", {"reason": "否"}),
         lambda c, r: c.post(f"/requests/{r.id}/reject", data=_form(reason="否"))),
    Case("withdraw", State.PENDING, lambda a, r: a.post(f"/requests/{r.id}/withdraw"),
         lambda c, r: c.post(f"/requests/{r.id}/withdraw", data=_form())),
    Case("discard", State.DRAFT, lambda a, r: a.post(f"/requests/{r.id}/discard"),
         lambda c, r: c.post(f"/requests/{r.id}/discard", data=_form())),
    Case("pay", State.APPROVED, lambda a, r: a.post(f"/requests/{r.id}/pay", data=_pay_fields(r), content_type=MP),
         lambda c, r: c.post(f"/payments/{r.id}/pay", data=_form(**_pay_fields(r)), content_type=MP)),
    Case("attachment file", State.PENDING, lambda a, r: a.get(f"/attachments/{r.attachments[0].id}"),
         lambda c, r: c.get(f"/requests/attachments/{r.attachments[0].id}?original=1")),
    Case("request flags", State.PENDING, lambda a, r: a.get(f"/requests/{r.id}/flags"),
         lambda c, r: c.get(f"/requests/{r.id}")),
    # the request page shows its open questions (问询) to all who read it: the village answers them too
    Case("questions", State.PENDING, lambda a, r: a.get(f"/requests/{r.id}/questions"),
         lambda c, r: c.get(f"/oversight/questions/{_question(r)}")),  # open to whoever may read or answer them
    Case("ask", State.PENDING,
         lambda a, r: a.post(f"/requests/{r.id}/questions", {"text": "?", "deadline": date.today().isoformat()}),
         lambda c, r: c.post(f"/oversight/requests/{r.id}/questions",
                             data=_form(text="?", deadline=date.today().isoformat()))),
    Case("question", State.PENDING, lambda a, r: a.get(f"/questions/{_question(r)}"),
         lambda c, r: c.get(f"/oversight/questions/{_question(r)}")),
    Case("answer", State.PENDING, lambda a, r: a.post(f"/questions/{_question(r)}/answer", {"answer": "已核"}),
         lambda c, r: c.post(f"/oversight/questions/{_question(r)}/answer", data=_form(answer="已核"))),
    Case("hold", State.APPROVED, lambda a, r: a.post(f"/requests/{r.id}/hold", {"reason": "待核实"}),
         lambda c, r: c.post(f"/oversight/flags/requests/{r.id}/hold", data=_form(hold_reason="待核实"))),
    Case("lift", State.APPROVED, lambda a, r: a.post(f"/holds/{_hold(r)}/lift", {"reason": "已核实"}),
         lambda c, r: c.post(f"/oversight/flags/holds/{_hold(r)}/lift", data=_form(lift_reason="已核实"))),
    Case("chain events", State.PENDING, lambda a, r: a.get(f"/chains/{CHAIN}/events"),
         lambda c, r: c.get(f"/oversight/chains/{CHAIN}")),
    Case("verification", State.PENDING, lambda a, r: a.get(f"/chains/{CHAIN}/verification"),
         lambda c, r: c.get(f"/oversight/chains/{CHAIN}")),
    Case("checkpoints", State.PAID, lambda a, r: a.post(f"/chains/{CHAIN}/checkpoints"),
         lambda c, r: c.post(f"/oversight/chains/{CHAIN}/checkpoints", data=_form())),
    # the controls (finance/controls/api.py): what a request pays against, as its page's panel shows it
    Case("link", State.PENDING, lambda a, r: a.get(f"/requests/{r.id}/link"), lambda c, r: c.get(f"/requests/{r.id}")),
    Case("set link", State.DRAFT, lambda a, r: a.put(f"/requests/{r.id}/link", {"payee_id_number": None}),
         lambda c, r: c.post(f"/controls/requests/{r.id}/link", data=_form(payee_id_number=""))),
    Case("set link returned", State.RETURNED, lambda a, r: a.put(f"/requests/{r.id}/link", {}),
         lambda c, r: c.post(f"/controls/requests/{r.id}/link", data=_form())),
    Case("originals", State.APPROVED, lambda a, r: a.post(f"/requests/{r.id}/originals"),
         lambda c, r: c.post(f"/controls/requests/{r.id}/originals", data=_form())),
]


def _refusal(status: int) -> int | None:
    return status if status in (403, 404) else None


@pytest.mark.exhaustive
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_endpoint_answers_each_person_as_the_page_does(case: Case, app: Any, db: Any, make_client: Any
                                                             ) -> None:
    outcomes = {}
    for who in WHO:
        page_client = make_client()
        assert page_client.login(who).status_code == 302
        page_status = case.page(page_client, f.in_state(case.state)).status_code
        api_status = case.api(ApiClient(make_client(), make_token(who)), f.in_state(case.state)).status_code
        outcomes[who] = (page_status, api_status)
        if _refusal(page_status):
            assert api_status == page_status, (case.name, who, outcomes[who])
        else:
            assert 200 <= api_status < 300 and page_status < 400, (case.name, who, outcomes[who])
    # Another township never sees the request or the chain; the liaison of the village's township reads.
    assert outcomes["mk_shenhe"][1] == 404 and outcomes["mk_lianqing"][1] == 404, outcomes


def test_lists_hold_nothing_of_another_township(as_user: Any, db: Any) -> None:
    req = f.in_state(State.PENDING)
    for who, sees in (("mk_shenhe", False), ("mk_lianqing", False), ("yc_lianqing", True), ("dy_baozhang", True),
                      ("dy_shuji", True)):
        api = as_user(who)
        listed = {r["id"] for r in api.get("/requests?limit=100").get_json()["items"]}
        assert (req.id in listed) is sees, who
        todo = {r["id"] for r in api.get("/todo?limit=100").get_json()["items"]}
        assert (req.id in todo) is (who == "dy_shuji"), who
    chains = {c["chain_id"] for c in as_user("mk_lianqing").get("/chains").get_json()["items"]}
    assert CHAIN not in chains


def test_the_requester_who_is_also_an_approver_cannot_approve_their_own_request(as_user: Any, db: Any) -> None:
    """Separation of duties through the API: the bars of the workflow table, not the role alone."""
    from finance.auth import services as accounts
    from finance.roles import Role

    accounts.assign_role(f.user("dy_shuji"), Role.ACCOUNTANT, f.unit("HL-YC-01"))
    db.commit()
    req = f.in_state(State.PENDING, accountant="dy_shuji")
    api = as_user("dy_shuji")
    assert "approve" not in api.get(f"/requests/{req.id}").get_json()["may"]
    r = api.post(f"/requests/{req.id}/approve", {"comment": "自己批"})
    assert r.status_code == 403 and r.headers["Content-Type"] == "application/problem+json"

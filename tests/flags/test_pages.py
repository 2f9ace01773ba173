"""The workbench (廉情监督 → 风险提示), a flag's evidence and dispositions, holds on a payment (暂缓支付),
questions answered by the village, open flags before the buttons, and the district page (提级监督)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

import audit
from finance.auth import services as accounts
from finance.extensions import db
from finance.flags.models import FlagStatus, FlagType, RiskFlag
from finance.oversight.models import PaymentHold, Question
from finance.payment_requests.models import PaymentRequest
from finance.payments import services as payments
from finance.roles import Role
from finance.timefmt import today_local
from finance.trail import AuditSubject
from finance.workflow import State
from tests import factories as f
from tests.conftest import PASSWORD


def _flagged(state: State = State.PENDING, amount: str = "9880.00", **kw: Any) -> tuple[PaymentRequest, RiskFlag]:
    """A request flagged at submit (just under the 10,000 band)."""
    req = f.in_state(state, amount, **kw)
    flag = db.session.execute(select(RiskFlag).where(RiskFlag.key == f"just_under_band:{req.id}")).scalar_one()
    return req, flag


def _events(flag: RiskFlag) -> list[str]:
    return list(db.session.execute(select(audit.Event.action).where(
        audit.Event.subject_type == AuditSubject.RISK_FLAG.value, audit.Event.subject_id == str(flag.id))
        .order_by(audit.Event.id)).scalars())


def test_workbench_lists_the_liaisons_flags_red_first_and_filters(client: Any, make_client: Any) -> None:
    _req, yellow = _flagged()
    red_req = f.in_state(State.PENDING, "800.00", purpose="春节购买烟酒", payee_account="6222020000000004444")
    red = db.session.execute(select(RiskFlag).where(RiskFlag.key == f"negative_list:{red_req.id}")).scalar_one()
    client.login("yc_lianqing")
    page = client.get("/oversight/flags/").get_data(as_text=True)
    assert page.index(red.summary) < page.index(yellow.summary)
    only_yellow = client.get("/oversight/flags/?colour=yellow").get_data(as_text=True)
    assert yellow.summary in only_yellow and red.summary not in only_yellow
    by_type = client.get(f"/oversight/flags/?type={FlagType.NEGATIVE_LIST.value}").get_data(as_text=True)
    assert red.summary in by_type and yellow.summary not in by_type
    other = make_client()
    other.login("mk_lianqing")  # another township's liaison
    assert yellow.summary not in other.get("/oversight/flags/").get_data(as_text=True)
    assert other.get(f"/oversight/flags/{yellow.id}").status_code == 404
    approver = make_client()
    approver.login("dy_shuji")
    assert approver.get("/oversight/flags/").status_code == 404


def test_clear_needs_a_reason_and_is_an_event_in_the_flags_history(client: Any) -> None:
    _req, flag = _flagged()
    client.login("yc_lianqing")
    refused = client.post(f"/oversight/flags/{flag.id}/clear", data={"reason": " "})
    assert refused.status_code == 422 and "请写明核实情况" in refused.get_data(as_text=True)
    assert client.post(f"/oversight/flags/{flag.id}/clear", data={"reason": "核实为正常采购。"}).status_code == 303
    db.session.refresh(flag)
    assert flag.status == FlagStatus.CLEARED and flag.reason == "核实为正常采购。"
    assert _events(flag) == ["flag_raise", "flag_clear"]
    page = client.get(f"/oversight/flags/{flag.id}").get_data(as_text=True)
    assert "核实风险提示无异常" in page and "核实为正常采购。" in page


def test_ask_with_hold_stops_the_cashier_until_the_village_answers(client: Any, make_client: Any) -> None:
    req, flag = _flagged(State.APPROVED)
    client.login("yc_lianqing")
    asked = client.post(f"/oversight/flags/{flag.id}/ask", data={
        "text": "请说明金额为何略低于审批线。", "deadline": (today_local() + timedelta(days=7)).isoformat(),
        "hold": "1"})
    assert asked.status_code == 303
    db.session.refresh(flag)
    assert flag.status == FlagStatus.ASKED and _events(flag) == ["flag_raise", "flag_ask"]
    hold = db.session.execute(select(PaymentHold).where(PaymentHold.request_id == req.id)).scalar_one()
    cashier = make_client()
    cashier.login("yc_chuna")
    pay_page = cashier.get(f"/payments/{req.id}/pay").get_data(as_text=True)
    assert "暂缓支付" in pay_page and "请说明金额为何略低于审批线" in pay_page
    with pytest.raises(payments.requests.RequestError) as refused:
        payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req), client_key=uuid.uuid4().hex)
    assert "hold" in refused.value.errors
    question = db.session.execute(select(Question).where(Question.request_id == req.id)).scalar_one()
    village = make_client()
    village.login("dy_baozhang")  # the village's 报账员 answers
    answered = village.post(f"/oversight/questions/{question.id}/answer", data={"answer": "按合同单价计算。"})
    assert answered.status_code == 303
    db.session.refresh(hold)
    assert hold.lifted_at is not None
    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req), client_key=uuid.uuid4().hex)
    assert req.state == State.PAID


def test_liaison_holds_and_lifts_from_the_request_page(client: Any) -> None:
    req = f.in_state(State.APPROVED)
    client.login("yc_lianqing")
    assert client.post(f"/oversight/flags/requests/{req.id}/hold", data={"hold_reason": "待核实"}).status_code == 303
    hold = db.session.execute(select(PaymentHold).where(PaymentHold.request_id == req.id)).scalar_one()
    assert "待核实" in client.get(f"/oversight/requests/{req.id}").get_data(as_text=True)
    assert client.post(f"/oversight/flags/holds/{hold.id}/lift", data={"lift_reason": "已核实"}).status_code == 303
    db.session.refresh(hold)
    assert hold.lifted_at is not None and hold.lift_reason == "已核实"


def test_cashier_and_accountant_cannot_hold(client: Any) -> None:
    req = f.in_state(State.APPROVED)
    client.login("yc_chuna")
    assert client.post(f"/oversight/flags/requests/{req.id}/hold", data={"hold_reason": "x"}).status_code == 404
    assert db.session.execute(select(PaymentHold)).first() is None


def test_approver_sees_open_flags_before_the_buttons_and_the_accountant_does_not(client: Any, make_client: Any
                                                                                 ) -> None:
    req, flag = _flagged()
    client.login("dy_shuji")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert flag.summary in page and page.index(flag.summary) < page.index('id="actions"')
    accountant = make_client()
    accountant.login("dy_baozhang")
    assert flag.summary not in accountant.get(f"/requests/{req.id}").get_data(as_text=True)


def _district_liaison() -> None:
    user = accounts.create_user(username="hl_jiwei", display_name="区纪委联络员", password=PASSWORD,
                                role=Role.LIAISON, org_unit=f.unit("HL"))
    db.session.flush()
    assert user.id


def test_district_page_for_the_district_liaison_and_admin_not_for_a_township(client: Any, make_client: Any
                                                                             ) -> None:
    _flagged()
    _district_liaison()
    db.session.commit()
    client.login("hl_jiwei")
    page = client.get("/oversight/flags/district").get_data(as_text=True)
    assert "岳村镇" in page and "孟轲乡" in page and "金额略低于审批线 1" in page
    admin = make_client()
    admin.login("hl_admin")
    assert admin.get("/oversight/flags/district").status_code == 200
    township = make_client()
    township.login("yc_lianqing")
    assert township.get("/oversight/flags/district").status_code == 404
    # the district liaison reads every township's flags but can approve and pay nothing
    assert "金额略低于审批线" in client.get("/oversight/flags/").get_data(as_text=True)

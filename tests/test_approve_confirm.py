"""同意 shows what is approved before it takes effect (issue 16 item 3): the service's summary (amount in
figures and 大写, payee, step) refuses what `approve` would refuse and changes nothing; the detail page's
同意 leads to the confirmation page (a GET: no JS needed) whose form approves through the write pipeline."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.errors import AlreadyHandled, Forbidden
from finance.extensions import db
from finance.payment_requests import services
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.roles import Role
from finance.workflow import NotAllowed, State
from tests import factories as f


def counts() -> tuple[int, int]:
    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar_one()  # type: ignore[return-value]
                 for m in (RequestAction, Event))


def test_the_summary_names_amount_capital_payee_and_step_and_changes_nothing(db):
    req = f.in_state(State.PENDING, "58500.00")
    before = counts()
    summary = services.approval_summary(f.user("dy_shuji"), req, req.version)
    assert summary.amount == Decimal("58500.00") and summary.capital == "人民币伍万捌仟伍佰元整"
    assert summary.payee_name == req.payee_name and summary.payee_account == req.payee_account
    assert (summary.step, summary.steps_total, summary.role) == (1, 5, Role.VILLAGE_LEAD)
    assert not summary.last_step
    assert counts() == before and req.step == 1


def test_the_summary_refuses_what_approve_would_refuse(db):
    req = f.in_state(State.PENDING)
    with pytest.raises(AlreadyHandled):  # a page out of date
        services.approval_summary(f.user("dy_shuji"), req, req.version - 1)
    with pytest.raises(Forbidden):  # not this step's approver
        services.approval_summary(f.user("dy_jianwei"), req)
    with pytest.raises(NotAllowed):
        services.approval_summary(f.user("dy_shuji"), f.in_state(State.RETURNED))


def test_the_last_step_says_the_cashier_pays_next(db):
    req = f.in_state(State.PENDING)
    *first, last = f.approvers_for(req)
    for name in first:
        services.approve(f.user(name), req, "同意")
    assert services.approval_summary(f.user(last), req).last_step


def test_agree_leads_to_the_confirmation_and_only_its_form_approves(client):
    req = f.in_state(State.PENDING, "58500.00")
    client.login("dy_shuji")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    get_form = re.search(r'<form method="get" action="(/requests/\d+/approve)"', page)
    assert get_form and 'name="comment"' not in page.split('id="actions"')[1].split("</form>")[0]
    before = counts()
    confirm = client.get(f"/requests/{req.id}/approve?version={req.version}")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and counts() == before  # looking changes nothing
    assert "¥58,500.00" in html and "人民币伍万捌仟伍佰元整" in html and req.payee_name in html
    assert "第 1/5 步 · 村负责人" in html and "确认同意" in html
    key = re.search(r'name="client_key" value="([0-9a-f]+)"', html).group(1)
    done = client.post(f"/requests/{req.id}/approve", data={"client_key": key, "version": str(req.version),
                                                             "comment": "同意，已核对"})
    assert done.status_code == 303
    db.session.expire_all()
    approved = db.session.get(PaymentRequest, req.id)
    assert approved is not None and approved.step == 2 and approved.actions[-1].comment == "同意，已核对"


def test_a_confirmation_of_a_stale_page_is_the_409_page(client, make_client):
    req = f.in_state(State.PENDING)
    client.login("dy_shuji")
    version = req.version
    accountant = make_client()
    accountant.login("dy_baozhang")
    services.withdraw(f.user("dy_baozhang"), req)
    db.session.commit()
    response = client.get(f"/requests/{req.id}/approve?version={version}")
    assert response.status_code == 409
    assert make_client().get(f"/requests/{req.id}/approve").status_code == 302  # signed out: to the login

"""A liaison opening an edit address is refused with a reason about the role, not the state (issue 16 item
13); the accountant opening it on a request that cannot be edited still hears about the state."""

from __future__ import annotations

import pytest

from finance.errors import Forbidden
from finance.payment_requests import services
from finance.permissions import holds_role_for
from finance.workflow import Action, State
from tests import factories as f


@pytest.mark.parametrize("state", [State.DRAFT, State.PENDING, State.PAID])
def test_a_liaison_is_told_the_edit_is_the_accountants(client, state):
    req = f.in_state(state)
    client.login("yc_lianqing")
    response = client.get(f"/requests/{req.id}/edit")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "“修改”只能由村报账员办理；您的身份是廉情联络员，只能查看。" in html
    assert "当前状态" not in html


def test_a_liaison_is_told_the_payment_is_the_cashiers(client):
    req = f.in_state(State.PENDING)
    client.login("yc_lianqing")
    response = client.get(f"/payments/{req.id}/pay")
    assert response.status_code == 403
    assert "“支付”只能由代理中心出纳办理；您的身份是廉情联络员，只能查看。" in response.get_data(as_text=True)


def test_the_accountant_still_hears_about_the_state(client):
    req = f.in_state(State.PENDING)
    client.login("dy_baozhang")
    response = client.get(f"/requests/{req.id}/edit", follow_redirects=True)
    assert "该申请当前状态为“审批中”，不能修改" in response.get_data(as_text=True)


def test_the_role_comes_before_the_state_in_check(db):
    req = f.in_state(State.PENDING)
    liaison, accountant = f.user("yc_lianqing"), f.user("dy_baozhang")
    assert not holds_role_for(liaison, req, Action.EDIT) and holds_role_for(accountant, req, Action.EDIT)
    with pytest.raises(Forbidden):
        services.check(liaison, req, Action.EDIT)

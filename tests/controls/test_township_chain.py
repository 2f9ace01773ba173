"""The chain as townships run it (issue 11 item 6): a 包村领导 bound to the villages he covers and seeing
only those, the township head's title from the unit, a committee step of k of n, the 负面清单 warning,
the agency's 原件已收 before payment, and the control policy page that sets them."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.auth import services as accounts
from finance.controls import services as controls
from finance.controls.models import ControlPolicy
from finance.controls.policy import ControlRules
from finance.controls.queries import control_rules
from finance.errors import Forbidden
from finance.extensions import db as fdb
from finance.payment_requests import services as requests
from finance.payment_requests.queries import get_visible
from finance.payment_requests.route import role_label, route_of
from finance.payments import services as payments
from finance.permissions import acting_role, villages_in_scope
from finance.roles import Role, head_title
from finance.workflow import Action, State
from tests import factories as f

PASSWORD = "Aa9!xyzzy-long-pass"


def new_user(username: str, name: str, role: Role, unit: str):
    return accounts.create_user(username=username, display_name=name, password=PASSWORD, role=role,
                                org_unit=f.unit(unit), by=f.user("hl_admin"))


def last_event(req, action):
    return fdb.session.execute(select(Event).where(
        Event.subject_type == "payment_request", Event.subject_id == str(req.id), Event.action == action)
        .order_by(Event.id.desc()).limit(1)).scalar_one()


def at_step(req, role: Role):
    for name in f.approvers_for(req):
        if req.waiting_role == role:
            return req
        requests.approve(f.user(name), req, client_key=uuid.uuid4().hex)
    return req


def test_a_township_leader_bound_to_his_villages_sees_and_approves_only_those(db):
    zhou = new_user("yc_baocun_dy", "周德明", Role.TOWNSHIP_LEADER, "HL-YC-01")
    assert [v.code for v in villages_in_scope(zhou)] == ["HL-YC-01"]
    mine = at_step(f.in_state(State.PENDING, "12000.00"), Role.TOWNSHIP_LEADER)
    theirs = at_step(f.in_state(State.PENDING, "12000.00", accountant="xy_baozhang", village="HL-YC-02"),
                     Role.TOWNSHIP_LEADER)
    assert get_visible(zhou, theirs.id) is None and acting_role(zhou, theirs, Action.APPROVE) is None
    assert get_visible(zhou, mine.id) is not None and acting_role(zhou, mine, Action.APPROVE) == Role.TOWNSHIP_LEADER
    requests.approve(zhou, mine, client_key=uuid.uuid4().hex)
    assert mine.state == State.APPROVED


@pytest.mark.parametrize(("name", "title"), [("岳村镇", "镇长"), ("孟轲乡", "乡长"), ("胜利路街道", "街道主任"),
                                             ("城关街道办事处", "街道主任")])
def test_the_township_heads_title_comes_from_the_unit(name, title, db):
    assert head_title(name) == title


def test_a_request_of_a_xiang_waits_for_its_xiangzhang(client, db):
    req = f.in_state(State.PENDING, "60000.00", accountant="mk_baozhang", village="HL-MK-01")
    assert role_label(req, Role.TOWNSHIP_HEAD) == "乡长"
    assert [s["label"] for s in route_of(req)][-1] == "乡长"
    fdb.session.commit()
    client.login("mk_baozhang")
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "乡长" in page and "镇长" not in page


def test_a_committee_step_needs_two_of_three_members(client, db):
    controls.publish_control_rules(f.user("hl_admin"), f.unit("HL-YC"),
                                   ControlRules(committee={Role.VILLAGE_SUPERVISOR.value: 2}))
    second = new_user("dy_jianwei2", "王淑芬", Role.VILLAGE_SUPERVISOR, "HL-YC-01")
    new_user("dy_jianwei3", "陈国庆", Role.VILLAGE_SUPERVISOR, "HL-YC-01")
    req = f.in_state(State.PENDING)
    requests.approve(f.user("dy_shuji"), req, client_key=uuid.uuid4().hex)
    first = f.user("dy_jianwei")
    version = req.version
    assert requests.approve(first, req, "同意", client_key=uuid.uuid4().hex) is None  # a vote, not the step
    assert req.step == 2 and req.version > version
    vote = json.loads(last_event(req, "committee_vote").after)
    assert vote["committee"] == {"step": 2, "round": 1, "agreed": 1, "of": 2}
    with pytest.raises(requests.RequestError, match="您已同意"):
        requests.approve(first, req, client_key=uuid.uuid4().hex)
    fdb.session.commit()
    client.login("dy_shuji")  # anyone who reads the request sees where the committee stands
    page = client.get(f"/requests/{req.id}").get_data(as_text=True)
    assert "3 人中须 2 人同意，已同意 1 人" in page and "张桂兰" in page
    row = requests.approve(second, req, client_key=uuid.uuid4().hex)
    assert row is not None and row.actor_id == second.id and req.step == 3
    approved = json.loads(last_event(req, "approve").after)
    assert approved["committee"] == {"step": 2, "agreed": [first.id, second.id]}


def test_a_warned_negative_list_item_goes_through_and_is_in_the_trail(db):
    controls.add_negative_item(f.user("hl_admin"), f.unit("HL-YC"), controls.NegativeItemInput(
        item="礼品", keywords="礼品 购物卡", action="warn"))
    req = f.in_state(State.PENDING, purpose="重阳节慰问老人礼品（米面油）")
    findings = json.loads(last_event(req, "submit").after)["controls"]["findings"]
    assert [(x["code"], x["severity"]) for x in findings] == [("negative_list", "warn")]


def test_the_cashier_waits_for_originals_received_where_the_township_asks(db):
    controls.publish_control_rules(f.user("hl_admin"), f.unit("HL-YC"), ControlRules(originals_before_payment=True))
    req = f.in_state(State.APPROVED)
    with pytest.raises(requests.RequestError) as exc:
        payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req), client_key=uuid.uuid4().hex)
    assert "原件已收" in exc.value.errors["originals"] and req.state == State.APPROVED
    with pytest.raises(Forbidden):
        controls.mark_originals_received(f.user("yc_chuna"), req)
    controls.mark_originals_received(f.user("yc_shenhe"), req)
    assert last_event(req, "originals_received").actor_role == "agency_reviewer"
    payments.record_payment(f.user("yc_chuna"), req, f.payment_input(req), client_key=uuid.uuid4().hex)
    assert req.state == State.PAID
    pending = f.in_state(State.PENDING)
    with pytest.raises(controls.ControlError, match="等待支付的申请"):
        controls.mark_originals_received(f.user("yc_shenhe"), pending)


def test_originals_are_not_asked_for_by_default(db):
    req = f.in_state(State.PAID)
    assert req.state == State.PAID


def test_the_control_policy_page_publishes_a_version(client, make_client, db):
    town = f.unit("HL-YC")
    fdb.session.commit()
    client.login("hl_admin")
    page = client.get(f"/controls/townships/{town.id}/policy").get_data(as_text=True)
    assert "累计期间（天）" in page and "原件已收" in page
    count = fdb.session.execute(select(func.count()).select_from(ControlPolicy)).scalar_one()
    bad = client.post(f"/controls/townships/{town.id}/policy", data={
        "window_days": "0", "quorum": "2/3", "image_distance": "12", "committee_village_supervisor": "1",
        "committee_village_lead": "1", "salary_subjects": "2301"})
    assert bad.status_code == 422 and "累计期间（天）不正确" in bad.get_data(as_text=True)
    assert fdb.session.execute(select(func.count()).select_from(ControlPolicy)).scalar_one() == count
    ok = client.post(f"/controls/townships/{town.id}/policy", data={
        "window_days": "45", "quorum": "3/4", "image_distance": "10", "committee_village_supervisor": "2",
        "committee_village_lead": "1", "salary_subjects": "2301 211", "originals_before_payment": "1"})
    assert ok.status_code == 303
    rules = control_rules(town)
    assert (rules.window_days, str(rules.quorum), rules.committee, rules.originals_before_payment) == (
        45, "3/4", {"village_supervisor": 2}, True)
    other = make_client()
    other.login("yc_shenhe")
    assert other.get(f"/controls/townships/{town.id}/policy").status_code == 404

"""Delegation (代理审批): A names B to act for A in one role over some villages between two dates. B acts
through the same services and the same one rule (permissions.acting_for); the history and the trail
record both people; the separation of duties holds for both; A (or the admin) can end it early; the
delegate is told while it is in force."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from audit.models import Event
from finance.delegations import queries, services
from finance.delegations.models import Delegation
from finance.delegations.services import DelegationError, DelegationInput
from finance.errors import NotFound
from finance.extensions import db as fdb
from finance.notices.recipients import next_actors
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest, RequestAction
from finance.payment_requests.queries import inbox_count, inbox_for
from finance.payments import services as payments
from finance.permissions import Permission, acting_for, can
from finance.roles import Role
from finance.timefmt import today_local
from finance.trail import AuditAction
from finance.workflow import Action, State
from tests import factories as f
from tests.test_separation_of_duties import approve, events, person, refused


def delegate(principal: str | Any, to: str | Any, role: Role, villages: tuple[str, ...] = ("HL-YC-01",),
             days: int = 7, start_in: int = 0) -> Delegation:
    a = f.user(principal) if isinstance(principal, str) else principal
    b = f.user(to) if isinstance(to, str) else to
    start = today_local() + timedelta(days=start_in)
    d = services.create(a, DelegationInput(role=role.value, delegate_id=b.id,
                                           village_ids=[f.unit(v).id for v in villages],
                                           starts_on=start, ends_on=start + timedelta(days=days)))
    fdb.session.commit()
    return d


def todo(username: str | Any) -> list[PaymentRequest]:
    who = f.user(username) if isinstance(username, str) else username
    return inbox_for(who)


def pay(who: Any, req: PaymentRequest) -> None:
    payments.record_payment(who, req, f.payment_input(req), client_key=uuid.uuid4().hex)
    fdb.session.commit()


def test_the_delegate_approves_for_the_principal_and_both_are_recorded(db: Any) -> None:
    """王建国 (village lead of 东岳村) names 陈志强 (lead of 西岳村): 陈 sees 东岳村's step 1 in his to-do,
    approves it; the history's actor is 陈 on behalf of 王, the event's actor is 陈 with 王 in its payload."""
    req = f.in_state(State.PENDING)
    assert req not in todo("xy_shuji")
    d = delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD)
    b, a = f.user("xy_shuji"), f.user("dy_shuji")
    assert req in todo(b) and inbox_count(b) == 1
    acting = acting_for(b, req, Action.APPROVE)
    assert acting is not None and acting.role is Role.VILLAGE_LEAD and acting.on_behalf_of == a
    assert can(b, Permission.REQUEST_READ, req) and can(b, Permission.REQUEST_DECIDE, req)
    assert [u.username for u in next_actors(req)] == ["dy_shuji", "xy_shuji"]  # both are told
    approve(b, req)
    row = fdb.session.execute(select(RequestAction).where(RequestAction.request_id == req.id,
                                                          RequestAction.action == Action.APPROVE)).scalar_one()
    assert (row.actor_id, row.on_behalf_of_id, row.actor_role) == (b.id, a.id, Role.VILLAGE_LEAD)
    event = fdb.session.execute(select(Event).where(Event.action == "approve", Event.subject_id == str(req.id))
                                ).scalar_one()
    assert event.actor_id == b.id
    assert json.loads(event.after)["on_behalf_of"] == {"user_id": a.id, "name": a.display_name,
                                                        "delegation_id": d.id}
    assert req.step == 2 and req not in todo(b)
    from finance.documents.services import _rounds  # what the printed 支付审批单 lists

    assert _rounds(req)[-1].steps[0].name == "陈志强（代 王建国）"


def test_the_principal_may_still_act_in_their_own_right(db: Any) -> None:
    req = f.in_state(State.PENDING)
    delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD)
    acting = acting_for(f.user("dy_shuji"), req, Action.APPROVE)
    assert acting is not None and acting.on_behalf_of is None


def test_a_delegation_covers_only_its_role_and_villages(db: Any) -> None:
    delegate("xy_shuji", "yc_baocun", Role.VILLAGE_LEAD, villages=("HL-YC-02",))
    ours = f.in_state(State.PENDING)  # 东岳村: not in the delegation
    theirs = f.in_state(State.PENDING, accountant="xy_baozhang", village="HL-YC-02")
    b = f.user("yc_baocun")
    assert todo(b) == [theirs]
    refused(requests.approve, b, ours, "同意")
    approve(b, theirs)
    # step 2 (village supervisor) is not the delegated role
    refused(requests.approve, b, theirs, "同意")


def test_a_delegation_acts_only_between_its_dates(db: Any) -> None:
    req = f.in_state(State.PENDING)
    d = delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD, start_in=1)
    b = f.user("xy_shuji")
    assert req not in todo(b)
    refused(requests.approve, b, req, "同意")
    d.starts_on = d.ends_on = today_local() - timedelta(days=1)  # as if its days had passed
    fdb.session.commit()
    assert req not in todo(b)
    refused(requests.approve, b, req, "同意")
    d.starts_on, d.ends_on = today_local(), today_local()  # its last day: still in force
    fdb.session.commit()
    approve(b, req)


def test_the_principal_ends_it_early_and_the_trail_has_both_events(db: Any) -> None:
    req = f.in_state(State.PENDING)
    before = events()
    d = delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD, days=30)
    assert req in todo("xy_shuji")
    with pytest.raises(NotFound):
        services.end(f.user("xy_shuji"), d)  # the delegate cannot end it
    services.end(f.user("dy_shuji"), d)
    fdb.session.commit()
    assert d.ended_at is not None and d.ended_by_id == f.user("dy_shuji").id
    assert req not in todo("xy_shuji")
    refused(requests.approve, f.user("xy_shuji"), req, "同意")
    assert [u.username for u in next_actors(req)] == ["dy_shuji"]  # no longer told
    actions = list(fdb.session.execute(select(Event.action).where(Event.subject_type == "delegation")
                                       .order_by(Event.id)).scalars())
    assert actions == [AuditAction.DELEGATION_CREATE, AuditAction.DELEGATION_END]
    assert events() == before + 2
    services.end(f.user("dy_shuji"), d)  # again: nothing more
    fdb.session.commit()
    assert events() == before + 2


def test_the_admin_sees_every_delegation_and_may_end_one(db: Any) -> None:
    d1 = delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD)
    d2 = delegate("mk_shenhe", "mk_baocun", Role.AGENCY_REVIEWER, villages=("HL-MK-01", "HL-MK-02"))
    admin = f.user("hl_admin")
    assert {d.id for d in queries.for_admin(admin)} == {d1.id, d2.id}
    assert queries.for_admin(f.user("dy_shuji")) == []
    assert [d.id for d in queries.mine(f.user("xy_shuji"))] == [d1.id]
    services.end(admin, d2)
    fdb.session.commit()
    assert d2.ended_by_id == admin.id


# ---- the separation of duties, for the delegate and for the person they act for --------------------

def test_the_delegate_cannot_approve_what_they_raised(db: Any) -> None:
    """The village's accountant is named delegate of its lead: not for the requests she raised."""
    delegate("dy_shuji", "dy_baozhang", Role.VILLAGE_LEAD)
    req = f.in_state(State.PENDING)
    b = f.user("dy_baozhang")
    assert req.requester_id == b.id
    assert acting_for(b, req, Action.APPROVE) is None and req not in todo(b)
    refused(requests.approve, b, req, "同意")
    refused(requests.return_for_revision, b, req, "请补充")
    refused(requests.reject, b, req, "不同意")


def test_the_delegate_cannot_approve_what_the_principal_raised(db: Any) -> None:
    """A holds accountant and village lead; B acts for A as village lead: not on what A raised."""
    a = person("dy_both", (Role.ACCOUNTANT, "HL-YC-01"), (Role.VILLAGE_LEAD, "HL-YC-01"))
    delegate(a, "xy_shuji", Role.VILLAGE_LEAD)
    req = f.in_state(State.PENDING, accountant="dy_both")
    b = f.user("xy_shuji")
    assert req not in todo(b) and inbox_count(b) == 0
    refused(requests.approve, b, req, "同意")
    other = f.in_state(State.PENDING)  # raised by someone else: B may
    assert todo(b) == [other] and inbox_count(b) == 1
    approve(b, other)


def test_the_delegate_cannot_act_at_a_second_step_after_acting_for_the_principal(db: Any) -> None:
    """张桂兰 (village supervisor) acts for the village lead at step 1: she is then refused step 2 in her
    own right (one person, two steps)."""
    delegate("dy_shuji", "dy_jianwei", Role.VILLAGE_LEAD)
    req = f.in_state(State.PENDING)
    b = f.user("dy_jianwei")
    approve(b, req)
    assert req.step == 2 and req not in todo(b) and inbox_count(b) == 0
    refused(requests.approve, b, req, "同意")


def test_the_delegate_cannot_act_for_the_principal_after_deciding_another_step(db: Any) -> None:
    """张桂兰 approves step 2 herself, then may not act for the agency reviewer at step 3."""
    delegate("yc_shenhe", "dy_jianwei", Role.AGENCY_REVIEWER)
    req = f.in_state(State.PENDING)
    approve("dy_shuji", req)
    b = f.user("dy_jianwei")
    approve(b, req)
    assert req.step == 3
    assert acting_for(b, req, Action.APPROVE) is None and req not in todo(b)
    refused(requests.approve, b, req, "同意")
    approve("yc_shenhe", req)
    assert req.state == State.APPROVED


def test_the_delegate_cannot_act_for_a_principal_who_decided_another_step(db: Any) -> None:
    """A holds village lead and agency reviewer and approves step 1; B, A's delegate as agency reviewer,
    may not approve step 3 for A (A would have acted at two steps)."""
    a = person("yc_two_hats", (Role.VILLAGE_LEAD, "HL-YC-01"), (Role.AGENCY_REVIEWER, "HL-YC"))
    delegate(a, "yc_baocun", Role.AGENCY_REVIEWER)
    req = f.in_state(State.PENDING)
    approve(a, req)
    approve("dy_jianwei", req)
    b = f.user("yc_baocun")
    assert req.step == 3 and req not in todo(b) and inbox_count(b) == 0
    refused(requests.approve, b, req, "同意")


def test_the_principal_is_barred_after_their_delegate_decided_for_them(db: Any) -> None:
    """B approves step 1 for A (village lead and agency reviewer): what B decided counts as A's, so A may
    not then approve step 3 in their own right."""
    a = person("yc_two_hats", (Role.VILLAGE_LEAD, "HL-YC-01"), (Role.AGENCY_REVIEWER, "HL-YC"))
    delegate(a, "xy_shuji", Role.VILLAGE_LEAD)
    req = f.in_state(State.PENDING)
    b = f.user("xy_shuji")
    approve(b, req)  # for A
    assert fdb.session.execute(select(RequestAction.on_behalf_of_id).where(
        RequestAction.request_id == req.id, RequestAction.action == Action.APPROVE)).scalar_one() == a.id
    approve("dy_jianwei", req)
    assert req.step == 3
    assert acting_for(a, req, Action.APPROVE) is None and req not in todo(a)
    refused(requests.approve, a, req, "同意")
    approve("yc_shenhe", req)


def test_a_delegated_cashier_cannot_pay_what_they_decided_and_pays_otherwise(db: Any) -> None:
    delegate("yc_chuna", "dy_jianwei", Role.CASHIER)
    decided = f.in_state(State.APPROVED)  # 张桂兰 approved step 2
    b = f.user("dy_jianwei")
    assert decided not in todo(b)
    refused(pay, b, decided)
    other = f.in_state(State.APPROVED, accountant="xy_baozhang", village="HL-YC-02")
    refused(pay, b, other)  # 西岳村 is not in the delegation
    d = delegate("yc_chuna", "yc_zhenzhang", Role.CASHIER, villages=("HL-YC-02",))
    head = f.user("yc_zhenzhang")
    assert todo(head) == [other]
    pay(head, other)
    row = fdb.session.execute(select(RequestAction).where(RequestAction.request_id == other.id,
                                                          RequestAction.action == Action.PAY)).scalar_one()
    assert (row.actor_id, row.on_behalf_of_id) == (head.id, f.user("yc_chuna").id)
    assert other.state == State.PAID and d.id


def test_a_delegate_whose_principal_is_no_longer_active_acts_no_more(db: Any) -> None:
    req = f.in_state(State.PENDING)
    delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD)
    a = f.user("dy_shuji")
    a.active = False
    fdb.session.commit()
    assert req not in todo("xy_shuji")
    refused(requests.approve, f.user("xy_shuji"), req, "同意")


# ---- refusals when naming a delegate --------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"delegate": "dy_shuji"}, "delegate"),  # oneself
    ({"delegate": "yc_lianqing"}, "delegate"),  # a liaison
    ({"delegate": "mk_shuji"}, "delegate"),  # another township
    ({"role": Role.TOWNSHIP_HEAD.value}, "role"),  # a role A does not hold
    ({"villages": ("HL-YC-02",)}, "villages"),  # a village A is not lead of
    ({"villages": ()}, "villages"),
    ({"start_in": -1}, "starts_on"),
    ({"days": -1}, "ends_on"),
    ({"days": 400}, "ends_on"),
])
def test_naming_a_delegate_refuses_bad_input_and_writes_nothing(db: Any, change: dict[str, Any],
                                                                field: str) -> None:
    a = f.user("dy_shuji")
    start = today_local() + timedelta(days=change.get("start_in", 0))
    data = DelegationInput(role=change.get("role", Role.VILLAGE_LEAD.value),
                           delegate_id=f.user(change.get("delegate", "xy_shuji")).id,
                           village_ids=[f.unit(v).id for v in change.get("villages", ("HL-YC-01",))],
                           starts_on=start, ends_on=start + timedelta(days=change.get("days", 5)))
    before = events()
    with pytest.raises(DelegationError) as refusal:
        services.create(a, data)
    assert field in refusal.value.errors
    fdb.session.rollback()
    assert events() == before and queries.mine(a) == []


def test_overlapping_delegations_of_one_role_and_village_are_refused(db: Any) -> None:
    delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD, days=10)
    with pytest.raises(DelegationError) as refusal:
        delegate("dy_shuji", "dy_jianwei", Role.VILLAGE_LEAD, start_in=5)
    assert "villages" in refusal.value.errors
    fdb.session.rollback()


def test_a_delegate_cannot_hand_on_what_was_handed_to_them(db: Any) -> None:
    delegate("dy_shuji", "yc_baocun", Role.VILLAGE_LEAD)
    assert services.own_villages(f.user("yc_baocun"), Role.VILLAGE_LEAD) == []
    with pytest.raises(DelegationError):
        delegate("yc_baocun", "yc_zhenzhang", Role.VILLAGE_LEAD)
    fdb.session.rollback()


# ---- the pages ------------------------------------------------------------------------------------

def test_naming_a_delegate_on_the_page_then_the_delegate_s_to_do_says_for_whom(make_client: Any) -> None:
    req = f.in_state(State.PENDING)
    a = make_client()
    a.login("dy_shuji")
    page = a.get("/delegations").get_data(as_text=True)
    assert "委托他人代我审批" in page and "陈志强" in page and "马德明" not in page  # no liaison to choose
    today = today_local()
    answer = a.post("/delegations", data={
        "role": "village_lead", "delegate": str(f.user("xy_shuji").id), "villages": [str(f.unit("HL-YC-01").id)],
        "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=3)).isoformat()})
    assert answer.status_code == 303
    assert "已委托陈志强代您审批" in a.get(answer.headers["Location"]).get_data(as_text=True)
    b = make_client()
    b.login("xy_shuji")
    home = b.get("/").get_data(as_text=True)
    assert req.number in home and "代 王建国 审批" in home
    assert "王建国 代" not in b.get("/delegations").get_data(as_text=True)
    assert "陈志强 代 王建国" in b.get("/delegations").get_data(as_text=True)
    detail = b.get(f"/requests/{req.id}")
    assert detail.status_code == 200
    approve(f.user("xy_shuji"), req)
    assert "代 王建国" in b.get(f"/requests/{req.id}").get_data(as_text=True)  # the history names both


def test_the_page_refuses_bad_input_in_chinese_naming_the_field(client: Any) -> None:
    client.login("dy_shuji")
    before = events()
    answer = client.post("/delegations", data={"role": "village_lead", "delegate": "", "villages": [],
                                               "starts_on": "2020-01-01", "ends_on": "不是日期"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    for text in ("请从列表中选择代理人", "请至少选择一个您担任该角色的村", "开始日期不能早于今天", "请填写结束日期"):
        assert text in page
    assert events() == before


def test_ending_early_on_the_page_and_the_admin_list(make_client: Any) -> None:
    d = delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD)
    admin = make_client()
    admin.login("hl_admin")
    listing = admin.get("/delegations/admin").get_data(as_text=True)
    assert "陈志强 代 王建国" in listing and "生效中" in listing and "东岳村" in listing
    assert "代理审批" in admin.get("/").get_data(as_text=True)  # on the admin's desk
    other = make_client()
    other.login("xy_shuji")
    assert other.get("/delegations/admin").status_code == 404
    assert other.post(f"/delegations/{d.id}/end").status_code == 404  # the delegate cannot end it
    a = make_client()
    a.login("dy_shuji")
    answer = a.post(f"/delegations/{d.id}/end")
    assert answer.status_code == 303
    fdb.session.refresh(d)
    assert d.ended_at is not None
    assert "已结束" in admin.get("/delegations/admin").get_data(as_text=True)


def test_the_delegate_is_told_at_a_hand_off_while_the_delegation_is_in_force(db: Any) -> None:
    from finance.notices import services as notices
    from finance.notices.models import Notice, NoticeDelivery, NoticeKind

    notices.save_settings(f.user("xy_shuji"), notices.SettingsInput(sms_on=True, mobile="13900000099"))
    fdb.session.commit()

    def told(req: PaymentRequest) -> list[int]:
        return list(fdb.session.execute(
            select(NoticeDelivery.user_id).join(Notice, Notice.id == NoticeDelivery.notice_id)
            .where(Notice.request_id == req.id, Notice.kind == NoticeKind.TURN)).scalars())

    d = delegate("dy_shuji", "xy_shuji", Role.VILLAGE_LEAD)
    during = f.in_state(State.PENDING)
    assert f.user("xy_shuji").id in told(during)
    services.end(f.user("dy_shuji"), d)
    fdb.session.commit()
    after = f.in_state(State.PENDING)
    assert f.user("xy_shuji").id not in told(after)

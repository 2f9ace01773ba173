"""The to-do list (待办) is one SQL query over `waiting_role`; it must agree with `acting_role`, the rule."""

from __future__ import annotations

import html
import re
import uuid

import pytest

from finance.auth import services as accounts
from finance.payment_requests import queries
from finance.payment_requests.models import PaymentRequest
from finance.payment_requests.route import waiting_role
from finance.permissions import acting_role
from finance.roles import Role
from finance.workflow import Action, State
from tests import factories as f

USERS = ["dy_baozhang", "dy_shuji", "dy_jianwei", "xy_baozhang", "xy_shuji", "yc_shenhe", "yc_baocun",
         "yc_zhenzhang", "yc_chuna", "yc_lianqing", "hl_admin", "mk_shenhe", "mk_chuna"]


def _expected(user, requests: list[PaymentRequest]) -> set[int]:
    out = set()
    for req in requests:
        if not queries.get_visible(user, req.id):
            continue
        to_decide = req.state == State.PENDING and acting_role(user, req, Action.APPROVE)
        to_pay = req.state == State.APPROVED and acting_role(user, req, Action.PAY)
        to_revise = (req.state in (State.DRAFT, State.RETURNED) and req.requester_id == user.id
                     and acting_role(user, req, Action.EDIT))
        if to_decide or to_pay or to_revise:
            out.add(req.id)
    return out


def _world(db) -> list[PaymentRequest]:
    # Each to its own payee: one payee's requests would count together (issue 11's cumulative bands).
    made = [f.in_state(state, amount, payee_name=f"兴农农资经营部{i}号店", payee_account=f"62284800{i:011d}")
            for i, (state, amount) in enumerate((s, a) for s in State for a in ("800.00", "60000.00"))]
    made.append(f.in_state(State.PENDING, "1200.00", accountant="xy_baozhang", village="HL-YC-02"))
    # Move some along so several steps are waited on.
    for req in made:
        if req.state == State.PENDING and req.amount == 60000:
            for name in f.approvers_for(req)[:3]:
                from finance.payment_requests import services

                services.approve(f.user(name), req, client_key=uuid.uuid4().hex)
            db.commit()
            break
    return made


@pytest.mark.exhaustive
def test_the_to_do_list_equals_what_acting_role_allows_for_every_user(db):
    made = _world(db)
    for username in USERS:
        user = f.user(username)
        shown = {r.id for r in queries.inbox_for(user, limit=1000)}
        assert shown == _expected(user, made), username
        assert queries.inbox_count(user) == len(shown), username


def test_a_person_with_two_village_roles_is_offered_only_one_step(db):
    lead = f.user("dy_shuji")
    accounts.assign_role(lead, Role.VILLAGE_SUPERVISOR, f.unit("HL-YC-01"))
    db.commit()
    req = f.in_state(State.PENDING)
    assert req.id in {r.id for r in queries.inbox_for(lead)}
    from finance.payment_requests import services

    services.approve(lead, req, client_key=uuid.uuid4().hex)  # step 1 as village lead
    db.commit()
    assert req.step == 2 and req.waiting_role == Role.VILLAGE_SUPERVISOR
    assert req.id not in {r.id for r in queries.inbox_for(lead)}  # step 2 is for somebody else
    assert req.id in {r.id for r in queries.inbox_for(f.user("dy_jianwei"))}


def test_waiting_role_follows_state_and_step(db):
    for state in State:
        req = f.in_state(state, "60000.00")
        assert req.waiting_role == waiting_role(req)
    req = f.in_state(State.PENDING, "60000.00")
    roles = []
    from finance.payment_requests import services

    for name in f.approvers_for(req):
        roles.append(req.waiting_role)
        services.approve(f.user(name), req, client_key=uuid.uuid4().hex)
    assert roles == [Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR, Role.AGENCY_REVIEWER, Role.TOWNSHIP_LEADER,
                     Role.TOWNSHIP_HEAD]
    assert req.state == State.APPROVED and req.waiting_role == Role.CASHIER


def test_the_to_do_list_pages_oldest_first(db):
    made = [f.in_state(State.PENDING) for _ in range(5)]
    lead = f.user("dy_shuji")
    first = queries.inbox_for(lead, limit=2)
    assert [r.id for r in first] == [made[0].id, made[1].id]
    last = first[-1]
    rest = queries.inbox_for(lead, after=(last.waiting_since, last.id), limit=10)
    assert [r.id for r in rest] == [r.id for r in made[2:]]
    assert queries.inbox_count(lead) == 5


def test_home_shows_the_count_and_a_link_to_the_next_page(client, db):
    made = [f.in_state(State.PENDING) for _ in range(3)]
    client.login("dy_shuji")
    page = client.get("/?per_page=2").get_data(as_text=True)
    assert "（3）" in page
    assert f"/requests/{made[0].id}" in page and f"/requests/{made[2].id}" not in page
    more = re.search(r'href="(/\?[^"]*after=[^"]+)"', page)
    assert more, "no link to the next page"
    second = client.get(html.unescape(more.group(1))).get_data(as_text=True)
    assert f"/requests/{made[2].id}" in second and f"/requests/{made[0].id}" not in second
    assert "更多待办" not in second
    assert client.get("/?after=garbage").status_code == 200  # a bad cursor is the first page


def test_a_long_backlog_is_counted_up_to_the_cap(client, db, monkeypatch):
    for _ in range(3):
        f.in_state(State.PENDING)
    monkeypatch.setattr(queries, "INBOX_COUNT_CAP", 2)
    assert queries.inbox_count(f.user("dy_shuji")) == 2
    client.login("dy_shuji")
    page = client.get("/?per_page=1").get_data(as_text=True)
    assert "（2+）" in page

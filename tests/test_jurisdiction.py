"""Jurisdiction: a person sees and changes only what lies in the org units of their roles. Outside it, a
request does not exist for them (404 and no row from any query), like a missing one."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from finance.errors import Forbidden
from finance.extensions import db as ext_db
from finance.orgs.models import OrgUnit
from finance.payment_requests import queries
from finance.payment_requests import services as requests
from finance.payment_requests.models import PaymentRequest
from finance.payments import services as payments
from finance.permissions import Permission, can, jurisdiction
from finance.workflow import Action, State
from tests import factories as f

# Who may read a request of 东岳村 (HL-YC-01): its own village people, the township 岳村镇's staff and liaison.
INSIDE = ["dy_baozhang", "dy_shuji", "dy_jianwei", "yc_shenhe", "yc_baocun", "yc_zhenzhang", "yc_chuna",
          "yc_lianqing"]
# The neighbouring village 西岳村 of the same township, the other township 孟轲乡, and the district admin.
OUTSIDE = ["xy_baozhang", "xy_shuji", "xy_jianwei", "mk_baozhang", "mk_shenhe", "mk_baocun", "mk_xiangzhang",
           "mk_chuna", "mk_lianqing", "ws_baozhang", "hl_admin"]


def visible_ids(username: str) -> set[int]:
    return {r.id for r in ext_db.session.execute(queries.visible(f.user(username))).scalars()}


def detail_route(app) -> bool:
    return "payment_requests.detail" in app.view_functions


@pytest.fixture
def dy_requests(db):
    return {state: f.in_state(state, "12000.00") for state in (State.DRAFT, State.PENDING, State.APPROVED, State.PAID)}


def test_outsiders_cannot_see_a_village_request_by_any_query(dy_requests):
    ids = {r.id for r in dy_requests.values()}
    for username in OUTSIDE:
        user = f.user(username)
        assert not ids & visible_ids(username), username
        for req in dy_requests.values():
            assert queries.get_visible(user, req.id) is None, username
            assert not can(user, Permission.REQUEST_READ, req), username
        assert not ids & {r.id for r in queries.search(user, limit=500)}, username
        assert not ids & {r.id for r in queries.inbox_for(user)}, username


def test_insiders_see_the_village_requests(dy_requests):
    submitted = [r for s, r in dy_requests.items() if s != State.DRAFT]
    for username in INSIDE:
        user = f.user(username)
        for req in submitted:
            assert queries.get_visible(user, req.id) is req, username
        assert {r.id for r in submitted} <= visible_ids(username), username


def test_outsiders_get_404_on_the_request_page(make_client, dy_requests):
    missing = max(r.id for r in dy_requests.values()) + 1000
    for username in OUTSIDE:
        client = make_client()
        client.login(username)
        for req in dy_requests.values():
            assert client.get(f"/requests/{req.id}").status_code == 404, username
        assert client.get(f"/requests/{missing}").status_code == 404


def test_the_request_page_opens_for_an_insider_when_it_exists(app, client, dy_requests):
    client.login("yc_shenhe")
    status = client.get(f"/requests/{dy_requests[State.PENDING].id}").status_code
    # The request pages are another feature's; where they are present, an insider gets the page.
    assert status == (200 if detail_route(app) else 404)


def test_outsiders_cannot_change_anything(dy_requests):
    pending, approved = dy_requests[State.PENDING], dy_requests[State.APPROVED]
    draft = dy_requests[State.DRAFT]
    before = {r.id: (r.state, r.step, r.version) for r in dy_requests.values()}
    # The approver and accountant of the neighbouring village, and the other township's staff.
    for username in ["xy_shuji", "mk_shuji", "mk_shenhe", "mk_baocun", "mk_xiangzhang"]:
        user = f.user(username)
        for act in (lambda u: requests.approve(u, pending, "同意", client_key=uuid.uuid4().hex),
                    lambda u: requests.reject(u, pending, "不同意"),
                    lambda u: requests.return_for_revision(u, pending, "退回")):
            with pytest.raises(Forbidden):
                act(user)
            ext_db.session.rollback()
    for username in ["xy_baozhang", "mk_baozhang"]:
        with pytest.raises(Forbidden):
            requests.submit(f.user(username), draft, client_key=uuid.uuid4().hex)
        ext_db.session.rollback()
        with pytest.raises(Forbidden):
            requests.withdraw(f.user(username), pending)
        ext_db.session.rollback()
    with pytest.raises(Forbidden):
        payments.record_payment(f.user("mk_chuna"), approved, f.payment_input(approved), client_key=uuid.uuid4().hex)
    ext_db.session.rollback()
    for req in dy_requests.values():
        ext_db.session.refresh(req)
        assert (req.state, req.step, req.version) == before[req.id]
    for username in ["xy_shuji", "mk_shenhe", "mk_chuna", "hl_admin"]:
        for action in (Action.APPROVE, Action.PAY, Action.SUBMIT):
            for req in dy_requests.values():
                assert acting_role_of(username, req, action) is None


def acting_role_of(username: str, req: PaymentRequest, action: Action):
    from finance.permissions import acting_role

    return acting_role(f.user(username), req, action)


def test_an_accountant_cannot_start_a_request_for_another_village(db):
    with pytest.raises(Forbidden):
        requests.create_draft(f.user("dy_baozhang"), f.unit("HL-YC-02"), f.request_input(),
                              client_key=uuid.uuid4().hex)
    db.rollback()
    assert not can(f.user("dy_baozhang"), Permission.REQUEST_CREATE, f.unit("HL-YC-02"))
    assert can(f.user("dy_baozhang"), Permission.REQUEST_CREATE, f.unit("HL-YC-01"))


def test_jurisdiction_covers_the_unit_and_everything_under_it(db):
    def codes(username: str) -> set[str]:
        ids = jurisdiction(f.user(username))
        return set(db.execute(select(OrgUnit.code).where(OrgUnit.id.in_(ids))).scalars())

    assert codes("dy_baozhang") == {"HL-YC-01"}
    assert codes("yc_lianqing") == {"HL-YC", "HL-YC-01", "HL-YC-02"}
    assert codes("mk_shenhe") == {"HL-MK", "HL-MK-01", "HL-MK-02"}
    assert codes("hl_admin") == set()  # the admin reads no requests


def test_village_codes_that_share_a_prefix_do_not_leak(db):
    """A path prefix match must stop at the separator: unit 1 must not cover unit 12."""
    town = f.unit("HL-YC")
    villages = [f.unit("HL-YC-01"), f.unit("HL-YC-02")]
    for v in villages:
        assert town.covers(v)
        assert not v.covers(town)
    assert not villages[0].covers(villages[1]) and not villages[1].covers(villages[0])
    assert all(u.path.endswith("/") for u in [town, *villages])


def test_the_other_villages_requests_stay_with_them(db):
    xy = f.in_state(State.PENDING, "800.00", accountant="xy_baozhang", village="HL-YC-02")
    mk = f.in_state(State.DRAFT, "800.00", accountant="mk_baozhang", village="HL-MK-01")
    assert queries.get_visible(f.user("xy_shuji"), xy.id) is xy
    assert queries.get_visible(f.user("dy_shuji"), xy.id) is None
    assert queries.get_visible(f.user("yc_lianqing"), xy.id) is xy
    assert queries.get_visible(f.user("mk_lianqing"), xy.id) is None
    assert queries.get_visible(f.user("mk_baozhang"), mk.id) is mk
    assert queries.get_visible(f.user("yc_shenhe"), mk.id) is None
    assert xy.id not in {r.id for r in queries.inbox_for(f.user("dy_shuji"))}
    assert xy.id in {r.id for r in queries.inbox_for(f.user("xy_shuji"))}

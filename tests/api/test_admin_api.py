"""The district admin's pages through /api/v1 (docs/api.md): users, roles, account status, activation codes,
org units and a township's routing policy; the same scope, services and events as finance/orgs/views.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

import audit
from audit.models import Event
from finance.api.models import IdempotencyKey
from finance.approval_policy.models import RoutingPolicy
from finance.auth import activation
from finance.auth import services as accounts
from finance.auth.models import Activation, RoleAssignment, User
from finance.extensions import db
from finance.orgs import services as orgs
from finance.orgs.models import OrgUnit
from finance.roles import OrgKind, Role
from tests import factories as f
from tests.conftest import PASSWORD

NEW_PASSWORD = "Qz7-lantern-orchard"


def _count(model: type, *where: Any) -> int:
    return int(db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _events(action: str) -> list[Event]:
    return list(db.session.execute(select(Event).where(Event.chain_id == audit.SYSTEM_CHAIN, Event.action == action)
                                   .order_by(Event.seq)).scalars())


@pytest.fixture
def other_district(db: Any) -> dict[str, Any]:
    """A second district with its own admin, township, village and accountant."""
    qt = orgs.create_unit(code="QT", name="清丰县", kind=OrgKind.DISTRICT, parent=None)
    town = orgs.create_unit(code="QT-GC", name="古城乡", kind=OrgKind.TOWNSHIP, parent=qt)
    village = orgs.create_unit(code="QT-GC-01", name="古城村", kind=OrgKind.VILLAGE, parent=town,
                               bank_name="清丰农商银行", bank_account="6230590000000001",
                               bank_account_name="古城村股份经济合作社")
    admin = accounts.create_user(username="qt_admin", display_name="钱明", password=PASSWORD, role=Role.ADMIN,
                                 org_unit=qt)
    clerk = accounts.create_user(username="gc_baozhang", display_name="孙红", password=PASSWORD,
                                 role=Role.ACCOUNTANT, org_unit=village)
    db.commit()
    return {"district": qt, "township": town, "village": village, "admin": admin, "clerk": clerk}


# --- users ---------------------------------------------------------------------------------------------------

def test_users_list_filters_and_pages_as_the_page(as_user: Any, make_client: Any) -> None:
    admin = as_user("hl_admin")
    everyone = admin.get("/admin/users?limit=100").get_json()
    names = [u["username"] for u in everyone["items"]]
    assert names == sorted(names) and "dy_baozhang" in names and everyone["next"] is None
    first = admin.get("/admin/users?limit=5").get_json()
    second = admin.get(f"/admin/users?limit=5&after={first['next']}").get_json()
    assert [u["username"] for u in first["items"] + second["items"]] == names[:10]
    village = f.unit("HL-YC-01")
    there = [u["username"] for u in admin.get(f"/admin/users?unit={village.id}").get_json()["items"]]
    assert set(there) == {"dy_baozhang", "dy_shuji", "dy_jianwei"}
    found = admin.get("/admin/users?q=李秀").get_json()["items"]
    assert [u["username"] for u in found] == ["dy_baozhang"]
    assert found[0]["roles"][0]["role"] == "accountant" and found[0]["roles"][0]["unit_code"] == "HL-YC-01"
    # the page lists the same people for the same filter
    page = make_client()
    page.login("hl_admin")
    html = page.get(f"/admin/users?unit={village.id}").get_data(as_text=True)
    assert all(name in html for name in there) and "yc_shenhe" not in html


def test_refusals_of_the_users_list(as_user: Any, other_district: dict[str, Any]) -> None:
    assert as_user("dy_baozhang").get("/admin/users").status_code == 403  # not an admin
    refused = as_user("yc_lianqing").post("/admin/users", {
        "username": "by_liaison", "display_name": "某人", "password": NEW_PASSWORD, "role": "accountant",
        "unit_id": f.unit("HL-YC-01").id})
    assert refused.status_code == 403 and _count(User, User.username == "by_liaison") == 0
    foreign = as_user("hl_admin").get(f"/admin/users?unit={other_district['village'].id}")
    assert foreign.status_code == 422 and foreign.get_json()["errors"][0]["field"] == "unit"
    listed = as_user("qt_admin").get("/admin/users").get_json()["items"]
    assert {u["username"] for u in listed} == {"qt_admin", "gc_baozhang"}


def test_create_user_then_detail(as_user: Any) -> None:
    admin = as_user("hl_admin")
    village = f.unit("HL-YC-02")
    made = admin.post("/admin/users", {"username": "XY_Kuaiji", "display_name": "周会计", "password": NEW_PASSWORD,
                                       "role": "accountant", "unit_id": village.id, "phone": "13912345678"})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert made.headers["Location"] == f"/api/v1/admin/users/{body['id']}"
    assert body["username"] == "xy_kuaiji" and body["active"] and not body["awaiting_activation"]
    assert [(r["role"], r["unit_code"]) for r in body["roles"]] == [("accountant", "HL-YC-02")]
    assert NEW_PASSWORD not in str(body)
    user = f.user("xy_kuaiji")
    assert user.must_change_password  # as the page: a password the admin chose is changed at first login
    assert admin.get(f"/admin/users/{user.id}").get_json() == body
    assert _events("user_create")[-1].subject_id == str(user.id)


def test_create_user_refusals_name_the_field_and_change_nothing(as_user: Any, other_district: dict[str, Any]
                                                                 ) -> None:
    admin = as_user("hl_admin")
    base = {"username": "new_one", "display_name": "新人", "password": NEW_PASSWORD, "role": "accountant",
            "unit_id": f.unit("HL-YC-01").id}
    before = _count(User)
    cases = [({"username": "dy_baozhang"}, "username"), ({"password": "short"}, "password"),
             ({"phone": "abc"}, "phone"), ({"role": "cashier"}, "role"), ({"role": "boss"}, "role"),
             ({"unit_id": other_district["village"].id}, "unit_id"), ({"amount": 1}, "amount")]
    for change, field in cases:
        answer = admin.post("/admin/users", {**base, **change})
        assert answer.status_code == 422, (change, answer.get_json())
        assert field in [e["field"] for e in answer.get_json()["errors"]], (change, answer.get_json())
    assert _count(User) == before


def test_user_detail_scope(as_user: Any, other_district: dict[str, Any]) -> None:
    clerk = f.user("dy_baozhang")
    assert as_user("qt_admin").get(f"/admin/users/{clerk.id}").status_code == 404  # another district's
    assert as_user("hl_admin").get(f"/admin/users/{other_district['clerk'].id}").status_code == 404
    assert as_user("yc_lianqing").get(f"/admin/users/{clerk.id}").status_code == 403  # not an admin
    # a person with roles in both districts: each admin sees only the roles in their own
    accounts.assign_role(clerk, Role.LIAISON, other_district["township"])
    db.session.commit()
    mine = as_user("hl_admin").get(f"/admin/users/{clerk.id}").get_json()["roles"]
    theirs = as_user("qt_admin").get(f"/admin/users/{clerk.id}").get_json()["roles"]
    assert [r["unit_code"] for r in mine] == ["HL-YC-01"] and [r["unit_code"] for r in theirs] == ["QT-GC"]


def test_deactivate_and_reactivate(as_user: Any, make_client: Any) -> None:
    clerk = f.user("xy_jianwei")
    page = make_client()
    assert page.login("xy_jianwei").status_code == 302
    admin = as_user("hl_admin")
    off = admin.post(f"/admin/users/{clerk.id}/active", {"active": False, "reason": "调离本村"})
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert page.get("/").status_code in (302, 401)  # the session ended at once
    event = _events("user_deactivate")[-1]
    assert event.subject_id == str(clerk.id) and event.reason == "调离本村"
    assert admin.post(f"/admin/users/{clerk.id}/active", {"active": True}).get_json()["active"] is True
    assert _events("user_activate")[-1].reason is None


def test_deactivate_refusals(as_user: Any, other_district: dict[str, Any]) -> None:
    me = f.user("hl_admin")
    admin = as_user("hl_admin")
    own = admin.post(f"/admin/users/{me.id}/active", {"active": False})
    assert own.status_code == 422 and f.user("hl_admin").active
    clerk = f.user("ws_jianwei")
    accounts.assign_role(clerk, Role.LIAISON, other_district["township"])  # a role outside hl_admin's district
    db.session.commit()
    outside = admin.post(f"/admin/users/{clerk.id}/active", {"active": False})
    assert outside.status_code == 422 and f.user("ws_jianwei").active
    assert admin.post(f"/admin/users/{clerk.id}/active", {"active": "no"}).status_code == 422
    assert as_user("yc_shenhe").post(f"/admin/users/{clerk.id}/active", {"active": False}).status_code == 403
    assert as_user("qt_admin").post(f"/admin/users/{f.user('dy_shuji').id}/active",
                                    {"active": False}).status_code == 404


def test_activation_code_shown_once_and_never_kept(as_user: Any, make_client: Any) -> None:
    invited = accounts.create_invited_user(username="imported_one", display_name="导入者")
    accounts.assign_role(invited, Role.VILLAGE_LEAD, f.unit("HL-MK-02"))
    db.session.commit()
    admin = as_user("hl_admin")
    assert admin.get(f"/admin/users/{invited.id}").get_json()["awaiting_activation"] is True
    answer = admin.post(f"/admin/users/{invited.id}/activation", key="activation-key-1")
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {"code", "link"} and body["link"].endswith(activation.PATH + body["code"])
    assert activation.pending(body["code"]) is not None
    # the code is not stored with the Idempotency-Key; the same key again does not show it again
    kept = db.session.execute(select(IdempotencyKey.body).where(IdempotencyKey.key == "activation-key-1")).scalar_one()
    assert body["code"] not in (kept or "")
    again = admin.post(f"/admin/users/{invited.id}/activation", key="activation-key-1")
    assert again.status_code == 409 and body["code"] not in again.get_data(as_text=True)
    assert _count(Activation, Activation.user_id == invited.id) == 1
    # a new key: a new code, the old one ends (as the page's 重新发放)
    newer = admin.post(f"/admin/users/{invited.id}/activation").get_json()["code"]
    assert activation.pending(body["code"]) is None and activation.pending(newer) is not None
    assert body["code"] not in str([e.after for e in _events("activation_issue")])
    # one who set a password needs none
    done = admin.post(f"/admin/users/{f.user('dy_shuji').id}/activation")
    assert done.status_code == 422
    assert as_user("yc_shenhe").post(f"/admin/users/{invited.id}/activation").status_code == 403


def test_roles_add_and_remove(as_user: Any, other_district: dict[str, Any]) -> None:
    admin = as_user("hl_admin")
    clerk = f.user("mk_jianwei")
    added = admin.post(f"/admin/users/{clerk.id}/roles", {"role": "liaison", "unit_id": f.unit("HL-MK").id})
    assert added.status_code == 200
    roles = added.get_json()["roles"]
    assert [(r["role"], r["unit_code"]) for r in roles] == [("village_supervisor", "HL-MK-01"), ("liaison", "HL-MK")]
    assert _events("role_assign")[-1].subject_id == str(clerk.id)
    # refusals: the wrong level, twice, a unit outside the district, an admin's own non-admin role
    wrong = admin.post(f"/admin/users/{clerk.id}/roles", {"role": "accountant", "unit_id": f.unit("HL-MK").id})
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["field"] == "role"
    assert admin.post(f"/admin/users/{clerk.id}/roles",
                      {"role": "liaison", "unit_id": f.unit("HL-MK").id}).status_code == 422
    foreign = admin.post(f"/admin/users/{clerk.id}/roles",
                         {"role": "liaison", "unit_id": other_district["township"].id})
    assert foreign.status_code == 422 and foreign.get_json()["errors"][0]["field"] == "unit_id"
    me = f.user("hl_admin")
    assert admin.post(f"/admin/users/{me.id}/roles", {"role": "liaison", "unit_id": f.unit("HL").id}
                      ).status_code == 422
    assert _count(RoleAssignment, RoleAssignment.user_id == clerk.id) == 2
    # remove
    removed = admin.delete(f"/admin/users/{clerk.id}/roles/{roles[1]['id']}")
    assert removed.status_code == 200 and len(removed.get_json()["roles"]) == 1
    assert _events("role_remove")[-1].subject_id == str(clerk.id)
    last = admin.delete(f"/admin/users/{clerk.id}/roles/{roles[0]['id']}")
    assert last.status_code == 422 and _count(RoleAssignment, RoleAssignment.user_id == clerk.id) == 1
    assert admin.delete(f"/admin/users/{clerk.id}/roles/{roles[1]['id']}").status_code == 404  # gone
    # another admin's view: the role held in their district is not hl_admin's to remove
    accounts.assign_role(clerk, Role.LIAISON, other_district["township"])
    db.session.commit()
    theirs = next(a.id for a in f.user("mk_jianwei").assignments if a.org_unit_id == other_district["township"].id)
    assert admin.delete(f"/admin/users/{clerk.id}/roles/{theirs}").status_code == 404
    assert as_user("mk_shenhe").delete(f"/admin/users/{clerk.id}/roles/{theirs}").status_code == 403


# --- units ---------------------------------------------------------------------------------------------------

def test_units_tree_and_new_units(as_user: Any, other_district: dict[str, Any]) -> None:
    admin = as_user("hl_admin")
    tree = admin.get("/admin/units").get_json()["items"]
    assert [u["code"] for u in tree[:4]] == ["HL", "HL-YC", "HL-YC-01", "HL-YC-02"]
    assert [u["depth"] for u in tree[:3]] == [0, 1, 2] and tree[0]["child_kind"] == "township"
    assert tree[2]["child_kind"] is None and tree[2]["bank_account"]
    assert "QT" not in {u["code"] for u in tree}
    assert [u["code"] for u in as_user("qt_admin").get("/admin/units").get_json()["items"]] == [
        "QT", "QT-GC", "QT-GC-01"]
    assert as_user("dy_shuji").get("/admin/units").status_code == 403
    town = admin.post("/admin/units", {"parent_id": tree[0]["id"], "code": "hl-xz", "name": "新镇",
                                       "bank_account": "999"})
    assert town.status_code == 201, town.get_json()
    assert town.get_json()["kind"] == "township" and town.get_json()["code"] == "HL-XZ"
    assert town.get_json()["bank_account"] is None  # only a village has a bank account (as the page)
    village = admin.post("/admin/units", {"parent_id": town.get_json()["id"], "code": "HL-XZ-01", "name": "新村",
                                          "bank_name": "农行", "bank_account": "6228 4800",
                                          "bank_account_name": "新村社"})
    assert village.status_code == 201 and village.get_json()["bank_account"] == "62284800"
    assert village.get_json()["depth"] == 2
    assert _events("org_create")[-1].subject_id == str(village.get_json()["id"])


def test_new_unit_refusals(as_user: Any, other_district: dict[str, Any]) -> None:
    admin = as_user("hl_admin")
    before = _count(OrgUnit)
    township = f.unit("HL-YC").id
    cases = [({"parent_id": f.unit("HL-YC-01").id}, "parent_id"),  # nothing under a village
             ({"parent_id": other_district["township"].id}, "parent_id"),  # another district's
             ({"code": "HL-YC-01"}, "code"), ({"code": "x"}, "code"), ({"bank_account": "abc"}, "bank_account"),
             ({"bank_name": None}, "bank_name")]
    for change, field in cases:
        body = {"parent_id": township, "code": "HL-YC-09", "name": "九村", "bank_name": "农行", "bank_account": "1234",
                "bank_account_name": "九村社", **change}
        answer = admin.post("/admin/units", body)
        assert answer.status_code == 422, (change, answer.get_json())
        assert answer.get_json()["errors"][0]["field"] == field, (change, answer.get_json())
    assert as_user("yc_shenhe").post("/admin/units", {"parent_id": township, "code": "HL-YC-09",
                                                      "name": "九村"}).status_code == 403
    assert _count(OrgUnit) == before


# --- the routing policy --------------------------------------------------------------------------------------

POLICY = {
    "steps": [{"role": "village_lead"}, {"role": "village_supervisor"}, {"role": "agency_reviewer"},
              {"role": "township_leader", "min_amount": "5000"},
              {"role": "township_head", "min_amount": "30000", "subjects": ["5401"]}],
    "attachments": [{"kind": "invoice"}, {"kind": "contract", "min_amount": "5000"}],
    "major_threshold": "30000",
}


def test_routing_policy_read_and_publish(as_user: Any, make_client: Any) -> None:
    admin = as_user("hl_admin")
    read = admin.get("/townships/HL-YC/routing-policy").get_json()
    assert read["township"] == "HL-YC" and read["current"]["version"] == 1 and len(read["history"]) == 1
    assert [s["role"] for s in read["current"]["steps"]][:2] == ["village_lead", "village_supervisor"]
    assert read["current"]["major_threshold"] == "50000.00"
    put = admin.put("/townships/hl-yc/routing-policy", {**POLICY, "based_on": 1})
    assert put.status_code == 200, put.get_json()
    body = put.get_json()
    assert body["changed"] is True and body["current"]["version"] == 2 and len(body["history"]) == 2
    head = body["current"]["steps"][4]
    assert (head["role"], head["min_amount"], head["subjects"]) == ("township_head", "30000.00", ["5401"])
    assert body["current"]["published_by"] == "赵立新" and body["history"][1]["version"] == 1
    assert json.loads(_events("policy_publish")[-1].after)["version"] == 2
    # the same rules again: nothing published (as the page's 流程没有改动)
    same = admin.put("/townships/HL-YC/routing-policy", POLICY).get_json()
    assert same["changed"] is False and same["current"]["version"] == 2
    # what GET answers, sent back, is the same policy
    current = admin.get("/townships/HL-MK/routing-policy").get_json()["current"]
    echo = {"steps": [{k: v for k, v in s.items() if k != "role_label"} for s in current["steps"]],
            "attachments": [{k: v for k, v in a.items() if k != "label"} for a in current["attachments"]],
            "major_threshold": current["major_threshold"], "based_on": current["version"]}
    assert admin.put("/townships/HL-MK/routing-policy", echo).get_json()["changed"] is False
    # a stale edit: someone published since the version read
    stale = admin.put("/townships/HL-YC/routing-policy", {**POLICY, "major_threshold": "40000", "based_on": 1})
    assert stale.status_code == 409
    assert _count(RoutingPolicy, RoutingPolicy.township_id == f.unit("HL-YC").id) == 2
    # the page shows the version the API published
    page = make_client()
    page.login("hl_admin")
    assert "当前为第 2 版" in page.get(f"/admin/townships/{f.unit('HL-YC').id}/policy").get_data(as_text=True)
    assert admin.get("/townships/HL-YC/routing-policy").get_json() == {k: v for k, v in body.items()
                                                                       if k != "changed"}


def test_routing_policy_refusals(as_user: Any, other_district: dict[str, Any]) -> None:
    admin = as_user("hl_admin")
    township = f.unit("HL-MK")
    before = _count(RoutingPolicy, RoutingPolicy.township_id == township.id)
    cases = [({"steps": [{"role": "village_lead"}]}, "steps"),  # the 村务监督 step is missing
             ({"steps": POLICY["steps"] + [{"role": "cashier"}]}, "steps"),
             ({"steps": [{"role": "village_lead", "subjects": ["9999"]}, {"role": "village_supervisor"}]}, "steps"),
             ({"attachments": [{"kind": "receipt"}]}, "attachments"),
             ({"major_threshold": "0"}, "major_threshold"), ({"major_threshold": 100}, "major_threshold")]
    for change, field in cases:
        answer = admin.put("/townships/HL-MK/routing-policy", {**POLICY, **change})
        assert answer.status_code == 422, (change, answer.get_json())
        assert field in [e["field"] for e in answer.get_json()["errors"]], (change, answer.get_json())
    assert _count(RoutingPolicy, RoutingPolicy.township_id == township.id) == before
    assert admin.get("/townships/HL-YC-01/routing-policy").status_code == 404  # a village, not a township
    assert admin.get("/townships/QT-GC/routing-policy").status_code == 404  # another district's
    assert as_user("qt_admin").put("/townships/HL-MK/routing-policy", POLICY).status_code == 404
    assert as_user("mk_xiangzhang").get("/townships/HL-MK/routing-policy").status_code == 403
    assert as_user("mk_xiangzhang").put("/townships/HL-MK/routing-policy", POLICY).status_code == 403


# --- system accounts ------------------------------------------------------------------------------------------

def test_a_system_account_signs_in_to_no_page_but_its_token_works(as_user: Any, make_client: Any) -> None:
    from finance.api import tokens

    bank = f.user("mk_chuna")  # stands in for a bank's system account
    page = make_client()
    assert page.login("mk_chuna").status_code == 302  # a live page session, from before it was marked
    tokens.mark_system_account(bank)
    db.session.commit()
    assert page.get("/").status_code == 302 and "/login" in page.get("/").headers["Location"]  # ended
    again = make_client()
    assert again.login("mk_chuna").status_code != 302  # the right password opens no page
    assert as_user("mk_chuna").get("/todo").status_code == 200  # the API, with a token, as before

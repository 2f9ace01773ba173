"""District admin pages: org units, users and roles, deactivation, routing policies; all limited to the
admin's own district and recorded on the system chain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

import audit
from audit.models import Event
from finance.approval_policy.models import RoutingPolicy
from finance.approval_policy.queries import current_policy, rules_of
from finance.auth import services as accounts
from finance.auth.models import RoleAssignment, User
from finance.orgs import services as orgs
from finance.orgs.models import OrgUnit
from finance.payment_requests.queries import get_visible
from finance.permissions import acting_role
from finance.roles import OrgKind, Role
from finance.workflow import Action, State
from tests import factories as f
from tests.conftest import PASSWORD


def system_events(action: str) -> list[Event]:
    from finance.extensions import db

    return list(db.session.execute(
        select(Event).where(Event.chain_id == audit.SYSTEM_CHAIN, Event.action == action).order_by(Event.seq)
    ).scalars())


def count(model: type, *where: object) -> int:
    from finance.extensions import db

    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.fixture
def other_district(db):
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


@pytest.fixture
def admin(client):
    client.login("hl_admin")
    return client


# --- who may enter -----------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["dy_baozhang", "yc_zhenzhang", "yc_lianqing", "yc_chuna"])
def test_admin_pages_are_404_for_everyone_but_admins(client, username):
    client.login(username)
    for path in ["/admin/", "/admin/users", "/admin/users/new", f"/admin/users/{f.user('dy_shuji').id}",
                 f"/admin/townships/{f.unit('HL-YC').id}/policy"]:
        assert client.get(path).status_code == 404, path
    r = client.post(f"/admin/users/{f.user('dy_shuji').id}/active", data={"active": "0"})
    assert r.status_code == 404
    assert f.user("dy_shuji").active


def test_admin_pages_need_login(client):
    r = client.get("/admin/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_admin_sees_the_district_tree_and_the_nav_link(admin):
    page = admin.get("/admin/").get_data(as_text=True)
    for name in ["华龙区", "岳村镇", "东岳村", "西岳村", "孟轲乡", "王什村"]:
        assert name in page
    assert 'href="/admin/"' in admin.get("/").get_data(as_text=True)


# --- org units ---------------------------------------------------------------------------------------

def test_admin_creates_a_township_and_a_village(admin):
    before = len(system_events("org_create"))
    r = admin.post(f"/admin/units/{f.unit('HL').id}/new", data={"code": "hl-ym", "name": "岳美镇"})
    assert r.status_code == 303
    town = f.unit("HL-YM")
    assert town.kind == OrgKind.TOWNSHIP and town.parent.code == "HL"
    r = admin.post(f"/admin/units/{town.id}/new", data={
        "code": "HL-YM-01", "name": "岳美村", "bank_name": "中国农业银行濮阳华龙支行",
        "bank_account": "6228 4800 9999 0001", "bank_account_name": "岳美村股份经济合作社"})
    assert r.status_code == 303
    village = f.unit("HL-YM-01")
    assert village.kind == OrgKind.VILLAGE and village.township is town
    assert village.bank_account == "6228480099990001"
    assert f.unit("HL").covers(village)
    events = system_events("org_create")[before:]
    assert [e.subject_id for e in events] == [str(town.id), str(village.id)]
    assert all(e.actor_id == f.user("hl_admin").id and e.actor_role == "admin" for e in events)
    assert "岳美村" in admin.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "HL-YC-01", "name": "重复村"}, "已被使用"),
        ({"code": "X", "name": "短代码村"}, "代码只能由"),
        ({"code": "HL-YC-09", "name": "无账户村"}, "村需要填写开户银行"),
        ({"code": "HL-YC-09", "name": "错账号村", "bank_name": "农行", "bank_account": "62ab",
          "bank_account_name": "某村"}, "银行账号只能是数字"),
    ],
)
def test_bad_unit_input_is_refused_and_changes_nothing(admin, data, message):
    units = count(OrgUnit)
    events = len(system_events("org_create"))
    data = {"bank_name": "", "bank_account": "", "bank_account_name": "", **data}
    r = admin.post(f"/admin/units/{f.unit('HL-YC').id}/new", data=data)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert count(OrgUnit) == units and len(system_events("org_create")) == events


def test_no_units_under_a_village(admin):
    assert admin.get(f"/admin/units/{f.unit('HL-YC-01').id}/new").status_code == 404


# --- users and roles ---------------------------------------------------------------------------------

def test_admin_lists_users_of_the_district(admin):
    page = admin.get("/admin/users").get_data(as_text=True)
    for name in ["李秀英", "dy_baozhang", "孙丽华", "冯建华"]:
        assert name in page


def test_admin_creates_a_user_who_can_then_log_in(admin, make_client):
    r = admin.post("/admin/users/new", data={
        "username": "DY_Kuaiji2", "display_name": "赵红梅", "phone": "13900000000", "password": "start-pass-1",
        "role": "accountant", "org_unit": f.unit("HL-YC-01").id})
    assert r.status_code == 303
    user = f.user("dy_kuaiji2")
    assert user.display_name == "赵红梅" and user.phone == "13900000000"
    assert [(a.role, a.org_unit.code) for a in user.assignments] == [(Role.ACCOUNTANT, "HL-YC-01")]
    assert system_events("user_create")[-1].subject_id == str(user.id)
    assert system_events("role_assign")[-1].subject_id == str(user.id)
    newcomer = make_client()
    r = newcomer.login("dy_kuaiji2", "start-pass-1")
    assert r.status_code == 302 and r.headers["Location"] == "/account/password"  # the admin's password first
    assert newcomer.get("/").headers["Location"] == "/account/password"
    r = newcomer.post("/account/password", data={"current": "start-pass-1", "new": "zhao-hongmei-own-7",
                                                  "confirm": "zhao-hongmei-own-7"})
    assert r.status_code == 303
    assert "赵红梅" in newcomer.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"username": "dy_baozhang"}, "已被使用"),
        ({"username": "有 空格"}, "用户名只能包含"),
        ({"password": "short"}, "密码至少需要 8 位"),
        ({"phone": "call me"}, "手机号只能包含数字"),
        ({"role": "cashier"}, "只能设置在"),  # a township role at a village
    ],
)
def test_bad_user_input_is_refused_and_changes_nothing(admin, overrides, message):
    users = count(User)
    data = {"username": "new_person", "display_name": "新人", "phone": "", "password": "good-password",
            "role": "accountant", "org_unit": f.unit("HL-YC-01").id, **overrides}
    r = admin.post("/admin/users/new", data=data)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert count(User) == users


def test_admin_assigns_and_removes_a_role(admin):
    shuji = f.user("dy_shuji")
    r = admin.post(f"/admin/users/{shuji.id}/roles", data={"role": "liaison", "org_unit": f.unit("HL-YC-02").id})
    assert r.status_code == 303
    assert {(a.role, a.org_unit.code) for a in f.user("dy_shuji").assignments} == {
        (Role.VILLAGE_LEAD, "HL-YC-01"), (Role.LIAISON, "HL-YC-02")}
    added = next(a for a in f.user("dy_shuji").assignments if a.role == Role.LIAISON)
    r = admin.post(f"/admin/users/{shuji.id}/roles/{added.id}/remove")
    assert r.status_code == 303
    assert [a.role for a in f.user("dy_shuji").assignments] == [Role.VILLAGE_LEAD]
    assert system_events("role_remove")[-1].subject_id == str(shuji.id)


def test_the_last_role_cannot_be_removed(admin):
    shuji = f.user("dy_shuji")
    only = shuji.assignments[0]
    r = admin.post(f"/admin/users/{shuji.id}/roles/{only.id}/remove", follow_redirects=True)
    assert "至少保留一个角色" in r.get_data(as_text=True)
    assert count(RoleAssignment, RoleAssignment.user_id == shuji.id) == 1


def test_role_at_the_wrong_level_is_refused(admin):
    shuji = f.user("dy_shuji")
    r = admin.post(f"/admin/users/{shuji.id}/roles", data={"role": "township_head", "org_unit": f.unit("HL-YC-01").id},
                   follow_redirects=True)
    assert "只能设置在" in r.get_data(as_text=True)
    assert len(f.user("dy_shuji").assignments) == 1


def test_admin_cannot_deactivate_themselves(admin):
    me = f.user("hl_admin")
    r = admin.post(f"/admin/users/{me.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in r.get_data(as_text=True)
    assert f.user("hl_admin").active


def test_deactivate_and_reactivate_are_recorded(admin):
    shuji = f.user("dy_shuji")
    version = shuji.session_version
    admin.post(f"/admin/users/{shuji.id}/active", data={"active": "0"})
    assert not f.user("dy_shuji").active and f.user("dy_shuji").session_version == version + 1
    admin.post(f"/admin/users/{shuji.id}/active", data={"active": "1"})
    assert f.user("dy_shuji").active
    assert system_events("user_deactivate")[-1].subject_id == str(shuji.id)
    assert system_events("user_activate")[-1].subject_id == str(shuji.id)


# --- another district is invisible ------------------------------------------------------------------

def test_admin_cannot_see_or_touch_another_district(admin, other_district):
    qt = other_district
    page = admin.get("/admin/").get_data(as_text=True)
    assert "清丰县" not in page and "古城村" not in page
    assert "gc_baozhang" not in admin.get("/admin/users").get_data(as_text=True)
    clerk = qt["clerk"]
    assert admin.get(f"/admin/users/{clerk.id}").status_code == 404
    assert admin.post(f"/admin/users/{clerk.id}/active", data={"active": "0"}).status_code == 404
    assert admin.post(f"/admin/users/{clerk.id}/roles",
                      data={"role": "liaison", "org_unit": f.unit("HL-YC-01").id}).status_code == 404
    assert admin.get(f"/admin/townships/{qt['township'].id}/policy").status_code == 404
    assert admin.get(f"/admin/units/{qt['district'].id}/new").status_code == 404
    assert admin.post(f"/admin/units/{qt['township'].id}/new",
                      data={"code": "QT-GC-02", "name": "偷建村"}).status_code == 404
    # A unit of the other district is not among the choices for a new user or role.
    r = admin.post("/admin/users/new", data={"username": "sneaky", "display_name": "某人", "password": "good-password",
                                             "role": "accountant", "org_unit": qt["village"].id})
    assert r.status_code in (422, 404)
    assert count(User, User.username == "sneaky") == 0
    shuji = f.user("dy_shuji")
    admin.post(f"/admin/users/{shuji.id}/roles", data={"role": "liaison", "org_unit": qt["village"].id})
    assert len(f.user("dy_shuji").assignments) == 1
    assert f.user("gc_baozhang").active


def test_other_districts_admin_sees_only_their_own(make_client, other_district):
    qt_admin = make_client()
    qt_admin.login("qt_admin")
    page = qt_admin.get("/admin/").get_data(as_text=True)
    assert "古城村" in page and "东岳村" not in page
    assert qt_admin.get(f"/admin/users/{f.user('dy_baozhang').id}").status_code == 404
    assert qt_admin.get(f"/admin/townships/{f.unit('HL-YC').id}/policy").status_code == 404


def test_role_held_in_another_district_is_not_removable_here(admin, other_district, db):
    clerk = other_district["clerk"]
    accounts.assign_role(clerk, Role.LIAISON, f.unit("HL-YC-01"))  # now visible to hl_admin too
    db.commit()
    foreign = next(a for a in f.user("gc_baozhang").assignments if a.role == Role.ACCOUNTANT)
    page = admin.get(f"/admin/users/{clerk.id}").get_data(as_text=True)
    assert "古城村" not in page
    assert admin.post(f"/admin/users/{clerk.id}/roles/{foreign.id}/remove").status_code == 404
    assert len(f.user("gc_baozhang").assignments) == 2


# --- admin never approves or pays --------------------------------------------------------------------

def test_admin_never_approves_pays_or_reads_requests(db):
    admin_user = f.user("hl_admin")
    pending = f.in_state(State.PENDING)
    approved = f.in_state(State.APPROVED)
    assert acting_role(admin_user, pending, Action.APPROVE) is None
    assert acting_role(admin_user, approved, Action.PAY) is None
    assert get_visible(admin_user, pending.id) is None


# --- routing policy ----------------------------------------------------------------------------------

def policy_form(steps, attachments=(("invoice", ""),), major="50000"):
    data = {"major_threshold": major}
    for n, (role, amount, subjects) in enumerate(steps):
        data.update({f"steps-{n}-order": str(n + 1), f"steps-{n}-role": role, f"steps-{n}-min_amount": amount,
                     f"steps-{n}-subjects": subjects})
    for n, (kind, amount) in enumerate(attachments):
        data.update({f"attachments-{n}-kind": kind, f"attachments-{n}-min_amount": amount,
                     f"attachments-{n}-subjects": ""})
    return data


def test_policy_editor_shows_the_current_version(admin):
    page = admin.get(f"/admin/townships/{f.unit('HL-YC').id}/policy").get_data(as_text=True)
    assert "第 1 版" in page and "包村领导" in page and "10,000.00 元起" in page


def test_publishing_a_policy_makes_a_new_version_and_old_requests_keep_theirs(admin, db):
    town = f.unit("HL-YC")
    submitted = f.in_state(State.PENDING, "20000.00")
    old_policy_id = submitted.policy_id
    data = policy_form(
        [("village_lead", "", ""), ("village_supervisor", "", ""), ("agency_reviewer", "", ""),
         ("township_leader", "5000", ""), ("township_head", "30000", "5501 1601")],
        attachments=[("invoice", ""), ("contract", "5000"), ("minutes", "30000")], major="30000")
    r = admin.post(f"/admin/townships/{town.id}/policy", data=data)
    assert r.status_code == 303
    policy = current_policy(town)
    assert policy is not None and policy.version == 2 and policy.created_by_id == f.user("hl_admin").id
    rules = rules_of(policy)
    assert [s.role for s in rules.steps] == [Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR, Role.AGENCY_REVIEWER,
                                             Role.TOWNSHIP_LEADER, Role.TOWNSHIP_HEAD]
    assert rules.steps[4].subjects == ("5501", "1601")
    assert str(rules.major_threshold) == "30000.00"
    assert rules.required_attachments(Decimal("6000"), None) == ["invoice", "contract"]
    db.refresh(submitted)
    assert submitted.policy_id == old_policy_id
    event = system_events("policy_publish")[-1]
    assert event.subject_id == str(policy.id) and event.actor_id == f.user("hl_admin").id
    page = admin.get(f"/admin/townships/{town.id}/policy").get_data(as_text=True)
    assert "第 2 版" in page and "第 1 版" in page
    # The other township is untouched.
    assert current_policy(f.unit("HL-MK")).version == 1


def test_steps_follow_the_order_numbers(admin):
    town = f.unit("HL-MK")
    data = policy_form([("agency_reviewer", "", ""), ("village_lead", "", ""), ("village_supervisor", "", "")])
    data["steps-0-order"], data["steps-1-order"], data["steps-2-order"] = "3", "1", "2"
    admin.post(f"/admin/townships/{town.id}/policy", data=data)
    assert [s.role for s in rules_of(current_policy(town)).steps] == [Role.VILLAGE_LEAD, Role.VILLAGE_SUPERVISOR,
                                                                      Role.AGENCY_REVIEWER]


@pytest.mark.parametrize(
    ("steps", "major", "message"),
    [
        ([], "50000", "至少需要一个步骤"),
        ([("cashier", "", "")], "50000", "不是审批角色"),
        ([("village_lead", "1万", "")], "50000", "金额格式不正确"),
        ([("village_lead", "", "9999")], "50000", "没有代码为 9999 的会计科目"),
        ([("village_lead", "", ""), ("village_lead", "", "")], "50000", "与前面的步骤重复"),
        ([("village_lead", "", "")], "", "请填写重大事项金额"),
        # issue 15 item 5: every amount and subject passes the village's two steps
        ([("village_lead", "", "")], "50000", "“村务监督委员会主任”步骤"),
        ([("village_lead", "10000", ""), ("village_supervisor", "", "")], "50000", "“村负责人”步骤"),
        ([("village_lead", "", "5401"), ("village_supervisor", "", "")], "50000", "不限金额、不限科目"),
        ([("township_head", "", "")], "50000", "“村负责人”“村务监督委员会主任”步骤"),
    ],
)
def test_bad_policy_is_refused_and_publishes_nothing(admin, steps, major, message):
    town = f.unit("HL-YC")
    versions = count(RoutingPolicy, RoutingPolicy.township_id == town.id)
    r = admin.post(f"/admin/townships/{town.id}/policy", data=policy_form(steps, major=major))
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert count(RoutingPolicy, RoutingPolicy.township_id == town.id) == versions


def test_unchanged_policy_publishes_no_new_version(admin):
    town = f.unit("HL-YC")
    data = policy_form(
        [("village_lead", "", ""), ("village_supervisor", "", ""), ("agency_reviewer", "", ""),
         ("township_leader", "10000", ""), ("township_head", "50000", "")],
        attachments=[("invoice", ""), ("contract", "10000"), ("minutes", "50000")])
    r = admin.post(f"/admin/townships/{town.id}/policy", data=data, follow_redirects=True)
    assert "未发布新版本" in r.get_data(as_text=True)
    assert current_policy(town).version == 1


def test_policy_only_for_townships(admin):
    assert admin.get(f"/admin/townships/{f.unit('HL-YC-01').id}/policy").status_code == 404
    assert admin.get(f"/admin/townships/{f.unit('HL').id}/policy").status_code == 404


def test_admin_writes_without_csrf_token_are_400_and_change_nothing(admin):
    users = count(User)
    data = {"username": "no_token", "display_name": "无令牌", "password": "good-password", "role": "accountant",
            "org_unit": f.unit("HL-YC-01").id}
    r = admin.post("/admin/users/new", data=data, csrf=False)
    assert r.status_code == 400 and count(User) == users
    shuji = f.user("dy_shuji")
    assert admin.post(f"/admin/users/{shuji.id}/active", data={"active": "0"}, csrf=False).status_code == 400
    assert f.user("dy_shuji").active
    town = f.unit("HL-YC")
    r = admin.post(f"/admin/townships/{town.id}/policy", data=policy_form([("village_lead", "", "")]), csrf=False)
    assert r.status_code == 400 and current_policy(town).version == 1


def test_users_list_filters_by_unit_and_text(admin, other_district):
    page = admin.get(f"/admin/users?unit={f.unit('HL-YC-02').id}").get_data(as_text=True)
    assert "刘春燕" in page and "李秀英" not in page and "孙丽华" not in page
    page = admin.get(f"/admin/users?unit={f.unit('HL-YC').id}").get_data(as_text=True)
    assert "刘春燕" in page and "李秀英" in page and "孙丽华" in page and "黄丽娟" not in page
    page = admin.get("/admin/users?q=丽").get_data(as_text=True)
    assert "孙丽华" in page and "黄丽娟" in page and "李秀英" not in page
    page = admin.get("/admin/users?q=DY_").get_data(as_text=True)
    assert "李秀英" in page and "刘春燕" not in page
    # A unit of another district filters nothing in and shows nothing of it.
    page = admin.get(f"/admin/users?unit={other_district['village'].id}").get_data(as_text=True)
    assert "孙红" not in page and "李秀英" in page
    assert "没有找到用户" in admin.get("/admin/users?q=nobody-like-this").get_data(as_text=True)

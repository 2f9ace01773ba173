"""The related-persons register (村干部及近亲属), officials' own ID and accounts, related payees, 代垫,
and recusal (须回避). Matching is by normalised account or 身份证号, never by name."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from audit.models import Event
from finance.auth import services as accounts
from finance.controls import services as controls
from finance.controls.checks import Code, Severity, Stage, check_request, must_recuse
from finance.controls.models import RelatedPerson, Relation
from finance.controls.normalise import id_check_char
from finance.errors import Forbidden
from finance.payment_requests.models import AttachmentKind
from finance.roles import Role
from tests import factories as f
from tests.conftest import PASSWORD
from tests.controls.helpers import attach, attach_invoice, draft, jpeg, slip_image

ID_WANG = "41090219700305151" + id_check_char("41090219700305151")
ID_WIFE = "41090219720611202" + id_check_char("41090219720611202")
WANG_ACCOUNT = "6228 4800 1111 2222 333"
WIFE_ACCOUNT = "6217 0000 5555 6666 777"


def events(action):
    from finance.extensions import db

    return list(db.session.execute(select(Event).where(Event.action == action).order_by(Event.id)).scalars())


@pytest.fixture
def register(db):
    """王建国 (dy_shuji, 东岳村 village lead): his own ID and account, and his wife's."""
    admin = f.user("hl_admin")
    wang = f.user("dy_shuji")
    own = controls.set_own_identity(admin, wang, controls.PersonInput(id_number=ID_WANG, accounts=WANG_ACCOUNT))
    wife = controls.add_related_person(admin, wang, controls.PersonInput(
        name="刘桂芝", relation="spouse", id_number=ID_WIFE, accounts=WIFE_ACCOUNT, note="配偶，开小卖部"))
    db.flush()
    return {"admin": admin, "wang": wang, "own": own, "wife": wife}


# --- keeping the register --------------------------------------------------------------------------------

def test_each_change_to_the_register_is_an_event_with_its_history(register):
    admin, wife = register["admin"], register["wife"]
    added = events("register_add")
    assert [e.subject_id for e in added[-2:]] == [str(register["own"].id), str(wife.id)]
    assert wife.accounts[0].account == "6217000055556666777"
    controls.update_related_person(admin, wife, controls.PersonInput(
        name="刘桂芝", relation="spouse", id_number=ID_WIFE, accounts=f"{WIFE_ACCOUNT}; 6230 5900 0000 1111",
        note="配偶，开小卖部"))
    updated = events("register_update")[-1]
    assert json.loads(updated.before) == {"accounts": ["6217000055556666777"]}
    assert json.loads(updated.after) == {"accounts": ["6217000055556666777", "6230590000001111"]}
    # Nothing changed: no event.
    assert controls.update_related_person(admin, wife, controls.PersonInput(
        name="刘桂芝", relation="spouse", id_number=ID_WIFE, accounts=f"{WIFE_ACCOUNT}; 6230 5900 0000 1111",
        note="配偶，开小卖部")) is None
    controls.remove_related_person(admin, wife, "离婚")
    assert not wife.active
    removed = events("register_remove")[-1]
    assert removed.reason == "离婚" and json.loads(removed.after) == {"active": False}


def test_the_officials_own_line_is_one_and_is_updated_in_place(register):
    again = controls.set_own_identity(register["admin"], register["wang"], controls.PersonInput(
        id_number=ID_WANG, accounts=f"{WANG_ACCOUNT};6228480011112222444"))
    assert again.id == register["own"].id and again.relation == Relation.SELF
    assert [a.account for a in again.accounts] == ["6228480011112222333", "6228480011112222444"]
    assert again.name == "王建国"


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"id_number": "410902197003051510"}, "id_number", "校验位不正确"),
    ({"id_number": "", "accounts": ""}, "accounts", "请至少填写身份证号或一个银行账号"),
    ({"accounts": "6228abc"}, "accounts", "只能包含数字"),
    ({"name": ""}, "name", "请填写姓名"),
    ({"relation": "cousin"}, "relation", "请选择关系"),
])
def test_bad_register_lines_are_refused_in_chinese_and_nothing_is_saved(db, data, field, message):
    from finance.extensions import db as fdb

    base = {"name": "王小明", "relation": "child", "id_number": "", "accounts": "6228480000001111"}
    before = fdb.session.execute(select(func.count()).select_from(RelatedPerson)).scalar_one()
    with pytest.raises(controls.ControlError) as exc:
        controls.add_related_person(f.user("hl_admin"), f.user("dy_shuji"), controls.PersonInput(**{**base, **data}))
    assert message in exc.value.errors[field]
    assert fdb.session.execute(select(func.count()).select_from(RelatedPerson)).scalar_one() == before


def test_a_register_line_for_an_official_who_does_not_exist_is_refused(db):
    with pytest.raises(controls.ControlError, match="干部用户名“no_such_cadre”不存在"):
        controls.official_by_username("no_such_cadre")


def test_only_the_admin_over_the_official_keeps_his_register(db):
    with pytest.raises(Forbidden):
        controls.add_related_person(f.user("yc_shenhe"), f.user("dy_shuji"), controls.PersonInput(
            name="王小明", relation="child", accounts="6228480000001111"))


# --- related payees and recusal --------------------------------------------------------------------------

def test_the_village_lead_approving_a_payment_to_himself_must_recuse(register):
    """Issue 11: the village lead approving a payment to himself."""
    req = draft("3000.00", payee="王建国", account=WANG_ACCOUNT.replace(" ", ""))
    attach(req, jpeg(slip_image("个人劳务签收单 王建国")), kind=AttachmentKind.LABOUR_SLIP)
    assert must_recuse(register["wang"], req)
    report = check_request(req, Stage.APPROVE, approver=register["wang"])
    assert report.recuse and Role.TOWNSHIP_LEADER in report.extra_roles
    recusal = [x for x in report.refusals if x.code == Code.RECUSAL]
    assert recusal and recusal[0].message.startswith("须回避")
    # Another approver of the same request need not recuse, but sees who the payee is.
    other = check_request(req, Stage.APPROVE, approver=f.user("dy_jianwei"))
    assert not other.recuse
    related = [x for x in other.warnings if x.code == Code.RELATED_PAYEE]
    assert related and "王建国本人" in related[0].message


def test_a_payee_in_an_officials_register_is_found_by_account_and_by_id(register):
    by_account = draft("2600.00", payee="刘 桂 芝", account="6217 0000 5555 6666 777")
    warned = check_request(by_account, Stage.SUBMIT)
    assert "刘桂芝" in next(x.message for x in warned.warnings if x.code == Code.RELATED_PAYEE)
    assert Role.TOWNSHIP_LEADER in warned.extra_roles
    assert must_recuse(register["wang"], by_account)
    by_id = draft("2600.00", payee="某某装饰店", account="6230590000009999")
    controls.link_request(by_id.requester, by_id, payee_id_number=ID_WIFE.lower())
    assert must_recuse(register["wang"], by_id)
    assert not must_recuse(f.user("dy_jianwei"), by_id)


def test_the_accountant_as_payee_of_her_own_request_needs_a_third_party_invoice(db):
    """Issue 11: the accountant as payee of her own request (代垫 reimbursement)."""
    admin, li = f.user("hl_admin"), f.user("dy_baozhang")
    controls.set_own_identity(admin, li, controls.PersonInput(accounts="6217 0022 9999 0000 111"))
    req = draft("450.00", payee="李秀英", account="6217002299990000111")
    attach(req, jpeg(slip_image("收条 李秀英 垫付 450 元")), kind=AttachmentKind.OTHER_VOUCHER)
    report = check_request(req, Stage.SUBMIT)
    assert Code.SELF_PAYEE_NEEDS_INVOICE in {x.code for x in report.refusals}
    assert Code.RELATED_PAYEE in {x.code for x in report.warnings}
    # With the shop's invoice for what she advanced, it goes ahead (routed up to the 包村领导).
    attach_invoice(req, "25412000000055554444", amount="450.00", seller="濮阳市华龙区文华办公用品商行")
    report = check_request(req, Stage.SUBMIT)
    assert report.refusals == [] and Role.TOWNSHIP_LEADER in report.extra_roles


def test_a_cadres_own_salary_to_his_own_account_is_not_stopped(register):
    """Hard negative: 王建国's salary under 应付工资 to his own account."""
    req = draft("2200.00", payee="王建国", account=WANG_ACCOUNT, subject_id=f.subject("2301").id,
                purpose="2026年11月村干部工资")
    attach(req, jpeg(slip_image("工资发放表 王建国 2200")), kind=AttachmentKind.OTHER_VOUCHER)
    report = check_request(req, Stage.SUBMIT)
    assert report.refusals == [] and report.warnings == [] and report.extra_roles == ()
    assert [x.severity for x in report.findings if x.code == Code.RELATED_PAYEE] == [Severity.NOTE]
    # He still does not approve his own salary.
    assert check_request(req, Stage.APPROVE, approver=register["wang"]).recuse
    assert not check_request(req, Stage.APPROVE, approver=f.user("dy_jianwei")).recuse


def test_a_village_where_most_people_share_a_surname_is_never_matched_by_name(db):
    """Hard negative: 60% of 东岳村 are 王; officials and their relatives are 王 too. Nothing matches
    unless an account or ID does."""
    admin = f.user("hl_admin")
    village = f.unit("HL-YC-01")
    cadres = [accounts.create_user(username=f"dy_wang{n}", display_name=f"王{name}", password=PASSWORD,
                                   role=Role.VILLAGE_SUPERVISOR if n % 2 else Role.ACCOUNTANT, org_unit=village)
              for n, name in enumerate(["德胜", "春华", "玉兰"])]
    for n, cadre in enumerate(cadres):
        controls.set_own_identity(admin, cadre, controls.PersonInput(accounts=f"62284800777700{n:05d}"))
        controls.add_related_person(admin, cadre, controls.PersonInput(
            name=f"王{'一二三'[n]}", relation="sibling", accounts=f"62170000888800{n:05d}"))
    payees = [("王德胜", "6230590000000001"), ("王一", "6230590000000002"), ("王春华", "6230590000000003"),
              ("王建设", "6230590000000004"), ("王玉兰", "6230590000000005")]
    for payee, account in payees:  # same names as cadres and relatives, other accounts
        req = draft("1800.00", payee=payee, account=account)
        attach(req, jpeg(slip_image(f"劳务 {payee}")), kind=AttachmentKind.LABOUR_SLIP)
        report = check_request(req, Stage.SUBMIT)
        assert Code.RELATED_PAYEE not in report.codes(), payee
        assert not any(must_recuse(c, req) for c in cadres)

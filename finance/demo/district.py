"""The demo district: 华龙区 with two townships, four villages, a person for every role, the village
accounting chart and the default approval policy. Loaded through the same services users go through, so
every row has its audit event. (The test suite builds on it too.)"""

from __future__ import annotations

from sqlalchemy import select

from finance.approval_policy.rules import DEFAULT_RULES
from finance.approval_policy.services import publish_policy
from finance.auth import services as accounts
from finance.auth.models import User
from finance.extensions import db
from finance.orgs import services as orgs
from finance.orgs.models import AccountSubject, OrgUnit, SubjectCategory
from finance.roles import OrgKind, Role

# 《农村集体经济组织会计制度》(2023) spending subjects, as seed data the admin may edit (or replace with
# the district's own chart: `flask --app finance import subjects`, EXCHANGE.md §0), with their classes.
SUBJECTS = [
    ("5201", "经营支出"), ("5301", "税金及附加"), ("5401", "管理费用"), ("5501", "公益支出"),
    ("5701", "其他支出"), ("1201", "库存物资"), ("1501", "固定资产"), ("1601", "在建工程"),
    ("2201", "应付款"), ("2301", "应付工资"),
]
SUBJECT_CATEGORY = {"5": SubjectCategory.PROFIT_LOSS, "1": SubjectCategory.ASSET, "2": SubjectCategory.LIABILITY}

TOWNSHIPS = [
    ("HL-YC", "岳村镇", [
        ("HL-YC-01", "东岳村", "中国农业银行濮阳华龙支行", "622848 0012 3456 7801", "东岳村股份经济合作社"),
        ("HL-YC-02", "西岳村", "濮阳农村商业银行岳村支行", "623059 0011 2233 4402", "西岳村股份经济合作社"),
    ]),
    ("HL-MK", "孟轲乡", [
        ("HL-MK-01", "孟轲村", "中国邮政储蓄银行华龙区支行", "621799 0088 7766 5501", "孟轲村股份经济合作社"),
        ("HL-MK-02", "王什村", "濮阳农村商业银行孟轲支行", "623059 0099 8877 6602", "王什村股份经济合作社"),
    ]),
]

# username, name, role, org code
PEOPLE = [
    ("hl_admin", "赵立新", Role.ADMIN, "HL"),
    ("dy_baozhang", "李秀英", Role.ACCOUNTANT, "HL-YC-01"),
    ("dy_shuji", "王建国", Role.VILLAGE_LEAD, "HL-YC-01"),
    ("dy_jianwei", "张桂兰", Role.VILLAGE_SUPERVISOR, "HL-YC-01"),
    ("xy_baozhang", "刘春燕", Role.ACCOUNTANT, "HL-YC-02"),
    ("xy_shuji", "陈志强", Role.VILLAGE_LEAD, "HL-YC-02"),
    ("xy_jianwei", "杨玉梅", Role.VILLAGE_SUPERVISOR, "HL-YC-02"),
    ("yc_shenhe", "孙丽华", Role.AGENCY_REVIEWER, "HL-YC"),
    ("yc_baocun", "周振华", Role.TOWNSHIP_LEADER, "HL-YC"),
    ("yc_zhenzhang", "吴国栋", Role.TOWNSHIP_HEAD, "HL-YC"),
    ("yc_chuna", "郑晓燕", Role.CASHIER, "HL-YC"),
    ("yc_lianqing", "马德明", Role.LIAISON, "HL-YC"),
    ("mk_baozhang", "黄丽娟", Role.ACCOUNTANT, "HL-MK-01"),
    ("mk_shuji", "郭永强", Role.VILLAGE_LEAD, "HL-MK-01"),
    ("mk_jianwei", "何素芳", Role.VILLAGE_SUPERVISOR, "HL-MK-01"),
    ("ws_baozhang", "林小红", Role.ACCOUNTANT, "HL-MK-02"),
    ("ws_shuji", "罗海军", Role.VILLAGE_LEAD, "HL-MK-02"),
    ("ws_jianwei", "高淑珍", Role.VILLAGE_SUPERVISOR, "HL-MK-02"),
    ("mk_shenhe", "梁文静", Role.AGENCY_REVIEWER, "HL-MK"),
    ("mk_baocun", "宋建军", Role.TOWNSHIP_LEADER, "HL-MK"),
    ("mk_xiangzhang", "唐志刚", Role.TOWNSHIP_HEAD, "HL-MK"),
    ("mk_chuna", "韩雪梅", Role.CASHIER, "HL-MK"),
    ("mk_lianqing", "冯建华", Role.LIAISON, "HL-MK"),
]


class AlreadySeeded(RuntimeError):
    pass


def seed_base(password: str) -> dict[str, User]:
    """Org units, subjects, policies and people. Returns users by username."""
    if db.session.execute(select(OrgUnit.id).limit(1)).first():
        raise AlreadySeeded("the database already has data; demo data goes into an empty database only")
    for code, name in SUBJECTS:
        db.session.add(AccountSubject(code=code, name=name, category=SUBJECT_CATEGORY[code[0]]))
    district = orgs.create_unit(code="HL", name="华龙区", kind=OrgKind.DISTRICT, parent=None)
    units = {"HL": district}
    for t_code, t_name, villages in TOWNSHIPS:
        township = orgs.create_unit(code=t_code, name=t_name, kind=OrgKind.TOWNSHIP, parent=district)
        units[t_code] = township
        publish_policy(township, DEFAULT_RULES)
        for v_code, v_name, bank, account, account_name in villages:
            units[v_code] = orgs.create_unit(code=v_code, name=v_name, kind=OrgKind.VILLAGE, parent=township,
                                             bank_name=bank, bank_account=account,
                                             bank_account_name=account_name)
    users = {}
    for username, name, role, code in PEOPLE:
        users[username] = accounts.create_user(username=username, display_name=name, password=password,
                                               role=role, org_unit=units[code])
    db.session.flush()
    return users

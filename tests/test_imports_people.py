"""EXCHANGE.md §2: `flask --app finance import people FILE`, and the one-time activation."""

from __future__ import annotations

import re

from sqlalchemy import select

from finance.auth import activation
from finance.auth.models import Activation, User
from finance.auth.services import authenticate
from finance.controls.models import RelatedPerson, Relation
from finance.roles import Role
from tests.imports_helpers import batches, events, run, write

# 11010519491231002X: a valid GB 11643 number (the standard's own example)
PEOPLE = """用户名,姓名,角色,单位编码,身份证号,手机号,银行账号
dy_kuaiji2,陈会计,accountant,HL-YC-01,11010519491231002X,13900001111,6228480012345678901;6217000011112222333
dy_kuaiji2,陈会计,廉情联络员,HL-YC-01,,,
yc_chuna2,钱出纳,代理中心出纳,HL-YC,,,
"""


def user(db, username):
    return db.execute(select(User).where(User.username == username)).scalar_one_or_none()


def links(output: str) -> list[str]:
    return re.findall(r"/activate/([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", output)


def test_people_import_with_their_roles_identity_and_an_activation_each(app, db, tmp_path):
    r = run(app, "import", "people", str(write(tmp_path, "people.csv", PEOPLE)))
    assert r.exit_code == 0, r.output
    assert "新增 2 条" in r.output
    chen = user(db, "dy_kuaiji2")
    assert sorted((a.role, a.org_unit.code) for a in chen.assignments) == [
        (Role.ACCOUNTANT, "HL-YC-01"), (Role.LIAISON, "HL-YC-01")]
    assert chen.phone == "13900001111"
    own = db.execute(select(RelatedPerson).where(RelatedPerson.official_id == chen.id)).scalar_one()
    assert own.relation == Relation.SELF and own.id_number == "11010519491231002X"
    assert sorted(a.account for a in own.accounts) == ["6217000011112222333", "6228480012345678901"]
    assert len(links(r.output)) == 2
    # no password anywhere: nobody signs in until activation
    with app.test_request_context():
        for candidate in ("", "!", "password123"):
            assert authenticate("dy_kuaiji2", candidate) is None
    assert events(db, "activation_issue") >= 2
    codes = db.execute(select(Activation.code_hash)).scalars().all()
    assert all(code not in r.output for code in codes)  # only hashes are stored


def test_a_second_import_adds_nothing_and_issues_no_new_activation(app, db, tmp_path):
    path = write(tmp_path, "people.csv", PEOPLE)
    assert run(app, "import", "people", str(path)).exit_code == 0
    before = events(db)
    r = run(app, "import", "people", str(path))
    assert r.exit_code == 0 and "没有新内容" in r.output, r.output
    assert links(r.output) == [] and events(db) == before and len(batches(db, "people")) == 1


def test_a_new_role_and_a_new_phone_update_an_existing_person(app, db, tmp_path):
    assert run(app, "import", "people", str(write(tmp_path, "a.csv", PEOPLE))).exit_code == 0
    text = ("用户名,姓名,角色,单位编码,手机号\n"
            "yc_chuna2,钱出纳,cashier,HL-YC,13900002222\nyc_chuna2,钱出纳,liaison,HL-YC,\n")
    r = run(app, "import", "people", str(write(tmp_path, "b.csv", text)))
    assert r.exit_code == 0 and "更新 1 条" in r.output, r.output
    qian = user(db, "yc_chuna2")
    assert qian.phone == "13900002222" and qian.has_role(Role.LIAISON)
    assert links(r.output) == []


def test_bad_people_import_nothing_and_each_problem_is_named(app, db, tmp_path):
    text = PEOPLE + ("bad user,坏名,accountant,HL-YC-01,,,\n"
                     "p1,某甲,会计师,HL-YC-01,,,\n"
                     "p2,某乙,accountant,NOWHERE,,,\n"
                     "p3,某丙,accountant,HL-YC,,,\n"
                     "p4,某丁,accountant,HL-YC-01,110105194912310021,,\n"
                     "p5,某戊,accountant,HL-YC-01,,1390000abcd,\n"
                     "p6,某己,accountant,HL-YC-01,,,62284800ABC\n"
                     "dy_kuaiji2,陈会计二,liaison,HL-YC-02,,,\n")
    before = events(db)
    r = run(app, "import", "people", str(write(tmp_path, "bad.csv", text)))
    assert r.exit_code == 1, r.output
    for line, column in ((5, "用户名"), (6, "角色"), (7, "单位编码"), (8, "单位编码"), (9, "身份证号"), (10, "手机号"),
                         (11, "银行账号"), (12, "姓名")):
        assert f"bad.csv 第 {line} 行“{column}”列" in r.output, (line, column, r.output)
    assert "校验位" in r.output
    assert user(db, "dy_kuaiji2") is None and events(db) == before


def test_an_existing_username_keeps_its_password_and_gets_the_role(app, db, tmp_path):
    text = "用户名,姓名,角色,单位编码\ndy_baozhang,李秀英,liaison,HL-YC-02\n"
    r = run(app, "import", "people", str(write(tmp_path, "p.csv", text)))
    assert r.exit_code == 0 and "更新 1 条" in r.output, r.output
    with app.test_request_context():
        assert authenticate("dy_baozhang", "password123") is not None
    assert links(r.output) == []


def test_activation_sets_a_password_once_and_refuses_common_ones(app, db, client, tmp_path):
    r = run(app, "import", "people", str(write(tmp_path, "people.csv", PEOPLE)))
    code = links(r.output)[-1]
    page = client.get(f"/activate/{code}")
    assert page.status_code == 200 and "钱出纳" in page.get_data(as_text=True)
    common = client.post("/activate", data={"code": code, "new": "12345678", "confirm": "12345678"})
    assert common.status_code == 422 and "太常见" in common.get_data(as_text=True)
    named = client.post("/activate", data={"code": code, "new": "yc_chuna2-x9", "confirm": "yc_chuna2-x9"})
    assert named.status_code == 422
    done = client.post("/activate", data={"code": code.lower().replace("-", " "), "new": "Ruo-Bing-1987!",
                                          "confirm": "Ruo-Bing-1987!"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/login")
    with app.test_request_context():
        assert authenticate("yc_chuna2", "Ruo-Bing-1987!") is not None
    again = client.post("/activate", data={"code": code, "new": "Another-Pass-77", "confirm": "Another-Pass-77"})
    assert again.status_code == 422 and "已经用过" in again.get_data(as_text=True)
    assert events(db, "account_activate") >= 1


def test_an_unknown_or_replaced_code_opens_nothing(app, db, client, tmp_path):
    r = run(app, "import", "people", str(write(tmp_path, "people.csv", PEOPLE)))
    old = links(r.output)[0]
    with app.test_request_context():
        new = activation.issue(user(db, "dy_kuaiji2"))
        db.commit()
    assert activation.pending(old) is None and activation.pending(new) is not None
    refused = client.post("/activate", data={"code": old, "new": "Ruo-Bing-1987!", "confirm": "Ruo-Bing-1987!"})
    assert refused.status_code == 422
    assert client.post("/activate", data={"code": "AAAA-BBBB-CCCC", "new": "Ruo-Bing-1987!",
                                          "confirm": "Ruo-Bing-1987!"}).status_code == 422


def test_the_events_written_together_verify_in_order(app, db, tmp_path):
    import json

    import audit
    from finance.oversight.verification import run_verify

    before = events(db, chain="system")
    assert run(app, "import", "people", str(write(tmp_path, "people.csv", PEOPLE))).exit_code == 0
    new = list(db.execute(select(audit.Event).where(audit.Event.chain_id == "system")
                          .order_by(audit.Event.seq).offset(before)).scalars())
    # per person: created, each role, own identity (the one with an ID), activation; then the import
    assert [e.action for e in new][:5] == ["user_create", "role_assign", "role_assign", "register_add",
                                           "activation_issue"]
    assert new[-1].action == "import" and json.loads(new[-1].after)["added"] == 2
    assert [e.seq for e in new] == list(range(before + 1, before + 1 + len(new)))
    assert run_verify(chain="system").ok

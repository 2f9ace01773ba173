"""EXCHANGE.md §3: `flask --app finance import register FILE`, through finance/controls/services.py."""

from __future__ import annotations

from sqlalchemy import select

from finance.controls import queries as control_queries
from finance.controls.models import RelatedPerson, Relation
from tests import factories as f
from tests.imports_helpers import batches, events, run, write

REGISTER = """干部用户名,姓名,关系,身份证号,银行账号,备注
dy_shuji,王建国,本人,11010519491231002X,6228480099990000111,
dy_shuji,刘翠花,配偶,,6217000012345678901;6228480012340000999,
dy_shuji,王小军,子女,,6230590011110000222,在外打工
"""


def lines_of(db, username):
    official = f.user(username)
    return list(db.execute(select(RelatedPerson).where(RelatedPerson.official_id == official.id,
                                                       RelatedPerson.active.is_(True))
                           .order_by(RelatedPerson.id)).scalars())


def test_the_register_imports_through_the_controls_services(app, db, tmp_path):
    r = run(app, "import", "register", str(write(tmp_path, "register.csv", REGISTER)))
    assert r.exit_code == 0, r.output
    assert "新增 3 条" in r.output
    lines = lines_of(db, "dy_shuji")
    assert [(p.name, p.relation) for p in lines] == [("王建国", Relation.SELF), ("刘翠花", Relation.SPOUSE),
                                                    ("王小军", Relation.CHILD)]
    assert sorted(a.account for a in lines[1].accounts) == ["6217000012345678901", "6228480012340000999"]
    assert lines[2].note == "在外打工"
    assert events(db, "register_add") >= 3
    # the register is what the controls look up
    found = control_queries.register_matches(["6217000012345678901"], [], [f.user("dy_shuji").id])
    assert [m.person.name for m in found] == ["刘翠花"]


def test_a_second_import_adds_nothing_and_a_changed_account_updates(app, db, tmp_path):
    path = write(tmp_path, "register.csv", REGISTER)
    assert run(app, "import", "register", str(path)).exit_code == 0
    before = events(db)
    r = run(app, "import", "register", str(path))
    assert r.exit_code == 0 and "没有新内容" in r.output, r.output
    assert events(db) == before and len(batches(db, "register")) == 1
    changed = write(tmp_path, "r2.csv", REGISTER.replace("6230590011110000222", "6230590011110000333"))
    r = run(app, "import", "register", str(changed))
    assert r.exit_code == 0 and "更新 1 条" in r.output, r.output
    assert [a.account for a in lines_of(db, "dy_shuji")[2].accounts] == ["6230590011110000333"]


def test_bad_register_lines_import_nothing_and_are_named(app, db, tmp_path):
    text = REGISTER + ("nobody,某甲,配偶,,6217000012345678901,\n"
                       "dy_shuji,某乙,表亲,,6217000012345678901,\n"
                       "dy_shuji,某丙,子女,110105194912310021,,\n"
                       "dy_shuji,某丁,子女,,,\n"
                       "dy_shuji,刘翠花,配偶,,6217000012345678902,\n")
    before = events(db)
    r = run(app, "import", "register", str(write(tmp_path, "bad.csv", text)))
    assert r.exit_code == 1, r.output
    for line, column in ((5, "干部用户名"), (6, "关系"), (7, "身份证号"), (8, "身份证号"), (9, "姓名")):
        assert f"bad.csv 第 {line} 行“{column}”列" in r.output, (line, column, r.output)
    assert lines_of(db, "dy_shuji") == [] and events(db) == before
